"""Alerts: what an operator must know (a revoked authorization, a spike of negative feeling).

Each alert has a natural id, so the same cause raises it once however often it is delivered. It is
told to operators (the SNS alerts topic) at least once: the alert and its entry in the alerts'
outbox are written in one transaction; the entry goes only once the topic took the alert, and
``publish_pending_alerts`` (every minute) retries what is left. A repeat carries the same
``alert_id`` message attribute, so a subscriber drops repeats by that id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.observability import logger
from chalicelib.store import GSI1, ConditionFailed, Item, Key, Keys, Page, Store, iso, without_keys

Notify = Callable[[Item], None]  # tells operators (the SNS alerts topic in the cloud)
PENDING_PAGE = 10


def raise_alert(
    store: Store,
    *,
    alert_id: str,
    kind: str,
    message: str,
    raised_at: datetime,
    notify: Notify | None = None,
    **details: Any,
) -> bool:
    """Record an alert once and tell operators; returns False when it was already recorded."""
    item = {
        **Keys.alert(alert_id),
        **Keys.alert_index(raised_at, alert_id),
        "id": alert_id,
        "kind": kind,
        "message": message,
        "raised_at": iso(raised_at),
        "details": details,
    }
    notice = {"id": alert_id, "kind": kind, "message": message, "raised_at": iso(raised_at)}
    unpublished = Keys.alert_unpublished(raised_at, alert_id)
    try:
        store.transact([store.op_put(item, store.absent_condition()), store.op_put({**unpublished, "alert": notice})])
    except ConditionFailed:
        return False
    if notify is not None:
        _publish(store, unpublished, notice, notify)
    return True


def publish_pending_alerts(store: Store, notify: Notify, limit: int = PENDING_PAGE) -> int:
    """Publish the alerts the topic has not taken yet, oldest first; returns how many went."""
    published = 0
    for pending in store.query(Keys.ALERTS_UNPUBLISHED, limit=limit).items:
        notice = dict(pending["alert"])
        key = Keys.alert_unpublished(datetime.fromisoformat(str(notice["raised_at"])), str(notice["id"]))
        published += _publish(store, key, notice, notify)
    return published


def _publish(store: Store, unpublished: Key, notice: Item, notify: Notify) -> bool:
    try:
        notify(notice)
    except Exception as exc:  # recorded (GET /alerts) and still in the outbox: the next run retries
        logger.warning("alert not published yet", extra={"alert_id": notice["id"], "error": type(exc).__name__})
        return False
    store.delete(unpublished)  # a crash before this publishes it again, with the same alert_id
    return True


def list_alerts(store: Store, *, limit: int, cursor: str | None) -> Page:
    page = store.query(Keys.ALERTS, index=GSI1, newest_first=True, limit=limit, cursor=cursor)
    return Page(items=[without_keys(item) for item in page.items], next=page.next)
