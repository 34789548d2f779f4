"""Pages out: the Jinja2 environment (autoescaped, built on the first console request so other
routes never load it) and the headers every console response carries."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice.app import Response

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
Headers = dict[str, str | list[str]]


@functools.cache
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["money"] = money
    return env


def when(stamp: Any) -> str:
    """``2026-11-26 12:00 UTC`` from a stored ISO time."""
    return f"{str(stamp)[:16].replace('T', ' ')} UTC" if stamp else "-"


def money(by_currency: Any) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in dict(by_currency or {}).items()) or "-"


def page(template: str, status: int = 200, headers: Headers | None = None, **context: Any) -> Response:
    body = environment().get_template(template).render({"session": None, "now": None, **context})
    merged: Headers = {"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS, **(headers or {})}
    return Response(body=body, status_code=status, headers=merged)


def redirect(location: str, headers: Headers | None = None) -> Response:
    """303 See Other: after a POST the browser GETs the next page."""
    merged: Headers = {**SECURITY_HEADERS, "Location": location, **(headers or {})}
    return Response(body="", status_code=303, headers=merged)


@functools.cache
def stylesheet() -> str:
    return (HERE / "static" / "console.css").read_text()
