"""POST/GET /webhooks/x: the CRC, signatures, both envelopes, and what reaches the community."""

from __future__ import annotations

import base64
import functools
import json
import string
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.errors import BadRequest
from chalicelib.store import Store, TransactionConflict
from chalicelib.x.webhooks import MAX_CRC_TOKEN_LENGTH, SIGNATURE_HEADER, crc_response, is_challenge_token
from tests.factories import CONSUMER_SECRET, EVENTS, aaa_follow, load_event, signature, signed_headers, xaa_follow

ACCOUNT = "39131334141"  # the for_user_id of the Account Activity fixture
CHALLENGE_ALPHABET = string.ascii_letters + string.digits + "+/=_-"


@pytest.fixture(autouse=True)
def brand_account(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)


def post(api: Any, payload: Any, headers: dict[str, str] | None = None) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return api.http.post("/webhooks/x", body=body, headers=headers if headers is not None else signed_headers(body))


def community(api: Any, admin: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(api.http.get("/community", headers=admin).body)
    return result


def followers(api: Any, admin: dict[str, str], status: str = "following") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(api.http.get(f"/community/followers?status={status}", headers=admin).body)[
        "items"
    ]
    return items


@functools.cache
def dynamodb() -> Any:
    """One client for every scan (building one costs ~0.1 s); moto intercepts it in every test's mock."""
    from tests.conftest import aws_client

    return aws_client("dynamodb")


def table_is_empty(cloud: Any) -> bool:
    count: int = dynamodb().scan(TableName=cloud.environment["TABLE_NAME"])["Count"]
    return count == 0


# --- CRC ---------------------------------------------------------------------------------------


def test_crc_answers_with_the_known_hmac(api: Any) -> None:
    # Known answer: HMAC-SHA256("test-consumer-secret", "challenge-8f3e"), base64.
    response = api.http.get("/webhooks/x?crc_token=challenge-8f3e")
    assert response.status_code == 200
    assert json.loads(response.body) == {"response_token": "sha256=g0Tjn2y3mTlA8nhcWg4LuJItj4lXwtYUk7Oge/iv/Kg="}


def test_crc_without_a_token_is_a_400(api: Any) -> None:
    response = api.http.get("/webhooks/x")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["fields"] == {"crc_token": "missing"}


def test_crc_answers_the_real_challenge_x_sent_and_ignores_its_nonce(api: Any) -> None:
    query = (EVENTS / "x" / "x_crc_request_query.txt").read_text().strip()
    token = parse_qs(query)["crc_token"][0]
    response = api.http.get(f"/webhooks/x?{query}")
    assert response.status_code == 200
    assert json.loads(response.body) == {"response_token": signature(token.encode())}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(min_size=1, max_size=191), urlsafe=st.booleans(), padded=st.booleans())
def test_crc_answers_realistic_base64_and_base64url_tokens(api: Any, raw: bytes, urlsafe: bool, padded: bool) -> None:
    token = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    token = token if padded else token.rstrip("=")
    assume(len(token) <= MAX_CRC_TOKEN_LENGTH)
    response = api.http.get("/webhooks/x?" + urlencode({"crc_token": token}))
    assert response.status_code == 200, token
    assert json.loads(response.body) == {"response_token": signature(token.encode())}


@pytest.mark.parametrize(
    "token",
    [
        "A" * (MAX_CRC_TOKEN_LENGTH + 1),
        "abc def",
        "abc.def",
        "abc%def",
        "caf\u00e9",
        "abc\n",
        '{"for_user_id":"39131334141"}',
        "[1]",
        '"abc"',
    ],
    ids=["too-long", "space", "dot", "percent", "non-ascii", "newline", "json-object", "json-array", "json-string"],
)
def test_crc_refuses_a_token_that_is_not_a_challenge_with_a_400(api: Any, token: str) -> None:
    response = api.http.get("/webhooks/x?" + urlencode({"crc_token": token}))
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == {
        "code": "bad_request",
        "message": "crc_token must be 1 to 255 base64 or base64url characters",
        "fields": {"crc_token": "not a CRC challenge token"},
    }


@pytest.mark.parametrize(
    "name",
    ["x/x_follow_event.json", "x/x_user_event_revoke.json", "x/x_xaa_follow_follow.json", "x/x_xaa_oauth_revoke.json"],
)
def test_the_crc_will_not_sign_a_forged_follow_or_revoke(api: Any, cloud: Any, name: str) -> None:
    # The attack: ask the CRC to sign a delivery, then post it with that answer as its signature.
    forged = json.dumps(load_event(name), separators=(",", ":"))
    response = api.http.get("/webhooks/x?" + urlencode({"crc_token": forged}))
    assert response.status_code == 400
    assert "response_token" not in json.loads(response.body)
    assert table_is_empty(cloud)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(alphabet=CHALLENGE_ALPHABET, min_size=1, max_size=MAX_CRC_TOKEN_LENGTH))
def test_no_crc_answer_is_a_signature_the_webhook_accepts(api: Any, cloud: Any, token: str) -> None:
    answer = api.http.get("/webhooks/x?" + urlencode({"crc_token": token}))
    assert answer.status_code == 200
    signature_header = json.loads(answer.body)["response_token"]
    replayed = post(
        api, token.encode(), headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature_header}
    )
    assert 400 <= replayed.status_code < 500, (token, replayed.body)
    assert table_is_empty(cloud)


ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        "for_user_id": st.text(max_size=12),
        "follow_events": st.lists(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2), max_size=2),
        "user_event": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2),
        "data": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    },
)


@settings(max_examples=300, deadline=None)
@given(envelope=ENVELOPE, compact=st.booleans())
def test_no_json_envelope_is_a_challenge_token(envelope: dict[str, Any], compact: bool) -> None:
    # Every body the webhook accepts is a JSON object; no object passes the CRC's shape check.
    body = json.dumps(envelope, separators=(",", ":") if compact else None)
    assert not is_challenge_token(body)
    with pytest.raises(BadRequest):
        crc_response(CONSUMER_SECRET, body)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40) | st.text(alphabet=CHALLENGE_ALPHABET + '{}[]":, ', max_size=40))
def test_whatever_the_crc_answers_is_never_a_json_object(text: str) -> None:
    if not is_challenge_token(text):
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        return
    assert not isinstance(parsed, dict)


# --- signatures and malformed bodies -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "x-twitter-webhooks-signature": "sha256=AAAA"},
        {"Content-Type": "application/json", "x-twitter-webhooks-signature": "garbage \u00e9"},
    ],
    ids=["missing", "wrong", "junk"],
)
def test_a_bad_signature_is_a_401_and_writes_nothing(api: Any, cloud: Any, headers: dict[str, str]) -> None:
    response = post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000), headers=headers)
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "unauthorized"
    assert table_is_empty(cloud)


def test_a_signature_for_another_body_is_refused(api: Any, cloud: Any) -> None:
    body = json.dumps(aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000)).encode()
    other = json.dumps(aaa_follow(ACCOUNT, "999", 1_700_000_000_000)).encode()
    assert post(api, body, headers=signed_headers(other)).status_code == 401
    assert post(api, body, headers=signed_headers(body, secret="another-app")).status_code == 401
    assert table_is_empty(cloud)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"follow"', b'{"for_user_id": "39131334141", "follow_events": {"type": "follow"}}'],
    ids=["not-json", "array", "string", "events-not-a-list"],
)
def test_a_malformed_body_behind_a_valid_signature_is_a_400(api: Any, cloud: Any, body: bytes) -> None:
    response = post(api, body)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == "bad_request"
    assert table_is_empty(cloud)


def test_a_follow_event_without_a_follower_id_is_a_400(api: Any, cloud: Any) -> None:
    payload = aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000)
    del payload["follow_events"][0]["source"]["id"]
    assert post(api, payload).status_code == 400
    assert table_is_empty(cloud)


def test_a_body_for_another_account_is_acknowledged_and_ignored(api: Any, cloud: Any) -> None:
    response = post(api, aaa_follow("2244994945", "435353535", 1_700_000_000_000))
    assert response.status_code == 200
    assert json.loads(response.body)["applied"] == 0
    assert table_is_empty(cloud)


def test_events_the_service_does_not_use_are_acknowledged(
    api: Any, cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", "1111111111111111111")
    for name in ("x/x_xaa_post_create.json", "x/x_xaa_like_create.json", "x/x_xaa_dm_sent.json"):
        response = post(api, load_event(name))  # the brand's own post, its own like, its own DM
        assert response.status_code == 200
        assert json.loads(response.body) == {"applied": 0, "duplicates": 0, "ignored": 1}
    assert table_is_empty(cloud)


# --- the Account Activity API ----------------------------------------------------------------------


def test_the_real_follow_fixture_adds_a_follower(api: Any, admin: dict[str, str]) -> None:
    response = post(api, load_event("x/x_follow_event.json"))
    assert response.status_code == 200
    assert json.loads(response.body) == {"applied": 1, "duplicates": 0, "ignored": 0}
    (follower,) = followers(api, admin)
    assert follower["user_id"] == "435353535"
    assert (follower["handle"], follower["name"], follower["status"]) == ("222222", "222222", "following")
    assert follower["follow_count"] == 1
    assert follower["followed_at"] == "1970-01-06T05:42:15.435000Z"  # created_timestamp 452535435 ms
    summary = community(api, admin)
    assert (summary["followers"], summary["ever_followed"], summary["unfollows"]) == (1, 1, 0)


def test_a_repeated_delivery_changes_nothing(api: Any, admin: dict[str, str]) -> None:
    payload = aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000)
    post(api, payload)
    before = community(api, admin)
    response = post(api, payload)
    assert json.loads(response.body) == {"applied": 0, "duplicates": 1, "ignored": 0}
    assert community(api, admin) == before
    assert before["followers"] == 1


def test_an_unfollow_marks_the_follower_as_left(api: Any, admin: dict[str, str]) -> None:
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000))
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_500_000, kind="unfollow"))
    assert followers(api, admin) == []
    (left,) = followers(api, admin, "left")
    assert left["left_at"] == "2023-11-14T22:21:40.000000Z"
    summary = community(api, admin)
    assert (summary["followers"], summary["ever_followed"], summary["unfollows"]) == (0, 1, 1)


def test_the_unfollow_events_key_is_read_too(api: Any, admin: dict[str, str]) -> None:
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000))
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_500_000, kind="unfollow", key="unfollow_events"))
    assert community(api, admin)["followers"] == 0


def test_a_follow_older_than_an_applied_unfollow_does_not_bring_the_follower_back(
    api: Any, admin: dict[str, str]
) -> None:
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_500_000, kind="unfollow"))  # arrives first
    post(api, aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000))  # happened first
    assert followers(api, admin) == []
    summary = community(api, admin)
    assert (summary["followers"], summary["ever_followed"], summary["unfollows"]) == (0, 1, 1)


def test_the_brand_following_someone_is_not_an_opt_in(api: Any, cloud: Any) -> None:
    payload = aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000)
    event = payload["follow_events"][0]
    event["source"], event["target"] = event["target"], event["source"]
    assert json.loads(post(api, payload).body)["ignored"] == 1
    assert table_is_empty(cloud)


# --- the X Activity API ----------------------------------------------------------------------------


def test_the_real_xaa_fixture_is_the_brand_following_someone_and_adds_nobody(
    api: Any, cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", "1111111111111111111")  # the fixture's filter.user_id, its source
    response = post(api, load_event("x/x_xaa_follow_follow.json"))
    assert response.status_code == 200
    assert json.loads(response.body)["ignored"] == 1
    assert table_is_empty(cloud)


def test_an_xaa_follow_and_unfollow_of_the_brand(
    api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = "4444444444444444444"
    monkeypatch.setenv("X_ACCOUNT_ID", brand)
    follow = xaa_follow(brand, "1111111111111111111", "-7953119945885597316", handle="ExampleUser")
    assert json.loads(post(api, follow).body)["applied"] == 1
    assert json.loads(post(api, follow).body)["duplicates"] == 1
    (follower,) = followers(api, admin)
    assert (follower["user_id"], follower["handle"]) == ("1111111111111111111", "ExampleUser")
    post(api, xaa_follow(brand, "1111111111111111111", "-4233426745281461957", kind="unfollow"))
    summary = community(api, admin)
    assert (summary["followers"], summary["ever_followed"], summary["unfollows"]) == (0, 1, 1)


# --- revocation ------------------------------------------------------------------------------------


def test_a_revocation_holds_publishing_and_raises_one_alert(
    api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", "63046977")  # the fixture's revoking user
    revoke = load_event("x/x_user_event_revoke.json")
    assert post(api, revoke).status_code == 200
    assert post(api, revoke).status_code == 200
    state = json.loads(api.http.get("/channel", headers=admin).body)
    assert state["publishing"] == "held"
    alerts = json.loads(api.http.get("/alerts", headers=admin).body)["items"]
    assert [a["kind"] for a in alerts] == ["authorization_revoked"]

    resumed = json.loads(api.http.post("/channel/resume", headers=admin).body)
    assert resumed["publishing"] == "active"
    post(api, revoke)  # a late redelivery of the old revocation
    assert json.loads(api.http.get("/channel", headers=admin).body)["publishing"] == "active"


def test_an_xaa_revocation_holds_publishing(api: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", "1111111111111111111")
    assert post(api, load_event("x/x_xaa_oauth_revoke.json")).status_code == 200
    assert json.loads(api.http.get("/channel", headers=admin).body)["publishing"] == "held"


def test_another_users_revocation_is_ignored(api: Any, admin: dict[str, str]) -> None:
    post(api, load_event("x/x_user_event_revoke.json"))  # user 63046977 is not the brand
    assert json.loads(api.http.get("/channel", headers=admin).body)["publishing"] == "active"


def test_logs_carry_no_body_signature_or_secret(
    api: Any, admin: dict[str, str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # The app's own logger runs at DEBUG in the local stage; everything else at its default level.
    payload = aaa_follow(ACCOUNT, "435353535", 1_700_000_000_000, handle="very_distinct_handle")
    body = json.dumps(payload).encode()
    headers = signed_headers(body)
    post(api, body, headers=headers)
    post(api, body, headers={**headers, "x-twitter-webhooks-signature": "sha256=forged"})
    api.http.get("/outbox", headers={"Authorization": "Bearer not-the-token"})
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "follow change" in logged  # the logs do say what happened
    for secret in (
        "very_distinct_handle",
        headers["x-twitter-webhooks-signature"],
        "sha256=forged",
        "test-consumer-secret",
        "not-the-token",
        admin["Authorization"].split()[1],
    ):
        assert secret not in logged


class AlwaysBusy(Store):
    """A table where every transaction meets another on the same item (real DynamoDB's
    TransactionConflict under load; moto never raises it)."""

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        raise TransactionConflict("another transaction holds COMMUNITY#TOTALS")


def test_a_delivery_that_keeps_meeting_other_writes_is_a_409_for_x_to_redeliver(store: Store) -> None:
    from datetime import UTC, datetime

    from chalicelib.errors import Conflict
    from chalicelib.inbox import receive_x_delivery
    from chalicelib.sentiment import VaderClassifier

    pauses: list[float] = []
    busy = AlwaysBusy(store.table_name, store._client, clock=store._clock, sleep=pauses.append)
    body = json.dumps(aaa_follow(ACCOUNT, "5550001", 1_700_000_000_000)).encode()
    with pytest.raises(Conflict):
        receive_x_delivery(
            busy,
            body=body,
            signature=signed_headers(body)["x-twitter-webhooks-signature"],
            consumer_secret=CONSUMER_SECRET,
            account_id=ACCOUNT,
            now=datetime.now(UTC),
            enqueue=lambda messages: None,
            classifier=VaderClassifier(),
        )
    # after jittered pauses (no two alike) that stop at the retry deadline
    assert len(pauses) > 1
    assert len(set(pauses)) == len(pauses)
    assert sum(pauses) <= 2.0
