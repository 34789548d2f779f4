"""What became of a DM: recorded once when it is sent, moved from state to state otherwise, and
looked up, never resent, when its outcome is unknown.

X keeps no idempotency key for DMs, so a DM whose send timed out (or whose run died after its
claim) is ``checking``: later runs read the conversation with the recipient for its text
(``find_dm``). Found: ``sent``. Not found after ``max_checks`` looks: ``unknown``, counted and
listed (``GET /dms?status=unknown``), never resent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from chalicelib.dm_queue import CHECKING, SENDING, SENT, UNKNOWN, totals_op
from chalicelib.fees import charge_op
from chalicelib.observability import logger
from chalicelib.publishing import Published, Publisher, PublishError
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Store, TransactionConflict, iso
from chalicelib.store.conditions import Attr

FOUND = "found"  # a look-up's outcome: the DM was in the conversation, and is now ``sent``


def due_for_look_up(store: Store, now: datetime, limit: int) -> list[Item]:
    """DMs whose outcome is unknown (or whose run died while sending), due for a look-up now."""
    due = store.query(Keys.dms_by_status(CHECKING), index=GSI1, sk_between=("0", iso(now) + "~"), limit=limit)
    # The index lags a change made a moment ago.
    return [dm for dm in due.items if dm.get("status") in (SENDING, CHECKING)]


def look_up(
    store: Store,
    publisher: Publisher,
    dm: Item,
    *,
    clock: Callable[[], datetime],
    fee: Decimal,
    check_every: timedelta,
    max_checks: int,
) -> str | None:
    """Look for ``dm`` in its conversation: ``FOUND`` (recorded sent), ``UNKNOWN`` (the last look
    found nothing: never resent), or None (looked again later, or moved by another run)."""
    key, now = str(dm["key"]), clock()
    attempted = datetime.fromisoformat(str(dm["attempted_at"]))
    try:
        found = publisher.find_dm(str(dm["to"]), str(dm["text"]), key=key, since=attempted)
    except PublishError as exc:
        logger.warning("dm look-up failed", extra={"key": key, "error": str(exc)})
        found = None
    if found is not None:
        if record_sent(store, dm, found, fee=fee, now=clock()):
            logger.info("dm with an unknown outcome found in the conversation", extra={"key": key})
            return FOUND
        return None
    checks = int(dm.get("checks", 0)) + 1
    if checks >= max_checks:
        if move(store, dm, UNKNOWN, now, {"checks": checks}, totals={"unknown": 1}):
            logger.error("dm outcome unknown: not found in the conversation, never resent", extra={"key": key})
            return UNKNOWN
        return None
    move(store, dm, CHECKING, now + check_every, {"checks": checks})
    return None


def record_sent(store: Store, dm: Item, published: Published, *, fee: Decimal, now: datetime) -> bool:
    """The DM is sent: its state, its fee and its counts in one transaction, conditioned on the
    state it left, so the fee is recorded once however often this runs."""
    key = str(dm["key"])
    deal_id = dm.get("deal_id")
    ops = [
        store.op_update(
            Keys.dm_sent(key),
            set={
                "status": SENT,
                "dm_id": published.id,
                "sent_at": iso(published.created_at),
                **Keys.dm_status_index(SENT, published.created_at, key),
            },
            condition=Attr("status").is_in([SENDING, CHECKING]),
        ),
        charge_op(store, fee, "dms", now),
        totals_op(store, sent=1),
    ]
    if deal_id is not None:
        # What a deal's alerts cost (its revenue per fee dollar), and a DM back from this
        # subscriber in the next days answers this deal (chalicelib.feedback).
        ops.append(store.op_update(Keys.deal_fees(str(deal_id)), add={"usd": fee}))
        ops.append(
            store.op_update(
                Keys.subscriber(str(dm["to"])), set={"last_alert_deal_id": str(deal_id), "last_alert_at": iso(now)}
            )
        )
    for attempt in range(3):
        try:
            store.transact(ops)
        except ConditionFailed:
            return False  # recorded already (a concurrent look-up found it)
        except TransactionConflict:
            # Left ``sending``: if this keeps failing, the look-ups find the DM and record it then.
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security
            continue
        logger.info("dm sent", extra={"key": key, "deal_id": deal_id})
        return True
    return False


def move(
    store: Store,
    dm: Item,
    status: str,
    listed_at: datetime,
    extra: dict[str, object],
    totals: dict[str, int] | None = None,
) -> bool:
    """A DM whose outcome is not (yet) sent changes state, if nobody moved it meanwhile."""
    key = str(dm["key"])
    checks = Attr("checks").eq(dm["checks"]) if "checks" in dm else Attr("checks").not_exists()
    ops = [
        store.op_update(
            Keys.dm_sent(key),
            set={"status": status, **extra, **Keys.dm_status_index(status, listed_at, key)},
            condition=Attr("status").eq(str(dm["status"])) & Attr("attempted_at").eq(str(dm["attempted_at"])) & checks,
        )
    ]
    if totals:
        ops.append(totals_op(store, **totals))
    try:
        store.transact(ops)
    except (ConditionFailed, TransactionConflict):
        return False
    return True
