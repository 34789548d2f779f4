"""Sending the waiting DMs: a scheduled drain under X's limits, each DM at most once, and said which.

Every minute ``drain_dms`` takes at most what is left of the current 15-minute and daily budgets from
the head of the queues (chalicelib.dm_queue): the direct queue first, then each deal's alerts, the
oldest deal first. Nothing waits by retrying: an entry is read only when its turn comes, so a
hundred thousand waiting alerts cost what fifteen do. A held channel (a revoked authorization)
stops the drain before it reads anything; resuming continues from the same heads.

One DM, once. A claim transaction takes a token from both windows, moves the DM's state to
``sending`` and takes its entry off the queue. Then one call to X, whose error says what is known:
- sent: the state becomes ``sent`` in the same transaction as its fee, so the fee is counted once;
- certainly not sent (no connection, a 429): the entry goes back to its place, tried by a later run;
- refused (another 4xx): ``failed``, never repeated;
- unknown (a read timeout, a 5xx, or a run that died after the claim): ``checking``, never sent
  again: looked up in the conversation by later runs (chalicelib.dm_outcomes).
An attempt starts only while the run has time for the longest X call and its recording. The
windows' budget, shared with the answers to DMs, is chalicelib.dm_budget's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from chalicelib.channel import may_publish
from chalicelib.deal_alerts import ACTIVE, DONE, ENDED, active_campaigns, alert_text, close_campaign, still_on
from chalicelib.delivery import DeliveryMessage, Handler, PoisonMessage
from chalicelib.dm_budget import DmBudget, budget_left, dm_windows, pause_until, take_tokens
from chalicelib.dm_outcomes import FOUND, due_for_look_up, look_up, move, record_sent
from chalicelib.dm_queue import (
    CHECKING,
    DIRECT,
    DROPPED,
    FAILED,
    RETRY,
    SENDING,
    SKIPPED,
    UNKNOWN,
    DirectMessagePayload,
    may_claim,
    queue_dm,
    totals_op,
)
from chalicelib.fees import FeeSchedule
from chalicelib.observability import logger
from chalicelib.publishing import NotSent, OutcomeUnknown, Published, Publisher, PublishError, RateLimited
from chalicelib.store import ConditionFailed, Item, Keys, Store, TransactionConflict, iso
from chalicelib.store.conditions import Attr

__all__ = ["DmBudget", "DmPolicy", "DrainReport", "dm_windows", "drain_dms", "intake_handler"]

QUEUE_PAGE_LIMIT = 5  # queue pages one run reads past skipped entries before it leaves the rest


@dataclass(frozen=True)
class DmPolicy:
    budget: DmBudget = field(default_factory=DmBudget)
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    attempt_seconds: float = 12.0  # the longest X call (connect + read timeouts, ~9 s) and its recording
    lease: timedelta = timedelta(minutes=2)  # a DM still ``sending`` after this died with its run
    check_every: timedelta = timedelta(minutes=2)
    max_checks: int = 3  # conversation look-ups before an unknown outcome is left ``unknown``
    checks_per_run: int = 5
    max_attempts: int = 5  # attempts that never reached X before the DM is ``failed``


@dataclass
class DrainReport:
    held: bool = False
    sent: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # unknown outcomes found in the conversation
    checking: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    skipped: int = 0
    dropped: int = 0
    stopped: str | None = None  # why the run stopped sending: budget, paused, rate_limited, unreachable, ...

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def drain_dms(
    store: Store,
    publisher: Publisher,
    policy: DmPolicy,
    clock: Callable[[], datetime],
    time_left: Callable[[], float],
) -> DrainReport:
    """One run: look up unknown outcomes that are due, then send what the windows allow."""
    report = DrainReport()
    if not may_publish(store):
        report.held = True
        return report
    run = _Drain(store, publisher, policy, clock, time_left, report)
    run.check_unknown_outcomes()
    run.send_waiting()
    return report


@dataclass
class _Drain:
    store: Store
    publisher: Publisher
    policy: DmPolicy
    clock: Callable[[], datetime]
    time_left: Callable[[], float]
    report: DrainReport
    deals: dict[str, Item | None] = field(default_factory=dict)

    # --- unknown outcomes ----------------------------------------------------------------------

    def check_unknown_outcomes(self) -> None:
        for dm in due_for_look_up(self.store, self.clock(), self.policy.checks_per_run):
            if self.time_left() < self.policy.attempt_seconds:
                return
            self.check(dm)

    def check(self, dm: Item) -> None:
        outcome = look_up(
            self.store,
            self.publisher,
            dm,
            clock=self.clock,
            fee=self.policy.fees.dm,
            check_every=self.policy.check_every,
            max_checks=self.policy.max_checks,
        )
        if outcome == FOUND:
            self.report.found.append(str(dm["key"]))
        elif outcome == UNKNOWN:
            self.report.unknown.append(str(dm["key"]))

    # --- sending -------------------------------------------------------------------------------

    def send_waiting(self) -> None:
        remaining = self.budget_left()
        if remaining <= 0:
            return
        for queue, campaign in self.queues():
            remaining = self.send_from(queue, campaign, remaining)
            if self.report.stopped is not None or remaining <= 0:
                return

    def budget_left(self) -> int:
        left, stopped = budget_left(self.store, self.policy.budget, self.clock())
        if stopped is not None:
            self.report.stopped = stopped
        return left

    def queues(self) -> Iterator[tuple[str, Item | None]]:
        yield DIRECT, None
        now = self.clock()
        for campaign in active_campaigns(self.store):
            deal_id = str(campaign["deal_id"])
            if not still_on(self.deal(deal_id), now):
                self.report.dropped += close_campaign(self.store, campaign, ENDED, now) or 0
                continue
            yield deal_id, campaign

    def deal(self, deal_id: str) -> Item | None:
        if deal_id not in self.deals:
            self.deals[deal_id] = self.store.get(Keys.deal(deal_id))
        return self.deals[deal_id]

    def send_from(self, queue: str, campaign: Item | None, remaining: int) -> int:
        cursor: str | None = None
        for _ in range(QUEUE_PAGE_LIMIT):
            page = self.store.query(Keys.dm_queue(queue), limit=remaining, cursor=cursor)
            for waiting in page.items:
                if self.time_left() < self.policy.attempt_seconds:
                    self.report.stopped = "time"
                    return remaining
                remaining -= self.send(waiting, campaign)
                if self.report.stopped is not None or remaining <= 0:
                    return remaining
            cursor = page.next
            if cursor is None:
                break
        else:
            return remaining  # more skipped entries than one run reads: the next run goes on
        if campaign is not None and campaign.get("fanned_out"):
            fresh = self.store.get(Keys.dm_campaign(queue), consistent=True)
            if fresh is not None and fresh.get("status") == ACTIVE:
                self.report.dropped += close_campaign(self.store, fresh, DONE, self.clock()) or 0
        return remaining

    def send(self, waiting: Item, campaign: Item | None) -> int:
        """Send one waiting DM; returns the budget it took (0 or 1)."""
        now = self.clock()
        key, to, deal_id = str(waiting["key"]), str(waiting["to"]), waiting.get("deal_id")
        text = waiting.get("text")
        if deal_id is not None:
            deal = self.deal(str(deal_id))
            if deal is None or not still_on(deal, now):
                self.discard(waiting, campaign, DROPPED)  # its deal ended: dropped, not sent
                return 0
            text = text or alert_text(deal)
        claimed = self.claim(waiting, campaign, str(text), now)
        if claimed is None:
            return 0
        try:
            published = self.publisher.send_dm(to, str(text), key=key, deal_id=str(deal_id) if deal_id else None)
        except OutcomeUnknown as exc:
            self.move(claimed, CHECKING, now + self.policy.check_every, {"last_error": str(exc)[:500]})
            self.report.checking.append(key)
            self.report.stopped = "unknown_outcome"  # X is slow or failing: no more this run
            logger.warning("dm outcome unknown: to be looked up", extra={"key": key, "error": str(exc)})
            return 1
        except (NotSent, RateLimited) as exc:
            self.give_back(claimed, waiting, campaign, str(exc))
            if isinstance(exc, RateLimited) and exc.retry_at is not None:
                pause_until(self.store, exc.retry_at)
            self.report.stopped = "rate_limited" if isinstance(exc, RateLimited) else "unreachable"
            return 1
        except PublishError as exc:  # refused: repeating it would not help
            self.move(claimed, FAILED, now, {"last_error": str(exc)[:500]}, totals={"failed": 1})
            self.report.failed.append(key)
            logger.warning("dm refused", extra={"key": key, "error": str(exc)})
            return 1
        if self.record_sent(claimed, published):
            self.report.sent.append(key)
        return 1

    def claim(self, waiting: Item, campaign: Item | None, text: str, now: datetime) -> Item | None:
        """Budget tokens, the DM's state and its entry, together. None if it is not to be sent now."""
        key, deal_id = str(waiting["key"]), waiting.get("deal_id")
        state: Item = {
            "key": key,
            "to": str(waiting["to"]),
            "text": text,
            "queue": str(waiting["queue"]),
            "order": str(waiting["order"]),
            "status": SENDING,
            "attempted_at": iso(now),
            **({"deal_id": str(deal_id)} if deal_id else {}),
            # Found by the look-ups if the run dies before it records what X answered.
            **Keys.dm_status_index(CHECKING, now + self.policy.lease, key),
        }
        ops = [
            *take_tokens(self.store, self.policy.budget, now),  # operations 0 and 1: a spent budget
            self.store.op_update(Keys.dm_sent(key), set=state, add={"attempts": 1}, condition=may_claim()),
            # Counted off the queue once: only while the entry is still there.
            self.store.op_delete(
                Keys.dm_queue_entry(str(waiting["queue"]), str(waiting["order"])), Attr("PK").exists()
            ),
            totals_op(self.store, waiting=-1),
        ]
        if campaign is not None:
            ops.append(self.store.op_update(Keys.dm_campaign(str(campaign["deal_id"])), add={"taken": 1}))
        if deal_id is not None:  # an alert goes only to who is still subscribed
            ops.append(self.store.op_check(Keys.subscriber(str(waiting["to"])), Attr("status").eq("subscribed")))
        try:
            self.store.transact(ops)
        except ConditionFailed as exc:
            if exc.index in (0, 1):
                self.report.stopped = "budget"
            else:  # sent (or being sent) under this key already, or the subscriber left
                self.discard(waiting, campaign, SKIPPED if exc.index == len(ops) - 1 else None)
            return None
        except TransactionConflict:
            self.report.stopped = "conflict"  # another writer on these items: the next run goes on
            return None
        return {**waiting, **state, "attempts": int(waiting.get("attempts", 0)) + 1}

    def discard(self, waiting: Item, campaign: Item | None, outcome: str | None) -> None:
        """Take an entry off its queue unsent, counted as its ``outcome``: ``dropped`` (its deal
        ended), ``skipped`` (its subscriber left) or None (its key is already past waiting)."""
        key = str(waiting["key"])
        entry = Keys.dm_queue_entry(str(waiting["queue"]), str(waiting["order"]))
        # Only while the entry is there: a run that overlaps this one may have claimed it since
        # this run read it, and has counted it off the queue already.
        ops = [self.store.op_delete(entry, Attr("PK").exists())]
        if outcome is not None:
            ops.append(
                self.store.op_update(
                    Keys.dm_sent(key),
                    set={"key": key, "to": str(waiting["to"]), "status": outcome},
                    condition=may_claim(),
                )
            )
        ops.append(totals_op(self.store, waiting=-1, **({outcome: 1} if outcome else {})))
        if campaign is not None:
            ops.append(self.store.op_update(Keys.dm_campaign(str(campaign["deal_id"])), add={"taken": 1}))
        try:
            self.store.transact(ops)
        except ConditionFailed as exc:
            if exc.index != 0 and outcome is not None:  # the key is past waiting: just the entry goes
                self.discard(waiting, campaign, None)
            return
        except TransactionConflict:
            self.report.stopped = "conflict"  # the entry stays; the next run meets it again
            return
        if outcome == SKIPPED:
            self.report.skipped += 1
        elif outcome == DROPPED:
            self.report.dropped += 1

    def give_back(self, dm: Item, waiting: Item, campaign: Item | None, error: str) -> None:
        """X never got it: back to its place in the queue, or failed after ``max_attempts``."""
        key, now = str(dm["key"]), self.clock()
        if int(dm.get("attempts", 1)) >= self.policy.max_attempts:
            self.move(dm, FAILED, now, {"last_error": error[:500]}, totals={"failed": 1})
            self.report.failed.append(key)
            return
        ops = [
            self.store.op_update(
                Keys.dm_sent(key),
                set={"status": RETRY, "last_error": error[:500]},
                remove=("GSI1PK", "GSI1SK"),
                condition=Attr("status").eq(SENDING),
            ),
            self.store.op_put({**waiting, "attempts": int(dm.get("attempts", 1))}),
            totals_op(self.store, waiting=1),
        ]
        if campaign is not None:
            ops.append(self.store.op_update(Keys.dm_campaign(str(campaign["deal_id"])), add={"taken": -1}))
        try:
            self.store.transact(ops)
        except (ConditionFailed, TransactionConflict):
            # Left ``sending``: the look-ups settle it on the safe side (never a second send).
            logger.warning("dm not put back in its queue", extra={"key": key})
            return
        self.report.retry.append(key)

    def record_sent(self, dm: Item, published: Published) -> bool:
        return record_sent(self.store, dm, published, fee=self.policy.fees.dm, now=self.clock())

    def move(
        self, dm: Item, status: str, listed_at: datetime, extra: dict[str, object], totals: dict[str, int] | None = None
    ) -> bool:
        return move(self.store, dm, status, listed_at, extra, totals)


# --- the delivery queue's DM messages ---------------------------------------------------------------


def intake_handler(store: Store, clock: Callable[[], datetime]) -> Handler:
    """A ``dm`` message (an answer to a command, a welcome) waits in the direct queue: the drain
    sends it under the same budget as every DM. Redelivery queues nothing twice."""

    def accept(message: DeliveryMessage) -> None:
        try:
            dm = DirectMessagePayload.model_validate(message.payload)
        except ValueError as exc:
            raise PoisonMessage("a dm message needs 'to' (an X user id) and 'text'") from exc
        queue_dm(store, key=message.id, to=dm.to, text=dm.text, now=clock())

    return accept
