"""Attribution: Shopify orders credited to deals once, inventory that never oversells, reversals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deals import get_deal
from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.fees import FeeSchedule
from chalicelib.followups import sweep_ended_deals
from chalicelib.publishing import OutboxPublisher
from chalicelib.sales import OrderOutcome, channel_sales, receive_order_delivery
from chalicelib.shopify.webhooks import sign
from chalicelib.store import Keys, Store, TransactionConflict
from tests.conftest import FakeClock
from tests.factories import SHOPIFY_SECRET, release_deal, shopify_headers, shopify_order, shopify_refund
from tests.fakes import Crash, CrashingStore


def released(store: Store, clock: FakeClock, code: str, **overrides: Any) -> str:
    fields = {
        "title": f"Latitude {code}",
        "price": "449",
        "list_price": "649",
        "currency": "USD",
        "code": code,
        "url": "https://shop.example/latitude",
        "expires_at": clock() + timedelta(hours=4),
    }
    return str(release_deal(store, clock, **{**fields, **overrides})["id"])


def deliver(
    store: Store,
    clock: FakeClock,
    order: dict[str, Any],  # or a refund
    webhook_id: str,
    topic: str = "orders/create",
    secret: str = SHOPIFY_SECRET,
) -> OrderOutcome:
    return deliver_body(store, clock, json.dumps(order).encode(), webhook_id, topic, secret)


def deliver_body(
    store: Store,
    clock: FakeClock,
    body: bytes,
    webhook_id: str,
    topic: str = "orders/create",
    secret: str = SHOPIFY_SECRET,
) -> OrderOutcome:
    """A delivery as Shopify makes it: the body signed with ``secret``, checked against ours."""
    headers = shopify_headers(body, webhook_id=webhook_id, topic=topic, secret=secret)
    return receive_order_delivery(
        store,
        body=body,
        hmac_header=headers["X-Shopify-Hmac-Sha256"],
        secret=SHOPIFY_SECRET,
        topic=topic,
        webhook_id=webhook_id,
        now=clock(),
        count_test_orders=False,
    )


def sales(store: Store, deal_id: str) -> dict[str, Any]:
    return store.get(Keys.deal_sales(deal_id)) or {}


def totals(store: Store) -> dict[str, Any]:
    return channel_sales(store)


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    # Given a body and a secret, computed here with the standard library, not by the code under test
    body = b'{"id":820982911946154508}'
    expected = base64.b64encode(hmac.new(b"hush", body, hashlib.sha256).digest()).decode()
    # Then outlet signs it the same way (and a different body or secret does not match)
    assert sign("hush", body) == expected
    assert sign("hush", body + b" ") != expected
    assert sign("other", body) != expected


def test_a_bad_signature_writes_nothing(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "LAT7420")
    with pytest.raises(Unauthorized):
        deliver(store, clock, shopify_order(1, codes=("LAT7420",)), "w-1", secret="not-the-secret")
    assert store.get(Keys.order("1")) is None
    assert sales(store, deal_id).get("orders") is None
    assert store.get(Keys.dedupe("shopify", "w-1")) is None


def test_eight_redeliveries_and_a_second_webhook_count_the_order_once(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "LAT7420", quantity=10)
    order = shopify_order(820982911946154508, codes=("lat7420",), total="449.00", quantities=(2, 1))
    outcomes = [deliver(store, clock, order, "w-1").outcome for _ in range(8)]
    outcomes.append(deliver(store, clock, order, "w-2-other-subscription").outcome)
    assert outcomes == ["credited"] + ["duplicate"] * 8
    row = sales(store, deal_id)
    assert (row["orders"], row["units"], row["revenue_USD"]) == (1, 3, Decimal("449"))
    assert get_deal(store, deal_id)["sold"] == 3
    assert (totals(store)["orders"], totals(store)["revenue_USD"]) == (1, Decimal("449"))


def test_an_order_with_two_deals_codes_credits_each_deal_and_counts_once(store: Store, clock: FakeClock) -> None:
    # Given two live deals, and one order whose codes discounted one line item each
    laptop = released(store, clock, "LAPTOP", quantity=5)
    clock.advance(minutes=1)
    dock = released(store, clock, "DOCK", quantity=5, title="WD19 dock", url="https://shop.example/dock")
    order = shopify_order(5001, applied={"LAPTOP": [0], "dock": [1]}, total="600.00", quantities=(1, 2))
    assert set(deliver(store, clock, order, "w-5001").deals) == {laptop, dock}
    # Then each deal has the order with its own lines' units, and the channel counts it once
    assert (sales(store, laptop)["orders"], sales(store, laptop)["units"]) == (1, 1)
    assert (sales(store, dock)["orders"], sales(store, dock)["units"]) == (1, 2)
    assert sales(store, laptop)["revenue_USD"] == sales(store, dock)["revenue_USD"] == Decimal("600")
    assert (totals(store)["orders"], totals(store)["units"], totals(store)["revenue_USD"]) == (1, 3, Decimal("600"))
    assert (get_deal(store, laptop)["sold"], get_deal(store, dock)["sold"]) == (1, 2)


class RacingStore(Store):
    """Runs ``meanwhile`` just before its first transaction: another order read the same deal and
    committed first, the race two Lambdas run for the last units."""

    def __init__(self, inner: Store, meanwhile: Callable[[], Any]) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.meanwhile: Callable[[], Any] | None = meanwhile

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        super().transact(ops, token=token)


def test_concurrent_orders_for_the_last_units_never_oversell(store: Store, clock: FakeClock) -> None:
    # Given a deal with 3 units, 1 left, and two orders for 2 units each racing for it
    deal_id = released(store, clock, "LAST3", quantity=3)
    deliver(store, clock, shopify_order(1, codes=("LAST3",), quantities=(1, 1)), "w-1")
    rival = shopify_order(2, codes=("LAST3",), quantities=(1, 1), total="898.00")
    racing = RacingStore(store, lambda: deliver(store, clock, rival, "w-2"))
    deliver(racing, clock, shopify_order(3, codes=("LAST3",), quantities=(1, 1), total="898.00"), "w-3")
    # Then the count stops at the quantity, the money of all three orders is credited,
    deal = get_deal(store, deal_id)
    assert deal["sold"] == 3
    claimed = [store.get(Keys.order(str(n)))["deals"][deal_id]["claimed"] for n in (1, 2, 3)]  # type: ignore[index]
    assert claimed == [2, 1, 0]
    assert (sales(store, deal_id)["orders"], sales(store, deal_id)["revenue_USD"]) == (3, Decimal("2199"))
    # and the deal is sold out, with one follow-up reply
    assert deal["status"] == "sold_out"
    assert store.get(Keys.live_code("LAST3")) is None
    publisher = OutboxPublisher(store, clock)
    for _ in range(3):
        sweep_ended_deals(store, publisher, FeeSchedule(), clock())
        clock.advance(minutes=5)
    assert get_deal(store, deal_id)["followup_post_id"]


def test_a_crash_after_the_last_unit_is_taken_is_ended_by_the_sweep(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "LAST1", quantity=1)
    dying = CrashingStore(store, when=lambda ops: any("FOLLOWUP" in json.dumps(op, default=str) for op in ops))
    with pytest.raises(Crash):
        deliver(dying, clock, shopify_order(9, codes=("LAST1",), quantities=(1, 0)), "w-9")
    assert get_deal(store, deal_id)["status"] == "released"
    assert get_deal(store, deal_id)["sold"] == 1
    assert sweep_ended_deals(store, OutboxPublisher(store, clock), FeeSchedule(), clock()).ended == [deal_id]


def test_a_cancellation_reverses_the_credit_exactly_once(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "UNDO", quantity=10)
    order = shopify_order(77, codes=("UNDO",), total="449.00", quantities=(1, 1))
    deliver(store, clock, order, "w-create")
    assert deliver(store, clock, order, "w-cancel", topic="orders/cancelled").outcome == "cancelled"
    assert deliver(store, clock, order, "w-cancel", topic="orders/cancelled").outcome == "duplicate"
    assert deliver(store, clock, order, "w-cancel-2", topic="orders/cancelled").outcome == "duplicate"
    assert deliver(store, clock, order, "w-create-late", topic="orders/create").outcome == "duplicate"
    row = sales(store, deal_id)
    assert (row["orders"], row["units"], row["revenue_USD"]) == (0, 0, Decimal("0"))
    assert get_deal(store, deal_id)["sold"] == 0  # the units are back for the next buyer
    assert (totals(store)["orders"], totals(store)["revenue_USD"]) == (0, Decimal("0"))


def test_a_cancellation_that_arrives_before_its_order_leaves_nothing_counted(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "EARLY", quantity=10)
    order = shopify_order(78, codes=("EARLY",))
    assert deliver(store, clock, order, "w-cancel", topic="orders/cancelled").outcome == "cancelled"
    assert deliver(store, clock, order, "w-create").outcome == "duplicate"
    assert "orders" not in sales(store, deal_id)
    assert get_deal(store, deal_id)["sold"] == 0
    assert totals(store) == {}


def test_currencies_are_kept_apart(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "WORLD")
    deliver(store, clock, shopify_order(1, codes=("WORLD",), total="449.99", currency="USD"), "w-1")
    deliver(store, clock, shopify_order(2, codes=("WORLD",), total="399.50", currency="EUR"), "w-2")
    deliver(store, clock, shopify_order(3, codes=("WORLD",), total="0.01", currency="USD"), "w-3")
    row = sales(store, deal_id)
    assert (row["revenue_USD"], row["revenue_EUR"]) == (Decimal("450.00"), Decimal("399.50"))
    assert row["orders"] == 3


def priced_in(order: dict[str, Any], currency: str, total: str) -> dict[str, Any]:
    """Shopify's order fixture as a shop selling in a 3-decimal currency sends it: every money
    field in ``currency`` with three decimals ("199.000"), the order's total ``total``."""

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            money = {k: convert(v) for k, v in node.items()}
            if "currency_code" in money and "amount" in money:
                money["currency_code"], money["amount"] = currency, f"{Decimal(money['amount']):.3f}"
            return money
        return [convert(v) for v in node] if isinstance(node, list) else node

    converted: dict[str, Any] = convert(order)
    converted.update(currency=currency, presentment_currency=currency, current_total_price=total, total_price=total)
    converted["total_price_set"]["shop_money"]["amount"] = total
    converted["total_price_set"]["presentment_money"]["amount"] = total
    return converted


@pytest.mark.parametrize("currency", ["KWD", "BHD", "OMR", "JOD", "TND"])
def test_orders_in_three_decimal_currencies_are_credited_to_the_fils(
    store: Store, clock: FakeClock, currency: str
) -> None:
    from chalicelib.reports import channel_summary

    # Given a deal, and an order for 149.995 (and a refund of 20.005) in a currency with 1,000 minor units
    deal_id = released(store, clock, "FILS")
    order = priced_in(shopify_order(70, codes=("FILS",)), currency, "149.995")
    assert deliver(store, clock, order, "w-fils").outcome == "credited"
    refund = shopify_refund(701, 70, amount="20.005", currency=currency)
    assert deliver(store, clock, refund, "w-fils-refund", topic="refunds/create").outcome == "refunded"
    # Then every fils counts, in the deal and in the report
    assert sales(store, deal_id)[f"revenue_{currency}"] == Decimal("129.990")
    report = channel_summary(store, clock())
    assert report["revenue"] == {currency: "129.990"}
    assert report["deals"][0]["revenue"] == {currency: "129.990"}


def test_amounts_finer_than_any_currency_are_still_refused(store: Store, clock: FakeClock) -> None:
    released(store, clock, "FINE")
    order = priced_in(shopify_order(71, codes=("FINE",)), "KWD", "149.9951")
    with pytest.raises(BadRequest):
        deliver(store, clock, order, "w-fine")


def test_orders_with_unknown_codes_are_unattributed_and_orders_without_codes_ignored(
    store: Store, clock: FakeClock
) -> None:
    assert deliver(store, clock, shopify_order(1, codes=("NOSUCHDEAL",), total="10.00"), "w-1").outcome == "credited"
    assert deliver(store, clock, shopify_order(2), "w-2").outcome == "ignored"
    assert (totals(store)["unattributed_orders"], totals(store)["unattributed_revenue_USD"]) == (1, Decimal("10"))
    assert "orders" not in totals(store)
    assert store.get(Keys.order("2")) is None


def test_a_reused_code_credits_the_deal_whose_post_carried_it_then(store: Store, clock: FakeClock) -> None:
    first = released(store, clock, "AGAIN", expires_at=clock() + timedelta(minutes=30))
    clock.advance(hours=1)
    sweep_ended_deals(store, OutboxPublisher(store, clock), FeeSchedule(), clock())  # the first deal expires
    placed_during_first = (clock() - timedelta(minutes=40)).isoformat()
    second = released(store, clock, "AGAIN", title="Latitude 5450", url="https://shop.example/5450")
    deliver(store, clock, shopify_order(1, codes=("AGAIN",), created_at=placed_during_first), "w-1")
    deliver(store, clock, shopify_order(2, codes=("AGAIN",), created_at=clock().isoformat()), "w-2")
    assert (sales(store, first)["orders"], sales(store, second)["orders"]) == (1, 1)


def test_a_valid_signature_on_a_body_that_is_not_an_order_is_a_400_and_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    for body in (b"not json", b"[]", json.dumps({"id": "x1", "currency": "USD"}).encode()):
        with pytest.raises(BadRequest):
            deliver_body(store, clock, body, "w-bad")
    assert store.get(Keys.dedupe("shopify", "w-bad")) is None


def test_shopify_test_orders_are_left_out_unless_asked_for(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "TESTING")
    order = {**shopify_order(5, codes=("TESTING",)), "test": True}
    assert deliver(store, clock, order, "w-5").outcome == "ignored"
    assert "orders" not in sales(store, deal_id)


def test_a_refund_takes_back_its_money_and_units_once(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "BACK", quantity=10)
    deliver(store, clock, shopify_order(90, codes=("BACK",), total="600.00", quantities=(2, 1)), "w-order")
    refund = shopify_refund(501, 90, amount="200.00", lines={0: 1})
    assert deliver(store, clock, refund, "w-refund", topic="refunds/create").outcome == "refunded"
    assert deliver(store, clock, refund, "w-refund", topic="refunds/create").outcome == "duplicate"
    assert deliver(store, clock, refund, "w-refund-again", topic="refunds/create").outcome == "duplicate"
    row = sales(store, deal_id)
    assert (row["orders"], row["units"], row["revenue_USD"]) == (1, 2, Decimal("400"))  # the failed one is not money
    assert (totals(store)["units"], totals(store)["revenue_USD"]) == (2, Decimal("400"))
    assert get_deal(store, deal_id)["sold"] == 3  # a refund does not put units back in the deal's count
    # A later cancellation takes back what is left, no more
    deliver(
        store, clock, shopify_order(90, codes=("BACK",), total="600.00", quantities=(2, 1)), "w-c", "orders/cancelled"
    )
    row = sales(store, deal_id)
    assert (row["orders"], row["units"], row["revenue_USD"]) == (0, 0, Decimal("0"))


def test_a_refund_that_arrives_before_its_order_is_netted_when_the_order_comes(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "LATE")
    refund = shopify_refund(502, 91, amount="100.00", lines={1: 1}, currency=None)
    assert deliver(store, clock, refund, "w-refund", topic="refunds/create").outcome == "pending"
    assert "orders" not in sales(store, deal_id)
    deliver(store, clock, shopify_order(91, codes=("LATE",), total="500.00", quantities=(1, 1)), "w-order")
    row = sales(store, deal_id)
    assert (row["orders"], row["units"], row["revenue_USD"]) == (1, 1, Decimal("400"))


def test_two_orders_that_take_the_last_units_together_end_the_deal(store: Store, clock: FakeClock) -> None:
    # Given 3 units: this order reads the deal with none sold and takes 2, while a rival takes 1 first
    deal_id = released(store, clock, "PAIR", quantity=3)
    rival = shopify_order(2, codes=("PAIR",), quantities=(1, 0))
    racing = RacingStore(store, lambda: deliver(store, clock, rival, "w-2"))
    deliver(racing, clock, shopify_order(1, codes=("PAIR",), quantities=(1, 1)), "w-1")
    # Then the deal is sold out at once, read after the write rather than before it
    deal = get_deal(store, deal_id)
    assert (deal["sold"], deal["status"]) == (3, "sold_out")


def test_the_same_delivery_applied_concurrently_counts_once(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "TWIN")
    order = shopify_order(3, codes=("TWIN",))
    racing = RacingStore(store, lambda: deliver(store, clock, order, "w-same"))
    assert deliver(racing, clock, order, "w-same").outcome == "duplicate"  # the webhook id's marker
    assert sales(store, deal_id)["orders"] == 1


class ConflictOnce(Store):
    """A store whose first transaction meets another one on the same item (TransactionConflict)."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.conflicts = 1

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise TransactionConflict("another transaction holds SALES#TOTALS")
        super().transact(ops, token=token)


def test_a_transaction_conflict_is_retried(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "RETRY")
    assert deliver(ConflictOnce(store), clock, shopify_order(4, codes=("RETRY",)), "w-4").outcome == "credited"
    assert sales(store, deal_id)["orders"] == 1


def test_a_refund_in_the_customers_currency_is_taken_back_in_the_shops(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "ABROAD")
    order = shopify_order(5, codes=("ABROAD",), total="110.00")
    order["presentment_currency"] = "EUR"
    order["total_price_set"] = {
        "shop_money": {"amount": "110.00", "currency_code": "USD"},
        "presentment_money": {"amount": "100.00", "currency_code": "EUR"},
    }
    deliver(store, clock, order, "w-5")
    deliver(store, clock, shopify_refund(505, 5, amount="50.00", currency="EUR"), "w-r", topic="refunds/create")
    assert sales(store, deal_id)["revenue_USD"] == Decimal("55.00")


def test_a_pending_refund_past_its_ttl_does_not_block_its_order(store: Store, clock: FakeClock) -> None:
    deal_id = released(store, clock, "STALE")
    deliver(store, clock, shopify_refund(506, 6, amount="10.00"), "w-r", topic="refunds/create")
    clock.advance(days=31)  # DynamoDB may keep an expired item for days: it must not count
    assert deliver(store, clock, shopify_order(6, codes=("STALE",), total="90.00"), "w-6").outcome == "credited"
    assert sales(store, deal_id)["revenue_USD"] == Decimal("90")


@pytest.mark.parametrize(
    "change",
    [
        {"created_at": "0001-01-01T00:00:00+05:00"},
        {"created_at": "9999-12-31T23:59:59-05:00"},
        {"line_items": [{"id": 1, "quantity": 10**39}]},
        {"line_items": [{"id": "", "quantity": 1}]},
        {"line_items": [{"id": "x" * 500_000, "quantity": 1}]},
        {"discount_applications": [{"type": "discount_code", "code": "C" * 3000}]},
    ],
)
def test_implausible_orders_are_refused_and_write_nothing(
    store: Store, clock: FakeClock, change: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest):
        deliver(store, clock, {**shopify_order(7, codes=("ANY",)), **change}, "w-7")
    assert store.get(Keys.order("7")) is None


def test_codes_that_no_deal_could_have_are_unattributed_without_a_lookup(store: Store, clock: FakeClock) -> None:
    order = {**shopify_order(8), "discount_codes": [{"code": "SUMMER SALE 50% OFF!", "amount": "5.00"}]}
    assert deliver(store, clock, order, "w-8").outcome == "credited"
    assert channel_sales(store)["unattributed_orders"] == 1


def test_a_deeply_nested_body_is_a_400(store: Store, clock: FakeClock) -> None:
    with pytest.raises(BadRequest):
        deliver_body(store, clock, b"[" * 100_000 + b"]" * 100_000, "w-deep")
