"""Tracked links, the Shopify webhook route, and the channel's report, through the HTTP API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.deals import DealFields, create_deal, get_deal
from chalicelib.fees import FeeSchedule
from chalicelib.followups import sweep_ended_deals
from chalicelib.links import follow_link
from chalicelib.publishing import OutboxPublisher
from chalicelib.store import Keys, Store, TransactionConflict
from tests.conftest import FakeClock
from tests.factories import release_deal, shopify_headers, shopify_order, signed_headers, x_reply

ACCOUNT = "1114259648326987776"  # the for_user_id of the captured reply


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # the API runs on the real clock: stay close to it


def release(store: Store, clock: FakeClock, code: str, **overrides: Any) -> dict[str, Any]:
    fields = {
        "title": f"Inspiron {code}",
        "price": "549",
        "list_price": "749",
        "currency": "USD",
        "code": code,
        "url": "https://shop.example/inspiron?ref=home&utm_source=newsletter",
    }
    return release_deal(store, clock, **{**fields, **overrides})


def click(api: Any, code: str, user_agent: str = "Mozilla/5.0 (iPhone)") -> Any:
    return api.http.get(f"/r/{code}", headers={"User-Agent": user_agent})


def test_a_click_redirects_with_utm_and_keeps_the_rest_of_the_query(api: Any, store: Store, clock: FakeClock) -> None:
    deal = release(store, clock, "INSP15")
    response = click(api, "insp15")  # codes are case-insensitive, as at the checkout
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"  # every click reaches us to be counted
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example", "/inspiron")
    assert parse_qs(location.query) == {
        "ref": ["home"],
        "utm_source": ["x"],
        "utm_medium": ["social"],
        "utm_campaign": [deal["id"]],
        "utm_content": [deal["post_id"]],
    }
    # Only a count is kept: nothing about who clicked
    assert {k: v for k, v in (store.get(Keys.deal_clicks(deal["id"])) or {}).items() if k not in ("PK", "SK")} == {
        "clicks": 1
    }


def test_a_click_on_an_expired_deal_still_redirects(api: Any, store: Store, clock: FakeClock) -> None:
    deal = release(store, clock, "GONE", expires_at=clock() + timedelta(minutes=10))
    clock.advance(minutes=20)
    sweep_ended_deals(store, OutboxPublisher(store, clock), FeeSchedule(), clock())
    assert get_deal(store, deal["id"])["status"] == "expired"
    response = click(api, "GONE")
    assert response.status_code == 302
    assert "utm_campaign=" + deal["id"] in response.headers["Location"]
    assert (store.get(Keys.deal_clicks(deal["id"])) or {})["clicks"] == 1


def test_link_preview_crawlers_are_counted_apart(api: Any, store: Store, clock: FakeClock) -> None:
    deal = release(store, clock, "CARD")
    assert click(api, "CARD", user_agent="Twitterbot/1.0").status_code == 302
    counts = store.get(Keys.deal_clicks(deal["id"])) or {}
    assert (counts.get("clicks"), counts.get("crawler_clicks")) == (None, 1)


def test_unknown_and_unreleased_codes_are_404(api: Any, store: Store, clock: FakeClock) -> None:
    fields = {"title": "Soon", "price": "1", "list_price": "2", "currency": "USD", "code": "SOON"}
    create_deal(store, DealFields.model_validate({**fields, "release_at": clock() + timedelta(days=1)}), clock())
    for code in ("NOPE", "SOON", "x", "%00%00"):
        response = click(api, code)
        assert response.status_code == 404, code
        assert json.loads(response.body)["error"]["code"] == "not_found"


def test_posts_carry_the_tracked_link_when_set(
    api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHORT_LINK_BASE_URL", "https://deals.example/api/")
    body = {
        "title": "Alienware m16",
        "price": "1499",
        "list_price": "1999",
        "currency": "USD",
        "code": "AW16",
        "url": "https://shop.example/alienware-m16-r2?variant=42",
        "release_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    response = api.http.post("/deals", body=json.dumps(body), headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    text = json.loads(response.body)["post_text"]
    assert "https://deals.example/api/r/AW16" in text
    assert "shop.example" not in text


def post_order(api: Any, order: dict[str, Any], webhook_id: str, signature: str | None = None) -> Any:
    body = json.dumps(order).encode()
    headers = shopify_headers(body, webhook_id=webhook_id)
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    return api.http.post("/webhooks/shopify/orders", body=body, headers=headers)


def test_the_shopify_route_verifies_credits_and_deduplicates(api: Any, store: Store, clock: FakeClock) -> None:
    deal = release(store, clock, "ROUTE")
    order = shopify_order(820982911946154508, codes=("ROUTE",))
    refused = post_order(api, order, "w-1", signature="bm90IGl0")
    assert refused.status_code == 401
    assert json.loads(refused.body)["error"]["code"] == "unauthorized"
    assert store.get(Keys.order("820982911946154508")) is None
    first, again = post_order(api, order, "w-1"), post_order(api, order, "w-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert json.loads(first.body) == {"outcome": "credited", "order_id": "820982911946154508", "deals": [deal["id"]]}
    assert json.loads(again.body)["outcome"] == "duplicate"
    garbled = api.http.post(
        "/webhooks/shopify/orders", body=b"{", headers=shopify_headers(b"{", webhook_id="w-garbled")
    )
    assert garbled.status_code == 400
    assert json.loads(garbled.body)["error"]["code"] == "bad_request"


def test_the_summary_says_what_the_channel_sold(
    api: Any, admin: dict[str, str], store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)
    # Given two released deals, clicks, orders in two currencies, a reply and a cancelled order
    laptop = release(store, clock, "SUMLAP")
    clock.advance(minutes=1)
    release(store, clock, "SUMMON", title="UltraSharp 27", url="https://shop.example/u27")
    for _ in range(4):
        click(api, "SUMLAP")
    click(api, "SUMMON")
    post_order(api, shopify_order(1, codes=("SUMLAP",), total="549.00"), "w-1")
    post_order(api, shopify_order(2, codes=("SUMLAP",), total="499.00", currency="EUR"), "w-2")
    post_order(api, shopify_order(3, codes=("SUMLAP", "SUMMON"), total="900.00", quantities=(1, 1)), "w-3")
    cancelled = shopify_order(4, codes=("SUMMON",), total="300.00")
    post_order(api, cancelled, "w-4")
    body = json.dumps(cancelled).encode()
    headers = shopify_headers(body, webhook_id="w-4c", topic="orders/cancelled")
    assert api.http.post("/webhooks/shopify/orders", body=body, headers=headers).status_code == 200
    payload = x_reply("1900000000000000001", "Love it, ordered two!", laptop["post_id"], account=ACCOUNT, author="42")
    raw = json.dumps(payload).encode()
    assert api.http.post("/webhooks/x", body=raw, headers=signed_headers(raw)).status_code == 200

    # When the operator asks for the summary
    response = api.http.get("/reports/summary", headers=admin)
    assert response.status_code == 200, response.body
    report = json.loads(response.body)

    # Then the totals count each order once and keep currencies apart
    assert report["deals_released"] == 2
    assert (report["orders"], report["units"], report["clicks"]) == (3, 6, 5)
    assert report["revenue"] == {"EUR": "499.00", "USD": "1449.00"}
    assert report["sentiment"] == {"positive": 1, "neutral": 0, "negative": 0}
    assert report["x_fees_usd"] == "0.400"  # two posts with a link
    assert report["conversion"] == "0.6000"
    # And each deal has its row, newest release first
    rows = {row["code"]: row for row in report["deals"]}
    assert [row["code"] for row in report["deals"]] == ["SUMMON", "SUMLAP"]
    lap, mon = rows["SUMLAP"], rows["SUMMON"]
    assert (lap["clicks"], lap["orders"], lap["units"]) == (4, 3, 6)
    assert lap["revenue"] == {"EUR": "499.00", "USD": "1449.00"}
    assert lap["conversion"] == "0.7500"
    assert lap["sentiment"] == {"positive": 1, "neutral": 0, "negative": 0}
    assert lap["released_at"] == laptop["released_at"]
    assert (lap["x_fees_usd"], lap["revenue_per_fee_usd"]) == ("0.200", {"EUR": "2495.00", "USD": "7245.00"})
    assert (mon["clicks"], mon["orders"], mon["revenue"], mon["conversion"]) == (1, 1, {"USD": "900.00"}, "1.0000")


def test_the_summary_of_an_empty_channel_is_zeros(api: Any, admin: dict[str, str]) -> None:
    report = json.loads(api.http.get("/reports/summary", headers=admin).body)
    assert (report["orders"], report["revenue"], report["clicks"], report["conversion"]) == (0, {}, 0, None)
    assert report["deals"] == []
    assert report["x_fees_usd"] == "0.000"
    assert api.http.get("/reports/summary").status_code == 401


class FailingUpdates(Store):
    """A store whose single-item updates fail as DynamoDB fails a write that meets a transaction."""

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise TransactionConflict("a transaction holds the item")


def test_a_click_that_cannot_be_counted_still_redirects(store: Store, clock: FakeClock) -> None:
    release(store, clock, "BUSY")
    failing = FailingUpdates(store.table_name, store._client, clock=store._clock)
    assert follow_link(failing, "BUSY", "Mozilla/5.0").startswith("https://shop.example/inspiron?")
