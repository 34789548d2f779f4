"""Shopify ids are numbers: however a payload spells one (``123``, ``"123"``, ``"000123"``), it is
one order, one refund, one line; an id that is not a number is a 400 that changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.factories import release_deal, shopify_headers, shopify_order, shopify_refund


def send(api: Any, payload: dict[str, Any], webhook_id: str, topic: str = "orders/create") -> Any:
    raw = json.dumps(payload).encode()
    return api.http.post(
        "/webhooks/shopify/orders", body=raw, headers=shopify_headers(raw, webhook_id=webhook_id, topic=topic)
    )


@pytest.fixture
def deal_id(store: Any, clock: Any) -> str:
    fields = {"title": "Latitude", "price": "449", "list_price": "649", "currency": "USD", "code": "SAVE20"}
    return str(release_deal(store, clock, **fields, expires_at=clock() + timedelta(hours=4))["id"])


def test_zero_padded_string_and_number_ids_are_one_order(api: Any, store: Any, deal_id: str) -> None:
    from chalicelib.store import Keys

    spellings = [123, "123", "000123"]
    outcomes = [
        send(api, {**shopify_order(0, codes=("SAVE20",)), "id": order_id}, f"w{n}")
        for n, order_id in enumerate(spellings)
    ]
    assert [r.status_code for r in outcomes] == [200, 200, 200]
    assert [json.loads(r.body)["outcome"] for r in outcomes] == ["credited", "duplicate", "duplicate"]
    assert {json.loads(r.body)["order_id"] for r in outcomes} == {"123"}
    assert store.get(Keys.deal_sales(deal_id))["orders"] == 1
    assert store.get(Keys.order("000123")) is None


def test_a_refund_naming_its_order_with_leading_zeros_nets_that_order(api: Any, store: Any, deal_id: str) -> None:
    from chalicelib.sales import channel_sales

    assert send(api, shopify_order(42, codes=("SAVE20",), total="403.00"), "order").status_code == 200
    refund = {**shopify_refund(9, 42, amount="3.00"), "order_id": "0042", "id": "009"}
    answer = send(api, refund, "refund", topic="refunds/create")
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"outcome": "refunded", "order_id": "42", "deals": [deal_id]}
    assert channel_sales(store)["revenue_USD"] == 400


@pytest.mark.parametrize(
    "order_id", ["12a", "", " 123", "-123", "1.5", "١٢٣", 12.0, -1, True, None, 10**20, "9" * 21], ids=repr
)
def test_an_order_id_that_is_not_a_number_is_a_400_and_changes_nothing(api: Any, cloud: Any, order_id: Any) -> None:
    from tests.integration.test_x_webhook import table_is_empty

    answer = send(api, {**shopify_order(0, codes=("SAVE20",)), "id": order_id}, "w")
    assert answer.status_code == 400, answer.body
    assert "id" in json.loads(answer.body)["error"]["fields"]
    assert table_is_empty(cloud)
