"""X's DM budget, which the DM drain and the answers to DMs share: a token from both the current
15-minute and the daily window for every DM, taken in the same transaction as the DM's claim, and
the drain's pause when X answers 429."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.store import Item, Key, Keys, Store, iso
from chalicelib.store.conditions import Attr

WINDOW = timedelta(minutes=15)
DAY = timedelta(days=1)
COUNTER_LIFETIME = 2 * DAY  # pacing counters clean themselves up (TTL)


@dataclass(frozen=True)
class DmBudget:
    per_15_minutes: int = 15  # X's published DM limits
    per_day: int = 1440


def dm_windows(now: datetime) -> tuple[str, str]:
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return f"15m#{start:%Y-%m-%dT%H:%M}", f"day#{now:%Y-%m-%d}"


def take_tokens(store: Store, budget: DmBudget, now: datetime) -> list[dict[str, Any]]:
    """A token from the 15-minute window, then from the day's (in that order: a transaction's
    cancelled operation 0 or 1 is a spent budget)."""
    window, day = dm_windows(now)
    expires = int((now + COUNTER_LIFETIME).timestamp())
    return [
        store.op_update(
            Keys.dm_window(name),
            add={"sent": 1},
            set={"ttl": expires},
            condition=Attr("sent").not_exists() | Attr("sent").lt(limit),
        )
        for name, limit in ((window, budget.per_15_minutes), (day, budget.per_day))
    ]


def give_back_tokens(store: Store, taken_at: datetime) -> list[dict[str, Any]]:
    """The tokens of a DM certainly not sent, back to the windows they were taken from."""
    window, day = dm_windows(taken_at)
    return [store.op_update(Keys.dm_window(name), add={"sent": -1}) for name in (window, day)]


def budget_left(store: Store, budget: DmBudget, now: datetime) -> tuple[int, str | None]:
    """How many DMs the windows allow now, and why none (``paused`` by a 429, or ``budget``)."""
    window, day = (Keys.dm_window(name) for name in dm_windows(now))
    found = store.batch_get([window, day, Keys.dm_drain()])
    paused_until = _under(found, Keys.dm_drain()).get("paused_until")
    if paused_until and datetime.fromisoformat(str(paused_until)) > now:
        return 0, "paused"
    left = min(
        budget.per_15_minutes - int(_under(found, window).get("sent", 0)),
        budget.per_day - int(_under(found, day).get("sent", 0)),
    )
    return left, ("budget" if left <= 0 else None)


def pause_until(store: Store, until: datetime) -> None:
    """X asked for a pause (a 429): no DM goes out before ``until``."""
    store.update(Keys.dm_drain(), set={"paused_until": iso(until)})


def _under(items: list[Item], key: Key) -> Item:
    """The item of ``items`` under ``key``, or an empty one."""
    return next((item for item in items if key.items() <= item.items()), {})
