"""Attribution: store orders credited to the deals whose codes they used, and the deals' inventory.

An order's life in the table is one item, ``ORDER#<id>``: absent, ``credited`` or ``cancelled``.
Every change is one transaction that moves the order item on (conditioned on the state it was read
in) together with everything the change adds or takes back: each deal's orders, units and revenue,
its inventory, and the channel's totals. So a redelivered webhook (same ``X-Shopify-Webhook-Id``),
a second webhook for the same order, a cancellation that arrives before its order, or a Lambda that
dies anywhere, all leave every count as if each order had been applied once, in order.

Inventory: a deal with a ``quantity`` takes units from it (``sold``) under a condition that the
count never passes the quantity; an order for more units than are left is still credited (the
money is real) but takes only what is left. The order that takes the last unit ends the deal as
sold out: no more DM alerts, and one follow-up reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr
from pydantic import ValidationError

from chalicelib.deals import RELEASED, SOLD_OUT
from chalicelib.errors import BadRequest, Conflict, Unauthorized
from chalicelib.followups import end_released_deal
from chalicelib.http import field_errors
from chalicelib.observability import logger
from chalicelib.shopify.orders import ShopifyOrder
from chalicelib.shopify.webhooks import hmac_is_valid
from chalicelib.store import ConditionFailed, Item, Keys, Store, iso

ORDERS_CREATE, ORDERS_CANCELLED = "orders/create", "orders/cancelled"
CREDITED, CANCELLED = "credited", "cancelled"
MAX_CODES = 20  # a transaction holds 100 operations: 3 for the order, 2 per deal
ATTEMPTS = 5
DEDUPE_FOR = timedelta(days=7)  # Shopify retries a delivery up to 8 times over 4 hours


@dataclass(frozen=True)
class OrderOutcome:
    outcome: str  # credited, cancelled, duplicate, ignored
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
    """One Shopify webhook delivery: verified, read and applied once."""
    if not hmac_is_valid(secret, body, hmac_header):
        raise Unauthorized("missing or invalid X-Shopify-Hmac-Sha256")
    topic = (topic or ORDERS_CREATE).strip().lower()  # this route is the orders/create webhook
    order = _read_order(body)
    if topic not in (ORDERS_CREATE, ORDERS_CANCELLED) or (order.test and not count_test_orders):
        return OrderOutcome("ignored", order.id)
    # The delivery's marker is written with the change it makes: a redelivery finds the order
    # already moved on (one read), and two copies racing cannot both apply.
    marker = Keys.dedupe("shopify", webhook_id.strip()) if webhook_id and webhook_id.strip() else None
    for _ in range(ATTEMPTS):  # another change to the same order or deal won the race: read again
        try:
            return _apply(store, order, topic, marker, now)
        except ConditionFailed as exc:
            if marker is not None and exc.index == 0:
                return OrderOutcome("duplicate", order.id)  # the same delivery, applied concurrently
    raise Conflict("the order kept changing while it was recorded; Shopify's redelivery will apply it")


def _read_order(body: bytes) -> ShopifyOrder:
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    try:
        order = ShopifyOrder.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest("the body is not a Shopify order", fields=field_errors(exc)) from None
    if order.currency_code is None:
        raise BadRequest("the order's currency is not an ISO 4217 code", fields={"currency": "unknown"})
    return order


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


def _apply(store: Store, order: ShopifyOrder, topic: str, marker: Item | None, now: datetime) -> OrderOutcome:
    current = store.get(Keys.order(order.id), consistent=True)
    if current is None:
        record = _new_record(store, order, now, cancelled=topic == ORDERS_CANCELLED)
        if record is None:
            return OrderOutcome("ignored", order.id)  # no discount code: not the channel's order
        deals = {d: store.get(Keys.deal(d), consistent=True) or {} for d in record["deals"]}
        if record["status"] == CREDITED:
            _take_inventory(record, deals)
        ops = [store.op_put(record, Attr("PK").not_exists())]
        ops += _credit_ops(store, record, sign=1 if record["status"] == CREDITED else 0, deals=deals)
    elif topic == ORDERS_CANCELLED and current["status"] == CREDITED:
        record = {**current, "status": CANCELLED, "cancelled_at": iso(now)}
        ops = [
            store.op_update(
                Keys.order(order.id), set={"status": CANCELLED, "cancelled_at": iso(now)}, condition=_unchanged(current)
            ),
            *_credit_ops(store, record, sign=-1, deals={}),
        ]
        deals = {}
    else:
        return OrderOutcome("duplicate", order.id)
    if marker is not None:
        ops.insert(0, store.op_put({**marker, "ttl": int((now + DEDUPE_FOR).timestamp())}, Attr("PK").not_exists()))
    store.transact([op for op in ops if op])
    logger.info(
        "order applied", extra={"order_id": order.id, "status": record["status"], "deals": list(record["deals"])}
    )
    _end_sold_out(store, record, deals, now)
    return OrderOutcome(str(record["status"]), order.id, tuple(record["deals"]))


def _new_record(store: Store, order: ShopifyOrder, now: datetime, *, cancelled: bool) -> Item | None:
    lines_by_code = dict(list(order.lines_by_code().items())[:MAX_CODES])
    if not lines_by_code:
        return None
    placed_at = order.placed_at(now)
    lines_by_deal: dict[str, dict[str, int]] = {}
    codes_by_deal: dict[str, list[str]] = {}
    for code, lines in lines_by_code.items():
        deal_id = deal_for_code(store, code, placed_at)
        if deal_id is not None:
            lines_by_deal.setdefault(deal_id, {}).update({line.id: line.quantity for line in lines})
            codes_by_deal.setdefault(deal_id, []).append(code)
    deals = {
        deal_id: {"codes": codes_by_deal[deal_id], "units": sum(lines.values()), "claimed": 0}
        for deal_id, lines in lines_by_deal.items()
    }
    credited_lines = {line: qty for lines in lines_by_deal.values() for line, qty in lines.items()}
    return {
        **Keys.order(order.id),
        "order_id": order.id,
        "name": order.name,
        "status": CANCELLED if cancelled else CREDITED,
        "placed_at": iso(placed_at),
        "recorded_at": iso(now),
        "currency": order.currency_code,
        "total": order.total,
        "codes": sorted(lines_by_code),
        "deals": deals,
        "units": sum(credited_lines.values()),
    }


def _take_inventory(record: Item, deals: dict[str, Item]) -> None:
    """How many of each deal's remaining units this order takes (all it bought, or what is left)."""
    for deal_id, credit in record["deals"].items():
        deal = deals[deal_id]
        if deal.get("quantity") is None:
            credit["claimed"] = credit["units"]
        else:
            left = max(0, int(deal["quantity"]) - int(deal.get("sold", 0)))
            credit["claimed"] = min(int(credit["units"]), left)


def _credit_ops(store: Store, record: Item, *, sign: int, deals: dict[str, Item]) -> list[dict[str, Any]]:
    """What an order adds to (sign 1) or takes back from (sign -1) its deals and the channel."""
    if sign == 0:
        return []
    revenue = f"revenue_{record['currency']}"
    total = Decimal(record["total"]) * sign
    ops = []
    for deal_id, credit in record["deals"].items():
        ops.append(
            store.op_update(
                Keys.deal_sales(deal_id), add={"orders": sign, "units": int(credit["units"]) * sign, revenue: total}
            )
        )
        claimed = int(credit["claimed"])
        if claimed:
            ops.append(_inventory_op(store, deal_id, claimed * sign, deals.get(deal_id)))
    totals: dict[str, int | Decimal]
    if record["deals"]:
        totals = {"orders": sign, "units": int(record["units"]) * sign, revenue: total}
    else:
        totals = {"unattributed_orders": sign, f"unattributed_{revenue}": total}
    ops.append(store.op_update(Keys.sales_totals(), add=totals))
    return ops


def _inventory_op(store: Store, deal_id: str, units: int, deal: Item | None) -> dict[str, Any]:
    if units < 0 or deal is None or deal.get("quantity") is None:
        return store.op_update(Keys.deal(deal_id), add={"sold": units})
    quantity = int(deal["quantity"])
    # Never past the quantity, whatever other orders took since this one read the deal.
    return store.op_update(
        Keys.deal(deal_id),
        add={"sold": units},
        condition=Attr("quantity").eq(quantity) & Attr("sold").lte(quantity - units),
    )


def _unchanged(record: Item) -> Any:
    return Attr("status").eq(record["status"])


def _end_sold_out(store: Store, record: Item, deals: dict[str, Item], now: datetime) -> None:
    """The order that took a deal's last unit ends it (the 5-minute sweep catches a crash here)."""
    for deal_id, credit in record["deals"].items():
        deal = deals.get(deal_id) or {}
        if deal.get("quantity") is None or deal.get("status") != RELEASED or not credit["claimed"]:
            continue
        if int(deal.get("sold", 0)) + int(credit["claimed"]) >= int(deal["quantity"]):
            end_released_deal(store, deal, SOLD_OUT, now)
