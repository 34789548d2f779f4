"""What listening adds up to: share of voice per day, the terms rising fastest, the most-engaged
posts per rule. Every read is bounded (days, pages, candidates), whatever the table holds.

Rising terms, ranked by a smoothed log-ratio of this week's count to the mean of the four weeks
before it::

    score(term) = ln((this_week + 1) / (mean_of_previous_four + 1))

over the terms used by at least ``MIN_COUNT`` posts this week. The +1 keeps a term new this week
from scoring infinity and damps small counts (3 against 0 scores 1.39; 30 against 5 scores 1.64);
the minimum count keeps one-off words out. Ties go to the larger count. This week is the ISO week
so far (Monday 00:00 UTC on), so early in a week the counts are small: the minimum count applies.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.listening.posts import public_post, week_of
from chalicelib.listening.rules import KINDS, all_rules
from chalicelib.store import GSI1, Item, Keys, Store, iso

LABELS = ("positive", "neutral", "negative")
MAX_DAYS = 90
MIN_COUNT = 3
PREVIOUS_WEEKS = 4
MAX_TERMS_READ = 5_000  # one week's term counters read at most (5 pages of 1,000)
CANDIDATES = 200  # this week's most used terms compared with the weeks before
MAX_HEARD_READ = 500  # a rule's recent posts read to find its most engaged


def _tally(counts: Counter[str], prefix: str) -> dict[str, int]:
    row = {label: counts.get(f"{prefix}#{label}", 0) for label in LABELS}
    return {"total": counts.get(f"{prefix}#total", 0), **row}


def share_of_voice(store: Store, today: date, days: int) -> dict[str, Any]:
    """Posts heard per day by rule kind and by rule, with their sentiment, and each voice's share:
    the brand (its rules' posts, each once) against each competitor rule."""
    first = today - timedelta(days=days - 1)
    per_day: dict[str, Counter[str]] = {}
    cursor = None
    while True:  # at most days x shards items: under a page for 90 days
        page = store.query(
            Keys.LISTENING_DAYS, sk_between=(first.isoformat(), f"{today.isoformat()}~"), limit=1000, cursor=cursor
        )
        for item in page.items:
            day = str(item["SK"]).split("#", 1)[0]
            counts = per_day.setdefault(day, Counter())
            for name, value in item.items():
                if name.startswith(("rule#", "kind#")):
                    counts[name] += int(value)
        cursor = page.next
        if cursor is None:
            break
    rules = all_rules(store)
    total: Counter[str] = Counter()
    for counts in per_day.values():
        total.update(counts)
    kinds = {kind: _tally(total, f"kind#{kind}") for kind in KINDS}
    by_rule = [{"id": r["id"], "name": r["name"], "kind": r["kind"], **_tally(total, f"rule#{r['id']}")} for r in rules]
    counted: list[tuple[str, str | None, dict[str, int]]] = [("brand", None, kinds["brand"])]
    counted += [
        (str(r["name"]), str(r["id"]), _tally(total, f"rule#{r['id']}")) for r in rules if r["kind"] == "competitor"
    ]
    heard = sum(tally["total"] for _, _, tally in counted)
    voices = [
        {
            "voice": name,
            "rule_id": rule_id,
            "kind": "brand" if rule_id is None else "competitor",
            **tally,
            "share": round(tally["total"] / heard, 4) if heard else 0.0,
        }
        for name, rule_id, tally in counted
    ]
    series = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        counts = per_day.get(day, Counter())
        series.append(
            {
                "day": day,
                "kinds": {kind: _tally(counts, f"kind#{kind}") for kind in KINDS},
                "rules": {str(r["id"]): _tally(counts, f"rule#{r['id']}") for r in rules},
            }
        )
    return {
        "from": first.isoformat(),
        "to": today.isoformat(),
        "voices": voices,
        "kinds": kinds,
        "rules": by_rule,
        "days": series,
    }


def rising_terms(store: Store, now: datetime, *, limit: int = 20) -> dict[str, Any]:
    """The terms and hashtags rising fastest this week against the four weeks before it."""
    week = week_of(now)
    previous = [week_of(now - timedelta(weeks=n)) for n in range(1, PREVIOUS_WEEKS + 1)]
    this: dict[str, int] = {}
    cursor = None
    while len(this) < MAX_TERMS_READ:
        page = store.query(Keys.listening_terms(week), limit=1000, cursor=cursor)
        this.update({str(i["SK"]): int(i.get("n", 0)) for i in page.items})
        cursor = page.next
        if cursor is None:
            break
    candidates = sorted((t for t, n in this.items() if n >= MIN_COUNT), key=lambda t: -this[t])[:CANDIDATES]
    before: Counter[str] = Counter()
    if candidates:
        keys = [Keys.listening_term(w, t) for w in previous for t in candidates]
        for item in store.batch_get(keys):
            before[str(item["SK"])] += int(item.get("n", 0))
    scored = []
    for term in candidates:
        mean = before[term] / PREVIOUS_WEEKS
        scored.append((round(math.log((this[term] + 1) / (mean + 1)), 4), term, mean))
    scored.sort(key=lambda s: (-s[0], -this[s[1]], s[1]))
    terms = [
        {"term": term, "this_week": this[term], "previous_weekly_mean": round(mean, 2), "score": score}
        for score, term, mean in scored
        if score > 0
    ]
    return {
        "week": week,
        "compared_with": previous,
        "formula": "ln((this_week + 1) / (mean_of_previous_4_weeks + 1)), terms used by at least 3 posts this week",
        "terms": terms[:limit],
    }


def most_engaged(store: Store, rule_id: str, now: datetime, *, days: int = 7, limit: int = 5) -> list[Item]:
    """A rule's posts of the last ``days`` with the most likes, reposts, replies and quotes."""
    since = iso(now - timedelta(days=days))
    heard: list[Item] = []
    cursor = None
    while len(heard) < MAX_HEARD_READ:
        page = store.query(
            Keys.listening_rule_posts(rule_id),
            index=GSI1,
            newest_first=True,
            sk_between=(since, "~"),
            limit=100,
            cursor=cursor,
        )
        heard.extend(page.items)
        cursor = page.next
        if cursor is None:
            break
    top = sorted(heard, key=lambda h: (-int(h.get("engagement_score", 0)), str(h["created_at"])))[:limit]
    found = {str(p["id"]): p for p in store.batch_get(Keys.listening_post(str(h["post_id"])) for h in top)}
    return [
        {**public_post(found[str(h["post_id"])]), "engagement_score": int(h.get("engagement_score", 0))}
        for h in top
        if str(h["post_id"]) in found
    ]
