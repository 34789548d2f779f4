"""Sending DMs under X's limits, each at most once per key.

Every DM, whatever asked for it, goes through ``send_dm``. One transaction takes a token from the
15-minute and the daily window and writes the key's send marker; if a window is full the DM is
deferred to the next window, if the marker exists it was sent before (a redelivery) and nothing
happens. A Lambda that dies after the marker and before X answered loses that DM rather than risk
sending it twice: the marker stays, and the log says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel, Field, ValidationError

from chalicelib.delivery import Deferred, DeliveryMessage, Handler, PoisonMessage, PublishingHeld
from chalicelib.fees import FeeSchedule, charge_op
from chalicelib.observability import logger
from chalicelib.publishing import Publisher, PublishFailed, RateLimited
from chalicelib.store import ConditionFailed, Keys, Store, iso

WINDOW = timedelta(minutes=15)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class DmBudget:
    per_15_minutes: int = 15  # X's published DM limits
    per_day: int = 1440


def _windows(now: datetime) -> tuple[str, str, datetime]:
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return f"15m#{start:%Y-%m-%dT%H:%M}", f"day#{now:%Y-%m-%d}", start + WINDOW


def send_dm(
    store: Store,
    publisher: Publisher,
    budget: DmBudget,
    fees: FeeSchedule,
    *,
    key: str,
    to: str,
    text: str,
    now: datetime,
    deal_id: str | None = None,
) -> bool:
    """Send once under the budget. True if sent now; False if it had been sent already."""
    window, day, window_ends = _windows(now)
    expires = int((now + 2 * DAY).timestamp())  # pacing counters clean themselves up (TTL)
    try:
        store.transact(
            [
                store.op_update(
                    Keys.dm_window(window),
                    add={"sent": 1},
                    set={"ttl": expires},
                    condition=Attr("sent").not_exists() | Attr("sent").lt(budget.per_15_minutes),
                ),
                store.op_update(
                    Keys.dm_window(day),
                    add={"sent": 1},
                    set={"ttl": expires},
                    condition=Attr("sent").not_exists() | Attr("sent").lt(budget.per_day),
                ),
                store.op_put(
                    {**Keys.dm_sent(key), "to": to, "status": "sending", "claimed_at": iso(now)},
                    Attr("PK").not_exists(),
                ),
            ]
        )
    except ConditionFailed as exc:
        if exc.index == 2:
            return False  # a redelivery: this key was sent (or is being sent) already
        next_day = (now + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
        resume = window_ends if exc.index == 0 else next_day
        raise Deferred("the DM budget is spent for now", int((resume - now).total_seconds()) + 1) from None
    try:
        published = publisher.send_dm(to, text, key=key, deal_id=deal_id)
    except (RateLimited, PublishFailed) as exc:
        _release(store, key, window, day)
        if isinstance(exc, RateLimited) and exc.retry_at is not None:
            raise Deferred("X rate limited DMs", max(1, int((exc.retry_at - now).total_seconds()) + 1)) from None
        raise
    recorded = [
        store.op_update(Keys.dm_sent(key), set={"status": "sent", "dm_id": published.id, "sent_at": iso(now)}),
        charge_op(store, fees.dm, "dms", now),
    ]
    if deal_id is not None:  # what a deal's alerts cost, for its revenue per fee dollar
        recorded.append(store.op_update(Keys.deal_fees(deal_id), add={"usd": fees.dm}))
    store.transact(recorded)
    logger.info("dm sent", extra={"key": key, "deal_id": deal_id})
    return True


def _release(store: Store, key: str, window: str, day: str) -> None:
    """X did not take the DM: give back its tokens and its marker, so a retry can send it."""
    with contextlib.suppress(ConditionFailed):
        store.transact(
            [
                store.op_delete(Keys.dm_sent(key)),
                store.op_update(Keys.dm_window(window), add={"sent": -1}),
                store.op_update(Keys.dm_window(day), add={"sent": -1}),
            ]
        )


class DirectMessagePayload(BaseModel):
    """The payload of a ``dm`` message: a DM with its text."""

    to: str = Field(pattern=r"^[0-9]{1,20}$")  # an X user id, always a string
    text: str = Field(min_length=1, max_length=10_000)
    deal_id: str | None = None


def once(check: Callable[[], bool]) -> Callable[[], bool]:
    """Ask ``check`` on first use only: one batch reads the channel's hold once."""
    answer: list[bool] = []

    def cached() -> bool:
        if not answer:
            answer.append(check())
        return answer[0]

    return cached


@dataclass(frozen=True)
class DmSender:
    """Everything a queued DM needs to go out: one per batch, built in chalicelib.deps."""

    store: Store
    publisher: Publisher
    budget: DmBudget
    fees: FeeSchedule
    may_publish: Callable[[], bool]  # the channel's hold, read at most once a batch (see ``once``)
    clock: Callable[[], datetime]

    def send(self, *, key: str, to: str, text: str, deal_id: str | None = None) -> bool:
        if not self.may_publish():
            raise PublishingHeld("publishing is held; the DM is retried after the visibility timeout")
        return send_dm(
            self.store,
            self.publisher,
            self.budget,
            self.fees,
            key=key,
            to=to,
            text=text,
            now=self.clock(),
            deal_id=deal_id,
        )


def dm_handler(sender: DmSender) -> Handler:
    def send(message: DeliveryMessage) -> None:
        try:
            dm = DirectMessagePayload.model_validate(message.payload)
        except ValidationError as exc:
            raise PoisonMessage("a dm message needs 'to' (an X user id) and 'text'") from exc
        sender.send(key=message.id, to=dm.to, text=dm.text, deal_id=dm.deal_id)

    return send
