"""DM alert subscribers: a follower opts in by DMing the brand DEALS or START, and out with STOP.

Commands are ordered by the DM's own time, so a late redelivery of an old DEALS cannot undo a
newer STOP. Each command is answered once, by a DM keyed on the command's own id. Only
subscribed users carry the index key, so the fan-out reads exactly the subscribers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from chalicelib.delivery import DeliveryMessage
from chalicelib.store import GSI1, ConditionFailed, Keys, Page, Store, iso
from chalicelib.store.conditions import Attr
from chalicelib.x.events import DirectMessage

SUBSCRIBE_WORDS = frozenset({"DEALS", "START", "SUBSCRIBE"})
UNSUBSCRIBE_WORDS = frozenset({"STOP", "UNSUBSCRIBE", "CANCEL"})
SUBSCRIBED_REPLY = "You're in! We'll DM you when a deal goes live. Reply STOP at any time to stop."
UNSUBSCRIBED_REPLY = "You're unsubscribed and won't get deal DMs. Reply DEALS to opt back in."

Enqueue = Callable[[Sequence[DeliveryMessage]], None]


def command_of(text: str) -> str | None:
    """DEALS/START or STOP, alone in the message (any case, any punctuation around it)."""
    word = re.sub(r"[^A-Za-z]", "", text).upper()
    if word in SUBSCRIBE_WORDS:
        return "subscribe"
    if word in UNSUBSCRIBE_WORDS:
        return "unsubscribe"
    return None


def handle_direct_message(store: Store, dm: DirectMessage, enqueue: Enqueue) -> str | None:
    """Apply a subscription command, if the DM is one: ``subscribe``, ``unsubscribe`` or ``stale``
    (a late, older command); None when the DM is no command (it is feedback, then)."""
    command = command_of(dm.text)
    if command is None:
        return None
    at = iso(dm.occurred_at)
    user = dm.sender
    profile = {"handle": user.handle, "name": user.name} if user.handle else {}
    changes = (
        {"status": "subscribed", "subscribed_at": at, **Keys.subscriber_index(dm.occurred_at, user.id)}
        if command == "subscribe"
        else {"status": "unsubscribed", "unsubscribed_at": at}
    )
    try:
        store.update(
            Keys.subscriber(user.id),
            set={"user_id": user.id, "last_command_at": at, "last_command_id": dm.event_id, **profile, **changes},
            remove=() if command == "subscribe" else ("GSI1PK", "GSI1SK"),
            condition=Attr("last_command_at").not_exists() | Attr("last_command_at").lt(at),
        )
    except ConditionFailed as exc:
        if (exc.item or {}).get("last_command_id") != dm.event_id:
            return "stale"  # an older command, delivered late: a newer one stands
        # A redelivery of the command we applied: its answer is keyed, so asking again is harmless.
    reply = SUBSCRIBED_REPLY if command == "subscribe" else UNSUBSCRIBED_REPLY
    enqueue([DeliveryMessage(kind="dm", id=f"reply-{dm.event_id}", payload={"to": user.id, "text": reply})])
    return command


def list_subscribers(store: Store, *, limit: int, cursor: str | None) -> Page:
    return store.query(Keys.SUBSCRIBERS, index=GSI1, limit=limit, cursor=cursor)
