"""DM alerts end to end, as the acceptance runs them: through the routes and the local cloud (timers
and the queue poller), subscribers opt in by DM, publishing is held and resumed, a deal with DM
alerts goes out, and each subscriber gets exactly one alert, with nothing dead-lettered."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.provision import Stack
from localcloud.run import LocalCloud
from tests.conftest import ADMIN_TOKEN, aws_client
from tests.factories import load_event, signed_headers

BRAND = "63046977"  # the user of the real revocation fixture: the brand revoking our app
SUBSCRIBERS = ["3001969357", "3001969358", "3001969359"]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def dm_to_brand(sender: str, text: str, event_id: str) -> dict[str, Any]:
    """The real Account Activity DM fixture, sent by ``sender`` to the brand, now."""
    payload: dict[str, Any] = copy.deepcopy(load_event("x/x_dm_event.json"))
    event = payload["direct_message_events"][0]
    event["id"] = event_id
    event["created_timestamp"] = str(int(time.time() * 1000))
    event["message_create"]["sender_id"] = sender
    event["message_create"]["target"]["recipient_id"] = BRAND
    event["message_create"]["message_data"]["text"] = text
    payload["for_user_id"] = BRAND
    payload["users"] = {sender: {**payload["users"]["3001969357"], "id": sender, "screen_name": f"fan{sender}"}}
    return payload


def webhook(api: Any, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    response = api.http.post("/webhooks/x", body=body, headers=signed_headers(body))
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def get(api: Any, path: str) -> Any:
    response = api.http.get(path, headers=ADMIN)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def sent_dms(api: Any) -> list[dict[str, Any]]:
    return [e for e in get(api, "/outbox?limit=100")["items"] if e["kind"] == "dm"]


def test_each_subscriber_gets_exactly_one_alert_through_a_hold_and_a_resume(
    cloud: Stack, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as app_module

    monkeypatch.setenv("X_ACCOUNT_ID", BRAND)
    monkeypatch.setenv("MIN_RELEASE_GAP_MINUTES", "0")
    sqs = aws_client("sqs")
    local = LocalCloud(
        app_module,
        queue_urls={"deliver_messages": cloud.environment["DELIVERY_QUEUE_URL"]},
        tick_seconds=0.2,
        clients=aws_client,
    )
    local.start()
    try:
        # Given publishing held by a revocation, and three followers who opt in by DM meanwhile
        webhook(api, load_event("x/x_user_event_revoke.json"))
        assert get(api, "/channel")["publishing"] == "held"
        for n, user in enumerate(SUBSCRIBERS):
            assert webhook(api, dm_to_brand(user, "DEALS", f"95449183011615540{n}"))["applied"] == 1
        deal = {
            "title": "Alienware m16",
            "price": "1499",
            "list_price": "1999",
            "currency": "USD",
            "code": "AW16",
            "release_at": (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat(),
            "dm_subscribers": True,
        }
        created = api.http.post("/deals", body=json.dumps(deal).encode(), headers=ADMIN)
        assert created.status_code == 201, created.body
        deal_id = json.loads(created.body)["id"]

        # While held: nothing goes out, and the waiting answers fail nowhere
        time.sleep(2.0)
        assert get(api, "/outbox")["items"] == []
        assert local.runs.get("send_dms", 0) > 3

        # When an admin resumes publishing
        assert json.loads(api.http.post("/channel/resume", headers=ADMIN).body)["publishing"] == "active"

        # Then the deal goes out, each subscriber gets its answer and exactly one alert
        def all_out() -> bool:
            return len([d for d in sent_dms(api) if d["text"].startswith("Deal alert")]) >= len(SUBSCRIBERS)

        assert eventually(all_out)
        time.sleep(1.0)  # more ticks: nothing more goes out
    finally:
        local.stop()
    dms = sent_dms(api)
    alerts = sorted(d["to"] for d in dms if d["text"].startswith("Deal alert"))
    answers = sorted(d["to"] for d in dms if d["text"].startswith("You're in"))
    assert alerts == answers == SUBSCRIBERS
    assert all(d["deal_id"] == deal_id for d in dms if d["text"].startswith("Deal alert"))
    assert get(api, "/reports/summary")["dms"] == {
        "waiting": 0,
        "sent": 6,
        "unknown": 0,
        "failed": 0,
        "skipped": 0,
        "dropped": 0,
    }
    assert get(api, "/dms?status=unknown")["items"] == []
    dead = sqs.receive_message(QueueUrl=cloud.refs["DeliveryDeadLetterQueue"], MaxNumberOfMessages=10)
    assert dead.get("Messages", []) == []
