"""Alerts are recorded once and told to operators once; a notifier that fails loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.alerts import raise_alert
from chalicelib.channel import record_revocation
from chalicelib.store import Keys, Store
from chalicelib.x.events import Revocation


def test_a_revocation_is_told_to_operators_once(store: Store) -> None:
    told: list[dict[str, Any]] = []
    revocation = Revocation(event_id="rev-1", occurred_at=datetime(2026, 11, 26, 12, tzinfo=UTC), user_id="1111111")
    assert record_revocation(store, revocation, notify=told.append)
    record_revocation(store, revocation, notify=told.append)  # X delivers it again
    assert [(a["id"], a["kind"]) for a in told] == [("revoked-rev-1", "authorization_revoked")]


def test_an_alert_whose_notice_fails_is_still_recorded(store: Store) -> None:
    def broken(alert: dict[str, Any]) -> None:
        raise ConnectionError("SNS is unreachable")

    raised = raise_alert(store, alert_id="a-1", kind="test", message="m", raised_at=datetime.now(UTC), notify=broken)
    assert raised
    assert store.get(Keys.alert("a-1")) is not None
