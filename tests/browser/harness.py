"""What the browser tests and `make screenshots` share: Debian's chromium driven by Selenium
through the system chromedriver (nothing downloaded), a seeded local service, and the console's
sign-in, done the way an operator does it."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from localcloud.demo import OPERATOR, Outlet, Scale, Seeded, create_operator, seed, start_server

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
REQUIRE_ENV = "OUTLET_REQUIRE_BROWSER"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not (p.is_file() and os.access(p, os.X_OK))]
    if absent:
        return (
            f"BROWSER TESTS NOT RUN: {' and '.join(absent)} not found"
            " (apt-get install -y chromium chromium-driver; CI sets OUTLET_REQUIRE_BROWSER=1 and fails instead)"
        )
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false")


class Browser:
    """One headless chromium with its own throwaway profile."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="outlet-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(30)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def resize(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def full_page_screenshot(self, path: Path, width: int) -> None:
        """The whole page at ``width`` CSS pixels: the window is grown to the page's height."""
        self.resize(width, 900)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        height = int(metrics["cssContentSize"]["height"])
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@dataclass
class Service:
    """The local service, seeded, with its operator."""

    outlet: Outlet
    seeded: Seeded
    email: str = ""  # empty when this build has no console (POST /operators)
    password: str = ""

    @property
    def url(self) -> str:
        return self.outlet.base_url

    def admin(self, path: str) -> Any:
        return self.outlet.admin("GET", path)

    def all_pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        separator = "&" if "?" in path else "?"
        while True:
            page = self.admin(path + (f"{separator}cursor={urllib.parse.quote(cursor)}" if cursor else ""))
            items.extend(page["items"])
            cursor = page.get("next")
            if not cursor:
                return items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def seeded_service(scale: Scale) -> Iterator[Service]:
    """`make demo`'s server on a free port, seeded through the real routes, with an operator."""
    state = Path(tempfile.mkdtemp(prefix="outlet-state-"))
    server = start_server(free_port(), state_dir=state)
    try:
        seeded = seed(server.outlet, server.clock, scale)
        operator = create_operator(server.outlet) or {"email": "", "password": ""}
        yield Service(server.outlet, seeded, operator["email"], operator["password"])
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(server.workdir, ignore_errors=True)


def sign_in(driver: Any, service: Service) -> None:
    """Through the sign-in form, as an operator would."""
    from selenium.webdriver.common.by import By

    driver.get(service.url + "/console/sign-in")
    driver.find_element(By.ID, "email").send_keys(service.email)
    driver.find_element(By.ID, "password").send_keys(service.password)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="sign-in"]').click()


# --- a plain HTTP client with a cookie jar, for what a browser will not do (drop a CSRF token) ---

CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: Message[str, str]
    body: str


class CookieClient:
    """An HTTP client that keeps cookies and never follows redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310 (http only)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=30) as response:
                return Answer(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read().decode())

    def csrf_token(self, path: str) -> str:
        page = self.request("GET", path)
        found = CSRF_INPUT.search(page.body)
        if found is None:
            raise AssertionError(f"no csrf_token input on {path} ({page.status}): {page.body[:300]}")
        return found.group(1)

    def sign_in(self, service: Service) -> Answer:
        token = self.csrf_token("/console/sign-in")
        return self.request(
            "POST", "/console/sign-in", {"email": service.email, "password": service.password, "csrf_token": token}
        )


def summary_figures(summary: dict[str, Any]) -> dict[str, str]:
    """The overview's figures as GET /reports/summary gives them, keyed like the page's data-figure."""
    figures = {
        "followers": str(summary["followers"]),
        "net_growth_30d": str(summary["growth"]["net"]["30d"]),
        "orders": str(summary["orders"]),
        "clicks": str(summary["clicks"]),
        "x_fees_usd": str(summary["x_fees_usd"]),
        "deals_released": str(summary["deals_released"]),
    }
    figures |= {f"revenue-{currency}": amount for currency, amount in summary["revenue"].items()}
    return figures


def as_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)


__all__ = ["OPERATOR", "Browser", "CookieClient", "Service", "browser_missing", "seeded_service", "sign_in"]
