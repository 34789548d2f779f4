"""The X publisher against recorded X API responses (tests/events/x/x_api_*.json): nothing here
reaches the network, `responses` answers every request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
import urllib3

from chalicelib.publishing import DuplicateContent, NotSent, OutcomeUnknown, RateLimited, Refused
from chalicelib.x.publisher import XPublisher, x_client
from tests.factories import load_event

TWEETS = "https://api.twitter.com/2/tweets"
DM = "https://api.twitter.com/2/dm_conversations/with/2244994945/messages"
TIMELINE = "https://api.twitter.com/2/users/1111111111111111111/tweets"
# X's v2 answer to a repeated text, as captured in akrherz/iembot issue #163 (2026-02-12).
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def sent_json(request: Any) -> Any:
    return json.loads(request.body)


def publisher() -> XPublisher:
    return XPublisher(x_client("ck", "cs", "at", "ats"), "1111111111111111111")


@responses.activate
def test_a_post_is_created_with_user_context_and_its_id_returned() -> None:
    responses.post(TWEETS, json=load_event("x/x_api_post_tweet_response.json"), status=201)
    published = publisher().post("Hello from the X API!", key="deal-1")
    assert published.id == "1445880548472328192"
    sent = responses.calls[0].request
    assert sent_json(sent) == {"text": "Hello from the X API!"}
    assert str(sent.headers["Authorization"]).startswith("OAuth ")  # OAuth 1.0a, not an app bearer token


@responses.activate
def test_a_reply_names_the_post_it_answers() -> None:
    responses.post(TWEETS, json=load_event("x/x_api_post_tweet_response.json"), status=201)
    publisher().post("Sold out, thank you!", key="followup-1", in_reply_to="1445880548472328192")
    body = sent_json(responses.calls[0].request)
    assert body["reply"] == {"in_reply_to_tweet_id": "1445880548472328192"}


@responses.activate
def test_an_answer_is_a_post_replying_to_their_post() -> None:
    responses.post(TWEETS, json=load_event("x/x_api_post_tweet_response.json"), status=201)
    published = publisher().reply("Yes, in stock!", key="answer-1", in_reply_to="1332557345071644672", to="12")
    assert published.id == "1445880548472328192"
    body = sent_json(responses.calls[0].request)
    assert body == {"text": "Yes, in stock!", "reply": {"in_reply_to_tweet_id": "1332557345071644672"}}


@responses.activate
def test_a_dm_is_sent_to_the_participant() -> None:
    responses.post(DM, json=load_event("x/x_api_dm_send_response.json"), status=201)
    published = publisher().send_dm("2244994945", "Your deal is live", key="alert-1")
    assert published.id == "1122334455667788990"
    assert sent_json(responses.calls[0].request) == {"text": "Your deal is live"}


@responses.activate
def test_a_429_becomes_rate_limited_until_xs_reset_time() -> None:
    responses.post(
        TWEETS,
        json=load_event("x/x_api_rate_limit_429_body.json"),
        status=429,
        headers={"x-rate-limit-reset": "1795680000", "x-rate-limit-remaining": "0"},
    )
    with pytest.raises(RateLimited) as raised:
        publisher().post("Deal", key="deal-1")
    assert raised.value.retry_at == datetime.fromtimestamp(1795680000, tz=UTC)
    assert len(responses.calls) == 1  # never hammered


@responses.activate
def test_a_403_duplicate_is_never_retried() -> None:
    responses.post(TWEETS, json=DUPLICATE, status=403)
    with pytest.raises(DuplicateContent):
        publisher().post("Deal", key="deal-1")
    assert len(responses.calls) == 1


@responses.activate
def test_another_403_is_refused_without_retrying() -> None:
    responses.post(TWEETS, json={**DUPLICATE, "detail": "You are not permitted to perform this action."}, status=403)
    with pytest.raises(Refused):
        publisher().post("Deal", key="deal-1")
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"title": "Service Unavailable"}, "status": 503},
        {"body": requests.ReadTimeout("read timeout")},
        {"body": requests.ConnectionError("Connection aborted: RemoteDisconnected")},
    ],
)
def test_a_5xx_a_read_timeout_or_a_dropped_connection_is_an_unknown_outcome_never_repeated(
    answer: dict[str, Any],
) -> None:
    responses.post(DM, **answer)
    responses.post(DM, json=load_event("x/x_api_dm_send_to_participant_response.json"), status=201)
    with pytest.raises(OutcomeUnknown):
        publisher().send_dm("2244994945", "Your deal is live", key="alert-1")
    assert len(responses.calls) == 1  # the DM may have gone out: it is looked up, not sent again


@responses.activate
def test_a_401_is_not_sent_so_the_dm_can_go_once_the_app_is_authorized_again() -> None:
    responses.post(DM, json={"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, status=401)
    with pytest.raises(NotSent):
        publisher().send_dm("2244994945", "Your deal is live", key="alert-1")


@responses.activate
@pytest.mark.parametrize(
    "never_left",
    [
        requests.ConnectTimeout("connect timeout"),
        requests.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None,  # type: ignore[arg-type]
                "/2/dm_conversations",
                urllib3.exceptions.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
            )
        ),
    ],
)
def test_a_request_that_never_left_is_not_sent(never_left: Exception) -> None:
    responses.post(DM, body=never_left)
    with pytest.raises(NotSent):
        publisher().send_dm("2244994945", "Your deal is live", key="alert-1")
    assert len(responses.calls) == 1


@responses.activate
def test_find_post_matches_a_recent_post_whose_link_x_shortened() -> None:
    timeline: dict[str, Any] = {
        "data": [
            {
                "id": "1860000000000000002",
                "text": "Another post",
                "created_at": "2026-11-26T11:00:00.000Z",
                "edit_history_tweet_ids": ["1860000000000000002"],
            },
            {
                "id": "1860000000000000001",
                "text": "XPS 13: $799 with code XPS. https://t.co/AbCdEf",
                "created_at": "2026-11-26T10:00:00.000Z",
                "edit_history_tweet_ids": ["1860000000000000001"],
            },
        ],
        "meta": {"result_count": 2},
    }
    responses.get(TIMELINE, json=timeline)
    found = publisher().find_post("XPS 13: $799 with code XPS. https://www.dell.com/outlet/xps", key="deal-1")
    assert found is not None
    assert found.id == "1860000000000000001"
    assert found.created_at == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert publisher().find_post("A text never posted", key="deal-2") is None


@responses.activate
def test_find_post_finds_a_reply_whose_text_x_prefixed_with_the_handle_it_answers() -> None:
    reply = {
        "id": "1860000000000000003",
        "text": "@TanuLearns Yes, back in stock today!",
        "created_at": "2026-11-26T12:00:00.000Z",
        "edit_history_tweet_ids": ["1860000000000000003"],
    }
    responses.get(TIMELINE, json={"data": [reply], "meta": {"result_count": 1}})
    found = publisher().find_post("Yes, back in stock today!", key="answer-post:1-k")
    assert found is not None
    assert found.id == "1860000000000000003"


def test_requests_carry_a_timeout_that_fits_the_lambda() -> None:
    with responses.RequestsMock() as mocked:
        mocked.post(TWEETS, body=requests.ConnectTimeout("connect timeout"))
        with pytest.raises(NotSent):
            XPublisher(x_client("ck", "cs", "at", "ats"), "1").post("Deal", key="k")
        sent: Any = mocked.calls[0].request
        assert sent.req_kwargs["timeout"] == (3.05, 6)  # one call, at most ~9 s, no retries or sleeps


CONVERSATION = "https://api.twitter.com/2/dm_conversations/with/2244994945/dm_events"


def conversation(*texts: str, created_at: str | None = None) -> dict[str, Any]:
    """X's real conversation response (tests/events), its events carrying the given texts."""
    payload: dict[str, Any] = load_event("x/x_api_dm_events_with_participant_response.json")
    template = payload["data"][0]
    payload["data"] = [
        {
            **template,
            "id": str(int(template["id"]) + n),
            "text": text,
            **({"created_at": created_at} if created_at else {}),
        }
        for n, text in enumerate(texts)
    ]
    return payload


@responses.activate
def test_find_dm_reads_the_conversation_for_the_text_after_the_attempt() -> None:
    responses.get(CONVERSATION, json=load_event("x/x_api_dm_events_with_participant_response.json"))
    since = datetime(2022, 10, 28, 1, 0, tzinfo=UTC)  # the recorded events' ids carry 2022-10-28 01:08
    found = publisher().find_dm("2244994945", "Testing 1", key="alert-1", since=since)
    assert found is not None
    assert (found.id, found.created_at.date().isoformat()) == ("1585800613253812228", "2022-10-28")
    query = responses.calls[0].request.url or ""
    assert "dm_event.fields=created_at%2Csender_id%2Ctext" in query
    assert publisher().find_dm("2244994945", "Testing 3", key="alert-1", since=since) is None
    later = datetime(2022, 10, 28, 2, 0, tzinfo=UTC)  # an older DM with the same text is not this one
    assert publisher().find_dm("2244994945", "Testing 1", key="alert-1", since=later) is None


@responses.activate
def test_find_dm_ignores_the_recipients_own_messages() -> None:
    payload = conversation("Deal alert!", created_at="2026-11-26T12:00:05.000Z")
    payload["data"][0]["sender_id"] = "2244994945"  # the subscriber wrote the same words
    responses.get(CONVERSATION, json=payload)
    since = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert publisher().find_dm("2244994945", "Deal alert!", key="alert-1", since=since) is None
