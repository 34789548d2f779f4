"""Attribution: store orders credited to the deals whose codes they used, and the deals' inventory.

An order is one item, ``ORDER#<id>``: ``credited``, ``cancelled``, or ``pending`` (a refund came
before its order). What an order adds to the counters is a function of that item alone (its deals
and lines, its total, its refunds, its status), so every change is one transaction: the order item
moved on, conditioned on the version it was read at, plus the difference the change makes to each
deal's orders, units, revenue and inventory and to the channel's totals. A redelivered webhook
(same ``X-Shopify-Webhook-Id``), a second webhook for the same order, a cancellation or refund that
arrives before its order, or a Lambda that dies anywhere, all leave every count as if each event
had been applied once, in order.

Inventory: a deal with a ``quantity`` takes units from it (``sold``) under a condition that the
count never passes the quantity; an order for more units than are left is still credited (the
money is real) but takes only what is left. The order that takes the last unit ends the deal as
sold out: no more DM alerts, and one follow-up reply. A cancellation gives its units back; a
refund takes back money and units from the figures but not from the deal's count.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from chalicelib.deals import CODE_PATTERN, RELEASED, SOLD_OUT
from chalicelib.errors import BadRequest, Conflict, Unauthorized
from chalicelib.followups import end_released_deal
from chalicelib.http import field_errors
from chalicelib.money import minor_unit
from chalicelib.observability import logger
from chalicelib.shopify.orders import UNSPECIFIED, ShopifyOrder, ShopifyRefund
from chalicelib.shopify.webhooks import hmac_is_valid
from chalicelib.store import ConditionFailed, Item, Keys, Store, TransactionConflict, iso
from chalicelib.store.conditions import Attr

ORDERS_CREATE, ORDERS_CANCELLED, REFUNDS_CREATE = "orders/create", "orders/cancelled", "refunds/create"
TOPICS = (ORDERS_CREATE, ORDERS_CANCELLED, REFUNDS_CREATE)
PENDING, CREDITED, CANCELLED, REFUNDED = "pending", "credited", "cancelled", "refunded"
MAX_CODES = 20  # a transaction holds 100 operations: 3 for the order, 2 per deal
MAX_RECORD_BYTES = 300_000  # an item holds 400 KB
ATTEMPTS = 5  # reads of an order that kept changing; conflicts also stop at the backoff's deadline
DEDUPE_FOR = timedelta(days=7)  # Shopify retries a delivery up to 8 times over 4 hours
PENDING_FOR = timedelta(days=30)  # a refund whose order never comes (one with no code) is dropped

Counters = dict[str, int | Decimal]


@dataclass(frozen=True)
class OrderOutcome:
    outcome: str  # credited, cancelled, refunded, pending, duplicate, ignored
    order_id: str | None = None
    deals: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "order_id": self.order_id, "deals": list(self.deals)}


def receive_order_delivery(
    store: Store,
    *,
    body: bytes,
    hmac_header: str | None,
    secret: str,
    topic: str | None,
    webhook_id: str | None,
    now: datetime,
    count_test_orders: bool,
) -> OrderOutcome:
    """One Shopify webhook delivery (an order created or cancelled, a refund): verified, read, applied once."""
    if not hmac_is_valid(secret, body, hmac_header):
        raise Unauthorized("missing or invalid X-Shopify-Hmac-Sha256")
    topic = (topic or ORDERS_CREATE).strip().lower()  # this route is the orders/create webhook
    if topic not in TOPICS:
        return OrderOutcome("ignored")
    event = _read(body, ShopifyRefund if topic == REFUNDS_CREATE else ShopifyOrder)
    if isinstance(event, ShopifyOrder) and event.test and not count_test_orders:
        return OrderOutcome("ignored", event.id)
    order_id = event.order_id if isinstance(event, ShopifyRefund) else event.id
    # The delivery's marker is written with the change it makes: a redelivery finds the order
    # already moved on (one read), and two copies racing cannot both apply.
    marker = Keys.dedupe("shopify", _short(webhook_id.strip())) if webhook_id and webhook_id.strip() else None
    pacer = store.pacer()
    for _ in range(ATTEMPTS):  # another change to the same order or deal won the race: read again
        try:
            return _apply(store, order_id, topic, event, marker, now)
        except ConditionFailed as exc:
            if marker is not None and exc.index == 0:
                return OrderOutcome("duplicate", order_id)  # the same delivery, applied concurrently
        except TransactionConflict:  # a concurrent transaction held an item this one writes
            if not pacer.pause():
                break
    raise Conflict("the order kept changing while it was recorded; Shopify's redelivery will apply it")


def _short(webhook_id: str) -> str:
    """Shopify's ids are UUIDs; anything longer is hashed, so no header can outgrow a key."""
    return webhook_id if len(webhook_id) <= 100 else hashlib.sha256(webhook_id.encode()).hexdigest()


def _read(body: bytes, model: type[ShopifyOrder] | type[ShopifyRefund]) -> ShopifyOrder | ShopifyRefund:
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    try:
        event = model.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(f"the body is not a Shopify {model.__name__[7:].lower()}", fields=field_errors(exc)) from None
    if isinstance(event, ShopifyOrder) and event.currency_code is None:
        raise BadRequest("the order's currency is not an ISO 4217 code", fields={"currency": "unknown"})
    return event


def deal_for_code(store: Store, code: str, at: datetime) -> str | None:
    """The deal ``code`` belongs to for an order placed at ``at``: the latest released before it (a
    code can be reused by a later deal), else the live deal holding it (an order can beat the post
    by a moment), else the latest deal that went out with it (the order's clock was off)."""
    partition = Keys.code(code)
    before = (Keys.CODE_RELEASED, f"{Keys.CODE_RELEASED}{iso(at)}~")
    released = store.query(partition, sk_between=before, newest_first=True, limit=1).items
    if released:
        return str(released[0]["deal_id"])
    live = store.get(Keys.live_code(code))
    if live:
        return str(live["deal_id"])
    latest = store.query(partition, sk_prefix=Keys.CODE_RELEASED, newest_first=True, limit=1).items
    return str(latest[0]["deal_id"]) if latest else None


def channel_sales(store: Store) -> Counters:
    """The channel's totals: the sum of the shards (one BatchGetItem)."""
    return store.sum_of(Keys.sales_totals(n) for n in range(Keys.SALES_SHARDS))


# --- one change to an order -----------------------------------------------------------------


def _apply(
    store: Store,
    order_id: str,
    topic: str,
    event: ShopifyOrder | ShopifyRefund,
    marker: Item | None,
    now: datetime,
) -> OrderOutcome:
    current = store.get(Keys.order(order_id), consistent=True)
    if isinstance(event, ShopifyRefund):
        record = _refunded(current, event, now)
    else:
        record = _ordered(store, current, event, topic, now)
    if record is None:
        no_code = isinstance(event, ShopifyOrder) and not event.lines_by_code()
        return OrderOutcome("ignored" if no_code else "duplicate", order_id)
    deals: dict[str, Item] = {}  # read only when the order starts to count: it takes inventory then
    if record["status"] == CREDITED and (current is None or current["status"] != CREDITED):
        deals = {d: store.get(Keys.deal(d), consistent=True) or {} for d in record["deals"]}
        _take_inventory(record, deals)
    before, after = contribution(current), contribution(record)
    version = int(current["version"]) if current else 0
    record["version"] = version + 1
    if len(json.dumps(record, default=str)) > MAX_RECORD_BYTES:
        raise BadRequest(f"order {order_id} holds more lines or refunds than outlet records")
    ops = [store.op_put(record, Attr("version").eq(version) if current else store.absent_condition())]
    ops += _difference_ops(store, before, after, deals, shard=int(order_id) % Keys.SALES_SHARDS)
    if marker is not None:
        ops.insert(0, store.op_put({**marker, "ttl": int((now + DEDUPE_FOR).timestamp())}, Attr("PK").not_exists()))
    store.transact(ops)
    taken = {d: after.claimed.get(d, 0) - before.claimed.get(d, 0) for d in after.claimed}
    _end_sold_out(store, {d: n for d, n in taken.items() if deals.get(d, {}).get("quantity") is not None}, now)
    outcome = REFUNDED if isinstance(event, ShopifyRefund) and record["status"] != PENDING else str(record["status"])
    logger.info("order applied", extra={"order_id": order_id, "outcome": outcome, "deals": list(record["deals"])})
    return OrderOutcome(outcome, order_id, tuple(record["deals"]))


def _ordered(store: Store, current: Item | None, order: ShopifyOrder, topic: str, now: datetime) -> Item | None:
    """The order item after ``orders/create`` or ``orders/cancelled``; None if nothing changes."""
    cancelled = topic == ORDERS_CANCELLED
    if current is not None and current["status"] != PENDING:
        if cancelled and current["status"] == CREDITED:
            return {**current, "status": CANCELLED, "cancelled_at": iso(now)}
        return None  # a duplicate, or an order created after its cancellation arrived
    facts = _facts(store, order, now)
    if facts is None:
        return None  # no discount code: not the channel's order
    record = {**facts, "status": CANCELLED if cancelled else CREDITED, "refunds": (current or {}).get("refunds", {})}
    if cancelled:
        record["cancelled_at"] = iso(now)
    return record


def _refunded(current: Item | None, refund: ShopifyRefund, now: datetime) -> Item | None:
    refunds = dict((current or {}).get("refunds", {}))
    if refund.id in refunds:
        return None
    refunds[refund.id] = {"amounts": refund.amounts(), "lines": refund.lines(), "recorded_at": iso(now)}
    if current is not None:
        return {**current, "refunds": refunds}
    # The refund beat its order here: keep it until the order comes, then count the order net of it.
    pending = {"order_id": refund.order_id, "status": PENDING, "deals": {}, "refunds": refunds}
    return {**Keys.order(refund.order_id), **pending, "ttl": int((now + PENDING_FOR).timestamp())}


def _facts(store: Store, order: ShopifyOrder, now: datetime) -> Item | None:
    """What the order is, for attribution: its total, and each matched deal with the lines it discounted."""
    lines_by_code = dict(list(order.lines_by_code().items())[:MAX_CODES])
    if not lines_by_code:
        return None
    placed_at = order.placed_at(now)
    deals: dict[str, Item] = {}
    for code, lines in lines_by_code.items():
        deal_id = deal_for_code(store, code, placed_at) if CODE_PATTERN.match(code) else None
        if deal_id is not None:
            credit = deals.setdefault(deal_id, {"codes": [], "lines": {}, "claimed": 0})
            credit["codes"].append(code)
            credit["lines"].update({line.id: line.quantity for line in lines})
    return {
        **Keys.order(order.id),
        "order_id": order.id,
        "name": order.name,
        "placed_at": iso(placed_at),
        "recorded_at": iso(now),
        "currency": order.currency_code,
        "total": order.total,
        "codes": sorted(code[:64] for code in lines_by_code),
        "deals": deals,
        **_presentment(order),
    }


def _presentment(order: ShopifyOrder) -> Item:
    """The customer's currency and its rate to the shop's, when they differ: refunds may come in it."""
    presentment, rate = (order.presentment_currency or "").upper(), order.shop_per_presentment()
    if not presentment or presentment == order.currency_code or rate is None:
        return {}
    return {"presentment_currency": presentment, "shop_per_presentment": rate}


def _take_inventory(record: Item, deals: dict[str, Item]) -> None:
    """How many of each deal's remaining units this order takes (all it bought, or what is left)."""
    for deal_id, credit in record["deals"].items():
        deal, bought = deals[deal_id], sum(int(q) for q in credit["lines"].values())
        if deal.get("quantity") is None:
            credit["claimed"] = bought
        else:
            credit["claimed"] = min(bought, max(0, int(deal["quantity"]) - int(deal.get("sold", 0))))


# --- what an order adds to the counters -----------------------------------------------------


@dataclass
class Contribution:
    deals: dict[str, Counters] = field(default_factory=dict)
    claimed: dict[str, int] = field(default_factory=dict)
    totals: Counters = field(default_factory=dict)


def contribution(record: Item | None) -> Contribution:
    """What one order adds to each deal and to the channel: nothing unless it stands credited;
    then one order, its units and total, net of its refunds."""
    if record is None or record["status"] != CREDITED:
        return Contribution()
    currency, refunds = str(record["currency"]), record.get("refunds", {}).values()
    refunded = sum((Decimal(r["amounts"].get(c, 0)) for r in refunds for c in (currency, UNSPECIFIED)), Decimal(0))
    if record.get("presentment_currency"):  # money sent back in the customer's currency, in the shop's
        rate, theirs = Decimal(record["shop_per_presentment"]), str(record["presentment_currency"])
        back = sum((Decimal(r["amounts"].get(theirs, 0)) * rate for r in refunds), Decimal(0))
        refunded += back.quantize(minor_unit(currency))
    revenue: Counters = {f"revenue_{currency}": max(Decimal(0), Decimal(record["total"]) - refunded)}
    returned: Counter[str] = Counter()
    for r in refunds:
        returned.update({line: int(q) for line, q in r["lines"].items()})

    def units(lines: dict[str, Any]) -> int:
        return sum(max(0, int(q) - returned[line]) for line, q in lines.items())

    result = Contribution()
    every_line: dict[str, Any] = {}
    for deal_id, credit in record["deals"].items():
        result.deals[deal_id] = {"orders": 1, "units": units(credit["lines"]), **revenue}
        result.claimed[deal_id] = int(credit["claimed"])
        every_line.update(credit["lines"])
    if record["deals"]:
        result.totals = {"orders": 1, "units": units(every_line), **revenue}
    else:
        result.totals = {"unattributed_orders": 1, **{f"unattributed_{k}": v for k, v in revenue.items()}}
    return result


def _difference_ops(
    store: Store, before: Contribution, after: Contribution, deals: dict[str, Item], shard: int
) -> list[dict[str, Any]]:
    ops = []
    for deal_id in sorted(set(before.deals) | set(after.deals)):
        change = _minus(after.deals.get(deal_id, {}), before.deals.get(deal_id, {}))
        if change:
            ops.append(store.op_update(Keys.deal_sales(deal_id), add=change))
        taken = after.claimed.get(deal_id, 0) - before.claimed.get(deal_id, 0)
        if taken:
            ops.append(_inventory_op(store, deal_id, taken, deals.get(deal_id)))
    totals = _minus(after.totals, before.totals)
    if totals:
        ops.append(store.op_update(Keys.sales_totals(shard), add=totals))
    return ops


def _minus(after: Counters, before: Counters) -> Counters:
    names = set(after) | set(before)
    return {n: after.get(n, 0) - before.get(n, 0) for n in sorted(names) if after.get(n, 0) != before.get(n, 0)}


def _inventory_op(store: Store, deal_id: str, units: int, deal: Item | None) -> dict[str, Any]:
    if units < 0 or not deal or deal.get("quantity") is None:
        return store.op_update(Keys.deal(deal_id), add={"sold": units})
    quantity = int(deal["quantity"])
    # Never past the quantity, whatever other orders took since this one read the deal.
    return store.op_update(
        Keys.deal(deal_id),
        add={"sold": units},
        condition=Attr("quantity").eq(quantity) & Attr("sold").lte(quantity - units),
    )


def _end_sold_out(store: Store, taken: dict[str, int], now: datetime) -> None:
    """An order that took units of a deal with a quantity ends it if none are left, read after its
    write, so two orders taking the last units together still end it (the 5-minute sweep catches a
    crash here)."""
    for deal_id, units in taken.items():
        if units <= 0:
            continue
        deal = store.get(Keys.deal(deal_id), consistent=True) or {}
        quantity = deal.get("quantity")
        if quantity is not None and deal.get("status") == RELEASED and int(deal.get("sold", 0)) >= int(quantity):
            end_released_deal(store, deal, SOLD_OUT, now)
