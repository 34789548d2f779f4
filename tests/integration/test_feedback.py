"""Feedback capture: each event once, with sentiment, keywords and the deal it answers; deletions
honored; the per-deal rollup."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.sentiment import default_classifier
from chalicelib.store import Store
from tests.conftest import FakeClock
from tests.factories import load_event, release_deal, signed_headers, x_reply

ACCOUNT = "1114259648326987776"  # the for_user_id of the captured reply


@pytest.fixture(autouse=True)
def brand(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)


def post(api: Any, payload: Any) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    response = api.http.post("/webhooks/x", body=body, headers=signed_headers(body))
    assert response.status_code == 200, response.body
    result: dict[str, Any] = json.loads(response.body)
    return result


def feedback(api: Any, admin: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    response = api.http.get(f"/feedback{query}", headers=admin)
    assert response.status_code == 200, response.body
    items: list[dict[str, Any]] = json.loads(response.body)["items"]
    return items


def reply(post_id: str, text: str, answers: str, author: str = "1247048165561270272") -> dict[str, Any]:
    return x_reply(post_id, text, answers, account=ACCOUNT, author=author)


def released_deal(store: Store) -> dict[str, Any]:
    from datetime import UTC, datetime

    fields = {"title": "XPS 13", "price": "799", "list_price": "999", "currency": "USD", "code": "XPS13"}
    return release_deal(store, FakeClock(datetime.now(UTC)), **fields)


def test_the_captured_mention_becomes_one_feedback_item(api: Any, admin: dict[str, str]) -> None:
    payload = load_event("x/x_tweet_create_reply.json")
    assert post(api, payload)["applied"] == 1
    assert post(api, payload) == {"applied": 0, "duplicates": 1, "ignored": 0}
    (item,) = feedback(api, admin)
    assert item == {
        "id": "post:1332557345071644672",
        "kind": "mention",
        "author_id": "1247048165561270272",
        "author_handle": "TanuLearns",
        "text": "@Learn_Awesome Save this",
        "created_at": "2020-11-28T05:30:03.000000Z",
        "deal_id": None,
        "sentiment": default_classifier().score("@Learn_Awesome Save this").as_dict(),  # the service's model
        "keywords": [],
        "state": "open",
        "answer": None,
    }


def test_a_reply_to_a_deal_post_is_linked_and_rolled_up(api: Any, admin: dict[str, str]) -> None:
    from chalicelib import deps

    deal = released_deal(deps.store())
    headers = {**admin, "Content-Type": "application/json"}
    rule = b'{"name": "XPS", "kind": "product", "query": "XPS"}'
    assert api.http.post("/listening/rules", body=rule, headers=headers).status_code == 201
    post(api, reply("1900000000000000001", "Love my new #XPS, great deal!", deal["post_id"]))
    post(api, reply("1900000000000000002", "Shipping was terrible and slow", deal["post_id"], author="42"))
    post(api, reply("1900000000000000003", "When is the next one?", deal["post_id"], author="43"))
    items = feedback(api, admin, f"?deal_id={deal['id']}")
    assert {i["sentiment"]["label"] for i in items} == {"positive", "negative", "neutral"}
    assert [i["keywords"] for i in items if i["sentiment"]["label"] == "positive"] == [["XPS"]]
    rollup = json.loads(api.http.get(f"/deals/{deal['id']}", headers=admin).body)["feedback"]
    assert rollup["items"] == 3
    assert rollup["by_kind"]["reply"] == 3
    assert rollup["by_sentiment"] == {"positive": 1, "neutral": 1, "negative": 1}
    assert rollup["top_positive"]["text"] == "Love my new #XPS, great deal!"
    assert rollup["top_negative"]["text"] == "Shipping was terrible and slow"
    assert -1 < rollup["mean_compound"] < 1


def test_filters_narrow_the_listing(api: Any, admin: dict[str, str]) -> None:
    post(api, reply("1900000000000000001", "Love it", "1"))
    post(api, reply("1900000000000000002", "Hate it", "1"))
    assert [i["text"] for i in feedback(api, admin, "?sentiment=negative")] == ["Hate it"]
    assert [i["kind"] for i in feedback(api, admin, "?kind=reply")] == ["reply", "reply"]
    assert feedback(api, admin, "?since=2030-01-01T00:00:00Z") == []
    for bad in ("?sentiment=angry", "?kind=retweet", "?since=yesterday", "?since=2030-01-01T00:00:00"):
        assert api.http.get(f"/feedback{bad}", headers=admin).status_code == 422, bad


def test_a_deleted_post_loses_its_text_and_author_but_not_its_counts(api: Any, admin: dict[str, str]) -> None:
    from chalicelib import deps

    deal = released_deal(deps.store())
    post(api, reply("1045405559317569537", "Worst deal ever", deal["post_id"], author="930524282358325248"))
    deleted: dict[str, Any] = load_event("x/x_tweet_delete_event.json")
    deleted["for_user_id"] = ACCOUNT
    assert post(api, deleted)["applied"] == 1
    (item,) = feedback(api, admin)
    assert (item["text"], item["author_id"], item["author_handle"]) == (None, None, None)
    assert item["sentiment"]["label"] == "negative"
    rollup = json.loads(api.http.get(f"/deals/{deal['id']}", headers=admin).body)["feedback"]
    assert rollup["by_sentiment"]["negative"] == 1
    assert rollup["top_negative"] is None  # the deleted text is gone from the rollup too


def deletion_of(post_id: str) -> dict[str, Any]:
    """The captured ``tweet_delete_events`` delivery, for ``post_id`` on the brand's account."""
    deleted: dict[str, Any] = load_event("x/x_tweet_delete_event.json")
    deleted["for_user_id"] = ACCOUNT
    deleted["tweet_delete_events"][0]["status"]["id"] = post_id
    return deleted


@pytest.mark.parametrize("deletion_first", [True, False], ids=["deletion-first", "post-first"])
def test_a_deleted_post_ends_erased_whichever_arrives_first(
    api: Any, admin: dict[str, str], deletion_first: bool
) -> None:
    from chalicelib import deps

    # Given a reply to a deal and its deletion, delivered in either order (X does not promise one)
    deal = released_deal(deps.store())
    the_reply = reply("1045405559317569537", "Worst deal ever", deal["post_id"], author="930524282358325248")
    deletion = deletion_of("1045405559317569537")
    first, then = (deletion, the_reply) if deletion_first else (the_reply, deletion)

    # When both arrive, and the deletion is delivered again
    assert post(api, first)["applied"] == 1
    assert post(api, then)["applied"] == 1
    assert post(api, deletion) == {"applied": 0, "duplicates": 1, "ignored": 0}

    # Then the post is stored erased: no text, no author, anywhere; its counts stay
    (item,) = feedback(api, admin)
    assert (item["text"], item["author_id"], item["author_handle"], item["keywords"]) == (None, None, None, [])
    assert (item["id"], item["deal_id"], item["sentiment"]["label"]) == (
        "post:1045405559317569537",
        deal["id"],
        "negative",
    )
    rollup = json.loads(api.http.get(f"/deals/{deal['id']}", headers=admin).body)["feedback"]
    assert (rollup["items"], rollup["by_sentiment"]["negative"], rollup["top_negative"]) == (1, 1, None)
    assert "Worst deal ever" not in json.dumps(rollup)


def test_a_deletion_tombstone_expires_and_stands_for_the_post_only(api: Any, admin: dict[str, str]) -> None:
    from datetime import UTC, datetime

    from chalicelib import deps
    from chalicelib.feedback import TOMBSTONE_FOR
    from chalicelib.store import Keys

    before = datetime.now(UTC)
    post(api, deletion_of("1900000000000000009"))
    tombstone = deps.store().get(Keys.post_deleted("1900000000000000009"))
    assert tombstone is not None
    assert (
        int((before + TOMBSTONE_FOR).timestamp())
        <= int(tombstone["ttl"])
        <= int((before + TOMBSTONE_FOR).timestamp()) + 60
    )
    # Another post by the same person is not touched by it
    post(api, reply("1900000000000000010", "Still love it", "1", author="930524282358325248"))
    assert [i["text"] for i in feedback(api, admin)] == ["Still love it"]


def test_a_like_and_a_dm_are_feedback(api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", "2244994945")
    post(api, load_event("x/x_favorite_event.json"))
    dm = load_event("x/x_dm_event.json")
    monkeypatch.setenv("X_ACCOUNT_ID", dm["for_user_id"])
    post(api, dm)
    kinds = {i["kind"]: i for i in feedback(api, admin)}
    assert set(kinds) == {"like", "dm"}
    assert kinds["dm"]["text"] == "Hello World!"
    assert kinds["like"]["sentiment"]["label"] == "positive"


# --- emotion moments ---------------------------------------------------------------------------


def say(store: Store, n: int, text: str, minute: int, notify: Any = None) -> None:
    from datetime import UTC, datetime

    from chalicelib.feedback import record_feedback
    from chalicelib.sentiment import VaderClassifier
    from chalicelib.x.events import Interaction, XUser

    at = datetime(2026, 11, 26, 12, tzinfo=UTC) + timedelta(minutes=minute)
    event = Interaction(
        kind="mention", event_id=f"post:{n}", occurred_at=at, author=XUser(id=str(n)), text=text, post_id=str(n)
    )
    record_feedback(store, event, VaderClassifier(), [], notify=notify)


def spike_alerts(store: Store) -> list[dict[str, Any]]:
    from chalicelib.alerts import list_alerts

    return [a for a in list_alerts(store, limit=50, cursor=None).items if a["kind"] == "negative_spike"]


def test_a_negative_spike_raises_one_alert_per_window(store: Store) -> None:
    notified: list[dict[str, Any]] = []
    for n in range(6):
        say(store, n, "Great deal, thanks!", minute=n)
    for n in range(6, 9):
        say(store, n, "This is terrible", minute=10 + n, notify=notified.append)
    assert spike_alerts(store) == []  # 3 of 9: too few items, and under 40%
    say(store, 9, "Awful service, never again", minute=30, notify=notified.append)  # 4 of 10 = 40%
    (alert,) = spike_alerts(store)
    assert alert["id"] == "negative-spike-2026-11-26T12:00:00.000000Z"
    assert alert["message"].startswith("4 of the last 10 pieces of feedback were negative (40%)")
    assert alert["message"].endswith("in the 60 minutes to 26 Nov 2026, 12:30 UTC.")  # said for people
    for n in range(10, 14):
        say(store, n, "Worst deal ever", minute=40 + n, notify=notified.append)
    assert len(spike_alerts(store)) == 1  # the same window: one alert
    assert [a["kind"] for a in notified] == ["negative_spike"]
    for n in range(20, 30):  # the next hour: a window of its own
        say(store, n, "Still terrible", minute=60 + n, notify=notified.append)
    assert [a["id"][-27:] for a in spike_alerts(store)] == [
        "2026-11-26T13:00:00.000000Z",
        "2026-11-26T12:00:00.000000Z",
    ]
    assert len(notified) == 2


def test_old_feedback_falls_out_of_the_rolling_window(store: Store) -> None:
    for n in range(10):
        say(store, n, "Terrible", minute=n - 120)  # two hours earlier
    for n in range(10, 16):
        say(store, n, "Love it", minute=n)
    say(store, 16, "Terrible", minute=20)
    assert len(spike_alerts(store)) == 1  # only the old window spiked; 1 of 7 now is no spike


def test_an_alert_is_published_to_the_alerts_topic(cloud: Any) -> None:
    from chalicelib import deps
    from tests.conftest import aws_client

    sns, sqs = aws_client("sns"), aws_client("sqs")
    inbox = sqs.create_queue(QueueName="operator-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=cloud.environment["ALERTS_TOPIC_ARN"], Protocol="sqs", Endpoint=inbox_arn)
    deps.notify_alert({"id": "negative-spike-x", "kind": "negative_spike", "message": "4 of the last 10 ..."})
    (received,) = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(received["Body"])
    assert envelope["Subject"] == "outlet: negative_spike"
    assert json.loads(envelope["Message"])["id"] == "negative-spike-x"
