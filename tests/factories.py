"""Test payloads built from the real fixtures in tests/events (copied from ../shared/fixtures):
every variant keeps the shape of a real payload and changes only ids, times and direction."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"
CONSUMER_SECRET = "test-consumer-secret"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def signature(body: bytes, secret: str = CONSUMER_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, secret: str = CONSUMER_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "x-twitter-webhooks-signature": signature(body, secret)}


def aaa_follow(
    account: str,
    follower: str,
    millis: int,
    kind: str = "follow",
    handle: str | None = None,
    key: str = "follow_events",
) -> dict[str, Any]:
    """The Account Activity API follow fixture, for ``follower`` following (or leaving) ``account``."""
    payload: dict[str, Any] = load_event("x/x_follow_event.json")
    event = payload["follow_events"][0]
    event["type"] = kind
    event["created_timestamp"] = str(millis)
    event["target"]["id"] = account
    event["source"]["id"] = follower
    event["source"]["screen_name"] = handle or f"user{follower}"
    payload["for_user_id"] = account
    if key != "follow_events":
        payload[key] = payload.pop("follow_events")
    return payload


def xaa_follow(
    account: str, follower: str, uuid: str, kind: str = "follow", handle: str | None = None
) -> dict[str, Any]:
    """The X Activity API follow fixture turned around: ``follower`` (source) follows ``account`` (target)."""
    name = "x/x_xaa_follow_follow.json" if kind == "follow" else "x/x_xaa_follow_unfollow.json"
    payload: dict[str, Any] = copy.deepcopy(load_event(name))
    data = payload["data"]
    data["event_uuid"] = uuid
    data["filter"]["user_id"] = account
    data["payload"]["target"]["data"]["id"] = account
    data["payload"]["source"]["data"]["id"] = follower
    data["payload"]["source"]["data"]["username"] = handle or f"user{follower}"
    return payload
