"""The community: who opted in by following, when, who left, and the counters over them.

X delivers at least once and not always in order, so a follower's record keeps the events it was
built from (its history) and its state is *derived* from that history sorted by each event's own
time: a duplicate finds its id already there and changes nothing, and a late event is slotted
into place (a follow older than an applied unfollow cannot bring the follower back). Every change
to a follower and to the counters it moves is one DynamoDB transaction, so a crash can never
leave them apart.

Requests per event: a new follower, or an in-order unfollow, is one optimistic transaction (one
request); a duplicate is that one request failing its condition, which returns the stored record
so nothing more is read or written; anything else (a returning follower, a late event) costs one
more transaction, conditioned on the record's version. A duplicate reaching a container that
already committed it (or found it committed) costs nothing: each Store keeps a bounded memory of
those events (``Committed``); it only ever holds events the table has, so it never refuses a new one.

The counters are sharded (``Keys.COMMUNITY_SHARDS``; a follower's events always move its shard),
so the follows of a viral moment rarely meet on one item; when they do, the transaction is tried
again after a jittered pause, up to a deadline (``Store.pacer``).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.store import (
    GSI1,
    ConditionFailed,
    Item,
    Keys,
    Page,
    Store,
    TransactionConflict,
    iso,
    shard_of,
)
from chalicelib.store.conditions import Attr
from chalicelib.x.events import FollowChange

FOLLOWING, LEFT = "following", "left"
STATUSES = (FOLLOWING, LEFT)
MAX_ATTEMPTS = 6  # reads of a follower that kept changing under us (conflicts wait on a deadline instead)


@dataclass(frozen=True)
class Applied:
    """One event in a follower's history."""

    event_id: str
    at: datetime
    kind: str


@dataclass(frozen=True)
class Standing:
    """What a follower's history adds up to."""

    status: str | None = None  # None: we have never seen this user
    follow_count: int = 0
    unfollow_count: int = 0
    followed_at: datetime | None = None
    left_at: datetime | None = None
    joins: Counter[str] = field(default_factory=Counter)  # join days: a count per UTC date
    lefts: Counter[str] = field(default_factory=Counter)


def day(moment: datetime) -> str:
    return iso(moment)[:10]


def standing(history: Iterable[Applied]) -> Standing:
    """Replay a history in event-time order. An unfollow with no follow before it implies one we
    never saw (they followed before the subscription): it counts as a follow, with no join day."""
    status: str | None = None
    follows = unfollows = 0
    followed_at: datetime | None = None
    left_at: datetime | None = None
    joins: Counter[str] = Counter()
    lefts: Counter[str] = Counter()
    for event in sorted(history, key=lambda e: (e.at, e.kind == "unfollow", e.event_id)):
        if event.kind == "follow" and status != FOLLOWING:
            status, follows, followed_at = FOLLOWING, follows + 1, event.at
            joins[day(event.at)] += 1
        elif event.kind == "unfollow" and status != LEFT:
            follows += status is None
            status, unfollows, left_at = LEFT, unfollows + 1, event.at
            lefts[day(event.at)] += 1
    return Standing(status, follows, unfollows, followed_at, left_at, joins, lefts)


@dataclass(frozen=True)
class Outcome:
    applied: bool
    requests: int


class Committed:
    """The follow events one container committed or found committed, the newest ``limit`` of them.

    X redelivers an event it did not see acknowledged, often to the container that handled it:
    remembering it there answers the duplicate without a request. Only what the table holds is
    remembered (after a transaction succeeded, or a read found the event in the history), so a
    transaction that failed, or whose outcome is unknown, is asked again next time.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._events: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def has(self, change: FollowChange) -> bool:
        key = (change.follower.id, _history_key(change.event_id))
        with self._lock:
            if key not in self._events:
                return False
            self._events.move_to_end(key)
            return True

    def add(self, change: FollowChange) -> None:
        with self._lock:
            self._events[(change.follower.id, _history_key(change.event_id))] = None
            self._events.move_to_end((change.follower.id, _history_key(change.event_id)))
            while len(self._events) > self.limit:
                self._events.popitem(last=False)


# One memory per Store: a Store is one table in one container (deps keeps one per table name), and
# a test's fresh table comes with a fresh Store, so a memory never speaks for a table it did not see.
_committed: weakref.WeakKeyDictionary[Store, Committed] = weakref.WeakKeyDictionary()
_committed_lock = threading.Lock()


def committed_in(store: Store) -> Committed:
    with _committed_lock:
        found = _committed.get(store)
        if found is None:
            found = _committed[store] = Committed()
        return found


def record_follow_change(store: Store, change: FollowChange) -> Outcome:
    """Apply one follow or unfollow exactly once, wherever it falls in the follower's history."""
    memory = committed_in(store)
    if memory.has(change):
        return Outcome(applied=False, requests=0)
    before = store.requests
    current: Item | None = None
    # The handle's entry for the console's prefix search rides in the same transaction.
    user = change.follower
    handle = [store.op_put(entry) for entry in handle_entries(user.handle, user.id)]
    ops = [*_fast_path(store, change), *handle]
    pacer, changed = store.pacer(), 0
    while True:
        try:
            store.transact(ops)
            memory.add(change)
            return Outcome(applied=True, requests=store.requests - before)
        except ConditionFailed as failed:
            current, changed = failed.item, changed + 1
            if changed > MAX_ATTEMPTS:
                raise TransactionConflict(f"follower {change.follower.id} kept changing under us") from None
        except TransactionConflict:
            if not pacer.pause():  # another event for the same follower or counter shard
                raise
            current = store.get(Keys.follower(change.follower.id), consistent=True)
        if _history_key(change.event_id) in ((current or {}).get("history") or {}):  # keyed so: no need to parse it
            memory.add(change)
            return Outcome(applied=False, requests=store.requests - before)
        ops = [*_exact_path(store, change, current, _history(current)), *handle]


def handle_entries(handle: str | None, user_id: str) -> list[Item]:
    """A person's entry in the console's handle search, and its pointer in their own partition (so
    an erasure finds every entry of theirs): written together, in one transaction; plain puts of the
    same items, so writing them again changes nothing."""
    if not handle:
        return []
    fields = {"user_id": user_id, "handle": handle}
    return [{**Keys.follower_handle(handle, user_id), **fields}, {**Keys.person_handle(user_id, handle), **fields}]


def _fast_path(store: Store, change: FollowChange) -> list[dict[str, Any]]:
    """Guess the common case so one request does it: a new follower, or a follower leaving."""
    at, user = change.occurred_at, change.follower
    key = _history_key(change.event_id)
    if change.kind == "follow":
        history = [Applied(change.event_id, at, "follow")]
        item = _follower_item(change, history, standing(history), version=1)
        totals = {"followers": 1, "ever_followed": 1}
        joins = Counter({day(at): 1})
        return [store.op_put(item, Attr("PK").not_exists()), *_counter_ops(store, user.id, totals, joins=joins)]
    profile = {"handle": user.handle, "name": user.name} if user.handle else {}
    update = store.op_update(
        Keys.follower(user.id),
        set={
            "status": LEFT,
            "left_at": iso(at),
            "last_event_at": iso(at),
            f"history.{key}": _encode(Applied(change.event_id, at, "unfollow")),
            **Keys.follower_index(LEFT, at, user.id),
            **profile,
        },
        add={"unfollow_count": 1, "version": 1},
        condition=Attr("status").eq(FOLLOWING)
        & Attr("last_event_at").lt(iso(at))
        & Attr(f"history.{key}").not_exists(),
    )
    totals = {"followers": -1, "unfollows": 1}
    return [update, *_counter_ops(store, user.id, totals, lefts=Counter({day(at): 1}))]


def _exact_path(
    store: Store, change: FollowChange, current: Item | None, history: list[Applied]
) -> list[dict[str, Any]]:
    old = standing(history)
    new_history = [*history, Applied(change.event_id, change.occurred_at, change.kind)]
    new = standing(new_history)
    version = int(current["version"]) + 1 if current else 1
    item = _follower_item(change, new_history, new, version=version, previous=current)
    condition = Attr("PK").not_exists() if current is None else Attr("version").eq(current["version"])
    joins, lefts = new.joins.copy(), new.lefts.copy()
    joins.subtract(old.joins)
    lefts.subtract(old.lefts)
    ops = _counter_ops(store, change.follower.id, _delta(old, new), joins=joins, lefts=lefts)
    return [store.op_put(item, condition), *ops]


def _delta(old: Standing, new: Standing) -> dict[str, int]:
    return {
        "followers": (new.status == FOLLOWING) - (old.status == FOLLOWING),
        "ever_followed": (new.follow_count > 0) - (old.follow_count > 0),
        "unfollows": new.unfollow_count - old.unfollow_count,
    }


def _counter_ops(
    store: Store,
    user_id: str,
    totals: Mapping[str, int],
    *,
    joins: Counter[str] | None = None,
    lefts: Counter[str] | None = None,
) -> list[dict[str, Any]]:
    """ADDs for the totals and the days that moved, in the follower's shard; a counter that did not
    move is not touched."""
    ops: list[dict[str, Any]] = []
    shard = shard_of(user_id, Keys.COMMUNITY_SHARDS)
    moved = {name: n for name, n in totals.items() if n}
    if moved:
        ops.append(store.op_update(Keys.community_totals(shard), add=moved))
    joins, lefts = joins or Counter(), lefts or Counter()
    for d in sorted(set(joins) | set(lefts)):
        per_day = {name: n for name, n in (("joined", joins[d]), ("left", lefts[d])) if n}
        if per_day:
            ops.append(store.op_update(Keys.community_day(d, shard), add=per_day))
    return ops


def _follower_item(
    change: FollowChange,
    history: list[Applied],
    state: Standing,
    *,
    version: int,
    previous: Item | None = None,
) -> Item:
    user = change.follower
    latest = max(history, key=lambda e: e.at)
    status = state.status or FOLLOWING  # a history with an event always has a status
    since = state.followed_at if status == FOLLOWING else state.left_at
    # The profile seen with the newest event wins: X ids never change, handles do.
    profile = previous if previous and latest.event_id != change.event_id else {}
    item: Item = {
        **Keys.follower(user.id),
        **Keys.follower_index(status, since or latest.at, user.id),
        "user_id": user.id,
        "handle": profile.get("handle") or user.handle,
        "name": profile.get("name") or user.name,
        "status": status,
        "followed_at": iso(state.followed_at) if state.followed_at else None,
        "left_at": iso(state.left_at) if state.left_at else None,
        "follow_count": state.follow_count,
        "unfollow_count": state.unfollow_count,
        "last_event_at": iso(latest.at),
        "history": {_history_key(e.event_id): _encode(e) for e in history},
        "version": version,
    }
    return item


def _history_key(event_id: str) -> str:
    # Used in a document path (history.<key>): no dots, no list indexes.
    return event_id.replace(".", "_").replace("[", "_").replace("]", "_")


def _encode(event: Applied) -> str:
    return f"{iso(event.at)}|{event.kind}|{event.event_id}"


def _history(item: Item | None) -> list[Applied]:
    if not item:
        return []
    applied = []
    for encoded in (item.get("history") or {}).values():
        at, kind, event_id = str(encoded).split("|", 2)
        applied.append(Applied(event_id, datetime.fromisoformat(at), kind))
    return applied


# --- reading --------------------------------------------------------------------------------


def follow_history(follower: Item | None) -> list[Applied]:
    """A follower's follows and unfollows, newest first (the history their standing is derived from)."""
    return sorted(_history(follower), key=lambda e: (e.at, e.kind == "unfollow", e.event_id), reverse=True)


def community_summary(store: Store, now: datetime) -> dict[str, Any]:
    """Followers now, ever followed, unfollows, and joins and leaves over three windows: the
    totals' shards in one BatchGetItem, the last 30 days' shards in one query (a page holds them)."""
    totals = store.sum_of(Keys.community_totals(n) for n in range(Keys.COMMUNITY_SHARDS))
    today = now.date()
    first = (today - timedelta(days=29)).isoformat()
    days: list[Item] = []
    cursor = None
    while True:
        page = store.query(Keys.COMMUNITY_DAYS, sk_between=(first, today.isoformat() + "~"), limit=1000, cursor=cursor)
        days.extend(page.items)
        cursor = page.next
        if cursor is None:
            break

    def window(counter: str, length: int) -> int:
        start = (today - timedelta(days=length - 1)).isoformat()
        return sum(int(item.get(counter, 0)) for item in days if str(item["SK"])[:10] >= start)

    windows = {"today": 1, "7d": 7, "30d": 30}
    joined = {name: window("joined", n) for name, n in windows.items()}
    left = {name: window("left", n) for name, n in windows.items()}
    return {
        "followers": int(totals.get("followers", 0)),
        "ever_followed": int(totals.get("ever_followed", 0)),
        "unfollows": int(totals.get("unfollows", 0)),
        "joined": joined,
        "left": left,
        "net_growth": {name: joined[name] - left[name] for name in windows},
    }


_PUBLIC_FIELDS = ("user_id", "handle", "name", "status", "followed_at", "left_at", "follow_count")


def list_followers(store: Store, *, status: str, limit: int, cursor: str | None) -> Page:
    page = store.query(Keys.followers_by_status(status), index=GSI1, newest_first=True, limit=limit, cursor=cursor)
    items = [{name: item.get(name) for name in _PUBLIC_FIELDS} for item in page.items]
    for item in items:
        item["follow_count"] = int(item["follow_count"] or 0)
    return Page(items=items, next=page.next)


def first_time_followers(store: Store, after: datetime | None, until: datetime) -> list[Item]:
    """Everyone following now whose first follow fell in (after, until], oldest first."""
    low = iso(after) + "~" if after else "0"  # "~" sorts after the "#<id>" suffix of the index key
    found: list[Item] = []
    cursor = None
    while True:
        page = store.query(
            Keys.followers_by_status(FOLLOWING),
            index=GSI1,
            sk_between=(low, iso(until) + "~"),
            limit=100,
            cursor=cursor,
        )
        found.extend(item for item in page.items if int(item.get("follow_count", 0)) == 1)
        cursor = page.next
        if cursor is None:
            return found
