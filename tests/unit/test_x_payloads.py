"""The X readers (chalicelib.x, plain Python since issue 17) take every real payload and refuse what
the envelopes do not allow, naming where in the body it went wrong."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.x.events import FollowChange, Interaction, MalformedPayload, Revocation, XUser, parse_delivery
from tests.factories import load_event

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
REAL = sorted(p.name for p in (Path(__file__).parent.parent / "events" / "x").glob("x_*.json"))
ENVELOPES = [n for n in REAL if not n.startswith("x_api_")]  # webhook bodies, not API responses


@pytest.mark.parametrize("name", ENVELOPES)
def test_every_real_webhook_body_is_read(name: str) -> None:
    delivery = parse_delivery(load_event(f"x/{name}"), NOW)
    assert delivery.events or delivery.heard or delivery.unused


def test_the_real_follow_reads_into_a_follow_change() -> None:
    (event,) = parse_delivery(load_event("x/x_follow_event.json"), NOW).events
    assert event == FollowChange(
        kind="follow",
        event_id="aaa:follow:435353535:39131334141:452535435",
        occurred_at=datetime.fromtimestamp(452535.435, tz=UTC),
        follower=XUser(id="435353535", handle="222222", name="222222"),
    )


def follow_with(change: Any) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(load_event("x/x_follow_event.json"))
    change(payload["follow_events"][0])
    return payload


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda e: e["source"].pop("id"), "a user object without an id"),
        (lambda e: e.update(created_timestamp=452535435), "follow_events.0.created_timestamp"),
        (lambda e: e.update(source="someone"), "follow_events.0.source"),
        (lambda e: e["source"].update(screen_name=42), "follow_events.0.source.screen_name"),
        (lambda e: e.pop("type"), "follow_events.0.type: field required"),
    ],
)
def test_a_follow_event_we_cannot_read_is_refused_naming_where(change: Any, where: str) -> None:
    with pytest.raises(MalformedPayload, match=where):
        parse_delivery(follow_with(change), NOW)


def test_an_id_sent_as_a_number_where_x_sends_a_string_is_refused() -> None:
    payload = load_event("x/x_xaa_follow_follow.json")
    payload["data"]["payload"]["source"]["data"]["id"] = 2244994945
    with pytest.raises(MalformedPayload, match=r"data\.payload\.source\.data\.id: should be a string"):
        parse_delivery(payload, NOW)


def test_v2_times_are_rfc_3339_with_an_offset_read_as_utc() -> None:
    payload = load_event("x/x_xaa_post_reply_create.json")
    payload["data"]["payload"]["created_at"] = "2026-08-12T20:00:00+02:00"
    (event,) = parse_delivery(payload, NOW).events
    assert isinstance(event, Interaction)
    assert event.occurred_at == datetime(2026, 8, 12, 18, tzinfo=UTC)
    for wrong in ("2026-08-12T18:00:00", "yesterday", None, True):
        payload["data"]["payload"]["created_at"] = wrong
        with pytest.raises(MalformedPayload):
            parse_delivery(payload, NOW)


def test_a_revocation_time_may_be_unix_seconds_as_pydantic_read_it() -> None:
    payload = load_event("x/x_xaa_oauth_revoke.json")
    payload["data"]["payload"]["date_time"] = 1_764_158_400
    (event,) = parse_delivery(payload, NOW).events
    assert isinstance(event, Revocation)
    assert event.occurred_at == datetime(2025, 11, 26, 12, tzinfo=UTC)


def test_reading_a_webhook_loads_no_pydantic() -> None:
    code = (
        "import json, sys; from datetime import datetime, UTC; from chalicelib.x.events import parse_delivery;"
        "[parse_delivery(json.load(open('tests/events/x/' + n)), datetime.now(UTC)) for n in sys.argv[1:]];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    root = Path(__file__).parent.parent.parent
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code, *ENVELOPES], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_dm_senders_profile_we_cannot_read_is_named_by_place_not_by_id() -> None:
    payload = load_event("x/x_xaa_dm_received.json")
    payload["data"]["payload"]["users"]["2222222222222222222"]["data"]["username"] = 5
    with pytest.raises(MalformedPayload) as refused:
        parse_delivery(payload, NOW)
    assert str(refused.value) == (
        "unexpected webhook body at data.payload.users[sender of direct_message_events.0].data.username:"
        " should be a string"
    )


@pytest.mark.parametrize("odd", [["1"], {"id": "1"}, True, 1.5])
def test_an_id_x_never_sends_as_a_list_an_object_a_bool_or_a_fraction_is_refused(odd: Any) -> None:
    like = load_event("x/x_favorite_event.json")
    like["favorite_events"][0]["user"]["id_str"] = odd
    with pytest.raises(MalformedPayload, match=r"favorite_events\.0\.user\.id_str"):
        parse_delivery(like, NOW)
    follow = load_event("x/x_xaa_follow_follow.json")
    follow["data"]["filter"]["user_id"] = odd
    with pytest.raises(MalformedPayload, match=r"data\.filter\.user_id"):
        parse_delivery(follow, NOW)
