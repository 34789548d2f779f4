"""Test payloads built from the real fixtures in tests/events (copied from ../shared/fixtures):
every variant keeps the shape of a real payload and changes only ids, times and direction."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from chalicelib.deals import DealFields, create_deal, get_deal
from chalicelib.publishing import OutboxPublisher
from chalicelib.releases import ReleasePolicy, release_due_deals
from chalicelib.store import Store

EVENTS = Path(__file__).parent / "events"
CONSUMER_SECRET = "test-consumer-secret"
SHOPIFY_SECRET = "test-shopify-secret"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def signature(body: bytes, secret: str = CONSUMER_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, secret: str = CONSUMER_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-twitter-webhooks-signature": signature(body, secret)}


def aaa_follow(
    account: str,
    follower: str,
    millis: int,
    kind: str = "follow",
    handle: str | None = None,
    key: str = "follow_events",
) -> dict[str, Any]:
    """The Account Activity API follow fixture, for ``follower`` following (or leaving) ``account``."""
    payload: dict[str, Any] = load_event("x/x_follow_event.json")
    event = payload["follow_events"][0]
    event["type"] = kind
    event["created_timestamp"] = str(millis)
    event["target"]["id"] = account
    event["source"]["id"] = follower
    event["source"]["screen_name"] = handle or f"user{follower}"
    payload["for_user_id"] = account
    if key != "follow_events":
        payload[key] = payload.pop("follow_events")
    return payload


def xaa_follow(
    account: str, follower: str, uuid: str, kind: str = "follow", handle: str | None = None
) -> dict[str, Any]:
    """The X Activity API follow fixture turned around: ``follower`` (source) follows ``account`` (target)."""
    name = "x/x_xaa_follow_follow.json" if kind == "follow" else "x/x_xaa_follow_unfollow.json"
    payload: dict[str, Any] = copy.deepcopy(load_event(name))
    data = payload["data"]
    data["event_uuid"] = uuid
    data["filter"]["user_id"] = account
    data["payload"]["target"]["data"]["id"] = account
    data["payload"]["source"]["data"]["id"] = follower
    data["payload"]["source"]["data"]["username"] = handle or f"user{follower}"
    return payload


def x_reply(post_id: str, text: str, answers: str, *, account: str, author: str) -> dict[str, Any]:
    """The captured Account Activity reply, as ``author``'s reply to ``answers`` on ``account``."""
    payload: dict[str, Any] = load_event("x/x_tweet_create_reply.json")
    tweet = payload["tweet_create_events"][0]
    tweet.update(id_str=post_id, text=text, in_reply_to_status_id_str=answers, in_reply_to_user_id_str=account)
    tweet["user"]["id_str"] = author
    return payload


def shopify_order(
    order_id: int,
    *,
    codes: tuple[str, ...] = (),
    applied: dict[str, list[int]] | None = None,
    total: str = "403.00",
    currency: str = "USD",
    created_at: str | None = None,
    quantities: tuple[int, int] = (1, 1),
) -> dict[str, Any]:
    """Shopify's own orders payload (tests/events/shopify) as an order that used ``codes``.

    ``codes`` go in ``discount_codes`` ({code, amount, type}, as Shopify documents each element);
    ``applied`` adds ``discount_code`` applications whose allocations point at the given line items
    (0 and 1, the fixture's two), the way Shopify links a code to the lines it discounted.
    """
    order: dict[str, Any] = load_event("shopify/shopify_order_create.json")
    order["id"] = order_id
    order["current_total_price"] = total
    order["currency"] = currency
    order["cancelled_at"] = None
    order["test"] = False
    if created_at is not None:
        order["created_at"] = created_at
    order["discount_codes"] = [{"code": code, "amount": "5.00", "type": "fixed_amount"} for code in codes]
    for line, quantity in zip(order["line_items"], quantities, strict=True):
        line["quantity"] = quantity
        line["discount_allocations"] = []
    for code, lines in (applied or {}).items():
        index = len(order["discount_applications"])
        application = dict(order["discount_applications"][0], type="discount_code", code=code)
        application.pop("title"), application.pop("description")
        order["discount_applications"].append(application)
        for line in lines:
            order["line_items"][line]["discount_allocations"].append(
                {"amount": "5.00", "discount_application_index": index}
            )
    return order


def shopify_headers(
    body: bytes, *, webhook_id: str, topic: str = "orders/create", secret: str = SHOPIFY_SECRET
) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "outlet-test.myshopify.com",
    }


def shopify_refund(
    refund_id: int, order_id: int, *, amount: str, lines: dict[int, int] | None = None, currency: str | None = "USD"
) -> dict[str, Any]:
    """A ``refunds/create`` payload in the shape of Shopify's REST Refund resource (no captured
    sample was saved in ../shared/fixtures): ``refund_line_items`` name the order's line items
    returned (0 and 1, the order fixture's two) and ``transactions`` the money sent back."""
    order = load_event("shopify/shopify_order_create.json")
    line_ids = [line["id"] for line in order["line_items"]]
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": "2026-11-26T12:30:00-05:00",
        "note": "Customer changed their mind",
        "restock": True,
        "refund_line_items": [
            {"id": 100 + n, "line_item_id": line_ids[n], "quantity": quantity, "restock_type": "return"}
            for n, quantity in (lines or {}).items()
        ],
        "transactions": [
            {
                "id": 200,
                "order_id": order_id,
                "kind": "refund",
                "status": "success",
                "amount": amount,
                "currency": currency,
            },
            {
                "id": 201,
                "order_id": order_id,
                "kind": "refund",
                "status": "failure",
                "amount": "999.00",
                "currency": currency,
            },
        ],
        "order_adjustments": [],
    }


def release_deal(store: Store, clock: Any, **fields: Any) -> dict[str, Any]:
    """A deal scheduled a minute ahead, then released by the release schedule to the outbox.
    ``clock`` is the tests' FakeClock; it moves two minutes on."""
    deal = {"release_at": clock() + timedelta(minutes=1), **fields}
    deal_id = str(create_deal(store, DealFields.model_validate(deal), clock())["id"])
    clock.advance(minutes=2)
    report = release_due_deals(store, OutboxPublisher(store, clock), ReleasePolicy(min_gap=timedelta(0)), clock())
    assert report.released == [deal_id], report
    return get_deal(store, deal_id)
