"""Releasing deals: one at a time, at most one per minimum gap, never twice, never stale.

Every minute ``release_due_deals`` reads the due deals from the index (no scan). Expired and
sold-out ones are closed unposted. The first releasable one is claimed together with the release
slot in one conditional transaction (scheduled -> releasing, and "the last release was at least
one gap ago"), so overlapping invocations can never both release, and the others wait their turn
in release order.

Crash safety. Between publishing and recording the post there is always a moment where Lambda
can die. So the claim comes first and carries a lease: a deal found ``releasing`` after its lease
ran out is one whose run died somewhere. Before publishing again, the next run asks the
publisher whether a post with this deal's key and text already went out (``find_post``: the
outbox looks the key up; X's publisher reads the account's recent posts). If it did, the post is
recorded, not repeated; if not, it is published again, at most ``max_attempts`` times in all.
X's own refusal of a duplicate text (403) is taken as "it went out" and resolved the same way.
Recording the post, its fee and the release counter is one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from chalicelib.alerts import Notify, raise_alert
from chalicelib.channel import may_publish
from chalicelib.deals import EXPIRED, FAILED, RELEASED, RELEASING, SCHEDULED, SOLD_OUT
from chalicelib.fees import FeeSchedule, charge_op, month_of, would_exceed
from chalicelib.followups import ending_index
from chalicelib.observability import logger
from chalicelib.posts import claim_text, find_repeat, fingerprint, recent_posts
from chalicelib.publishing import DuplicateContent, Published, Publisher, PublishFailed, RateLimited
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr

DUE_PAGE = 50


@dataclass(frozen=True)
class ReleasePolicy:
    min_gap: timedelta = timedelta(minutes=60)
    lease: timedelta = timedelta(minutes=2)  # well past the Lambda timeout: an expired lease is a dead run
    max_attempts: int = 3
    fees: FeeSchedule = field(default_factory=FeeSchedule)


@dataclass
class ReleaseReport:
    released: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # expired or sold out before release
    failed: list[str] = field(default_factory=list)
    waiting: int = 0
    held: str | None = None


AlertQueue = Callable[[str], None]  # enqueues the DM fan-out of a released deal


def release_due_deals(
    store: Store,
    publisher: Publisher,
    policy: ReleasePolicy,
    now: datetime,
    queue_alerts: AlertQueue | None = None,
    notify: Notify | None = None,
) -> ReleaseReport:
    run = _Run(store, publisher, policy, now, queue_alerts, notify)
    if not may_publish(store):
        run.report.held = "channel"
        return run.report
    for deal in store.query(Keys.deals_by_status(RELEASING), index=GSI1, limit=DUE_PAGE).items:
        if datetime.fromisoformat(str(deal["retry_at"])) <= now:
            run.recover(deal)
    run.requeue_alerts()

    due = store.query(Keys.deals_by_status(SCHEDULED), index=GSI1, sk_between=("0", iso(now) + "~"), limit=DUE_PAGE)
    for position, deal in enumerate(due.items):
        ended = _ended(deal, now)
        if ended is not None:
            run.close_unreleased(deal, ended)
            continue
        run.report.waiting = len(due.items) - position
        fee = policy.fees.for_post(str(deal["post_text"]))
        if would_exceed(store, policy.fees, fee, now):
            run.budget_alert(deal, fee)
            run.report.held = "budget"
        elif run.claim(deal):
            run.report.waiting -= 1
            run.attempt({**deal, "attempts": 1})
        break  # at most one release per run; the rest wait their turn
    return run.report


def _ended(deal: Item, now: datetime) -> str | None:
    if deal.get("expires_at") and datetime.fromisoformat(str(deal["expires_at"])) <= now:
        return EXPIRED
    if deal.get("quantity") is not None and int(deal.get("sold", 0)) >= int(deal["quantity"]):
        return SOLD_OUT
    return None


def post_key(deal_id: str) -> str:
    return f"deal-{deal_id}"


def _index(deal: Item, status: str) -> dict[str, str]:
    return Keys.deal_index(status, datetime.fromisoformat(str(deal["release_at"])), str(deal["id"]))


@dataclass
class _Run:
    """One invocation of the release schedule: what it works with, and what it did."""

    store: Store
    publisher: Publisher
    policy: ReleasePolicy
    now: datetime
    queue_alerts: AlertQueue | None
    notify: Notify | None = None
    report: ReleaseReport = field(default_factory=ReleaseReport)

    def claim(self, deal: Item) -> bool:
        """The release slot and the deal, together: False if the slot is taken (the deal waits)."""
        deal_id, now = str(deal["id"]), self.now
        try:
            self.store.transact(
                [
                    self.store.op_update(
                        Keys.release_slot(),
                        set={"last_release_at": iso(now), "deal_id": deal_id},
                        condition=Attr("last_release_at").not_exists()
                        | Attr("last_release_at").lte(iso(now - self.policy.min_gap)),
                    ),
                    self.store.op_update(
                        Keys.deal(deal_id),
                        set={
                            "status": RELEASING,
                            "claimed_at": iso(now),
                            "retry_at": iso(now + self.policy.lease),
                            "attempts": 1,
                            **_index(deal, RELEASING),
                        },
                        add={"version": 1},
                        condition=Attr("status").eq(SCHEDULED) & Attr("version").eq(deal["version"]),
                    ),
                ]
            )
        except ConditionFailed as exc:
            logger.info("release waits", extra={"deal_id": deal_id, "reason": "slot" if exc.index == 0 else "changed"})
            return False
        return True

    def attempt(self, deal: Item) -> None:
        deal_id, text = str(deal["id"]), str(deal["post_text"])
        key = post_key(deal_id)
        repeat = find_repeat(text, recent_posts(self.store), own_key=key)
        if repeat is not None:
            self.fail(deal, f"repeats the earlier post {repeat.post_key}")
            return
        if not claim_text(self.store, text, post_key=key, at=self.now):
            self.fail(deal, "the same text was already published")
            return
        try:
            published = self.publisher.post(text, key=key, deal_id=deal_id)
        except DuplicateContent:
            found = self.publisher.find_post(text, key=key)  # X says it has it: ours, from a lost run?
            if found is None:
                self.fail(deal, "X refused the text as a duplicate")
                return
            published = found
        except RateLimited as exc:
            self.defer(deal, exc.retry_at or self.now + self.policy.lease, f"rate limited: {exc}")
            return
        except PublishFailed as exc:
            self.defer(deal, self.now + self.policy.lease, str(exc))
            return
        self.record(deal, published)

    def recover(self, deal: Item) -> None:
        """A release whose lease ran out: its run died, or publishing must be tried again."""
        found = self.publisher.find_post(str(deal["post_text"]), key=post_key(str(deal["id"])))
        if found is not None:
            logger.info("recovered a post that went out", extra={"deal_id": deal["id"]})
            self.record(deal, found)
            return
        attempts = int(deal.get("attempts", 1))
        if attempts >= self.policy.max_attempts:
            self.fail(deal, f"not published after {attempts} attempts: {deal.get('last_error', 'run lost')}")
            return
        try:
            self.store.update(
                Keys.deal(str(deal["id"])),
                set={"retry_at": iso(self.now + self.policy.lease), "attempts": attempts + 1},
                condition=Attr("status").eq(RELEASING) & Attr("attempts").eq(attempts),
            )
        except ConditionFailed:
            return  # another run took it
        self.attempt({**deal, "attempts": attempts + 1})

    def record(self, deal: Item, published: Published) -> None:
        deal_id = str(deal["id"])
        fee: Decimal = self.policy.fees.for_post(str(deal["post_text"]))
        try:
            self.store.transact(
                [
                    self.store.op_update(
                        Keys.deal(deal_id),
                        set={
                            "status": RELEASED,
                            "post_id": published.id,
                            "released_at": iso(published.created_at),
                            "x_fee_usd": fee,
                            "alerts_queued": not deal.get("dm_subscribers"),
                            **_index(deal, RELEASED),
                            **ending_index(deal, published.created_at),  # the expiry sweep's, if it can end
                        },
                        remove=("retry_at", "last_error"),
                        add={"version": 1},
                        condition=Attr("status").eq(RELEASING),
                    ),
                    charge_op(self.store, fee, "posts", self.now),
                    self.store.op_update(Keys.channel_totals(), add={"deals_released": 1}),
                    self.store.op_put({**Keys.post_of_deal(published.id), "deal_id": deal_id}),
                    # Orders and clicks find the deal by its code long after it ends (chalicelib.sales).
                    # It carries what a click needs, so a tracked link costs one query and one ADD.
                    self.store.op_put(
                        {
                            **Keys.code_release(str(deal["code"]), published.created_at, deal_id),
                            "deal_id": deal_id,
                            "url": deal.get("url"),
                            "post_id": published.id,
                        }
                    ),
                    self.store.op_update(Keys.deal_fees(deal_id), add={"usd": fee}),
                ]
            )
        except ConditionFailed:
            return  # recorded by a concurrent run
        self.report.released.append(deal_id)
        logger.info("deal released", extra={"deal_id": deal_id, "post_id": published.id})
        if deal.get("dm_subscribers"):
            self.queue_alerts_of(deal_id)

    def queue_alerts_of(self, deal_id: str) -> None:
        if self.queue_alerts is None:
            return
        self.queue_alerts(deal_id)  # idempotent downstream: one DM per (deal, subscriber)
        self.store.update(Keys.deal(deal_id), set={"alerts_queued": True})

    def requeue_alerts(self) -> None:
        """Alerts of a deal whose run died between recording the release and queueing them."""
        if self.queue_alerts is None:
            return
        recent = self.store.query(Keys.deals_by_status(RELEASED), index=GSI1, newest_first=True, limit=10).items
        for deal in recent:
            if deal.get("alerts_queued") is False:
                self.queue_alerts_of(str(deal["id"]))

    def defer(self, deal: Item, retry_at: datetime, error: str) -> None:
        self.store.update(
            Keys.deal(str(deal["id"])),
            set={"retry_at": iso(retry_at), "last_error": error[:500]},
            condition=Attr("status").eq(RELEASING),
        )
        logger.warning("release deferred", extra={"deal_id": deal["id"], "retry_at": iso(retry_at)})

    def fail(self, deal: Item, reason: str) -> None:
        deal_id = str(deal["id"])
        if not self._leave(deal, RELEASING, FAILED, {"failure_reason": reason}, remove=("retry_at",)):
            return
        with contextlib.suppress(ConditionFailed):  # the text was never published: free it for a later deal
            self.store.delete(
                Keys.published_text(fingerprint(str(deal["post_text"]))),
                condition=Attr("post_key").eq(post_key(deal_id)),
            )
        self.report.failed.append(deal_id)
        logger.warning("release failed", extra={"deal_id": deal_id, "reason": reason})

    def close_unreleased(self, deal: Item, status: str) -> None:
        if self._leave(deal, SCHEDULED, status, {}):
            self.report.closed.append(str(deal["id"]))

    def _leave(
        self, deal: Item, current: str, status: str, extra: dict[str, str], remove: tuple[str, ...] = ()
    ) -> bool:
        """A deal stops being live: its new status and its code freed, in one transaction."""
        deal_id = str(deal["id"])
        try:
            self.store.transact(
                [
                    self.store.op_update(
                        Keys.deal(deal_id),
                        set={"status": status, "updated_at": iso(self.now), **extra, **_index(deal, status)},
                        remove=remove,
                        add={"version": 1},
                        condition=Attr("status").eq(current),
                    ),
                    self.store.op_delete(Keys.live_code(str(deal["code"]))),
                ]
            )
        except ConditionFailed:
            return False
        return True

    def budget_alert(self, deal: Item, fee: Decimal) -> None:
        raise_alert(
            self.store,
            alert_id=f"budget-{month_of(self.now)}-{deal['id']}",
            kind="x_budget_exceeded",
            message=f"Deal {deal['id']} is held: its post (${fee}) would take X fees past this month's budget.",
            raised_at=self.now,
            notify=self.notify,
            deal_id=str(deal["id"]),
        )
