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

from boto3.dynamodb.conditions import Attr

from chalicelib.alerts import raise_alert
from chalicelib.channel import may_publish
from chalicelib.deals import EXPIRED, FAILED, RELEASED, RELEASING, SCHEDULED, SOLD_OUT
from chalicelib.fees import FeeSchedule, charge_op, month_of, would_exceed
from chalicelib.observability import logger
from chalicelib.posts import claim_text, find_repeat, fingerprint, recent_posts
from chalicelib.publishing import DuplicateContent, Published, Publisher, PublishFailed, RateLimited
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Store, iso

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
    store: Store, publisher: Publisher, policy: ReleasePolicy, now: datetime, queue_alerts: AlertQueue | None = None
) -> ReleaseReport:
    report = ReleaseReport()
    if not may_publish(store):
        report.held = "channel"
        return report
    for deal in store.query(Keys.deals_by_status(RELEASING), index=GSI1, limit=DUE_PAGE).items:
        if datetime.fromisoformat(str(deal["retry_at"])) <= now:
            _recover(store, publisher, policy, deal, now, report, queue_alerts)
    _requeue_alerts(store, queue_alerts)

    due = store.query(Keys.deals_by_status(SCHEDULED), index=GSI1, sk_between=("0", iso(now) + "~"), limit=DUE_PAGE)
    for position, deal in enumerate(due.items):
        ended = _ended(deal, now)
        if ended is not None:
            _close_unreleased(store, deal, ended, now)
            report.closed.append(str(deal["id"]))
            continue
        fee = policy.fees.for_post(str(deal["post_text"]))
        if would_exceed(store, policy.fees, fee, now):
            _budget_alert(store, deal, fee, now)
            report.held, report.waiting = "budget", len(due.items) - position
            break
        if not _claim(store, policy, deal, now):
            report.waiting = len(due.items) - position
            break
        _attempt(store, publisher, policy, {**deal, "attempts": 1}, now, report, queue_alerts)
        report.waiting = len(due.items) - position - 1
        break
    return report


def _ended(deal: Item, now: datetime) -> str | None:
    if deal.get("expires_at") and datetime.fromisoformat(str(deal["expires_at"])) <= now:
        return EXPIRED
    if deal.get("quantity") is not None and int(deal.get("sold", 0)) >= int(deal["quantity"]):
        return SOLD_OUT
    return None


def _claim(store: Store, policy: ReleasePolicy, deal: Item, now: datetime) -> bool:
    """The release slot and the deal, together: False if the slot is taken (the deal waits)."""
    deal_id = str(deal["id"])
    try:
        store.transact(
            [
                store.op_update(
                    Keys.release_slot(),
                    set={"last_release_at": iso(now), "deal_id": deal_id},
                    condition=Attr("last_release_at").not_exists()
                    | Attr("last_release_at").lte(iso(now - policy.min_gap)),
                ),
                store.op_update(
                    Keys.deal(deal_id),
                    set={
                        "status": RELEASING,
                        "claimed_at": iso(now),
                        "retry_at": iso(now + policy.lease),
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


def _attempt(
    store: Store,
    publisher: Publisher,
    policy: ReleasePolicy,
    deal: Item,
    now: datetime,
    report: ReleaseReport,
    queue_alerts: AlertQueue | None,
) -> None:
    deal_id, text = str(deal["id"]), str(deal["post_text"])
    key = post_key(deal_id)
    repeat = find_repeat(text, recent_posts(store), own_key=key)
    if repeat is not None:
        _fail(store, deal, f"repeats the earlier post {repeat.post_key}", now, report)
        return
    if not claim_text(store, text, post_key=key, at=now):
        _fail(store, deal, "the same text was already published", now, report)
        return
    try:
        published = publisher.post(text, key=key, deal_id=deal_id)
    except DuplicateContent:
        found = publisher.find_post(text, key=key)  # X says it has it: ours, from a lost run?
        if found is None:
            _fail(store, deal, "X refused the text as a duplicate", now, report)
            return
        published = found
    except RateLimited as exc:
        _defer(store, deal, exc.retry_at or now + policy.lease, f"rate limited: {exc}")
        return
    except PublishFailed as exc:
        _defer(store, deal, now + policy.lease, str(exc))
        return
    _record(store, policy, deal, published, now, report, queue_alerts)


def _recover(
    store: Store,
    publisher: Publisher,
    policy: ReleasePolicy,
    deal: Item,
    now: datetime,
    report: ReleaseReport,
    queue_alerts: AlertQueue | None,
) -> None:
    """A release whose lease ran out: its run died, or publishing must be tried again."""
    found = publisher.find_post(str(deal["post_text"]), key=post_key(str(deal["id"])))
    if found is not None:
        logger.info("recovered a post that went out", extra={"deal_id": deal["id"]})
        _record(store, policy, deal, found, now, report, queue_alerts)
        return
    attempts = int(deal.get("attempts", 1))
    if attempts >= policy.max_attempts:
        _fail(
            store, deal, f"not published after {attempts} attempts: {deal.get('last_error', 'run lost')}", now, report
        )
        return
    try:
        store.update(
            Keys.deal(str(deal["id"])),
            set={"retry_at": iso(now + policy.lease), "attempts": attempts + 1},
            condition=Attr("status").eq(RELEASING) & Attr("attempts").eq(attempts),
        )
    except ConditionFailed:
        return  # another run took it
    _attempt(store, publisher, policy, {**deal, "attempts": attempts + 1}, now, report, queue_alerts)


def _record(
    store: Store,
    policy: ReleasePolicy,
    deal: Item,
    published: Published,
    now: datetime,
    report: ReleaseReport,
    queue_alerts: AlertQueue | None,
) -> None:
    deal_id = str(deal["id"])
    fee: Decimal = policy.fees.for_post(str(deal["post_text"]))
    try:
        store.transact(
            [
                store.op_update(
                    Keys.deal(deal_id),
                    set={
                        "status": RELEASED,
                        "post_id": published.id,
                        "released_at": iso(published.created_at),
                        "x_fee_usd": fee,
                        "alerts_queued": not deal.get("dm_subscribers"),
                        **_index(deal, RELEASED),
                    },
                    remove=("retry_at", "last_error"),
                    add={"version": 1},
                    condition=Attr("status").eq(RELEASING),
                ),
                charge_op(store, fee, "posts", now),
                store.op_update(Keys.channel_totals(), add={"deals_released": 1}),
            ]
        )
    except ConditionFailed:
        return  # recorded by a concurrent run
    report.released.append(deal_id)
    logger.info("deal released", extra={"deal_id": deal_id, "post_id": published.id})
    if deal.get("dm_subscribers"):
        _queue_alerts(store, deal_id, queue_alerts)


def _queue_alerts(store: Store, deal_id: str, queue_alerts: AlertQueue | None) -> None:
    if queue_alerts is None:
        return
    queue_alerts(deal_id)  # idempotent downstream: one DM per (deal, subscriber)
    store.update(Keys.deal(deal_id), set={"alerts_queued": True})


def _requeue_alerts(store: Store, queue_alerts: AlertQueue | None) -> None:
    """Alerts of a deal whose run died between recording the release and queueing them."""
    if queue_alerts is None:
        return
    recent = store.query(Keys.deals_by_status(RELEASED), index=GSI1, newest_first=True, limit=10).items
    for deal in recent:
        if deal.get("alerts_queued") is False:
            _queue_alerts(store, str(deal["id"]), queue_alerts)


def _defer(store: Store, deal: Item, retry_at: datetime, error: str) -> None:
    store.update(
        Keys.deal(str(deal["id"])),
        set={"retry_at": iso(retry_at), "last_error": error[:500]},
        condition=Attr("status").eq(RELEASING),
    )
    logger.warning("release deferred", extra={"deal_id": deal["id"], "retry_at": iso(retry_at)})


def _fail(store: Store, deal: Item, reason: str, now: datetime, report: ReleaseReport) -> None:
    deal_id = str(deal["id"])
    try:
        store.transact(
            [
                store.op_update(
                    Keys.deal(deal_id),
                    set={"status": FAILED, "failure_reason": reason, "updated_at": iso(now), **_index(deal, FAILED)},
                    remove=("retry_at",),
                    add={"version": 1},
                    condition=Attr("status").eq(RELEASING),
                ),
                store.op_delete(Keys.live_code(str(deal["code"]))),
            ]
        )
    except ConditionFailed:
        return
    with contextlib.suppress(ConditionFailed):  # the text was never published: free it for a later deal
        store.delete(
            Keys.published_text(fingerprint(str(deal["post_text"]))), condition=Attr("post_key").eq(post_key(deal_id))
        )
    report.failed.append(deal_id)
    logger.warning("release failed", extra={"deal_id": deal_id, "reason": reason})


def _close_unreleased(store: Store, deal: Item, status: str, now: datetime) -> None:
    deal_id = str(deal["id"])
    try:
        store.transact(
            [
                store.op_update(
                    Keys.deal(deal_id),
                    set={"status": status, "updated_at": iso(now), **_index(deal, status)},
                    add={"version": 1},
                    condition=Attr("status").eq(SCHEDULED),
                ),
                store.op_delete(Keys.live_code(str(deal["code"]))),
            ]
        )
    except ConditionFailed:
        return


def _budget_alert(store: Store, deal: Item, fee: Decimal, now: datetime) -> None:
    raise_alert(
        store,
        alert_id=f"budget-{month_of(now)}-{deal['id']}",
        kind="x_budget_exceeded",
        message=f"Deal {deal['id']} is held: its post (${fee}) would take X fees past this month's budget.",
        raised_at=now,
        deal_id=str(deal["id"]),
    )


def _index(deal: Item, status: str) -> dict[str, str]:
    return Keys.deal_index(status, datetime.fromisoformat(str(deal["release_at"])), str(deal["id"]))


def post_key(deal_id: str) -> str:
    return f"deal-{deal_id}"
