"""The HTTP edge: admin authentication in one place, the contract's error shape, and no 500s."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_a_forged_cursor_is_a_400(api: Any, admin: dict[str, str]) -> None:
    response = api.http.get("/outbox?cursor=eyJQSyI6IkRFQUwjMSJ9", headers=admin)
    assert response.status_code == 400
    assert body(response)["error"]["fields"] == {"cursor": "not a cursor from this listing"}


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
