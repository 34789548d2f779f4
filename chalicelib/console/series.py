"""What the console reads beyond the JSON routes' functions, every read bounded: day counters
over a date range (one query of at most a hundred items), the next releases, followers by a
handle's prefix (one partition range), the deals released last, and the activity log of operators' actions."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.community import list_followers
from chalicelib.deals import EXPIRED, RELEASED, RELEASING, SCHEDULED, SOLD_OUT, public_deal
from chalicelib.store import GSI1, Item, Keys, Page, Store, iso, without_keys

MAX_DAYS = 100
MAX_PAGES = 4  # 100 days x 10 shards of small items fit in two pages of 500


@dataclass(frozen=True)
class FollowerDay:
    day: str
    joined: int
    left: int


@dataclass(frozen=True)
class SentimentDay:
    day: str
    positive: int
    neutral: int
    negative: int


def _day_items(store: Store, partition: str, today: date, days: int) -> dict[str, Counter[str]]:
    """A range of day counters, shards summed per day (an item's sort key is ``YYYY-MM-DD`` or
    ``YYYY-MM-DD#<shard>``): at most days x shards small items, a few pages."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a series spans 1 to {MAX_DAYS} days")
    first = (today - timedelta(days=days - 1)).isoformat()
    found: dict[str, Counter[str]] = {}
    cursor = None
    for _ in range(MAX_PAGES):
        page = store.query(partition, sk_between=(first, f"{today.isoformat()}~"), limit=500, cursor=cursor)
        for item in page.items:
            counts = found.setdefault(str(item["SK"])[:10], Counter())
            counts.update(
                {k: int(v) for k, v in item.items() if k not in ("PK", "SK") and isinstance(v, int | Decimal)}
            )
        cursor = page.next
        if cursor is None:
            break
    return found


def _days(today: date, days: int) -> list[str]:
    return [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]


def follower_days(store: Store, today: date, days: int = 90) -> list[FollowerDay]:
    """Joins and leaves per UTC day, oldest first, a zero for each quiet day."""
    found = _day_items(store, Keys.COMMUNITY_DAYS, today, days)
    return [
        FollowerDay(d, found.get(d, Counter())["joined"], found.get(d, Counter())["left"]) for d in _days(today, days)
    ]


def sentiment_days(store: Store, today: date, days: int = 30) -> list[SentimentDay]:
    found = _day_items(store, Keys.SENTIMENT_DAYS, today, days)
    return [
        SentimentDay(d, *(found.get(d, Counter())[label] for label in ("positive", "neutral", "negative")))
        for d in _days(today, days)
    ]


def next_releases(store: Store, *, limit: int = 5, cursor: str | None = None) -> Page:
    """Scheduled deals in release order, soonest first."""
    page = store.query(Keys.deals_by_status(SCHEDULED), index=GSI1, limit=limit, cursor=cursor)
    return Page(items=[public_deal(item) for item in page.items], next=page.next)


WENT_OUT = (RELEASING, RELEASED, EXPIRED, SOLD_OUT)  # the deals feedback can answer


def recent_deals(store: Store, *, limit: int) -> list[Item]:
    """The ``limit`` deals released most recently, newest first: one query of at most ``limit``
    items per status a deal that went out can have, merged."""
    found = [
        public_deal(item)
        for status in WENT_OUT
        for item in store.query(Keys.deals_by_status(status), index=GSI1, newest_first=True, limit=limit).items
    ]
    return sorted(found, key=lambda deal: (str(deal["release_at"]), str(deal["id"])), reverse=True)[:limit]


def followers_by_handle(store: Store, prefix: str, *, limit: int, cursor: str | None) -> Page:
    """Followers whose handle starts with ``prefix`` (any case), from the handle entries the
    follow transaction writes; a follower who changed handle since is left out."""
    folded = prefix.lstrip("@").casefold()
    if not folded:
        return list_followers(store, status="following", limit=limit, cursor=cursor)
    page = store.query(Keys.handles(folded[:1]), sk_prefix=folded, limit=limit, cursor=cursor)
    ids = list(dict.fromkeys(str(entry["user_id"]) for entry in page.items))
    profiles = {str(p["user_id"]): p for p in store.batch_get(Keys.follower(i) for i in ids)}
    found = [
        _follower(profiles[i])
        for i in ids
        if i in profiles and str(profiles[i].get("handle") or "").casefold().startswith(folded)
    ]
    return Page(items=found, next=page.next)


def _follower(item: Item) -> Item:
    shown = {name: item.get(name) for name in ("user_id", "handle", "name", "status", "followed_at", "left_at")}
    return {**shown, "follow_count": int(item.get("follow_count") or 0)}


def record_action(store: Store, *, by: str, action: str, subject: str, at: datetime, **details: Any) -> None:
    """Who did what from the console (a deal created, a keyword removed, publishing resumed)."""
    activity_id = secrets.token_hex(6)
    store.put(
        {
            **Keys.activity(activity_id),
            **Keys.activity_index(at, activity_id),
            "by": by,
            "action": action,
            "subject": subject,
            "at": iso(at),
            "details": details,
        }
    )


def list_activity(store: Store, *, limit: int = 20) -> list[Item]:
    return [without_keys(i) for i in store.query(Keys.ACTIVITY, index=GSI1, newest_first=True, limit=limit).items]


@dataclass(frozen=True)
class Waiting:
    """The items that have waited longest for an answer, oldest first, and whether there are more."""

    items: list[Item]
    more: bool


def _erased(item: Item) -> bool:
    """Deleted on X or erased on request: nothing left to answer (erased before its entries went)."""
    return bool(item.get("deleted_at") or item.get("erased_at"))


def longest_waiting(store: Store, *, limit: int) -> Waiting:
    """What needs an answer first: the open items that have waited longest (one query of the
    waiting list, one batch read of the items). An item answered or dismissed meanwhile is left out."""
    from chalicelib.feedback import public_feedback

    page = store.query(Keys.WAITING, limit=limit)
    ids = [str(entry["feedback_id"]) for entry in page.items]
    found = {str(i["id"]): i for i in store.batch_get(Keys.feedback(f) for f in ids)} if ids else {}
    items = []
    for entry in page.items:
        item = found.get(str(entry["feedback_id"]))
        if item is not None and item.get("state", "open") == "open" and not _erased(item):
            items.append({**public_feedback(item), "waiting_since": entry["waiting_since"]})
    return Waiting(items=items, more=page.next is not None)
