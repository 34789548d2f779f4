"""Where DMs wait: queue entries in the table, in the order they go out, and each DM's state.

A queue is one partition of entries sorted by their order: ``direct`` (answers to commands,
welcomes; by arrival) and one per deal (its alerts; subscribers in the order they opted in, see
chalicelib.deal_alerts). An entry costs nothing while it waits: nothing reads it until the drain
(chalicelib.direct_messages) reaches it. Each DM key has one state item (``Keys.dm_sent``); its
status moves waiting -> sending -> sent, or to checking (the outcome is unknown: it is looked up)
and then sent or unknown, or to failed or skipped. The totals count every DM once by its status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Page, Store, iso, without_keys
from chalicelib.store.conditions import Attr

DIRECT = "direct"
WAITING, RETRY, SENDING, CHECKING = "waiting", "retry", "sending", "checking"
SENT, UNKNOWN, FAILED, SKIPPED, DROPPED = "sent", "unknown", "failed", "skipped", "dropped"
LISTED = (CHECKING, SENT, UNKNOWN, FAILED)  # the statuses GET /dms lists
COUNTED = ("waiting", "sent", "unknown", "failed", "skipped", "dropped")
ENTRY_LIFETIME = timedelta(days=30)  # a DM that waited this long is pointless: DynamoDB removes it (TTL)


class DirectMessagePayload(BaseModel):
    """The payload of a ``dm`` message on the delivery queue: a DM with its text."""

    to: str = Field(pattern=r"^[0-9]{1,20}$")  # an X user id, always a string
    text: str = Field(min_length=1, max_length=10_000)
    deal_id: str | None = None


def entry(
    queue: str, order: str, *, key: str, to: str, now: datetime, text: str | None = None, alert_of: str | None = None
) -> Item:
    """A waiting DM. An alert (``alert_of`` a deal) takes its text from the deal when it goes out."""
    item: Item = {
        **Keys.dm_queue_entry(queue, order),
        "key": key,
        "to": to,
        "queue": queue,
        "order": order,
        "queued_at": iso(now),
        "ttl": int((now + ENTRY_LIFETIME).timestamp()),
    }
    if text is not None:
        item["text"] = text
    if alert_of is not None:
        item["deal_id"] = alert_of
    return item


def may_claim() -> Any:
    """A DM key may be sent if it has no state yet, waits, or never reached X last time."""
    return Attr("PK").not_exists() | Attr("status").is_in([WAITING, RETRY])


def totals_op(store: Store, **counts: int) -> dict[str, Any]:
    return store.op_update(Keys.dm_totals(), add=counts)


def queue_dm(
    store: Store, *, key: str, to: str, now: datetime, text: str | None = None, alert_of: str | None = None
) -> bool:
    """Put a DM in the direct queue, once per key: False when the key is waiting or went out already."""
    waiting = entry(DIRECT, f"{iso(now)}#{key}", key=key, to=to, now=now, text=text, alert_of=alert_of)
    try:
        store.transact(
            [
                store.op_put(
                    {**Keys.dm_sent(key), "key": key, "to": to, "status": WAITING, "queued_at": iso(now)},
                    Attr("PK").not_exists(),
                ),
                store.op_put(waiting),
                totals_op(store, waiting=1),
            ]
        )
    except ConditionFailed:
        return False
    return True


def dm_totals(store: Store) -> dict[str, int]:
    item = store.get(Keys.dm_totals()) or {}
    return {name: int(item.get(name, 0)) for name in COUNTED}


def list_dms(store: Store, *, status: str, limit: int, cursor: str | None) -> Page:
    """DMs in one state, newest first (``checking`` ones by when they are looked up next)."""
    page = store.query(
        Keys.dms_by_status(status), index=GSI1, newest_first=status != CHECKING, limit=limit, cursor=cursor
    )
    return Page(items=[without_keys(item) for item in page.items], next=page.next)
