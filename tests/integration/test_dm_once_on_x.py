"""The review's reproductions, against X as `responses` plays it and the table on moto: a DM whose
outcome is unknown is looked up in the conversation and never sent a second time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
import responses

from chalicelib.direct_messages import DmPolicy, drain_dms
from chalicelib.dm_queue import dm_totals, list_dms, queue_dm
from chalicelib.store import Keys, Store
from chalicelib.x.publisher import XPublisher, x_client
from tests.conftest import FakeClock
from tests.factories import load_event

ACCOUNT = "1111111111111111111"
SUBSCRIBER = "2244994945"
SEND = f"https://api.twitter.com/2/dm_conversations/with/{SUBSCRIBER}/messages"
CONVERSATION = f"https://api.twitter.com/2/dm_conversations/with/{SUBSCRIBER}/dm_events"
TEXT = "Deal alert: XPS 13: $799 with code XPS.\n\nReply STOP to stop these DMs."


def conversation(clock: FakeClock, *texts: str) -> dict[str, Any]:
    """X's recorded conversation response, its events our DMs with these texts, sent a second ago."""
    payload: dict[str, Any] = load_event("x/x_api_dm_events_with_participant_response.json")
    template = payload["data"][0]
    at = (clock() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    payload["data"] = [
        {**template, "id": str(1860000000000000000 + n), "text": text, "created_at": at, "sender_id": ACCOUNT}
        for n, text in enumerate(texts)
    ]
    return payload


def run(store: Store, clock: FakeClock, minutes: int = 1) -> None:
    x = XPublisher(x_client("ck", "cs", "at", "ats"), ACCOUNT, clock=clock)
    for _ in range(minutes):
        drain_dms(store, x, DmPolicy(), clock, lambda: 30.0)
        clock.advance(minutes=1)


def posts() -> int:
    return sum(1 for call in responses.calls if call.request.method == "POST")


@responses.activate
def test_a_timeout_then_success_sends_exactly_one_post(store: Store, clock: FakeClock) -> None:
    responses.post(SEND, body=requests.ReadTimeout("read timed out"))
    responses.post(SEND, json=load_event("x/x_api_dm_send_to_participant_response.json"), status=201)
    responses.get(CONVERSATION, json=conversation(clock, TEXT))  # the timed-out DM did arrive
    queue_dm(store, key="alert-d1-1", to=SUBSCRIBER, text=TEXT, now=clock())
    run(store, clock, minutes=10)
    assert posts() == 1
    state = store.get(Keys.dm_sent("alert-d1-1"))
    assert (state["status"], state["dm_id"]) == ("sent", "1860000000000000000")  # type: ignore[index]


@responses.activate
def test_an_unknown_outcome_found_in_the_conversation_is_marked_sent_with_no_second_post(
    store: Store, clock: FakeClock
) -> None:
    responses.post(SEND, json={"title": "Service Unavailable", "status": 503}, status=503)
    queue_dm(store, key="alert-d1-1", to=SUBSCRIBER, text=TEXT, now=clock())
    run(store, clock)
    assert store.get(Keys.dm_sent("alert-d1-1"))["status"] == "checking"  # type: ignore[index]
    responses.get(CONVERSATION, json=conversation(clock, "Thanks!", TEXT))
    run(store, clock, minutes=5)
    assert posts() == 1
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]  # looked up once, then done
    assert store.get(Keys.dm_sent("alert-d1-1"))["status"] == "sent"  # type: ignore[index]
    assert dm_totals(store)["sent"] == 1
    assert store.get(Keys.fees_month(f"{clock():%Y-%m}"))["dms"] == 1  # type: ignore[index]


@responses.activate
def test_an_unknown_outcome_not_found_after_the_bound_is_unknown_and_never_resent(
    store: Store, clock: FakeClock
) -> None:
    responses.post(SEND, body=requests.ReadTimeout("read timed out"))
    responses.get(CONVERSATION, json=conversation(clock, "An older message"))
    queue_dm(store, key="alert-d1-1", to=SUBSCRIBER, text=TEXT, now=clock())
    run(store, clock, minutes=30)
    assert posts() == 1
    assert len(responses.calls) == 1 + 3  # the send, then the bound: three look-ups
    (unknown,) = list_dms(store, status="unknown", limit=10, cursor=None).items
    assert unknown["key"] == "alert-d1-1"
    assert dm_totals(store)["unknown"] == 1
