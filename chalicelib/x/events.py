"""X webhook payloads, both envelopes, mapped into one internal event model.

The Account Activity API (chalicelib.x.account_activity) and the X Activity API
(chalicelib.x.activity_api) describe the same things differently (filtered-stream deliveries, posts
for listening, are read by chalicelib.x.stream); everything after this module
sees only the model of chalicelib.x.model. Events the service does not use are counted and
dropped on the way. The readers are plain Python (chalicelib.x.fields says why): a webhook loads
no pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.x.account_activity import read_account_activity
from chalicelib.x.activity_api import read_activity
from chalicelib.x.fields import Fields
from chalicelib.x.model import (
    Delivery,
    DirectMessage,
    FollowChange,
    HeardPost,
    Interaction,
    MalformedPayload,
    PostDeleted,
    Revocation,
    XEvent,
    XId,
    XUser,
)
from chalicelib.x.stream import is_stream_delivery, read_stream_delivery

__all__ = [
    "Delivery",
    "DirectMessage",
    "FollowChange",
    "HeardPost",
    "Interaction",
    "MalformedPayload",
    "PostDeleted",
    "Revocation",
    "XEvent",
    "XId",
    "XUser",
    "parse_delivery",
]


def parse_delivery(payload: Any, received_at: datetime) -> Delivery:
    """Read one webhook body. Raises ``MalformedPayload`` for what no envelope allows."""
    if not isinstance(payload, dict):
        raise MalformedPayload("a webhook body is a JSON object")
    if is_stream_delivery(payload):
        return read_stream_delivery(payload)
    if "data" in payload and isinstance(payload["data"], dict) and "event_type" in payload["data"]:
        return read_activity(Fields(payload), received_at)
    return read_account_activity(Fields(payload))
