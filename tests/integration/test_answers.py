"""Answering people through the API: a reply to a reply, a DM to a DM, once per Idempotency-Key;
conversation state (open, answered, dismissed, reopened); saved replies; the report's response time."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import load_event, signed_headers, x_reply

ACCOUNT = "1114259648326987776"  # the for_user_id of the captured reply
PERSON = "1247048165561270272"
DM_SENDER = "3001969357"


@pytest.fixture(autouse=True)
def brand(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)


def deliver(api: Any, payload: Any) -> None:
    body = json.dumps(payload).encode()
    response = api.http.post("/webhooks/x", body=body, headers=signed_headers(body))
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["applied"] == 1


def a_reply(post_id: str, at: datetime, answers: str = "1332252354599555074", text: str = "Is it in stock?") -> Any:
    payload = x_reply(post_id, text, answers, account=ACCOUNT, author=PERSON)
    payload["tweet_create_events"][0]["created_at"] = at.strftime("%a %b %d %H:%M:%S +0000 %Y")
    return payload


def a_dm(dm_id: str, at: datetime, text: str = "Does the XPS ship to Canada?") -> Any:
    payload = copy.deepcopy(load_event("x/x_dm_event.json"))
    payload["for_user_id"] = ACCOUNT
    event = payload["direct_message_events"][0]
    event.update(id=dm_id, created_timestamp=str(int(at.timestamp() * 1000)))
    event["message_create"]["target"]["recipient_id"] = ACCOUNT
    event["message_create"]["message_data"]["text"] = text
    return payload


def answer(api: Any, admin: dict[str, str], feedback_id: str, text: str, key: str | None = None, **extra: Any) -> Any:
    headers = {**admin, "Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return api.http.post(f"/feedback/{feedback_id}/reply", body=json.dumps({"text": text, **extra}), headers=headers)


def listed(api: Any, admin: dict[str, str], path: str) -> list[dict[str, Any]]:
    response = api.http.get(path, headers=admin)
    assert response.status_code == 200, response.body
    items: list[dict[str, Any]] = json.loads(response.body)["items"]
    return items


def item(api: Any, admin: dict[str, str], feedback_id: str) -> dict[str, Any]:
    return next(i for i in listed(api, admin, "/feedback?limit=100") if i["id"] == feedback_id)


def test_a_reply_and_a_dm_answered_twice_with_one_key_go_out_once(api: Any, admin: dict[str, str]) -> None:
    # Given a captured reply and a DM, each answered through the API twice with the same key
    now = datetime.now(UTC)
    deliver(api, a_reply("1900000000000000001", now - timedelta(minutes=30)))
    deliver(api, a_dm("1900000000000000002", now - timedelta(minutes=10)))
    first = answer(api, admin, "post:1900000000000000001", "Yes, in stock: ships today.", key="k-reply-1")
    again = answer(api, admin, "post:1900000000000000001", "Yes, in stock: ships today.", key="k-reply-1")
    dm_first = answer(api, admin, "dm:1900000000000000002", "It does: 3 to 5 days.", key="k-dm-1")
    dm_again = answer(api, admin, "dm:1900000000000000002", "It does: 3 to 5 days.", key="k-dm-1")

    # Then each answer is a 201 with the same body both times
    assert first.status_code == again.status_code == 201, first.body
    assert json.loads(first.body) == json.loads(again.body)
    assert dm_first.status_code == dm_again.status_code == 201, dm_first.body
    assert json.loads(dm_first.body) == json.loads(dm_again.body)
    body = json.loads(first.body)
    assert body["kind"] == "reply"
    assert body["in_reply_to"] == "1900000000000000001"
    assert body["to"] == PERSON

    # And the outbox holds exactly one reply to the right post and one DM to the right person
    outbox = listed(api, admin, "/outbox")
    assert sorted((e["kind"], e["to"], e["in_reply_to"], e["text"]) for e in outbox) == [
        ("dm", DM_SENDER, None, "It does: 3 to 5 days."),
        ("reply", PERSON, "1900000000000000001", "Yes, in stock: ships today."),
    ]

    # And the items show as answered, by whom, with what
    answered = item(api, admin, "post:1900000000000000001")
    assert answered["state"] == "answered"
    assert answered["answer"]["text"] == "Yes, in stock: ships today."
    assert answered["answer"]["by"] == "admin"
    assert item(api, admin, "dm:1900000000000000002")["state"] == "answered"

    # And the fee ledger counted one post and one DM
    report = json.loads(api.http.get("/reports/summary", headers=admin).body)
    assert report["x_fees_usd"] == "0.030"

    # And the response time is what the times used say: 10 and 30 minutes
    times = report["response_time"]
    assert times["answered"] == 2
    assert times["median_seconds"] == pytest.approx(20 * 60, abs=5)
    assert times["p90_seconds"] == pytest.approx(30 * 60, abs=5)
    assert times["answered_within_1h_share"] == 1.0


def test_the_outbox_reply_names_the_author_it_answers(api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000011", datetime.now(UTC)))
    assert answer(api, admin, "post:1900000000000000011", "Thanks!", key="a").status_code == 201
    (entry,) = listed(api, admin, "/outbox")
    assert entry["kind"] == "reply"
    assert entry["to"] == PERSON
    assert entry["in_reply_to"] == "1900000000000000011"


def test_an_item_is_answered_once_unless_the_operator_answers_again(api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000021", datetime.now(UTC)))
    assert answer(api, admin, "post:1900000000000000021", "First answer", key="one").status_code == 201
    refused = answer(api, admin, "post:1900000000000000021", "Second answer", key="two")
    assert refused.status_code == 409
    assert json.loads(refused.body)["error"]["fields"] == {"again": "false"}
    assert len(listed(api, admin, "/outbox")) == 1
    assert answer(api, admin, "post:1900000000000000021", "Second answer", key="two", again=True).status_code == 201
    assert len(listed(api, admin, "/outbox")) == 2
    assert item(api, admin, "post:1900000000000000021")["answer"]["text"] == "Second answer"


def test_bad_answers_are_refused_and_send_nothing(api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000031", datetime.now(UTC)))
    too_long = answer(api, admin, "post:1900000000000000031", "x" * 281)
    assert too_long.status_code == 422
    assert "1 over" in json.loads(too_long.body)["error"]["fields"]["text"]
    assert answer(api, admin, "post:1900000000000000031", "   ").status_code == 422
    assert answer(api, admin, "post:1900000000000000031", "ok", key="bad key!").status_code == 400
    assert answer(api, admin, "post:nope", "ok").status_code == 404
    no_auth = api.http.post("/feedback/post:1900000000000000031/reply", body=json.dumps({"text": "hi"}))
    assert no_auth.status_code == 401
    assert listed(api, admin, "/outbox") == []
    assert item(api, admin, "post:1900000000000000031")["state"] == "open"


def test_a_like_cannot_be_answered(api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    like = load_event("x/x_favorite_event.json")
    monkeypatch.setenv("X_ACCOUNT_ID", str(like["for_user_id"]))
    deliver(api, like)
    (liked,) = listed(api, admin, "/feedback?kind=like")
    refused = answer(api, admin, liked["id"], "Thanks for the like!")
    assert refused.status_code == 422
    assert json.loads(refused.body)["error"]["fields"] == {"kind": "like"}
    assert listed(api, admin, "/outbox") == []


def test_states_filter_dismiss_and_a_later_message_reopens(api: Any, admin: dict[str, str]) -> None:
    now = datetime.now(UTC)
    deliver(api, a_reply("1900000000000000041", now - timedelta(minutes=5)))
    deliver(api, a_reply("1900000000000000042", now - timedelta(minutes=4)))
    deliver(api, a_dm("1900000000000000043", now - timedelta(minutes=3)))
    assert {i["id"] for i in listed(api, admin, "/feedback?state=open")} == {
        "post:1900000000000000041",
        "post:1900000000000000042",
        "dm:1900000000000000043",
    }
    reply = json.loads(answer(api, admin, "post:1900000000000000041", "We'll check!", key="r").body)
    assert answer(api, admin, "dm:1900000000000000043", "On its way.", key="d").status_code == 201
    dismissed = api.http.post("/feedback/post:1900000000000000042/dismiss", headers=admin)
    assert dismissed.status_code == 200
    assert json.loads(dismissed.body)["state"] == "dismissed"
    assert listed(api, admin, "/feedback?state=open") == []
    assert {i["id"] for i in listed(api, admin, "/feedback?state=answered")} == {
        "post:1900000000000000041",
        "dm:1900000000000000043",
    }

    # When they reply to our answer's post, and DM again
    deliver(api, a_reply("1900000000000000044", now - timedelta(minutes=1), answers=reply["x_id"], text="Thanks!"))
    deliver(api, a_dm("1900000000000000045", now, text="And to Mexico?"))

    # Then both conversations are open again, with their new messages
    open_now = {i["id"] for i in listed(api, admin, "/feedback?state=open")}
    assert open_now == {
        "post:1900000000000000041",
        "post:1900000000000000044",
        "dm:1900000000000000043",
        "dm:1900000000000000045",
    }
    assert item(api, admin, "post:1900000000000000042")["state"] == "dismissed"


def test_saved_replies_are_added_listed_and_removed(api: Any, admin: dict[str, str]) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    body = {"name": "Shipping", "text": "We ship in 3 to 5 days."}
    created = api.http.post("/saved-replies", body=json.dumps(body), headers=headers)
    assert created.status_code == 201
    saved = json.loads(created.body)
    assert {saved["name"], saved["text"]} == {"Shipping", "We ship in 3 to 5 days."}
    assert [s["id"] for s in listed(api, admin, "/saved-replies")] == [saved["id"]]
    assert api.http.post("/saved-replies", body=json.dumps({"name": ""}), headers=headers).status_code == 422
    assert api.http.delete(f"/saved-replies/{saved['id']}", headers=admin).status_code == 204
    assert api.http.delete(f"/saved-replies/{saved['id']}", headers=admin).status_code == 404
    assert listed(api, admin, "/saved-replies") == []
