"""DM alerts: opting in and out by DM, one DM per (deal, subscriber) under redelivery, X's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deal_alerts import alert_handler, fan_out, fan_out_handler
from chalicelib.deals import DealFields, create_deal
from chalicelib.delivery import Deferred, DeliveryMessage
from chalicelib.direct_messages import DmBudget, DmSender, send_dm
from chalicelib.fees import FeeSchedule
from chalicelib.publishing import OutboxPublisher, PublishFailed, RateLimited, list_outbox
from chalicelib.releases import ReleasePolicy, release_due_deals
from chalicelib.store import Keys, Store
from chalicelib.subscribers import handle_direct_message
from chalicelib.x.events import DirectMessage, XUser
from tests.conftest import FakeClock
from tests.factories import load_event, signed_headers
from tests.fakes import FakeX

UNLIMITED = DmBudget(per_15_minutes=10**6, per_day=10**6)


class Queue:
    """The delivery queue, in memory: what was enqueued, in order."""

    def __init__(self) -> None:
        self.messages: list[DeliveryMessage] = []

    def __call__(self, messages: Sequence[DeliveryMessage]) -> None:
        self.messages.extend(messages)

    def take(self, kind: str) -> list[DeliveryMessage]:
        taken = [m for m in self.messages if m.kind == kind]
        self.messages = [m for m in self.messages if m.kind != kind]
        return taken


def dm(user: str, text: str, minute: int, clock: FakeClock, event: str | None = None) -> DirectMessage:
    return DirectMessage(
        event_id=event or f"dm:{user}-{minute}",
        occurred_at=clock() + timedelta(minutes=minute),
        sender=XUser(id=user, handle=f"fan{user}"),
        text=text,
    )


def subscribe(store: Store, clock: FakeClock, users: range | list[str]) -> None:
    for user in users:
        handle_direct_message(store, dm(str(user), "DEALS", 0, clock), Queue())


def released_deal(store: Store, clock: FakeClock, queue_alerts: Any = None, **overrides: Any) -> str:
    fields = {
        "title": "Alienware m16",
        "price": "1499",
        "list_price": "1999",
        "currency": "USD",
        "code": "AW16",
        "release_at": clock() + timedelta(minutes=1),
        "dm_subscribers": True,
        **overrides,
    }
    deal_id = str(create_deal(store, DealFields.model_validate(fields), clock())["id"])
    clock.advance(minutes=2)
    release_due_deals(
        store, OutboxPublisher(store, clock), ReleasePolicy(min_gap=timedelta(0)), clock(), queue_alerts=queue_alerts
    )
    return deal_id


# --- opting in and out -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["DEALS", "deals", "Start!", "  start  "])
def test_deals_or_start_subscribes_and_is_answered_once(store: Store, clock: FakeClock, text: str) -> None:
    replies = Queue()
    message = dm("42", text, 0, clock)
    assert handle_direct_message(store, message, replies) == "subscribe"
    handle_direct_message(store, message, replies)  # redelivered
    assert {m.id for m in replies.messages} == {f"reply-{message.event_id}"}  # one keyed answer
    assert replies.messages[0].payload["to"] == "42"
    assert store.get(Keys.subscriber("42"))["status"] == "subscribed"  # type: ignore[index]


def test_other_messages_change_nothing(store: Store, clock: FakeClock) -> None:
    replies = Queue()
    assert handle_direct_message(store, dm("42", "Do you have deals on monitors?", 0, clock), replies) is None
    assert replies.messages == []
    assert store.get(Keys.subscriber("42")) is None


def test_stop_unsubscribes_and_a_late_old_deals_does_not_resubscribe(store: Store, clock: FakeClock) -> None:
    replies = Queue()
    handle_direct_message(store, dm("42", "DEALS", 0, clock), replies)
    handle_direct_message(store, dm("42", "STOP", 5, clock), replies)
    late = handle_direct_message(store, dm("42", "START", 3, clock, event="dm:late"), replies)  # older, arrives last
    assert late == "stale"  # a command still, so it is not recorded as feedback either
    assert store.get(Keys.subscriber("42"))["status"] == "unsubscribed"  # type: ignore[index]
    assert store.query(Keys.SUBSCRIBERS, index="GSI1").items == []
    assert [m.payload["text"].split()[0] for m in replies.messages] == ["You're", "You're"]
    assert len(replies.messages) == 2  # the stale START is not answered


def test_a_dm_webhook_subscribes_the_sender(api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The real Account Activity DM fixture, its text turned into the command.
    payload = load_event("x/x_dm_event.json")
    payload["direct_message_events"][0]["message_create"]["message_data"]["text"] = "DEALS"
    monkeypatch.setenv("X_ACCOUNT_ID", payload["for_user_id"])
    body = json.dumps(payload).encode()
    response = api.http.post("/webhooks/x", body=body, headers=signed_headers(body))
    assert json.loads(response.body)["applied"] == 1
    from tests.conftest import aws_client

    sqs = aws_client("sqs")
    import os

    queued = sqs.receive_message(QueueUrl=os.environ["DELIVERY_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    (reply,) = [json.loads(m["Body"]) for m in queued]
    assert (reply["kind"], reply["id"], reply["payload"]["to"]) == ("dm", "reply-dm:954491830116155396", "3001969357")


def test_the_brands_own_dms_are_not_commands(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = load_event("x/x_xaa_dm_sent.json")
    monkeypatch.setenv("X_ACCOUNT_ID", "1111111111111111111")
    body = json.dumps(sent).encode()
    assert json.loads(api.http.post("/webhooks/x", body=body, headers=signed_headers(body)).body)["applied"] == 0


# --- sending under X's limits ----------------------------------------------------------------------


def test_a_dm_key_is_sent_once(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    args: dict[str, Any] = {"key": "alert-d1-42", "to": "42", "text": "Deal!", "now": clock()}
    assert send_dm(store, x, UNLIMITED, FeeSchedule(), **args) is True
    assert send_dm(store, x, UNLIMITED, FeeSchedule(), **args) is False
    assert x.dms == [("42", "Deal!")]
    fees = store.get(Keys.fees_month(f"{clock():%Y-%m}"))
    assert (fees["usd"], fees["dms"]) == (Decimal("0.015"), 1)  # type: ignore[index]


def test_the_fifteen_minute_window_defers_the_sixteenth_dm_to_the_next_window(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    clock.advance(minutes=7)  # 12:07: the window ends at 12:15
    for n in range(15):
        send_dm(store, x, DmBudget(), FeeSchedule(), key=f"k{n}", to=str(n), text="hi", now=clock())
    with pytest.raises(Deferred) as deferred:
        send_dm(store, x, DmBudget(), FeeSchedule(), key="k15", to="15", text="hi", now=clock())
    assert deferred.value.delay_seconds == 8 * 60 + 1
    assert len(x.dms) == 15
    clock.advance(minutes=8)
    assert send_dm(store, x, DmBudget(), FeeSchedule(), key="k15", to="15", text="hi", now=clock())


def test_the_daily_budget_defers_to_tomorrow(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    budget = DmBudget(per_15_minutes=100, per_day=3)
    for n in range(3):
        send_dm(store, x, budget, FeeSchedule(), key=f"k{n}", to=str(n), text="hi", now=clock())
    with pytest.raises(Deferred) as deferred:
        send_dm(store, x, budget, FeeSchedule(), key="k3", to="3", text="hi", now=clock())
    assert deferred.value.delay_seconds == 12 * 3600 + 1  # clock is 12:00 UTC


def test_a_dm_x_did_not_take_gives_back_its_budget_and_key(store: Store, clock: FakeClock) -> None:
    class Failing(FakeX):
        def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Any:
            raise PublishFailed("X did not answer after 3 attempts")

    budget = DmBudget(per_15_minutes=1, per_day=10)
    with pytest.raises(PublishFailed):
        send_dm(store, Failing(clock), budget, FeeSchedule(), key="k", to="1", text="hi", now=clock())
    assert send_dm(store, FakeX(clock), budget, FeeSchedule(), key="k", to="1", text="hi", now=clock())


def test_an_x_rate_limit_defers_until_its_reset(store: Store, clock: FakeClock) -> None:
    class Limited(FakeX):
        def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Any:
            raise RateLimited("429", retry_at=clock() + timedelta(minutes=3))

    with pytest.raises(Deferred) as deferred:
        send_dm(store, Limited(clock), UNLIMITED, FeeSchedule(), key="k", to="1", text="hi", now=clock())
    assert deferred.value.delay_seconds == 181


# --- the fan-out -------------------------------------------------------------------------------------


def run_queue(store: Store, clock: FakeClock, queue: Queue, x: FakeX, budget: DmBudget, redeliver: bool) -> int:
    """Deliver everything queued, each alert twice when ``redeliver``; returns how many were deferred."""
    fan = fan_out_handler(store, queue, clock, page_size=25)
    alert = alert_handler(DmSender(store, x, budget, FeeSchedule(), lambda: True, clock))
    deferred = 0
    while queue.messages:
        for message in queue.take("deal_alerts"):
            fan(message)
        for message in queue.take("deal_alert"):
            for _ in range(2 if redeliver else 1):
                try:
                    alert(message)
                except Deferred:
                    deferred += 1
    return deferred


def test_a_release_alerts_every_subscriber_exactly_once_despite_redelivery(store: Store, clock: FakeClock) -> None:
    subscribe(store, clock, range(1, 61))  # more than two pages of 25
    handle_direct_message(store, dm("7", "STOP", 1, clock), Queue())
    queue = Queue()
    deal_id = released_deal(store, clock)
    fan_out(store, queue, deal_id, None, clock(), page_size=25)
    x = FakeX(clock)
    run_queue(store, clock, queue, x, UNLIMITED, redeliver=True)
    recipients = [to for to, _ in x.dms]
    assert len(recipients) == len(set(recipients)) == 59
    assert "7" not in recipients
    assert x.dms[0][1].startswith("Deal alert: Alienware m16: $1,499 (was $1,999, 25% off) with code AW16.")


def test_alerts_stop_when_the_deal_sells_out(store: Store, clock: FakeClock) -> None:
    subscribe(store, clock, range(1, 11))
    queue = Queue()
    deal_id = released_deal(store, clock, quantity=5)
    fan_out(store, queue, deal_id, None, clock())
    store.update(Keys.deal(deal_id), set={"sold": 5})
    x = FakeX(clock)
    run_queue(store, clock, queue, x, UNLIMITED, redeliver=False)
    assert x.dms == []


def test_the_fan_out_is_paced_by_the_dm_budget(store: Store, clock: FakeClock) -> None:
    subscribe(store, clock, range(1, 41))
    queue = Queue()
    deal_id = released_deal(store, clock)
    fan_out(store, queue, deal_id, None, clock())
    x = FakeX(clock)
    assert run_queue(store, clock, queue, x, DmBudget(), redeliver=False) == 25
    assert len(x.dms) == 15


def test_a_released_deal_with_dm_subscribers_queues_its_fan_out(store: Store, clock: FakeClock) -> None:
    queued: list[str] = []
    deal_id = released_deal(store, clock, queue_alerts=queued.append)
    assert queued == [deal_id]
    assert list_outbox(store, limit=5, cursor=None).items[0]["deal_id"] == deal_id
