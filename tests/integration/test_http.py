"""The HTTP edge: admin authentication in one place, the contract's error shape, and no 500s."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import Unauthorized
from chalicelib.http import authenticate
from tests.conftest import ADMIN_TOKEN


def body(response: Any) -> Any:
    return json.loads(response.body)


def test_health_answers_without_a_token(api: Any) -> None:
    response = api.http.get("/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": ADMIN_TOKEN},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "wrong", "wrong-scheme", "no-scheme", "longer", "empty"],
)
def test_admin_routes_refuse_a_missing_or_wrong_token_with_401(api: Any, headers: dict[str, str]) -> None:
    response = api.http.get("/outbox", headers=headers)
    assert response.status_code == 401
    error = body(response)["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]
    assert error["fields"] == {}


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {ADMIN_TOKEN}",
        f"bearer {ADMIN_TOKEN}",
        f"BEARER {ADMIN_TOKEN}",
        f"bEaReR {ADMIN_TOKEN}",
        f"Bearer   {ADMIN_TOKEN}",
        f"  Bearer {ADMIN_TOKEN} \t",
    ],
    ids=["canonical", "lower", "upper", "mixed", "several-spaces", "surrounding-whitespace"],
)
def test_the_bearer_scheme_is_any_case_and_spaces_separate_it_from_the_token(api: Any, header: str) -> None:
    # RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: "Bearer" 1*SP b64token.
    assert api.http.get("/outbox", headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer\t{ADMIN_TOKEN}",
        f"Bearer\u00a0{ADMIN_TOKEN}",
        f"Bearer{ADMIN_TOKEN}",
        f"Bearer {ADMIN_TOKEN} extra",
        f"Bearer {ADMIN_TOKEN.upper()}",
        f"Bearer {ADMIN_TOKEN}\n",
        f"Bearer {ADMIN_TOKEN}, Bearer {ADMIN_TOKEN}",
        f"Bearer: {ADMIN_TOKEN}",
        f"Beare\u0280 {ADMIN_TOKEN}",
        "Bearer",
        "Bearer    ",
        "",
    ],
    ids=[
        "tab",
        "no-break-space",
        "no-space",
        "trailing-word",
        "token-case",
        "newline",
        "two-credentials",
        "colon",
        "look-alike",
        "scheme-only",
        "spaces-only",
        "empty",
    ],
)
def test_anything_but_a_bearer_and_the_exact_token_is_a_401(api: Any, header: str) -> None:
    assert api.http.get("/outbox", headers={"Authorization": header}).status_code == 401


def test_an_empty_token_never_matches_even_an_empty_admin_token() -> None:
    from chalicelib.http import bearer_token

    assert bearer_token("Bearer ") is None
    assert bearer_token("Bearer") is None
    assert bearer_token("bearer  t0k3n ") == "t0k3n"
    with pytest.raises(Unauthorized):
        authenticate(request_with({"authorization": "Bearer "}), "")
    with pytest.raises(Unauthorized):
        authenticate(request_with({"authorization": "Bearer x"}), "")
    with pytest.raises(Unauthorized):
        authenticate(request_with({}), "")


def request_with(headers: dict[str, str]) -> Any:
    from chalice.app import Request

    event = {
        "multiValueQueryStringParameters": None,
        "headers": headers,
        "pathParameters": None,
        "requestContext": {"httpMethod": "GET", "resourcePath": "/outbox"},
        "body": None,
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    return Request(event)


def test_admin_routes_accept_the_admin_token(api: Any, admin: dict[str, str]) -> None:
    response = api.http.get("/outbox", headers=admin)
    assert response.status_code == 200
    assert body(response) == {"items": [], "next": None}


def test_every_route_but_the_public_ones_requires_the_token(api: Any) -> None:
    from app import app
    from chalicelib.http import is_public

    for path, methods in app.routes.items():
        if is_public(path):
            continue
        for method in methods:
            concrete = path.replace("{", "").replace("}", "")
            response = api.http.request(method, concrete, headers={}, body=b"")
            assert response.status_code == 401, f"{method} {path} answered without a token"


def test_a_correlation_id_is_echoed_or_made(api: Any) -> None:
    given_id = api.http.get("/health", headers={"x-request-id": "abc-123"})
    assert given_id.headers["x-request-id"] == "abc-123"
    made = api.http.get("/health")
    assert len(made.headers["x-request-id"]) == 36


def test_a_bad_limit_is_a_422_naming_the_field(api: Any, admin: dict[str, str]) -> None:
    response = api.http.get("/outbox?limit=0", headers=admin)
    assert response.status_code == 422
    assert body(response)["error"]["fields"] == {"limit": "out of range"}
    response = api.http.get("/outbox?limit=ten", headers=admin)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("route", "choices"),
    [
        ("/community/followers", "one of following, left"),
        ("/dms", "one of checking, sent, unknown, failed"),
        ("/deals", "one of scheduled, releasing, released, expired, sold_out, cancelled, failed"),
    ],
)
def test_an_unknown_status_filter_is_a_422_listing_the_statuses(
    api: Any, admin: dict[str, str], route: str, choices: str
) -> None:
    # when a listing is asked for a status it does not have
    response = api.http.get(f"{route}?status=lost", headers=admin)
    # then it says which statuses there are, and lists nothing
    assert response.status_code == 422
    assert body(response)["error"]["message"] == "unknown status"
    assert body(response)["error"]["fields"] == {"status": choices}


def test_without_a_status_filter_a_listing_shows_its_default(api: Any, admin: dict[str, str]) -> None:
    for route in ("/community/followers", "/dms", "/deals"):
        assert api.http.get(route, headers=admin).status_code == 200, route


def test_a_forged_cursor_is_a_400(api: Any, admin: dict[str, str]) -> None:
    response = api.http.get("/outbox?cursor=eyJQSyI6IkRFQUwjMSJ9", headers=admin)
    assert response.status_code == 400
    assert body(response)["error"]["fields"] == {"cursor": "not a cursor from this listing"}


def packed(raw: bytes | Any) -> str:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def list_routes(api: Any, admin: dict[str, str]) -> list[str]:
    """Every GET route that answers a list (``{"items", "next"}``): the ones that take a cursor."""
    from app import app

    found = []
    for path, methods in app.routes.items():
        if "GET" in methods and "{" not in path:
            answer = api.http.get(path, headers=admin)
            if answer.status_code == 200 and answer.body.startswith(b"{") and set(body(answer)) == {"items", "next"}:
                found.append(path)
    return found


ODD_CURSORS = {
    "deep-arrays": packed(b"[" * 100_000 + b"]" * 100_000),
    "deep-objects": packed(b'{"a":' * 2_000 + b"1" + b"}" * 2_000),
    "array": packed(["PK", "SK"]),
    "number": packed(7),
    "string": packed("OUTBOX"),
    "null": packed(None),
    "huge-integer": packed(b"9" * 5_000),
    "huge-float": packed(b"1e999"),
    "nan": packed(b"NaN"),
    "integer-values": packed({"PK": 1, "SK": 2, "GSI1PK": 3, "GSI1SK": 4}),
    "nested-values": packed({"PK": {"S": "x"}, "SK": ["y"]}),
    "empty-object": packed({}),
    "missing-keys": packed({"GSI1PK": "OUTBOX"}),
    "extra-keys": packed({"PK": "a", "SK": "b", "GSI1PK": "OUTBOX", "GSI1SK": "c", "x": "d"}),
    "empty-values": packed({"PK": "", "SK": "", "GSI1PK": "OUTBOX", "GSI1SK": ""}),
    "oversized-values": packed({"PK": "a", "SK": "b", "GSI1PK": "OUTBOX", "GSI1SK": "c" * 3000}),
    "deal-position-infinite": packed(b'{"p":1e999,"c":null}'),
    "deal-position-bool": packed({"p": True, "c": None}),
    "deal-position-text": packed({"p": "0", "c": None}),
    "deal-position-negative": packed({"p": -1, "c": None}),
    "deal-inner-deep": packed({"p": 0, "c": packed(b"[" * 3_000 + b"]" * 3_000)}),
    "not-base64": "!!!$$$",
    "non-ascii": "caf\u00e9",
    "bad-padding": "a",
    "not-utf8": packed(b"\xff\xfe\xfd"),
    "too-long": "A" * 10_000,
}


def test_an_odd_cursor_is_a_400_on_every_list_route(api: Any, admin: dict[str, str]) -> None:
    from urllib.parse import urlencode

    routes = list_routes(api, admin)
    assert {
        "/outbox",
        "/alerts",
        "/listening/rules",
        "/listening/posts",
        "/community/followers",
        "/feedback",
        "/deals",
    } <= set(routes)
    for route in [*routes, "/deals?status=scheduled&"]:
        for name, cursor in ODD_CURSORS.items():
            separator = "" if route.endswith("&") else "?"
            response = api.http.get(f"{route}{separator}{urlencode({'cursor': cursor})}", headers=admin)
            assert response.status_code == 400, (route, name, response.body[:200])
            assert body(response)["error"]["fields"] == {"cursor": "not a cursor from this listing"}, (route, name)


UNKNOWN = [("GET", "/nope"), ("POST", "/deals/d_1/nope"), ("GET", "/webhooks"), ("DELETE", "/"), ("GET", "/r")]
SECRET_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Cookie": "session=s3cr3t-cookie", "X-Probe": "echo-me"}


def assert_plain_not_found(status: int, headers: dict[str, str], raw: bytes) -> None:
    from localcloud.gateway import NOT_FOUND

    assert status == 404
    assert json.loads(raw) == NOT_FOUND == {"error": {"code": "not_found", "message": "no such route", "fields": {}}}
    echoed = raw.decode() + " ".join(f"{k}: {v}" for k, v in headers.items())
    for value in (ADMIN_TOKEN, "s3cr3t-cookie", "echo-me"):
        assert value not in echoed


@pytest.mark.parametrize(("method", "path"), UNKNOWN)
def test_an_unknown_route_is_a_json_404_that_echoes_nothing(api: Any, method: str, path: str) -> None:
    for headers in ({}, SECRET_HEADERS, {"Authorization": "Bearer caf\u00e9"}):
        response = api.http.request(method, path, headers=headers, body=b"")
        assert_plain_not_found(response.status_code, response.headers, response.body)


def test_chalice_local_answers_an_unknown_route_with_the_json_404() -> None:
    # `make run` serves through localcloud.gateway.create_local_server; a child process, since
    # chalice.local changes the app object's class.
    import http.client
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\n"
        "from chalice.cli.factory import CLIFactory\n"
        "import app\n"
        "from localcloud.gateway import create_local_server\n"
        "config = CLIFactory('.').create_config_obj(chalice_stage_name='local')\n"
        "server = create_local_server(app.app, config, '127.0.0.1', 0)\n"
        "print(server.server.server_address[1], flush=True)\n"
        "server.server.serve_forever()\n"
    )
    process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        for method, path in UNKNOWN:
            for headers in ({}, SECRET_HEADERS, {"Authorization": "Bearer caf\u00e9"}):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request(method, path, headers=headers)
                answer = connection.getresponse()
                assert_plain_not_found(answer.status, dict(answer.getheaders()), answer.read())
                connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_chalice_errors_come_in_the_contract_shape(api: Any, admin: dict[str, str]) -> None:
    response = api.http.request("DELETE", "/health", headers=admin, body=b"")
    assert response.status_code == 405
    assert body(response)["error"]["code"] == "method_not_allowed"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=st.sampled_from(
        [
            "/health",
            "/outbox",
            "/deals",
            "/deals/d_123",
            "/deals/d_123/cancel",
            "/community",
            "/community/followers",
            "/alerts",
            "/channel",
            "/webhooks/x",
            "/webhooks/shopify/orders",
            "/r/SAVE20",
            "/reports/summary",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(["limit", "cursor", "status", "crc_token"]), st.text(max_size=40), max_size=3
    ),
    raw=st.binary(max_size=200),
    auth=st.sampled_from([None, "good", "junk"]),
)
def test_nothing_a_caller_sends_produces_a_500(
    api: Any, method: str, path: str, query: dict[str, str], raw: bytes, auth: str | None
) -> None:
    from urllib.parse import urlencode

    headers = {"Content-Type": "application/json"}
    if auth == "good":
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif auth == "junk":
        headers["Authorization"] = "Bearer \x00\u00e9"
    url = f"{path}?{urlencode(query)}" if query else path
    response = api.http.request(method, url, headers=headers, body=raw)
    assert response.status_code < 500, (method, url, response.body)
    if response.status_code >= 400:
        assert set(body(response)["error"]) == {"code", "message", "fields"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
IDS = st.one_of(st.integers(min_value=-5, max_value=10**30), st.text(max_size=30), st.none())
LINES = st.lists(
    st.fixed_dictionaries(
        {
            "id": IDS,
            "quantity": st.one_of(st.integers(min_value=-3, max_value=10**40), JSON),
            "discount_allocations": st.lists(
                st.fixed_dictionaries({"discount_application_index": st.one_of(st.integers(-2, 5), JSON)}),
                max_size=2,
            ),
        }
    ),
    max_size=3,
)
CODES = st.one_of(st.just("SAVE20"), st.just("save20"), st.text(max_size=40), st.text(min_size=2000, max_size=3000))
ORDER_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS,
        "order_id": IDS,
        "currency": st.one_of(st.just("EUR"), st.text(max_size=5), JSON),
        "current_total_price": st.one_of(st.just("12.34"), st.text(max_size=12), JSON),
        "created_at": st.one_of(
            st.just("0001-01-01T00:00:00+05:00"), st.just("9999-12-31T23:59:59-05:00"), st.text(max_size=30), JSON
        ),
        "discount_codes": st.lists(st.fixed_dictionaries({"code": CODES}), max_size=3),
        "discount_applications": st.lists(
            st.fixed_dictionaries({"type": st.just("discount_code"), "code": CODES}), max_size=3
        ),
        "line_items": LINES,
        "refund_line_items": st.lists(
            st.fixed_dictionaries({"line_item_id": IDS, "quantity": st.integers(-3, 10**40)}), max_size=3
        ),
        "transactions": st.lists(
            st.fixed_dictionaries(
                {"kind": st.just("refund"), "amount": st.one_of(st.just("1.00"), JSON), "currency": CODES}
            ),
            max_size=2,
        ),
        "presentment_currency": st.one_of(st.just("EUR"), JSON),
        "total_price_set": JSON,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    topic=st.sampled_from(["orders/create", "orders/cancelled", "refunds/create", "orders/paid", "", "\u00e9"]),
    changes=ORDER_CHANGES,
    webhook_id=st.text(max_size=300),
)
def test_no_signed_shopify_body_produces_a_500(
    api: Any, store: Any, clock: Any, topic: str, changes: dict[str, Any], webhook_id: str
) -> None:
    from chalicelib.deals import DealFields, create_deal
    from chalicelib.publishing import OutboxPublisher
    from chalicelib.releases import ReleasePolicy, release_due_deals
    from chalicelib.store import Keys
    from tests.factories import shopify_headers, shopify_order, shopify_refund

    if store.get(Keys.live_code("SAVE20")) is None:  # a released deal, so orders reach the transaction
        fields = {"title": "Fuzz", "price": "1", "list_price": "2", "currency": "USD", "code": "SAVE20"}
        create_deal(
            store,
            DealFields.model_validate({**fields, "quantity": 5, "release_at": clock() + timedelta(minutes=1)}),
            clock(),
        )
        clock.advance(minutes=2)
        release_due_deals(store, OutboxPublisher(store, clock), ReleasePolicy(min_gap=timedelta(0)), clock())
    base = shopify_refund(9, 7, amount="1.00") if topic == "refunds/create" else shopify_order(7, codes=("SAVE20",))
    payload = {**base, **changes}
    raw = json.dumps(payload).encode()
    headers = shopify_headers(raw, webhook_id="w", topic=topic)
    headers["X-Shopify-Webhook-Id"] = webhook_id.encode("ascii", "ignore").decode() or "w"
    response = api.http.post("/webhooks/shopify/orders", body=raw, headers=headers)
    assert response.status_code < 500, (payload, response.body)


def test_deeply_nested_json_is_a_400_everywhere(api: Any, admin: dict[str, str]) -> None:
    from tests.factories import signed_headers

    deep = b"[" * 100_000 + b"]" * 100_000
    assert api.http.post("/deals", body=deep, headers={**admin, "Content-Type": "application/json"}).status_code == 400
    assert api.http.post("/webhooks/x", body=deep, headers=signed_headers(deep)).status_code == 400
