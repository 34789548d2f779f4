"""The X Activity API's payloads (``{"data": {"event_uuid", "event_type", "filter", "payload",
"includes"}}``, v2 objects) read into the internal model."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalicelib.x.account_activity import read_direct_messages
from chalicelib.x.fields import Fields
from chalicelib.x.model import Delivery, FollowChange, FollowKind, Interaction, MalformedPayload, Revocation, XId, XUser

_XAA_FOLLOW_TYPES: dict[str, FollowKind] = {"follow.follow": "follow", "follow.unfollow": "unfollow"}


def _v2_user(user: Fields) -> XUser:
    return XUser(id=user.text("id"), handle=user.optional_text("username"), name=user.optional_text("name"))


def read_activity(envelope: Fields, received_at: datetime) -> Delivery:
    """``{"data": {...}}``: one event, its type in ``event_type``, its v2 objects in ``payload``."""
    data = envelope.obj("data")
    uuid = data.text_or_number("event_uuid")  # it may arrive as a bare number
    if uuid is None:
        raise MalformedPayload(f"unexpected webhook body at {data.at('event_uuid')}: field required")
    event_type, account = (
        data.text("event_type"),
        Fields(data.raw("filter"), data.at("filter")).text_or_number("user_id"),
    )
    payload = Fields(data.raw("payload"), data.at("payload"))
    users = [_v2_user(u) for u in Fields(data.data.get("includes", {}), data.at("includes")).objects("users")]
    delivery = Delivery(account_id=account)
    event_id = f"xaa:{uuid}"
    kind = _XAA_FOLLOW_TYPES.get(event_type)
    if kind is not None:
        source, target = (_v2_user(payload.obj(side).obj("data")) for side in ("source", "target"))
        if target.id != delivery.account_id:
            delivery.unused += 1
            return delivery
        # XAA follow payloads carry no event time: the time we received it is the best we have.
        delivery.events.append(FollowChange(kind=kind, event_id=event_id, occurred_at=received_at, follower=source))
    elif event_type in ("post.reply.create", "post.mention.create", "post.create"):
        _read_v2_post(delivery, event_type, payload, users)
    elif event_type in ("dm.received", "dm.sent"):
        # Both keep the Account Activity shape inside; a DM the brand sent is dropped there.
        read_direct_messages(
            delivery, payload.objects("direct_message_events"), payload.raw("users"), payload.at("users")
        )
    elif event_type == "oauth.revoke":
        occurred_at, user_id = payload.moment("date_time"), payload.text("user_id")
        delivery.account_id = delivery.account_id or user_id
        delivery.events.append(Revocation(event_id=event_id, occurred_at=occurred_at, user_id=user_id))
    else:
        delivery.unused += 1
    return delivery


def _read_v2_post(delivery: Delivery, event_type: str, post: Fields, users: list[XUser]) -> None:
    post_id, text, author_id = post.text("id"), post.text("text", default=""), post.text("author_id")
    created_at = post.moment("created_at")
    post.optional_text("in_reply_to_user_id")
    referenced = {ref.text("type"): ref.text("id") for ref in post.objects("referenced_tweets")}
    if author_id == delivery.account_id:
        delivery.unused += 1  # the brand's own post
        return
    kind: Literal["reply", "mention", "quote"]
    answers: XId | None
    if event_type == "post.reply.create":
        kind, answers = "reply", referenced.get("replied_to")
    elif event_type == "post.mention.create":
        kind, answers = "mention", referenced.get("replied_to")
    elif "quoted" in referenced:
        kind, answers = "quote", referenced["quoted"]
    else:
        delivery.unused += 1  # someone's post that neither answers nor quotes the brand
        return
    author = next((u for u in users if u.id == author_id), XUser(id=author_id))
    delivery.events.append(
        Interaction(
            kind=kind,
            event_id=f"post:{post_id}",
            occurred_at=created_at,
            author=author,
            text=text,
            post_id=post_id,
            answers=answers,
        )
    )
