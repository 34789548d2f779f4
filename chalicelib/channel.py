"""Whether outlet may publish. A revoked authorization holds every release and welcome until an
admin re-enables publishing; the hold and the resume are ordered by their own times, so a late
duplicate of an old revocation cannot hold the channel again after an admin resumed it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.alerts import Notify, raise_alert
from chalicelib.store import ConditionFailed, Keys, Store, iso

if TYPE_CHECKING:
    from chalicelib.x.events import Revocation

ACTIVE, HELD = "active", "held"


def channel_state(store: Store) -> dict[str, Any]:
    item = store.get(Keys.channel(), consistent=True) or {}
    return {
        "publishing": item.get("publishing", ACTIVE),
        "held_reason": item.get("held_reason"),
        "held_at": item.get("held_at"),
        "resumed_at": item.get("resumed_at"),
        "resumed_by": item.get("resumed_by"),
    }


def may_publish(store: Store) -> bool:
    return bool(channel_state(store)["publishing"] == ACTIVE)


def record_revocation(store: Store, revocation: Revocation, notify: Notify | None = None) -> bool:
    """Hold publishing and raise one alert. False when an admin already resumed after it."""
    from chalicelib.store.conditions import Attr

    at = iso(revocation.occurred_at)
    try:
        store.update(
            Keys.channel(),
            set={"publishing": HELD, "held_reason": "authorization revoked on X", "held_at": at},
            condition=Attr("resumed_at").not_exists() | Attr("resumed_at").lt(at),
        )
    except ConditionFailed:
        return False
    raise_alert(
        store,
        alert_id=f"revoked-{revocation.event_id}",
        kind="authorization_revoked",
        message="X reports the brand revoked outlet's authorization: releases and welcomes are held "
        "until an admin re-authorizes the app and resumes publishing.",
        raised_at=revocation.occurred_at,
        notify=notify,
        user_id=revocation.user_id,
    )
    return True


def resume_publishing(store: Store, now: datetime, by: str | None = None) -> dict[str, Any]:
    """``by`` names who resumed (an operator's email from the console; None for the admin token)."""
    resumed = {"publishing": ACTIVE, "resumed_at": iso(now), "resumed_by": by}
    store.update(Keys.channel(), set=resumed, remove=("held_reason",))
    return channel_state(store)
