"""DM alerts for a released deal: its campaign, the fan-out that queues one alert per subscriber,
and when the campaign ends.

The release queues one ``deal_alerts`` message. Its handler writes the alerts page by page from the
sparse subscriber index (oldest opt-in first) into the deal's DM queue (chalicelib.dm_queue). Each
page is one transaction: its entries, the campaign's count and its next-page cursor, conditioned on
the cursor it started from, so a redelivered or concurrent page writes nothing twice and a page is
never half written. The drain (chalicelib.direct_messages) sends them under X's limits; a deal that
expired, sold out or was cancelled has its remaining alerts dropped and counted, not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from chalicelib.deals import RELEASED
from chalicelib.delivery import DeliveryMessage, Handler, PoisonMessage
from chalicelib.dm_queue import entry, queue_dm, totals_op
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr
from chalicelib.subscribers import list_subscribers

FAN_OUT_PAGE = 98  # a transaction holds 100 operations: the page's entries, the campaign and the totals
PAGES_PER_MESSAGE = 10  # then the rest travels on as a new message: no invocation does unbounded work
ACTIVE, ENDED, DONE = "active", "ended", "done"
Enqueue = Callable[[Sequence[DeliveryMessage]], None]


class FanOutPayload(BaseModel):
    deal_id: str = Field(min_length=1)


class AlertPayload(BaseModel):
    """A ``deal_alert`` message (one subscriber's alert), as earlier versions queued them."""

    deal_id: str = Field(min_length=1)
    to: str = Field(pattern=r"^[0-9]{1,20}$")


def alert_text(deal: Item) -> str:
    return f"Deal alert: {deal['post_text']}\n\nReply STOP to stop these DMs."


def alert_key(deal_id: str, user_id: str) -> str:
    return f"alert-{deal_id}-{user_id}"


def still_on(deal: Item | None, now: datetime) -> bool:
    if deal is None or deal.get("status") != RELEASED:
        return False
    if deal.get("expires_at") and datetime.fromisoformat(str(deal["expires_at"])) <= now:
        return False
    return deal.get("quantity") is None or int(deal.get("sold", 0)) < int(deal["quantity"])


def fan_out(
    store: Store,
    enqueue: Enqueue,
    deal_id: str,
    now: datetime,
    page_size: int = FAN_OUT_PAGE,
    pages: int = PAGES_PER_MESSAGE,
) -> int:
    """A few pages of the fan-out, then a message to go on; returns how many alerts were queued."""
    campaign = store.get(Keys.dm_campaign(deal_id), consistent=True)
    if campaign is not None and (campaign.get("status") != ACTIVE or campaign.get("fanned_out")):
        return 0
    if not still_on(store.get(Keys.deal(deal_id)), now):
        return 0  # the drain drops what was queued and closes the campaign
    cursor = campaign.get("next_page") if campaign else None
    queued, started = 0, campaign is not None
    for _ in range(pages):
        page = list_subscribers(store, limit=page_size, cursor=cursor)
        try:
            store.transact(_page_ops(store, deal_id, page.items, cursor, page.next, started, now))
        except ConditionFailed:
            return queued  # another delivery wrote this page, or the campaign ended
        started, cursor = True, page.next
        queued += len(page.items)
        if cursor is None:
            return queued
    enqueue([DeliveryMessage(kind="deal_alerts", id=f"fanout-{deal_id}-{iso(now)}", payload={"deal_id": deal_id})])
    return queued


def _page_ops(
    store: Store,
    deal_id: str,
    subscribers: list[Item],
    cursor: str | None,
    next_page: str | None,
    started: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """One page in one transaction: its entries, and the campaign moved on from ``cursor``."""
    entries = [
        store.op_put(
            entry(
                deal_id,
                str(s["GSI1SK"]),  # the subscriber's opt-in time and id: first opted in, first alerted
                key=alert_key(deal_id, str(s["user_id"])),
                to=str(s["user_id"]),
                now=now,
                alert_of=deal_id,
            )
        )
        for s in subscribers
    ]
    progress = {"next_page": next_page} if next_page else {}
    if not started:
        step = store.op_put(
            {
                **Keys.dm_campaign(deal_id),
                **Keys.dm_campaign_index(now, deal_id),
                "deal_id": deal_id,
                "status": ACTIVE,
                "started_at": iso(now),
                "queued": len(entries),
                "taken": 0,
                "fanned_out": next_page is None,
                **progress,
            },
            Attr("PK").not_exists(),
        )
    else:
        step = store.op_update(
            Keys.dm_campaign(deal_id),
            set={"fanned_out": next_page is None, **progress},
            add={"queued": len(entries)},
            remove=() if next_page else ("next_page",),
            condition=Attr("status").eq(ACTIVE) & Attr("next_page").eq(cursor),
        )
    totals = [totals_op(store, waiting=len(entries))] if entries else []
    return [*entries, step, *totals]


def fan_out_handler(
    store: Store, enqueue: Enqueue, clock: Callable[[], datetime], page_size: int = FAN_OUT_PAGE
) -> Handler:
    def handle(message: DeliveryMessage) -> None:
        try:
            payload = FanOutPayload.model_validate(message.payload)
        except ValidationError as exc:
            raise PoisonMessage("a deal_alerts message needs a deal_id") from exc
        fan_out(store, enqueue, payload.deal_id, clock(), page_size)

    return handle


def legacy_alert_handler(store: Store, clock: Callable[[], datetime]) -> Handler:
    """A ``deal_alert`` queued by an earlier version joins the direct queue, sent once like any DM."""

    def handle(message: DeliveryMessage) -> None:
        try:
            payload = AlertPayload.model_validate(message.payload)
        except ValidationError as exc:
            raise PoisonMessage("a deal_alert message needs deal_id and to") from exc
        queue_dm(store, key=message.id, to=payload.to, now=clock(), alert_of=payload.deal_id)

    return handle


def active_campaigns(store: Store, limit: int = 10) -> Iterator[Item]:
    """The deals whose alerts are going out, oldest release first."""
    cursor: str | None = None
    while True:
        page = store.query(Keys.DM_CAMPAIGNS, index=GSI1, limit=limit, cursor=cursor)
        yield from page.items
        cursor = page.next
        if cursor is None:
            return


def close_campaign(store: Store, campaign: Item, status: str, now: datetime) -> int | None:
    """End a campaign: what it queued and nobody took is dropped, counted once. Returns the count
    dropped, or None when the campaign moved meanwhile (the next run tries again)."""
    queued, taken = int(campaign.get("queued", 0)), int(campaign.get("taken", 0))
    dropped = max(0, queued - taken)
    ops = [
        store.op_update(
            Keys.dm_campaign(str(campaign["deal_id"])),
            set={"status": status, "closed_at": iso(now), "dropped": dropped},
            remove=("GSI1PK", "GSI1SK"),
            condition=Attr("status").eq(ACTIVE) & Attr("queued").eq(queued) & Attr("taken").eq(taken),
        )
    ]
    if dropped:
        ops.append(totals_op(store, waiting=-dropped, dropped=dropped))
    try:
        store.transact(ops)
    except ConditionFailed:
        return None
    return dropped
