"""A cookie-jar client for the console's tests: sign in, then GET pages and POST their forms
with the page's CSRF token, through ``chalice.test.Client``."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

EMAIL, PASSWORD = "ops@example.com", "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def text(response: Any) -> str:
    body = response.body
    return body.decode() if isinstance(body, bytes) else str(body)


def set_cookies(response: Any) -> list[str]:
    found = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    return [found] if isinstance(found, str) else list(found)


def cookie_pairs(response: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.split(";", 1)[0].split("=", 1)[1] for c in set_cookies(response)}


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no csrf_token"
    return unescape(match.group(1))


def create_operator(api: Any, admin: dict[str, str], email: str = EMAIL, password: str = PASSWORD) -> Any:
    body = json.dumps({"name": "Olivia Ops", "email": email, "password": password}).encode()
    return api.http.post("/operators", body=body, headers={**admin, "Content-Type": "application/json"})


class Browser:
    """Just enough of a browser: a cookie jar, and forms posted with their CSRF token."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.jar: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.jar.items() if v)
        return {**({"Cookie": jar} if jar else {}), **(extra or {})}

    def _keep(self, response: Any) -> Any:
        self.jar.update(cookie_pairs(response))
        return response

    def get(self, path: str) -> Any:
        return self._keep(self.api.http.get(path, headers=self._headers()))

    def post(self, path: str, fields: dict[str, str]) -> Any:
        body = urlencode(fields).encode()
        return self._keep(self.api.http.post(path, body=body, headers=self._headers(FORM)))

    def submit(self, page_path: str, action: str, fields: dict[str, str]) -> Any:
        """GET the page the form is on, then POST the form with the page's token."""
        token = csrf_of(text(self.get(page_path)))
        return self.post(action, {"csrf_token": token, **fields})

    def sign_in(self, email: str = EMAIL, password: str = PASSWORD) -> Any:
        return self.submit("/console/sign-in", "/console/sign-in", {"email": email, "password": password})


def signed_in_browser(api: Any, admin: dict[str, str]) -> Browser:
    """An operator created with the admin token, signed in."""
    assert create_operator(api, admin).status_code == 201
    signed_in = Browser(api)
    assert signed_in.sign_in().status_code == 303
    return signed_in
