"""The HTTP edge: admin authentication, request parsing and the JSON error shape, in one place.

Every route is an admin route unless it is named in ``PUBLIC_ROUTES``: a new route is closed
until someone decides otherwise.

Light on purpose: every request passes through here, X's CRC check included, so pydantic and the
store (botocore) are imported only by the helpers that need them, when they are called.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chalice.app import Chalice, Request, Response

from chalicelib.errors import ApiError, BadRequest, Unauthorized, Unprocessable, error_body
from chalicelib.observability import bind_correlation_id, logger

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

# Webhooks are verified by signature, the redirects are public by nature, health is for probes.
PUBLIC_ROUTES = frozenset({"/health", "/webhooks/x", "/webhooks/shopify/orders", "/r/{code}", "/dashboard"})
# The operator console guards itself with sessions and CSRF tokens (chalicelib/console/routes.py).
CONSOLE_PREFIX = "/console"


def is_public(route: str) -> bool:
    return route in PUBLIC_ROUTES or route == CONSOLE_PREFIX or route.startswith(f"{CONSOLE_PREFIX}/")


MAX_PAGE_SIZE = 100
_BEARER = re.compile(r"bearer +(\S+)", re.IGNORECASE | re.ASCII)

_CHALICE_STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}

M = TypeVar("M", bound="BaseModel")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def make_middleware(admin_token: Callable[[], str]) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """The 'http' middleware: correlation id, admin auth, and errors rendered as CONTRACT says."""

    def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
        correlation_id = bind_correlation_id(request.headers, "x-request-id")
        route = str(request.context.get("resourcePath", ""))
        try:
            if not is_public(route):
                authenticate(request, admin_token())
            response = get_response(request)
        except ApiError as exc:
            logger.info("request refused", extra={"route": route, "status": exc.status, "code": exc.code})
            response = json_response(exc.body(), exc.status)
        response = _uniform_error(response)
        response.headers["x-request-id"] = correlation_id
        return response

    return middleware


def authenticate(request: Request, expected_token: str) -> None:
    token = bearer_token(request.headers.get("authorization", ""))
    # compare_digest on bytes: constant time whatever the token holds. No token, or no admin
    # token configured, never matches.
    if not token or not expected_token or not hmac.compare_digest(token.encode(), expected_token.encode()):
        raise Unauthorized("a valid 'Authorization: Bearer <admin token>' header is required")


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, as RFC 6750 §2.1 and RFC 7235 §2.1
    write it: the scheme in any case, then one or more spaces (not tabs), then the token, which
    holds no whitespace; spaces and tabs around the whole value are not part of it (RFC 9110 §5.5).
    Anything else is no token."""
    match = _BEARER.fullmatch(header.strip(" \t"))
    return match.group(1) if match else None


def _uniform_error(response: Response) -> Response:
    """Chalice's own errors (bad JSON, unknown method, unhandled exception) in the contract's shape."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_STATUS_CODES.get(response.status_code, "error")
        message = "internal error" if response.status_code >= 500 else str(body["Message"])
        headers = {name: str(value) for name, value in response.headers.items()}
        return json_response(error_body(code, message), response.status_code, headers)
    return response


def current_request(app: Chalice) -> Request:
    request = app.current_request
    if request is None:  # only outside an HTTP invocation, which would be a wiring bug
        raise RuntimeError("no current request")
    return request


def raw_body(request: Request) -> bytes:
    raw = request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def json_body(request: Request) -> Any:
    raw = request.raw_body
    if not raw:
        raise BadRequest("a JSON body is required")
    try:
        return json.loads(raw, parse_float=Decimal)  # money stays exact: 19.99 is Decimal("19.99")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None


def parse(model: type[M], data: Any) -> M:
    """Validate caller data into ``model``; a 422 names each bad field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("the request has invalid fields", fields=field_errors(exc)) from None


def field_errors(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(path, error["msg"])
    return fields


def query_params(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def query_choice(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    """A query parameter that takes one of ``choices`` (``default`` when absent); anything else is a 422."""
    return one_of(name, query_params(request).get(name, default), choices)


def one_of(name: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; else a 422 naming the parameter and what it takes."""
    if value not in choices:
        raise Unprocessable(f"unknown {name}", fields={name: f"one of {', '.join(choices)}"})
    return value


class _Page(Protocol):
    @property
    def items(self) -> list[Any]: ...
    @property
    def next(self) -> str | None: ...


def listing(request: Request, fetch: Callable[[int, str | None], _Page]) -> dict[str, Any]:
    """One page of a list, as CONTRACT shapes it: ``{"items": [...], "next": cursor-or-null}``."""
    from chalicelib.store import InvalidCursor

    limit, cursor = page_params(request)
    try:
        page = fetch(limit, cursor)
    except InvalidCursor as exc:
        raise BadRequest(str(exc), fields={"cursor": "not a cursor from this listing"}) from None
    return {"items": page.items, "next": page.next}


def page_params(request: Request) -> tuple[int, str | None]:
    params = query_params(request)
    raw_limit = params.get("limit", "50")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise Unprocessable("limit must be a whole number", fields={"limit": "not an integer"}) from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Unprocessable(f"limit must be 1 to {MAX_PAGE_SIZE}", fields={"limit": "out of range"})
    return limit, params.get("cursor") or None
