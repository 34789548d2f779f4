"""DM alerts for a released deal: a fan-out over the subscribers, then one paced DM each.

The release queues one ``deal_alerts`` message. Its handler reads a page of subscribers from the
sparse index, queues one ``deal_alert`` per subscriber (ten to a SendMessageBatch) and, if there
is more, a ``deal_alerts`` message for the next page, so no invocation does unbounded work. Each
``deal_alert`` is keyed ``alert-<deal>-<subscriber>``: however often it is delivered, that DM is
sent once (chalicelib.direct_messages). A deal that sold out or expired sends no more alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, Field, ValidationError

from chalicelib.deals import RELEASED
from chalicelib.delivery import DeliveryMessage, Handler, PoisonMessage
from chalicelib.direct_messages import DmSender
from chalicelib.store import Item, Keys, Store, iso
from chalicelib.subscribers import list_subscribers

FAN_OUT_PAGE = 500
Enqueue = Callable[[Sequence[DeliveryMessage]], None]


class FanOutPayload(BaseModel):
    deal_id: str = Field(min_length=1)
    cursor: str | None = None


class AlertPayload(BaseModel):
    deal_id: str = Field(min_length=1)
    to: str = Field(pattern=r"^[0-9]{1,20}$")


def alert_text(deal: Item) -> str:
    return f"Deal alert: {deal['post_text']}\n\nReply STOP to stop these DMs."


def still_on(deal: Item | None, now: datetime) -> bool:
    if deal is None or deal.get("status") != RELEASED:
        return False
    if deal.get("expires_at") and datetime.fromisoformat(str(deal["expires_at"])) <= now:
        return False
    return deal.get("quantity") is None or int(deal.get("sold", 0)) < int(deal["quantity"])


def fan_out(
    store: Store, enqueue: Enqueue, deal_id: str, cursor: str | None, now: datetime, page_size: int = FAN_OUT_PAGE
) -> int:
    """Queue the alerts of one page of subscribers (and the next page); returns how many."""
    if not still_on(store.get(Keys.deal(deal_id)), now):
        return 0
    page = list_subscribers(store, limit=page_size, cursor=cursor)
    messages = [
        DeliveryMessage(
            kind="deal_alert", id=f"alert-{deal_id}-{s['user_id']}", payload={"deal_id": deal_id, "to": s["user_id"]}
        )
        for s in page.items
    ]
    if page.next is not None:
        page_id = hashlib.sha256(page.next.encode()).hexdigest()[:16]
        messages.append(
            DeliveryMessage(
                kind="deal_alerts", id=f"fanout-{deal_id}-{page_id}", payload={"deal_id": deal_id, "cursor": page.next}
            )
        )
    enqueue(messages)
    return len(page.items)


def fan_out_handler(
    store: Store, enqueue: Enqueue, clock: Callable[[], datetime], page_size: int = FAN_OUT_PAGE
) -> Handler:
    def handle(message: DeliveryMessage) -> None:
        try:
            payload = FanOutPayload.model_validate(message.payload)
        except ValidationError as exc:
            raise PoisonMessage("a deal_alerts message needs a deal_id") from exc
        fan_out(store, enqueue, payload.deal_id, payload.cursor, clock(), page_size)

    return handle


def alert_handler(sender: DmSender) -> Handler:
    def handle(message: DeliveryMessage) -> None:
        try:
            payload = AlertPayload.model_validate(message.payload)
        except ValidationError as exc:
            raise PoisonMessage("a deal_alert message needs deal_id and to") from exc
        deal = sender.store.get(Keys.deal(payload.deal_id))
        subscriber = sender.store.get(Keys.subscriber(payload.to))
        if deal is None or not still_on(deal, sender.clock()):
            return  # sold out or expired: no more alerts
        if not subscriber or subscriber.get("status") != "subscribed":
            return  # the subscriber left
        if sender.send(key=message.id, to=payload.to, text=alert_text(deal), deal_id=payload.deal_id):
            # A DM back from this subscriber in the next days answers this deal (chalicelib.feedback).
            sender.store.update(
                Keys.subscriber(payload.to),
                set={"last_alert_deal_id": payload.deal_id, "last_alert_at": iso(sender.clock())},
            )

    return handle
