"""The welcome: one public post, at most once per interval, naming the followers who joined since
the last one ("Welcome to the 37 new followers who joined this week: @a @b …").

A run is claimed in the welcome state item (a conditional write), so overlapping invocations post
once. The claim records the exact text and its post key before anything is published, so a run
that crashed after the claim is finished by the next one with the same key instead of a new post.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.channel import may_publish
from chalicelib.community import first_time_followers
from chalicelib.delivery import DeliveryMessage
from chalicelib.fees import FeeSchedule, charge_op
from chalicelib.posts import MAX_WEIGHTED_LENGTH, claim_text, weighted_length
from chalicelib.publishing import DuplicateContent, Publisher
from chalicelib.store import ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr

_OPENINGS = (
    "Welcome to the {n} new followers who joined {period}!",
    "A warm welcome to the {n} people who followed us {period}!",
    "Hello and welcome, {n} new followers {period}!",
)
_SINGLE = ("Welcome to our newest follower {period}!", "A warm welcome to the newest member of our community!")


@dataclass(frozen=True)
class WelcomePolicy:
    interval: timedelta
    settle: timedelta  # events may arrive late: only followers this old are counted
    dm_text: str | None  # None: no welcome DMs
    dm_budget: int
    fees: FeeSchedule = field(default_factory=FeeSchedule)


@dataclass(frozen=True)
class WelcomeResult:
    outcome: str  # posted, held, not_due, nobody_new, busy
    welcomed: int = 0
    text: str | None = None


def welcome_new_followers(
    store: Store,
    publisher: Publisher,
    policy: WelcomePolicy,
    now: datetime,
    enqueue_dms: Callable[[Sequence[DeliveryMessage]], None] | None = None,
) -> WelcomeResult:
    if not may_publish(store):
        return WelcomeResult("held")
    state = store.get(Keys.welcome_state(), consistent=True) or {}
    pending = state.get("pending")
    if pending:
        return _finish(store, publisher, policy, pending, now, enqueue_dms, resumed=True)
    last = state.get("last_welcomed_at")
    if last and now - datetime.fromisoformat(str(last)) < policy.interval:
        return WelcomeResult("not_due")
    watermark = datetime.fromisoformat(str(state["watermark"])) if state.get("watermark") else None
    cutoff = now - policy.settle
    newcomers = first_time_followers(store, after=watermark, until=cutoff)
    if not newcomers:
        return WelcomeResult("nobody_new")

    post_key = f"welcome-{iso(cutoff)}"
    text = next(
        (t for t in compose_welcomes(newcomers, policy.interval) if claim_text(store, t, post_key=post_key, at=now)),
        None,
    )
    if text is None:
        return WelcomeResult("nobody_new")  # every variant was used before: wait for more newcomers
    claim: dict[str, Any] = {
        "key": post_key,
        "text": text,
        "watermark_to": iso(cutoff),
        "count": len(newcomers),
        "dm_to": [str(f["user_id"]) for f in newcomers][: policy.dm_budget] if policy.dm_text else [],
    }
    try:
        store.update(
            Keys.welcome_state(),
            set={"pending": claim},
            add={"version": 1},
            condition=Attr("version").not_exists() | Attr("version").eq(state.get("version")),
        )
    except ConditionFailed:
        return WelcomeResult("busy")  # another invocation claimed this run
    return _finish(store, publisher, policy, claim, now, enqueue_dms)


def _finish(
    store: Store,
    publisher: Publisher,
    policy: WelcomePolicy,
    claim: Item,
    now: datetime,
    enqueue_dms: Callable[[Sequence[DeliveryMessage]], None] | None,
    *,
    resumed: bool = False,
) -> WelcomeResult:
    text, key = str(claim["text"]), str(claim["key"])
    # A resumed run may have published before it died: ask before posting again (X keeps no keys).
    published = publisher.find_post(text, key=key) if resumed else None
    if published is None:
        try:
            published = publisher.post(text, key=key)
        except DuplicateContent:
            published = publisher.find_post(text, key=key)
            if published is None:
                raise
    if enqueue_dms is not None and policy.dm_text and claim.get("dm_to"):
        enqueue_dms(
            [
                DeliveryMessage(kind="dm", id=f"welcome-dm-{user_id}", payload={"to": user_id, "text": policy.dm_text})
                for user_id in claim["dm_to"]
            ]
        )
    try:
        store.transact(
            [
                store.op_update(
                    Keys.welcome_state(),
                    set={
                        "last_welcomed_at": iso(now),
                        "watermark": claim["watermark_to"],
                        "last_post_id": published.id,
                    },
                    remove=("pending",),
                    add={"version": 1},
                    condition=Attr("pending.key").eq(claim["key"]),
                ),
                charge_op(store, policy.fees.for_post(text), "posts", now),
            ]
        )
    except ConditionFailed:
        return WelcomeResult("busy")  # a concurrent run finished it first
    return WelcomeResult("posted", welcomed=int(claim["count"]), text=str(claim["text"]))


def compose_welcomes(newcomers: Sequence[Item], interval: timedelta) -> list[str]:
    """Candidate texts, each naming as many handles as fit in X's 280 weighted characters."""
    period = {timedelta(days=7): "this week", timedelta(days=1): "today"}.get(interval, "since our last welcome")
    handles = [f"@{f['handle']}" for f in reversed(newcomers) if f.get("handle")]  # newest first
    openings = _SINGLE if len(newcomers) == 1 else _OPENINGS
    return [_fit(opening.format(n=len(newcomers), period=period), handles) for opening in openings]


def _fit(opening: str, handles: Sequence[str]) -> str:
    text = opening
    for named, handle in enumerate(handles):
        rest = len(handles) - named - 1
        candidate = f"{text} {handle}"
        tail = f" and {rest} more" if rest else ""
        if weighted_length(candidate + tail) > MAX_WEIGHTED_LENGTH:
            return f"{text} and {len(handles) - named} more" if named else opening
        text = candidate
    return text
