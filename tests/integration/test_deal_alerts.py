"""DM alerts: opting in and out by DM, the fan-out into the deal's queue, and the paced drain that
sends each (deal, subscriber) at most once, under X's limits, through holds and unknown outcomes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.channel import resume_publishing
from chalicelib.deal_alerts import fan_out, fan_out_handler
from chalicelib.deals import DealFields, create_deal
from chalicelib.delivery import DeliveryMessage
from chalicelib.direct_messages import DmBudget, DmPolicy, DrainReport, drain_dms, intake_handler
from chalicelib.dm_queue import dm_totals, list_dms
from chalicelib.publishing import OutboxPublisher, Publisher, list_outbox
from chalicelib.releases import ReleasePolicy, release_due_deals
from chalicelib.store import Keys, Store, TransactionConflict
from chalicelib.subscribers import handle_direct_message
from chalicelib.x.events import DirectMessage, XUser
from tests.conftest import FakeClock
from tests.factories import load_event, signed_headers
from tests.fakes import Crash, CrashAfter, FakeX

UNLIMITED = DmPolicy(budget=DmBudget(per_15_minutes=10**6, per_day=10**6))


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


# --- the fan-out ----------------------------------------------------------------------------------------


def opt_in(store: Store, clock: FakeClock, users: range) -> None:
    """Each user opts in a minute after the previous one: the order alerts go out in."""
    for minute, user in enumerate(users):
        handle_direct_message(store, dm(str(user), "DEALS", minute - 100, clock), Queue())


def fan_out_all(store: Store, clock: FakeClock, deal_id: str, page_size: int = 25) -> None:
    queue = Queue()
    handler = fan_out_handler(store, queue, clock, page_size=page_size)
    handler(DeliveryMessage(kind="deal_alerts", id=f"fanout-{deal_id}", payload={"deal_id": deal_id}))
    while more := queue.take("deal_alerts"):
        for message in more:
            handler(message)


def waiting_in(store: Store, deal_id: str) -> list[str]:
    return [str(e["to"]) for e in store.query(Keys.dm_queue(deal_id), limit=1000).items]


def test_the_fan_out_queues_each_subscriber_once_in_opt_in_order_despite_redelivery(
    store: Store, clock: FakeClock
) -> None:
    opt_in(store, clock, range(1, 61))
    handle_direct_message(store, dm("7", "STOP", 1, clock), Queue())
    deal_id = released_deal(store, clock)
    queue = Queue()
    assert fan_out(store, queue, deal_id, clock(), page_size=25, pages=1) == 25
    (continuation,) = queue.take("deal_alerts")
    handler = fan_out_handler(store, queue, clock, page_size=25)
    for _ in range(3):  # the continuation, delivered three times: each goes on from where the fan-out is
        handler(continuation)
    handler(continuation)
    assert waiting_in(store, deal_id) == [str(u) for u in range(1, 61) if u != 7]
    campaign = store.get(Keys.dm_campaign(deal_id))
    assert (campaign["queued"], campaign["fanned_out"]) == (59, True)  # type: ignore[index]
    assert dm_totals(store)["waiting"] == 59


# --- the drain: pacing ------------------------------------------------------------------------------


def drain(
    store: Store, x: Publisher, clock: FakeClock, policy: DmPolicy | None = None, time_left: float = 30.0
) -> DrainReport:
    return drain_dms(store, x, policy or DmPolicy(), clock, lambda: time_left)


def alerts_waiting(store: Store, clock: FakeClock, subscribers: int, **deal: Any) -> str:
    opt_in(store, clock, range(1, subscribers + 1))
    deal_id = released_deal(store, clock, **deal)
    fan_out_all(store, clock, deal_id)
    return deal_id


def test_each_subscriber_gets_exactly_one_alert_at_most_fifteen_a_window(store: Store, clock: FakeClock) -> None:
    deal_id = alerts_waiting(store, clock, 40)
    x = FakeX(clock)
    sent_per_window: dict[str, int] = {}
    for _ in range(45):  # the schedule: every minute for 45 minutes
        window = f"{clock():%H}:{clock().minute // 15}"
        sent_per_window[window] = sent_per_window.get(window, 0) + len(drain(store, x, clock).sent)
        clock.advance(minutes=1)
    assert list(sent_per_window.values()) == [15, 15, 10, 0]  # 12:00, 12:15, 12:30, 12:45
    assert [to for to, _ in x.dms] == [str(u) for u in range(1, 41)]  # first opted in, first alerted
    assert x.dms[0][1].startswith("Deal alert: Alienware m16: $1,499 (was $1,999, 25% off) with code AW16.")
    assert dm_totals(store) == {"waiting": 0, "sent": 40, "unknown": 0, "failed": 0, "skipped": 0, "dropped": 0}
    assert store.get(Keys.dm_campaign(deal_id))["status"] == "done"  # type: ignore[index]
    fees = store.get(Keys.fees_month(f"{clock():%Y-%m}"))
    assert (fees["dms"], store.get(Keys.deal_fees(deal_id))["usd"]) == (40, Decimal("0.015") * 40 + Decimal("0.015"))  # type: ignore[index]
    assert store.get(Keys.subscriber("40"))["last_alert_deal_id"] == deal_id  # type: ignore[index]


def test_waiting_alerts_cost_nothing_while_the_window_is_spent(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 120)
    x = FakeX(clock)
    assert len(drain(store, x, clock).sent) == 15
    for _ in range(5):
        clock.advance(minutes=1)
        before = store.requests
        report = drain(store, x, clock)
        # The hold, the due look-ups and the windows, read once each: the 105 waiting alerts are not touched.
        assert (report.stopped, report.sent, store.requests - before) == ("budget", [], 3)


def test_direct_dms_go_first_under_the_same_budget_and_are_queued_once(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 20)
    accept = intake_handler(store, clock)
    replies = [
        DeliveryMessage(kind="dm", id=f"reply-{n}", payload={"to": str(900 + n), "text": "Hi"}) for n in range(3)
    ]
    for message in [*replies, *replies]:  # each delivered twice
        accept(message)
    x = FakeX(clock)
    drain(store, x, clock)
    assert [to for to, _ in x.dms] == ["900", "901", "902", *[str(u) for u in range(1, 13)]]


def test_two_deals_alerts_go_out_oldest_deal_first_and_one_budget_governs_both(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 10)
    second = released_deal(store, clock, code="AW17", title="Alienware m17")
    fan_out_all(store, clock, second)
    x = FakeX(clock)
    assert len(drain(store, x, clock).sent) == 15
    clock.advance(minutes=15)
    assert len(drain(store, x, clock).sent) == 5
    alerts_of = [text.split(":")[1].strip() for _, text in x.dms]
    assert alerts_of == ["Alienware m16"] * 10 + ["Alienware m17"] * 10


@pytest.mark.parametrize("ending", ["sold_out", "expired"])
def test_alerts_of_a_deal_that_ended_are_dropped_and_counted(store: Store, clock: FakeClock, ending: str) -> None:
    deal_id = alerts_waiting(store, clock, 10, quantity=50, expires_at=clock() + timedelta(hours=1))
    x = FakeX(clock)
    assert len(drain(store, x, clock, DmPolicy(budget=DmBudget(per_15_minutes=3))).sent) == 3
    if ending == "sold_out":
        store.update(Keys.deal(deal_id), set={"sold": 50})
    else:
        clock.advance(hours=1)
    clock.advance(minutes=15)
    report = drain(store, x, clock)
    assert (report.sent, report.dropped, len(x.dms)) == ([], 7, 3)
    assert dm_totals(store) | {} == {"waiting": 0, "sent": 3, "unknown": 0, "failed": 0, "skipped": 0, "dropped": 7}
    assert store.get(Keys.dm_campaign(deal_id))["status"] == "ended"  # type: ignore[index]
    clock.advance(minutes=15)
    assert drain(store, x, clock).dropped == 0  # counted once


def test_a_subscriber_who_left_is_skipped(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 3)
    handle_direct_message(store, dm("2", "STOP", 10, clock), Queue())
    x = FakeX(clock)
    report = drain(store, x, clock)
    assert ([to for to, _ in x.dms if to in "123"], report.skipped) == (["1", "3"], 1)


def test_a_hold_pauses_the_drain_and_resuming_continues_where_it_stopped(store: Store, clock: FakeClock) -> None:
    from chalicelib.channel import record_revocation
    from chalicelib.x.events import Revocation

    alerts_waiting(store, clock, 20)
    x = FakeX(clock)
    assert len(drain(store, x, clock).sent) == 15
    record_revocation(store, Revocation(event_id="rev-1", occurred_at=clock(), user_id="1111111"))
    for _ in range(20):
        clock.advance(minutes=1)
        before = store.requests
        assert drain(store, x, clock).held
        assert store.requests - before == 1  # the hold, read: nothing else is touched, nothing fails
    resume_publishing(store, clock())
    assert len(drain(store, x, clock).sent) == 5
    assert [to for to, _ in x.dms] == [str(u) for u in range(1, 21)]


def test_a_legacy_deal_alert_message_is_sent_once_through_the_direct_queue(store: Store, clock: FakeClock) -> None:
    from chalicelib.deal_alerts import legacy_alert_handler

    opt_in(store, clock, range(1, 2))
    deal_id = released_deal(store, clock)
    handle = legacy_alert_handler(store, clock)
    message = DeliveryMessage(kind="deal_alert", id=f"alert-{deal_id}-1", payload={"deal_id": deal_id, "to": "1"})
    handle(message)
    handle(message)
    x = FakeX(clock)
    drain(store, x, clock)
    assert [(to, text.split(":")[0]) for to, text in x.dms] == [("1", "Deal alert")]


# --- the drain: once, or said which -------------------------------------------------------------------


def test_a_dm_whose_answer_was_lost_is_found_in_the_conversation_and_never_resent(
    store: Store, clock: FakeClock
) -> None:
    deal_id = alerts_waiting(store, clock, 1)
    x = FakeX(clock, dm_outcomes=["timeout"])  # X sent it; its answer never came
    report = drain(store, x, clock)
    assert (report.checking, report.stopped) == ([f"alert-{deal_id}-1"], "unknown_outcome")
    for _ in range(4):
        clock.advance(minutes=1)
        drain(store, x, clock)
    assert (x.dm_calls, len(x.dms), x.lookups) == (1, 1, 1)  # looked up once, found, never sent again
    state = store.get(Keys.dm_sent(f"alert-{deal_id}-1"))
    assert (state["status"], state["dm_id"]) == ("sent", "dm-1")  # type: ignore[index]
    assert store.get(Keys.fees_month(f"{clock():%Y-%m}"))["dms"] == 1  # type: ignore[index]
    assert dm_totals(store)["sent"] == 1


def test_an_unknown_outcome_not_found_is_left_unknown_counted_listed_and_never_resent(
    store: Store, clock: FakeClock
) -> None:
    deal_id = alerts_waiting(store, clock, 2)
    x = FakeX(clock, dm_outcomes=["lost"])  # no answer, and it never arrived
    drain(store, x, clock)
    for _ in range(10):
        clock.advance(minutes=1)
        drain(store, x, clock)
    key = f"alert-{deal_id}-1"
    assert x.lookups == 3  # the bound: three look-ups, two minutes apart
    assert [to for to, _ in x.dms] == ["2"]  # subscriber 1 never got a second attempt
    assert x.dm_calls == 2
    (listed,) = list_dms(store, status="unknown", limit=10, cursor=None).items
    assert (listed["key"], listed["to"], listed["checks"]) == (key, "1", 3)
    assert dm_totals(store) | {} == {"waiting": 0, "sent": 1, "unknown": 1, "failed": 0, "skipped": 0, "dropped": 0}
    assert store.get(Keys.fees_month(f"{clock():%Y-%m}"))["dms"] == 1  # type: ignore[index]


def test_a_dm_that_never_reached_x_goes_back_in_its_place_and_is_sent_later(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 3)
    x = FakeX(clock, dm_outcomes=["refused"])  # connection refused: certainly not sent
    report = drain(store, x, clock)
    assert (report.stopped, report.sent, x.dms) == ("unreachable", [], [])
    clock.advance(minutes=1)
    drain(store, x, clock)
    assert [to for to, _ in x.dms] == ["1", "2", "3"]
    assert dm_totals(store)["waiting"] == 0


def test_a_429_pauses_the_drain_until_xs_reset(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 2)
    x = FakeX(clock, dm_outcomes=["429"])  # retry at now + 5 minutes
    assert drain(store, x, clock).stopped == "rate_limited"
    for _ in range(4):
        clock.advance(minutes=1)
        assert drain(store, x, clock).stopped == "paused"
    clock.advance(minutes=1)
    drain(store, x, clock)
    assert ([to for to, _ in x.dms], x.dm_calls) == (["1", "2"], 3)


def test_a_refused_dm_fails_once_and_is_not_retried(store: Store, clock: FakeClock) -> None:
    deal_id = alerts_waiting(store, clock, 2)
    x = FakeX(clock, dm_outcomes=["403"])
    report = drain(store, x, clock)
    assert (report.failed, [to for to, _ in x.dms]) == ([f"alert-{deal_id}-1"], ["2"])
    clock.advance(minutes=20)
    drain(store, x, clock)
    assert x.dm_calls == 2
    assert [d["key"] for d in list_dms(store, status="failed", limit=5, cursor=None).items] == [f"alert-{deal_id}-1"]


def test_a_run_that_died_after_x_took_the_dm_is_resolved_by_looking_not_by_resending(
    store: Store, clock: FakeClock
) -> None:
    alerts_waiting(store, clock, 1)
    x = FakeX(clock)
    with pytest.raises(Crash):
        drain(store, CrashAfter(x, "send_dm"), clock)
    for _ in range(3):
        clock.advance(minutes=1)
        drain(store, x, clock)
    assert (x.dm_calls, x.lookups) == (1, 1)
    assert dm_totals(store)["sent"] == 1
    assert store.get(Keys.fees_month(f"{clock():%Y-%m}"))["dms"] == 1  # type: ignore[index]


class ConflictingFees(Store):
    """A store whose transactions that charge a fee meet another writer ``times`` times."""

    def __init__(self, inner: Store, times: int) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.times = times

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        charges = any(op.get("Update", {}).get("Key", {}).get("PK") == {"S": "FEES"} for op in ops)
        if charges and self.times:
            self.times -= 1
            raise TransactionConflict("TransactionConflict on FEES#2026-11")
        super().transact(ops, token=token)


@pytest.mark.parametrize("conflicts", [1, 3])
def test_the_dm_fee_is_recorded_once_when_its_transaction_meets_a_conflict(
    store: Store, clock: FakeClock, conflicts: int
) -> None:
    deal_id = alerts_waiting(store, clock, 1)
    x = FakeX(clock)
    conflicting = ConflictingFees(store, conflicts)  # 3: every retry in the run conflicts; looked up later
    drain(conflicting, x, clock)
    for _ in range(4):
        clock.advance(minutes=1)
        drain(store, x, clock)
    assert x.dm_calls == 1
    fees = store.get(Keys.fees_month(f"{clock():%Y-%m}"))
    assert (fees["dms"], fees["usd"]) == (1, Decimal("0.015") + Decimal("0.015"))  # type: ignore[index]
    assert store.get(Keys.dm_sent(f"alert-{deal_id}-1"))["status"] == "sent"  # type: ignore[index]


def test_no_attempt_starts_without_time_for_it_to_finish(store: Store, clock: FakeClock) -> None:
    alerts_waiting(store, clock, 1)
    x = FakeX(clock)
    report = drain(store, x, clock, time_left=5.0)  # less than one X call's timeouts
    assert (report.stopped, x.dm_calls, dm_totals(store)["waiting"]) == ("time", 0, 1)


def test_get_dms_lists_a_status_and_refuses_an_unknown_one(api: Any, admin: dict[str, str]) -> None:
    assert json.loads(api.http.get("/dms", headers=admin).body) == {"items": [], "next": None}
    refused = api.http.get("/dms?status=lost", headers=admin)
    assert refused.status_code == 422
    assert json.loads(refused.body)["error"]["fields"] == {"status": "one of checking, sent, unknown, failed"}
    assert api.http.get("/dms").status_code == 401


def test_a_released_deal_with_dm_subscribers_queues_its_fan_out(store: Store, clock: FakeClock) -> None:
    queued: list[str] = []
    deal_id = released_deal(store, clock, queue_alerts=queued.append)
    assert queued == [deal_id]
    assert list_outbox(store, limit=5, cursor=None).items[0]["deal_id"] == deal_id


class OverlappingRun(Store):
    """A store on which another drain run sends the whole queue between this run's read of the
    queue and its claims: the run that overran its minute and the next one, interleaved."""

    def __init__(self, inner: Store, x: Publisher, clock: FakeClock) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.inner, self.x, self.clock, self.overlapped = inner, x, clock, False

    def query(self, partition: str, **options: Any) -> Any:
        page = super().query(partition, **options)
        if partition.startswith("DMQUEUE#") and page.items and not self.overlapped:
            self.overlapped = True
            drain(self.inner, self.x, self.clock)  # the other run takes every entry of this page first
        return page


def test_overlapping_runs_send_each_alert_once_and_count_it_once(store: Store, clock: FakeClock) -> None:
    deal_id = alerts_waiting(store, clock, 3)
    x = FakeX(clock)
    report = drain(OverlappingRun(store, x, clock), x, clock)
    assert (report.sent, x.dm_calls) == ([], 3)  # the other run sent all three; this one none
    assert dm_totals(store) == {"waiting": 0, "sent": 3, "unknown": 0, "failed": 0, "skipped": 0, "dropped": 0}
    campaign = store.get(Keys.dm_campaign(deal_id))
    assert (campaign["queued"], campaign["taken"]) == (3, 3)  # type: ignore[index]
