"""How fast the brand answers: time to first answer, its median and 90th percentile (overall, per
week, per operator), the share answered within an hour, and who has waited too long.

Pre-aggregated as answers happen, so a report reads a few items, never the feedback: each first
answer ADDs its duration to one item per (scope, ISO week of the answer): ``all`` and the
operator's own. An item holds the week's ``count``, ``within_1h`` and the exact durations as a
DynamoDB number set (each the duration in milliseconds x 1000 plus three digits from the item's id,
so equal durations stay distinct elements). The median and p90 are then exact: the durations
sorted, the median the middle one (the mean of the two middle ones for an even count), p90 the
nearest rank (the ceil(0.9 n)-th). A week's set takes some 40,000 answers per scope within
DynamoDB's 400 KB item, far above one brand's week. The overall figures cover ``WEEKS`` weeks.

Long waits: an item waiting for an answer is listed oldest first (``Keys.WAITING``) and, until its
alert is raised, in a second list (``Keys.WAITING_UNALERTED``); the schedule reads only that list's
head older than ``ANSWER_ALERT_MINUTES``, raises one alert per item and takes it off the list.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from chalicelib.alerts import Notify, raise_alert
from chalicelib.store import Item, Keys, Store, iso

WEEKS = 12
HOUR_MS = 3_600_000
MAX_OPERATORS = 25  # operators shown per-operator figures (the console's team is small)
ALERT_PAGE = 25
OLD_PAGE = 100  # open items older than the threshold are counted up to this ("100+")


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def recent_weeks(now: datetime, weeks: int = WEEKS) -> list[str]:
    """The ISO weeks from ``weeks - 1`` weeks ago to this one, oldest first."""
    return [week_of(now - timedelta(weeks=back)) for back in range(weeks - 1, -1, -1)]


def _element(duration_ms: int, feedback_id: str) -> int:
    salt = int.from_bytes(hashlib.blake2b(feedback_id.encode(), digest_size=4).digest()) % 1000
    return duration_ms * 1000 + salt


def record_op(
    store: Store, *, received: datetime, answered: datetime, by: str, feedback_id: str
) -> list[dict[str, Any]]:
    """The first answer's duration, as operations for the answer's own transaction."""
    duration_ms = max(0, round((answered - received).total_seconds() * 1000))
    element = _element(duration_ms, feedback_id)
    week = week_of(answered)
    counts: dict[str, Any] = {"count": 1, "within_1h": int(duration_ms <= HOUR_MS), "durations": {element}}
    everyone = cast(dict[str, int | Decimal], {**counts, "operators": {by}})  # ADD to sets: the durations, who
    return [
        store.op_update(Keys.response_times("all", week), add=everyone),
        store.op_update(
            Keys.response_times(f"op:{by}", week), add=cast(dict[str, int | Decimal], counts), set={"by": by}
        ),
    ]


def figures(durations_ms: Iterable[int], count: int, within_1h: int) -> Item:
    ordered = sorted(durations_ms)
    if not ordered:
        return {"answered": 0, "median_seconds": None, "p90_seconds": None, "answered_within_1h_share": None}
    n = len(ordered)
    middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    p90 = ordered[math.ceil(0.9 * n) - 1]
    return {
        "answered": count,
        "median_seconds": _seconds(middle),
        "p90_seconds": _seconds(p90),
        "answered_within_1h_share": float(round(Decimal(within_1h) / count, 4)) if count else None,
    }


def _seconds(ms: float) -> float:
    return float(round(Decimal(str(ms)) / 1000, 3))


def _durations(item: Item) -> list[int]:
    return [int(element) // 1000 for element in cast(set[Decimal], item.get("durations") or set())]


def _merged(items: Iterable[Item]) -> Item:
    durations: list[int] = []
    count = within = 0
    for item in items:
        durations += _durations(item)
        count += int(item.get("count", 0))
        within += int(item.get("within_1h", 0))
    return figures(durations, count, within)


def response_time_summary(store: Store, now: datetime, *, threshold: timedelta, weeks: int = WEEKS) -> Item:
    """``median_seconds``, ``p90_seconds`` and ``answered_within_1h_share`` over the last ``weeks``
    weeks, then ``weeks`` (one row each), ``operators`` and the open items older than ``threshold``."""
    names = recent_weeks(now, weeks)
    found = {str(item["SK"]): item for item in store.batch_get(Keys.response_times("all", w) for w in names)}
    operators = sorted({str(o) for item in found.values() for o in item.get("operators") or ()})[:MAX_OPERATORS]
    mine = store.batch_get(Keys.response_times(f"op:{o}", w) for o in operators for w in names) if operators else []
    by_operator: dict[str, list[Item]] = {}
    for item in mine:
        by_operator.setdefault(str(item["by"]), []).append(item)
    waiting = store.query(Keys.WAITING, sk_between=("0", iso(now - threshold) + "~"), limit=OLD_PAGE)
    oldest = waiting.items[0] if waiting.items else None
    return {
        **_merged(found.values()),
        "weeks": [{"week": w, **_merged([found[w]] if w in found else [])} for w in names],
        "operators": [{"by": o, **_merged(by_operator.get(o, []))} for o in operators],
        "open_over_threshold": {
            "minutes": int(threshold.total_seconds() // 60),
            "count": len(waiting.items),
            "more": waiting.next is not None,
            "oldest_since": oldest["waiting_since"] if oldest else None,
        },
    }


def alert_long_waits(store: Store, now: datetime, threshold: timedelta, notify: Notify | None = None) -> list[str]:
    """One alert per item that has waited longer than ``threshold`` for an answer, saying in words
    what waits and from whom (its item read in one batch with the page's others)."""
    due = store.query(Keys.WAITING_UNALERTED, sk_between=("0", iso(now - threshold) + "~"), limit=ALERT_PAGE)
    items = {str(item["id"]): item for item in store.batch_get(Keys.feedback(str(e["feedback_id"])) for e in due.items)}
    alerted: list[str] = []
    for entry in due.items:
        feedback_id = str(entry["feedback_id"])
        received = datetime.fromisoformat(str(entry["waiting_since"]))
        item = items.get(feedback_id, {})
        raised = raise_alert(
            store,
            alert_id=f"answer-wait-{feedback_id}-{entry['waiting_since']}",  # once per wait (reopened: anew)
            kind="answer_overdue",
            message=f"{_what_waits(item)} has waited more than {_duration(threshold)} for an answer "
            f"(since {received:%d %b %Y, %H:%M} UTC).",
            raised_at=now,
            notify=notify,
            feedback_id=feedback_id,
        )
        store.delete(Keys.waiting(Keys.WAITING_UNALERTED, received, feedback_id))
        if raised:
            alerted.append(feedback_id)
    return alerted


_KINDS = {"dm": "A DM", "reply": "A reply", "mention": "A mention", "quote": "A quote"}


def _what_waits(item: Item) -> str:
    """``A DM from @ana``: the item's kind and author's handle (an erased or unknown one: no name)."""
    what = _KINDS.get(str(item.get("kind")), "A message")
    handle = item.get("author_handle")
    return f"{what} from @{handle}" if handle else what


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"
