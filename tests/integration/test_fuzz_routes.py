"""Every route, fuzzed with the mistakes a caller (or an attacker) makes: no 500, a 4xx in the
contract's error shape, and nothing written.

The routes come from ``app.app.routes``, so a new route is fuzzed the day it is added. Each request
carries one mistake, drawn from the kinds that apply to its route:

- ``token``: an admin route without the admin token (missing, tampered, another scheme) -> 401,
  whatever the body, query and path hold (a valid deal included);
- ``signature``: a webhook delivery that would be accepted, with its signature missing, tampered,
  made with another key, or replayed from another body -> 401;
- ``body``: a body that cannot be what the route reads (not JSON, not an object, deeply nested, an
  object of the wrong fields), behind valid credentials (the admin token, or a webhook signature
  of that very body) -> 4xx;
- ``query``: a bad cursor or limit on a list route, behind the admin token -> 4xx;
- ``path``: an id that names nothing, behind the admin token -> 4xx (the table is empty);
- ``crc``: a CRC token that is not a challenge (text, JSON bodies, too long) -> 400;
- ``method``: a method the path does not have -> 4xx;
- ``route``: a path no route has -> the JSON 404, which echoes none of the request's headers.

After every request the table is scanned: it must still be empty. At the end the delivery queue
must be empty too.

A route that legitimately accepts one of these (so the suite would count a success as a failure)
is declared in ``ACCEPTS`` with the kinds it accepts and why; paths that may also refuse with
another status (the console's pages redirect to their sign-in) are declared in ``REFUSES_WITH``.
``FUZZ_EXAMPLES`` sets the number of requests (default 1,200; deterministic, so CI is stable).
"""

from __future__ import annotations

import base64
import json
import os
import string
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.local import RouteMatcher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_TOKEN
from tests.factories import (
    CONSUMER_SECRET,
    SHOPIFY_SECRET,
    aaa_follow,
    load_event,
    shopify_order,
    signature,
    xaa_follow,
)
from tests.integration.test_http import list_routes

Route = tuple[str, str]  # (method, path template)

# Routes that legitimately accept a kind of mistake: the suite does not send it to them.
ACCEPTS: dict[Route, dict[str, str]] = {
    ("POST", "/channel/resume"): {"body": "reads no body: resuming publishing is the whole request"},
    ("POST", "/people/{user_id}/erase"): {"body": "reads no body: erasing the person is the whole request"},
}
# Paths that may refuse with a status besides the 4xx the mistake calls for, by path prefix: the
# console's pages send a visitor without a session to its sign-in page (303).
REFUSES_WITH: dict[str, frozenset[int]] = {"/console": frozenset({303})}

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1200"))
ACCOUNT = "1111111"  # X_ACCOUNT_ID in tests/conftest.py: deliveries for it would be applied
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ECHO_PROBE = "fuzz-echo-probe-7f3a"


@dataclass(frozen=True)
class Request:
    route: Route | None
    kind: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    expect: frozenset[int] | None = None  # None: any 4xx


@dataclass(frozen=True)
class Signer:
    header: str
    sign: Callable[[bytes, str], str]
    secret: str
    deliveries: tuple[bytes, ...]  # bodies the route would accept, if signed


def _shopify_sign(body: bytes, secret: str) -> str:
    return signature(body, secret).removeprefix("sha256=")


def _compact(payload: Any) -> bytes:
    return json.dumps(payload).encode()


SIGNED: dict[Route, Signer] = {
    ("POST", "/webhooks/x"): Signer(
        "x-twitter-webhooks-signature",
        signature,
        CONSUMER_SECRET,
        (
            _compact(aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000)),
            _compact(aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000, kind="unfollow")),
            _compact(xaa_follow(ACCOUNT, "777", "a7d5c2f0-0000-4000-8000-000000000001")),
            _compact({**load_event("x/x_user_event_revoke.json"), "for_user_id": ACCOUNT}),
            _compact({**load_event("x/x_dm_event.json"), "for_user_id": ACCOUNT}),
            _compact(load_event("x/x_filtered_stream_webhook_post.json")),
        ),
    ),
    ("POST", "/webhooks/shopify/orders"): Signer(
        "X-Shopify-Hmac-Sha256",
        _shopify_sign,
        SHOPIFY_SECRET,
        (_compact(shopify_order(820982911946154508, codes=("SAVE20",))), _compact(shopify_order(42))),
    ),
}
CRC_ROUTE: Route = ("GET", "/webhooks/x")
DEAL = {
    "title": "Latitude 7440",
    "price": "449.00",
    "list_price": "649.00",
    "currency": "USD",
    "code": "FUZZ20",
    "release_at": "2030-01-01T12:00:00Z",
}
RULE = {"name": "Dell", "kind": "brand", "query": "dell"}
PLAUSIBLE_BODIES = (_compact(DEAL), _compact(RULE), _compact({"text": "thanks!"}), b"")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def is_not_an_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return True


NOT_AN_OBJECT = st.one_of(
    st.binary(max_size=300),
    st.just(b""),
    st.text(max_size=60).map(str.encode),
    JSON.filter(lambda v: not isinstance(v, dict)).map(_compact),
    st.integers(1, 60_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 60_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"{", b'{"a":1', b"\xff\xfe{}", b'{"a": NaN}', b"1e99999", b"9" * 5000]),
).filter(is_not_an_object)
SEGMENT = st.text(min_size=1, max_size=40).map(lambda s: quote(s, safe=""))


def packed(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


BAD_CURSOR = st.one_of(
    st.text(max_size=80),
    JSON.map(lambda v: packed(_compact(v))),
    st.integers(1, 3_000).map(lambda n: packed(b"[" * n + b"]" * n)),
    st.sampled_from(["!!", "a", packed(b"\xff\xfe"), packed(b'{"p":1e999}'), "A" * 5_000]),
).filter(lambda c: c != "")


def is_bad_limit(text: str) -> bool:
    try:
        return not 1 <= int(text) <= 100
    except ValueError:
        return True


BAD_LIMIT = st.one_of(st.integers().map(str), st.text(max_size=12), st.just("9" * 5000)).filter(is_bad_limit)


def tampered(text: str) -> st.SearchStrategy[str]:
    """``text`` with one character changed, dropped or added, or its case flipped."""

    def change(at: int, char: str, how: str) -> str:
        i = at % len(text)
        if how == "replace":
            return text[:i] + (char if char != text[i] else chr(ord(char) ^ 1)) + text[i + 1 :]
        if how == "drop":
            return text[:i] + text[i + 1 :]
        if how == "insert":
            return text[:i] + char + text[i:]
        return text.swapcase()

    letters = st.sampled_from(string.ascii_letters + string.digits + "+/=")
    how = st.sampled_from(["replace", "drop", "insert", "case"])
    return st.builds(change, st.integers(0, 10_000), letters, how).filter(lambda t: t != text)


BAD_AUTHORIZATION = st.one_of(
    st.none(),
    tampered(ADMIN_TOKEN).map(lambda t: f"Bearer {t}"),
    st.sampled_from(["Basic", "Token", "Bearer:", "Bearer\t", ""]).map(lambda s: f"{s} {ADMIN_TOKEN}".strip()),
    st.just(ADMIN_TOKEN),
    st.text(max_size=60).filter(lambda t: ADMIN_TOKEN not in t),
)


# --- the routes and the requests -----------------------------------------------------------------


def app_routes() -> list[Route]:
    from app import app

    return sorted((method, path) for path, methods in app.routes.items() for method in methods)


def is_admin(path: str) -> bool:
    from chalicelib import http

    # ``http.is_public`` where the edge has one (the console's routes guard themselves), else the list.
    is_public: Callable[[str], bool] = getattr(http, "is_public", http.PUBLIC_ROUTES.__contains__)
    return not is_public(path)


def also_refused_with(path: str) -> frozenset[int]:
    return frozenset().union(
        *(statuses for prefix, statuses in REFUSES_WITH.items() if path == prefix or path.startswith(f"{prefix}/"))
    )


def kinds_for(route: Route, lists: set[str]) -> list[str]:
    method, path = route
    kinds = ["method"]
    if is_admin(path):
        kinds.append("token")
    if route in SIGNED:
        kinds += ["signature", "body"]
    elif method in ("POST", "PUT", "PATCH"):
        kinds.append("body")
    if method == "GET" and path in lists:
        kinds.append("query")
    if "{" in path:
        kinds.append("path")
    if route == CRC_ROUTE:
        kinds.append("crc")
    return [k for k in kinds if k not in ACCEPTS.get(route, {})]


def fill(path: str, segment: str = "fuzz-id") -> str:
    return "/".join(segment if part.startswith("{") else part for part in path.split("/"))


@st.composite
def filled(draw: st.DrawFn, path: str) -> str:
    return "/".join(draw(SEGMENT) if part.startswith("{") else part for part in path.split("/"))


@st.composite
def queries(draw: st.DrawFn) -> str:
    params = draw(st.dictionaries(st.sampled_from(["limit", "cursor", "status", "q", "since"]), st.text(max_size=20)))
    return f"?{urlencode(params)}" if params else ""


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON_TYPE = {"Content-Type": "application/json"}


@st.composite
def token_mistake(draw: st.DrawFn, route: Route) -> Request:
    method, path = route
    header = draw(BAD_AUTHORIZATION)
    headers = {**JSON_TYPE, **({"Authorization": header} if header is not None else {})}
    body = draw(st.sampled_from(PLAUSIBLE_BODIES) | NOT_AN_OBJECT)
    url = draw(filled(path)) + draw(queries())
    return Request(route, "token", method, url, headers, body, frozenset({401}))


@st.composite
def signature_mistake(draw: st.DrawFn, route: Route) -> Request:
    signer = SIGNED[route]
    body = draw(st.sampled_from(signer.deliveries))
    other = draw(st.sampled_from(signer.deliveries).filter(lambda b: b != body))
    valid = signer.sign(body, signer.secret)
    header = draw(
        st.one_of(
            st.none(),
            st.just(signer.sign(other, signer.secret)),  # a valid signature replayed on another body
            st.just(signer.sign(body, "another-apps-secret")),
            tampered(valid),
            st.just(valid[7:] if valid.startswith("sha256=") else f"sha256={valid}"),  # the other network's form
            st.text(max_size=60),
        )
    )
    changed = body.replace(b"435353535", b"435353536").replace(b'"id": 42', b'"id": 43')
    if changed != body and draw(st.booleans()):  # or the signed body, changed after signing
        body, header = changed, valid
    headers = {**JSON_TYPE, **({signer.header: header} if header is not None else {})}
    if route[1].startswith("/webhooks/shopify"):
        headers["X-Shopify-Topic"] = "orders/create"
        headers["X-Shopify-Webhook-Id"] = "fuzz"
    return Request(route, "signature", route[0], route[1], headers, body, frozenset({401}))


@st.composite
def body_mistake(draw: st.DrawFn, route: Route) -> Request:
    method, path = route
    if route in SIGNED:  # a valid signature of a body that is not a delivery
        signer = SIGNED[route]
        body = draw(NOT_AN_OBJECT | JSON.filter(lambda v: isinstance(v, dict) and "id" not in v).map(_compact))
        if route[1].startswith("/webhooks/x"):
            body = draw(NOT_AN_OBJECT)  # an object X does not describe is acknowledged (contract)
        headers = {**JSON_TYPE, signer.header: signer.sign(body, signer.secret)}
        return Request(route, "body", method, path, headers, body, frozenset({400}))
    body = draw(NOT_AN_OBJECT | JSON.filter(lambda v: isinstance(v, dict)).map(_compact))
    content_type = draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    headers = {**ADMIN, "Content-Type": content_type} if is_admin(path) else {"Content-Type": content_type}
    return Request(route, "body", method, fill(path), headers, body)


@st.composite
def query_mistake(draw: st.DrawFn, route: Route) -> Request:
    params = draw(
        st.one_of(
            st.fixed_dictionaries({"cursor": BAD_CURSOR}),
            st.fixed_dictionaries({"limit": BAD_LIMIT}),
            st.fixed_dictionaries({"cursor": BAD_CURSOR, "limit": st.sampled_from(["1", "50", "100"])}),
        )
    )
    return Request(route, "query", "GET", f"{route[1]}?{urlencode(params)}", dict(ADMIN))


@st.composite
def path_mistake(draw: st.DrawFn, route: Route) -> Request:
    method, path = route
    headers = {**ADMIN, **JSON_TYPE} if is_admin(path) else dict(JSON_TYPE)
    body = draw(st.sampled_from(PLAUSIBLE_BODIES))
    return Request(route, "path", method, draw(filled(path)), headers, body)


@st.composite
def crc_mistake(draw: st.DrawFn, route: Route) -> Request:
    from chalicelib.x.webhooks import is_challenge_token

    token = draw(
        st.one_of(
            st.text(min_size=1, max_size=80),
            st.sampled_from(SIGNED[("POST", "/webhooks/x")].deliveries).map(bytes.decode),
            st.text(alphabet=string.ascii_letters, min_size=256, max_size=400),
        ).filter(lambda t: not is_challenge_token(t))
    )
    return Request(route, "crc", "GET", f"/webhooks/x?{urlencode({'crc_token': token})}", {}, b"", frozenset({400}))


@st.composite
def method_mistake(draw: st.DrawFn, route: Route) -> Request:
    from app import app

    path = route[1]
    method = draw(st.sampled_from([m for m in METHODS if m not in app.routes[path]]))
    headers = dict(draw(st.sampled_from([ADMIN, {}])))
    return Request(route, "method", method, fill(path), headers, draw(st.sampled_from(PLAUSIBLE_BODIES)))


def fuzz_route_once(api: Any, route: Route) -> None:
    from app import app

    method = next(m for m in METHODS if m not in app.routes[route[1]])
    check(api, Request(route, "method", method, fill(route[1]), dict(ADMIN), b""))


@st.composite
def unknown_route(draw: st.DrawFn, matcher: RouteMatcher) -> Request:
    segments = draw(st.lists(SEGMENT, min_size=1, max_size=4))
    path = "/" + "/".join(segments)
    try:
        matcher.match_route(path)
    except ValueError:
        pass
    else:
        path = "/no-such-route" + path
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Probe": ECHO_PROBE, "Cookie": f"s={ECHO_PROBE}"}
    method = draw(st.sampled_from(METHODS))
    return Request(None, "route", method, path, headers, b"", frozenset({404}))


MISTAKES: dict[str, Callable[[Route], st.SearchStrategy[Request]]] = {
    "token": token_mistake,
    "signature": signature_mistake,
    "body": body_mistake,
    "query": query_mistake,
    "path": path_mistake,
    "crc": crc_mistake,
    "method": method_mistake,
}


@st.composite
def requests(draw: st.DrawFn, lists: set[str]) -> Request:
    """Half the time a kind of mistake (each about as often), then a route it applies to; half the
    time a route, then one of its mistakes. The first keeps rare kinds (signatures) frequent; the
    second reaches every route however many the app has (a route with only one applicable kind,
    like ``GET /dashboard``, was left out by some runs of kinds-first sampling alone)."""
    from app import app

    applicable = {route: kinds_for(route, lists) for route in app_routes()}
    if draw(st.booleans()):
        route = draw(st.sampled_from(sorted(applicable)))
        return draw(MISTAKES[draw(st.sampled_from(applicable[route]))](route))
    kind = draw(st.sampled_from([*MISTAKES, "route"]))
    if kind == "route":
        return draw(unknown_route(RouteMatcher(list(app.routes))))
    route = draw(st.sampled_from([route for route, kinds in applicable.items() if kind in kinds]))
    return draw(MISTAKES[kind](route))


# --- the suite -------------------------------------------------------------------------------------


def check(api: Any, request: Request) -> int:
    response = api.http.request(request.method, request.url, headers=request.headers, body=request.body)
    status: int = response.status_code
    where = (request.kind, request.method, request.url[:200], status, response.body[:300])
    assert status < 500, where
    refused = status in request.expect if request.expect is not None else 400 <= status < 500
    assert refused or (request.route is not None and status in also_refused_with(request.route[1])), where
    if response.body.startswith(b"{"):
        assert set(json.loads(response.body)["error"]) == {"code", "message", "fields"}, where
    if request.kind == "route":
        echoed = response.body.decode() + json.dumps(response.headers)
        assert ECHO_PROBE not in echoed, where
        assert ADMIN_TOKEN not in echoed, where
    return status


def test_no_mistake_on_any_route_is_a_500_or_writes_anything(api: Any, cloud: Any) -> None:
    from tests.conftest import aws_client

    dynamodb, sqs = aws_client("dynamodb"), aws_client("sqs")
    table = cloud.environment["TABLE_NAME"]

    def items() -> int:
        count: int = dynamodb.scan(TableName=table, Select="COUNT")["Count"]
        return count

    lists = set(list_routes(api, ADMIN))
    assert items() == 0
    sent: Counter[tuple[str, str]] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(request=requests(lists))
    def fuzz(request: Request) -> None:
        check(api, request)
        assert items() == 0, (request.kind, request.method, request.url[:200], request.body[:200])
        route = request.route or ("*", "unknown")
        sent[(request.kind, f"{route[0]} {route[1]}")] += 1

    started = time.perf_counter()
    fuzz()
    elapsed = time.perf_counter() - started
    total = sum(sent.values())
    print(f"\nfuzz: {total} requests in {elapsed:.1f} s; by kind: {dict(Counter(k for k, _ in sent.elements()))}")

    assert total >= min(EXAMPLES, 1_000)
    # Each route at least once whatever the draw (a console page gets only method mistakes, and
    # sampling can miss one): a method its path lacks, sent deterministically.
    drawn = {route for _, route in sent}
    for route in app_routes():
        if f"{route[0]} {route[1]}" not in drawn:
            fuzz_route_once(api, route)
            assert items() == 0, route
            sent[("method", f"{route[0]} {route[1]}")] += 1
    covered = {route for _, route in sent}
    assert covered >= {f"{m} {p}" for m, p in app_routes()}, "a route was never fuzzed"
    queue = cloud.environment["DELIVERY_QUEUE_URL"]
    waiting = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("route", sorted(SIGNED))
def test_the_fuzzed_deliveries_would_be_applied_if_signed(api: Any, cloud: Any, route: Route) -> None:
    # The control: what the suite sends with a broken signature is accepted, and written, with a
    # good one, so "nothing written" above means the signature check held.
    from tests.conftest import aws_client

    signer = SIGNED[route]
    body = signer.deliveries[0]
    headers = {**JSON_TYPE, signer.header: signer.sign(body, signer.secret), "X-Shopify-Webhook-Id": "control"}
    response = api.http.post(route[1], headers=headers, body=body)
    assert response.status_code == 200, response.body
    assert aws_client("dynamodb").scan(TableName=cloud.environment["TABLE_NAME"], Select="COUNT")["Count"] > 0


def test_every_exemption_names_a_route_the_app_has() -> None:
    routes = set(app_routes())
    assert set(ACCEPTS) <= routes
    assert set(SIGNED) <= routes
