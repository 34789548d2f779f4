"""The scheduled recent search: each rule's ``GET /2/tweets/search/recent`` from the newest post
it saw (``since_id``), within a budget of requests per run and of posts read per month.

A run pages with ``next_token``. Until a rule's pages are all read its high-water mark stays
where it was and the unfinished run is kept (``pending``: its token, its ``since_id`` and the
newest id it started from), so a run cut short by the budget is continued, not skipped. Each
page's posts are heard (chalicelib.listening.posts: once per post and rule), then the rule's
progress and the fee ledger's reads are written in one transaction: X charges per post read.
A 429 pauses every rule until X's ``x-rate-limit-reset`` (kept in the table; later runs skip
until then): no busy retry. Rules searched longest ago go first, so a small budget still
reaches every rule in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.fees import FeeSchedule, month_of, would_exceed
from chalicelib.listening.posts import hear
from chalicelib.listening.rules import all_rules
from chalicelib.observability import logger
from chalicelib.publishing import PublishError, RateLimited
from chalicelib.sentiment import Classifier
from chalicelib.store import Item, Keys, Store, iso
from chalicelib.x.stream import SearchPage


class Searcher(Protocol):
    def recent(
        self, rule_id: str, query: str, *, since_id: str | None, next_token: str | None, max_results: int
    ) -> SearchPage: ...


@dataclass(frozen=True)
class SearchPolicy:
    requests_per_run: int = 10
    monthly_reads: int = 10_000  # posts read per UTC month, all rules together
    read_fee: Decimal = Decimal("0.005")  # X's pay-per-use price of one post read
    page_size: int = 100
    pause_without_reset: timedelta = timedelta(minutes=15)  # a 429 without x-rate-limit-reset
    fees: FeeSchedule | None = None  # the channel's monthly USD budget, if any, caps reads too


@dataclass
class SearchReport:
    requests: int = 0
    read: int = 0
    heard: int = 0
    duplicates: int = 0
    ignored: int = 0
    rules: list[str] = field(default_factory=list)
    stopped: str | None = None  # paused, rate_limited, budget, requests
    paused_until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "read": self.read,
            "heard": self.heard,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "rules": self.rules,
            "stopped": self.stopped,
            "paused_until": self.paused_until,
        }


def reads_this_month(store: Store, now: datetime) -> int:
    item = store.get(Keys.fees_month(month_of(now)), consistent=True) or {}
    return int(item.get("listening_reads", 0))


def run_searches(
    store: Store,
    searcher: Searcher,
    policy: SearchPolicy,
    now: datetime,
    *,
    classifier: Classifier,
    account_id: str,
) -> SearchReport:
    report = SearchReport()
    paused = (store.get(Keys.listening_search(), consistent=True) or {}).get("paused_until")
    if paused and now < datetime.fromisoformat(str(paused)):
        report.stopped, report.paused_until = "paused", str(paused)
        return report
    rules = {str(r["id"]): r for r in all_rules(store)}
    progress = {str(p["rule_id"]): p for p in store.batch_get(Keys.listening_rule_search(r) for r in rules)}
    order = sorted(rules, key=lambda r: str(progress.get(r, {}).get("last_run_at", "")))
    for rule_id in order:
        report.stopped = _search_rule(
            store, searcher, policy, now, rules, rule_id, progress.get(rule_id), report, classifier, account_id
        )
        if report.stopped is not None:
            break
    if report.requests or report.stopped:
        logger.info("listening search", extra=report.as_dict())
    return report


def _search_rule(
    store: Store,
    searcher: Searcher,
    policy: SearchPolicy,
    now: datetime,
    rules: dict[str, Item],
    rule_id: str,
    progress: Item | None,
    report: SearchReport,
    classifier: Classifier,
    account_id: str,
) -> str | None:
    """Pages of one rule until it is caught up or a budget ends the run; why the run stops, if it does."""
    state: Item = dict(progress or {})
    report.rules.append(rule_id)
    while True:
        if report.requests >= policy.requests_per_run:
            return "requests"
        if reads_this_month(store, now) + policy.page_size > policy.monthly_reads or (
            policy.fees is not None and would_exceed(store, policy.fees, policy.read_fee * policy.page_size, now)
        ):
            return "budget"
        pending = state.get("pending") or {}
        since_id = pending.get("since_id") if pending else state.get("newest_id")
        try:
            page = searcher.recent(
                rule_id,
                str(rules[rule_id]["query"]),
                since_id=str(since_id) if since_id else None,
                next_token=str(pending["next_token"]) if pending else None,
                max_results=policy.page_size,
            )
        except RateLimited as exc:
            until = exc.retry_at if exc.retry_at and exc.retry_at > now else now + policy.pause_without_reset
            store.put({**Keys.listening_search(), "paused_until": iso(until), "paused_at": iso(now)})
            report.requests += 1
            report.paused_until = iso(until)
            return "rate_limited"
        except PublishError as exc:  # refused (a since_id X no longer takes, a query it refuses) or unknown
            report.requests += 1
            logger.warning("listening search failed", extra={"rule": rule_id, "error": str(exc)})
            _save(store, rule_id, {"newest_id": state.get("newest_id"), "error": str(exc)[:200]}, now, 0, Decimal(0))
            return None
        report.requests += 1
        for post in page.posts:
            heard = hear(store, post, [rule_id], rules, classifier=classifier, account_id=account_id, now=now)
            report.heard += len(heard.rules)
            report.duplicates += heard.duplicates
            report.ignored += int(heard.ignored is not None)
        report.read += page.result_count
        newest = pending.get("newest_id") if pending else page.newest_id
        if page.next_token:
            pending = {"next_token": page.next_token, "since_id": since_id, "newest_id": newest}
            state = {"newest_id": state.get("newest_id"), "pending": pending}
        else:
            state = {"newest_id": newest or state.get("newest_id")}
        _save(store, rule_id, state, now, page.result_count, policy.read_fee * page.result_count)
        if not page.next_token:
            return None


def _save(store: Store, rule_id: str, state: Item, now: datetime, read: int, fee: Decimal) -> None:
    """The rule's progress and the reads it cost, together: a page is charged once per read."""
    item = {**Keys.listening_rule_search(rule_id), "rule_id": rule_id, "last_run_at": iso(now)}
    item |= {k: v for k, v in state.items() if v is not None}
    ops = [store.op_put(item)]
    if read:
        ledger: dict[str, int | Decimal] = {"usd": fee, "listening_reads": read, "listening_requests": 1}
        ops.append(store.op_update(Keys.fees_month(month_of(now)), add=ledger))
    store.retrying(lambda: store.transact(ops))
