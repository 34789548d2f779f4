"""The channel's report (``GET /reports/summary``): what it sold and what it cost, in total and deal
by deal. Totals come from counters kept as things happen (each order counted once, even when it
used two deals' codes); the rows from each deal's own counters, read in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.community import community_summary
from chalicelib.deals import EXPIRED, RELEASED, SOLD_OUT
from chalicelib.dm_queue import dm_totals
from chalicelib.feedback import LABELS
from chalicelib.fees import spent_ever
from chalicelib.money import CENT
from chalicelib.response_times import response_time_summary
from chalicelib.sales import channel_sales
from chalicelib.store import GSI1, Item, Keys, Store

WENT_OUT = (RELEASED, SOLD_OUT, EXPIRED)  # the deals whose post was published
REVENUE = "revenue_"
MILLS, RATIO = Decimal("0.001"), Decimal("0.0001")


def channel_summary(
    store: Store, now: datetime, *, answer_alert_after: timedelta = timedelta(minutes=120)
) -> dict[str, Any]:
    community = community_summary(store, now)
    channel = store.get(Keys.channel_totals()) or {}
    sales = channel_sales(store)
    feeling = store.get(Keys.feedback_totals()) or {}
    rows = deal_rows(store)
    clicks = sum(row["clicks"] for row in rows)
    orders = int(sales.get("orders", 0))
    return {
        "followers": community["followers"],
        "growth": {"joined": community["joined"], "left": community["left"], "net": community["net_growth"]},
        "deals_released": int(channel.get("deals_released", 0)),
        "orders": orders,
        "units": int(sales.get("units", 0)),
        "revenue": by_currency(sales, REVENUE),
        "unattributed": {
            "orders": int(sales.get("unattributed_orders", 0)),
            "revenue": by_currency(sales, f"unattributed_{REVENUE}"),
        },
        "clicks": clicks,
        "conversion": _ratio(orders, clicks),
        "sentiment": {label: int(feeling.get(f"sentiment_{label}", 0)) for label in LABELS},
        "x_fees_usd": str(spent_ever(store).quantize(MILLS)),
        "dms": dm_totals(store),  # waiting, sent, unknown, failed, skipped, dropped (chalicelib.dm_queue)
        "deals": rows,
        "response_time": response_time_summary(store, now, threshold=answer_alert_after),  # chalicelib.response_times
    }


_COUNTERS = (Keys.deal_sales, Keys.deal_clicks, Keys.deal_fees, Keys.deal_feedback)


def deal_rows(store: Store) -> list[Item]:
    """One row per deal whose post went out, newest release first."""
    deals: list[Item] = []
    for status in WENT_OUT:
        cursor = None
        while True:
            page = store.query(Keys.deals_by_status(status), index=GSI1, limit=100, cursor=cursor)
            deals.extend(d for d in page.items if d.get("released_at"))  # not those closed unposted
            cursor = page.next
            if cursor is None:
                break
    keys = [key(str(d["id"])) for d in deals for key in _COUNTERS]
    found = {(item["PK"], item["SK"]): item for item in store.batch_get(keys)}

    def counters(key: Mapping[str, str]) -> Item:
        return found.get((key["PK"], key["SK"]), {})

    rows = [_row(d, *(counters(key(str(d["id"]))) for key in _COUNTERS)) for d in deals]
    return sorted(rows, key=lambda row: str(row["released_at"]), reverse=True)


def _row(deal: Item, sales: Item, clicked: Item, paid: Item, feedback: Item) -> Item:
    orders, clicks = int(sales.get("orders", 0)), int(clicked.get("clicks", 0))
    revenue = {currency: Decimal(amount) for currency, amount in by_currency(sales, REVENUE).items()}
    fees = Decimal(paid.get("usd", 0))
    return {
        "id": deal["id"],
        "title": deal["title"],
        "code": deal["code"],
        "status": deal["status"],
        "released_at": deal.get("released_at"),
        "post_id": deal.get("post_id"),
        "quantity": None if deal.get("quantity") is None else int(deal["quantity"]),
        "sold": int(deal.get("sold", 0)),
        "clicks": clicks,
        "crawler_clicks": int(clicked.get("crawler_clicks", 0)),
        "orders": orders,
        "units": int(sales.get("units", 0)),
        "revenue": {currency: f"{amount:.2f}" for currency, amount in revenue.items()},
        "conversion": _ratio(orders, clicks),
        "sentiment": {label: int(feedback.get(f"sentiment_{label}", 0)) for label in LABELS},
        "x_fees_usd": str(fees.quantize(MILLS)),
        "revenue_per_fee_usd": (
            {currency: str((amount / fees).quantize(CENT)) for currency, amount in revenue.items()} if fees else None
        ),
    }


def by_currency(counters: Item, prefix: str) -> dict[str, str]:
    """``revenue_USD``-style counters as ``{"USD": "1234.50"}``; currencies never mix."""
    return {
        name.removeprefix(prefix): f"{Decimal(value):.2f}"
        for name, value in sorted(counters.items())
        if name.startswith(prefix) and name.removeprefix(prefix).isalpha() and name.removeprefix(prefix).isupper()
    }


def _ratio(part: int, whole: int) -> str | None:
    """Orders per click as a decimal string; None before the first click."""
    return str((Decimal(part) / whole).quantize(RATIO)) if whole else None


def deal_row(store: Store, deal: Item, rollup: Mapping[str, Any]) -> Item:
    """One deal's row (the console's page about it): its sales, clicks and fees in one batch, its
    sentiment mix from its feedback rollup (``feedback.deal_rollup``)."""
    deal_id = str(deal["id"])
    keys = [Keys.deal_sales(deal_id), Keys.deal_clicks(deal_id), Keys.deal_fees(deal_id)]
    found = {(item["PK"], item["SK"]): item for item in store.batch_get(keys)}
    sales, clicks, fees = (found.get((k["PK"], k["SK"]), {}) for k in keys)
    feedback = {f"sentiment_{label}": count for label, count in rollup["by_sentiment"].items()}
    return _row(deal, sales, clicks, fees, feedback)
