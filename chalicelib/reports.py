"""The channel's report (``GET /reports/summary``): what it sold and what it cost, in total and deal
by deal. Totals come from counters kept as things happen (each order counted once, even when it
used two deals' codes; sharded counters summed); the rows are one page of the deals whose post
went out, newest release first, optionally between two release times, from each deal's own
counters read in batches. Nothing here reads every deal: a call costs the same with 10 deals or
10,000."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from chalicelib.community import community_summary
from chalicelib.deals import EXPIRED, RELEASED, SOLD_OUT
from chalicelib.dm_queue import dm_totals
from chalicelib.feedback import LABELS, deal_feedback_keys
from chalicelib.fees import spent_ever
from chalicelib.money import CENT, decimal_string
from chalicelib.response_times import response_time_summary
from chalicelib.sales import channel_sales
from chalicelib.store import GSI1, InvalidCursor, Item, Keys, Page, Store, iso, pack_cursor, summed, unpack_cursor

WENT_OUT = (RELEASED, SOLD_OUT, EXPIRED)  # the deals whose post was published
REVENUE = "revenue_"
MILLS, RATIO = Decimal("0.001"), Decimal("0.0001")
DEALS_PAGE, MAX_DEALS_PAGE = 20, 100


class ReportQuery(BaseModel):
    """``GET /reports/summary``'s deal rows: ``from`` and ``to`` bound their release time (ISO 8601
    with an offset), ``limit`` sizes a page and ``cursor`` continues one (``deals_next``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    since: AwareDatetime | None = Field(default=None, alias="from")
    until: AwareDatetime | None = Field(default=None, alias="to")
    limit: int = Field(default=DEALS_PAGE, ge=1, le=MAX_DEALS_PAGE)
    cursor: str | None = Field(default=None, max_length=400)

    @model_validator(mode="after")
    def _ordered(self) -> ReportQuery:
        if self.since and self.until and self.until < self.since:
            raise ValueError("'to' is before 'from'")
        return self


def channel_summary(
    store: Store,
    now: datetime,
    query: ReportQuery | None = None,
    *,
    answer_alert_after: timedelta = timedelta(minutes=120),
) -> dict[str, Any]:
    query = query or ReportQuery()
    community = community_summary(store, now)
    channel = store.get(Keys.channel_totals()) or {}
    sales = channel_sales(store)
    feeling = store.sum_of(Keys.feedback_totals(n) for n in range(Keys.FEEDBACK_SHARDS))
    clicked = store.sum_of(Keys.clicks_totals(n) for n in range(Keys.CLICK_SHARDS))
    rows = deal_rows(store, query)
    clicks = int(clicked.get("clicks", 0))
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
        "deals": rows.items,
        "deals_next": rows.next,
        "response_time": response_time_summary(store, now, threshold=answer_alert_after),  # chalicelib.response_times
    }


_COUNTERS = (Keys.deal_sales, Keys.deal_clicks, Keys.deal_fees)


def deal_rows(store: Store, query: ReportQuery | None = None) -> Page:
    """One page of rows for the deals whose post went out, newest release first: three index
    queries (one per status a published deal can have) and the page's counters in batches."""
    query = query or ReportQuery()
    deals, next_cursor = _released_page(store, query)
    keys = [key(str(d["id"])) for d in deals for key in _COUNTERS]
    keys += [key for d in deals for key in deal_feedback_keys(str(d["id"]))]
    found: dict[tuple[str, str], Item] = {(item["PK"], item["SK"]): item for item in store.batch_get(keys)}

    def counters(key: Mapping[str, str]) -> Item:
        return found.get((key["PK"], key["SK"]), {})

    rows = []
    for deal in deals:
        deal_id = str(deal["id"])
        feedback = summed(counters(key) for key in deal_feedback_keys(deal_id))
        sales, clicks, fees = (counters(key(deal_id)) for key in _COUNTERS)
        rows.append(_row(deal, sales, clicks, fees, feedback))
    return Page(items=rows, next=next_cursor)


@dataclass(frozen=True)
class _Window:
    low: str
    high: str
    below: str | None  # the cursor: only deals that sort before it


def _released_page(store: Store, query: ReportQuery) -> tuple[list[Item], str | None]:
    """Merge the newest ``limit`` of the three status listings (each ordered by release time in
    GSI1). A listing that had more than it returned bounds what is certain: rows older than its
    last one wait for the next page, so no deal is skipped or shown twice."""
    window = _Window(
        low=iso(query.since) if query.since else "0",
        high=iso(query.until) + "~" if query.until else "~",
        below=_decode(query.cursor) if query.cursor else None,
    )
    high = min(window.high, window.below) if window.below else window.high
    candidates: list[Item] = []
    certain_from = window.low  # everything at or after this in every listing was read
    for status in WENT_OUT:
        page = store.query(
            Keys.deals_by_status(status),
            index=GSI1,
            sk_between=(window.low, high),
            newest_first=True,
            limit=query.limit + 1,  # +1: the cursor's own deal may come back (sk_between is inclusive)
        )
        candidates += [d for d in page.items if window.below is None or str(d["GSI1SK"]) < window.below]
        if page.next is not None and page.items:
            certain_from = max(certain_from, str(page.items[-1]["GSI1SK"]))
    certain = sorted((d for d in candidates if str(d["GSI1SK"]) >= certain_from), key=_position, reverse=True)
    deals: list[Item] = []
    last: str | None = None
    for deal in certain:
        if len(deals) == query.limit:
            return deals, _encode(str(last))
        last = _position(deal)
        if deal.get("released_at"):  # not those closed unposted
            deals.append(deal)
    more = last is not None and certain_from != window.low
    return deals, _encode(last) if more and last is not None else None


def _position(deal: Item) -> str:
    return str(deal["GSI1SK"])


_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[A-Za-z0-9_-]{1,64}$")


def _encode(position: str) -> str:
    return pack_cursor({"released_before": position})


def _decode(cursor: str) -> str:
    """The release position a report cursor continues from; any other cursor is an InvalidCursor."""
    packed = unpack_cursor(cursor)
    position = packed.get("released_before") if isinstance(packed, dict) and len(packed) == 1 else None
    if not isinstance(position, str) or not _POSITION.match(position):
        raise InvalidCursor("the cursor is not one this report issued")
    return position


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
        "revenue": {currency: decimal_string(amount, currency) for currency, amount in revenue.items()},
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
        name.removeprefix(prefix): decimal_string(Decimal(value), name.removeprefix(prefix))
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
