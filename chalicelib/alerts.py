"""Alerts: what an operator must know (a revoked authorization, a spike of negative feeling).

Each alert has a natural id, so the same cause raises it once however often it is delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.observability import logger
from chalicelib.store import GSI1, AlreadyExists, Item, Keys, Page, Store, iso, without_keys

Notify = Callable[[Item], None]  # tells operators (the SNS alerts topic in the cloud)


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
    try:
        store.put_new(item)
    except AlreadyExists:
        return False
    if notify is not None:
        try:
            notify({"id": alert_id, "kind": kind, "message": message, "raised_at": iso(raised_at)})
        except Exception as exc:  # the alert is recorded (GET /alerts): telling is best effort
            logger.warning("alert not published", extra={"alert_id": alert_id, "error": type(exc).__name__})
    return True


def list_alerts(store: Store, *, limit: int, cursor: str | None) -> Page:
    page = store.query(Keys.ALERTS, index=GSI1, newest_first=True, limit=limit, cursor=cursor)
    return Page(items=[without_keys(item) for item in page.items], next=page.next)
