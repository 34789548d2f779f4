"""The X Activity API's payloads (``{"data": {"event_uuid", "event_type", "filter", "payload",
"includes"}}``, v2 objects) read into the internal model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from chalicelib.x.account_activity import AccountActivity, read_direct_messages
from chalicelib.x.model import (
    Delivery,
    FollowChange,
    FollowKind,
    Interaction,
    Lenient,
    Revocation,
    XId,
    XUser,
    aware,
)

_XAA_FOLLOW_TYPES: dict[str, FollowKind] = {"follow.follow": "follow", "follow.unfollow": "unfollow"}


class _V2User(Lenient):
    id: XId
    username: str | None = None
    name: str | None = None


class _V2UserData(Lenient):
    data: _V2User


class _V2Follow(Lenient):
    source: _V2UserData
    target: _V2UserData


class _V2Revoke(Lenient):
    date_time: datetime
    user_id: XId


class _V2Reference(Lenient):
    type: str
    id: XId


class _V2Post(Lenient):
    id: XId
    text: str = ""
    author_id: XId
    created_at: datetime
    in_reply_to_user_id: XId | None = None
    referenced_tweets: list[_V2Reference] = Field(default_factory=list)


class _V2Includes(Lenient):
    users: list[_V2User] = Field(default_factory=list)


class _ActivityData(Lenient):
    event_uuid: str
    event_type: str
    filter: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    includes: _V2Includes = Field(default_factory=_V2Includes)

    @field_validator("event_uuid", mode="before")
    @classmethod
    def _uuid_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # it may arrive as a bare number


class Activity(Lenient):
    data: _ActivityData


def read_activity(data: _ActivityData, received_at: datetime) -> Delivery:
    account = data.filter.get("user_id")
    delivery = Delivery(account_id=str(account) if account is not None else None)
    event_id = f"xaa:{data.event_uuid}"
    kind = _XAA_FOLLOW_TYPES.get(data.event_type)
    if kind is not None:
        follow = _V2Follow.model_validate(data.payload)
        source, target = follow.source.data, follow.target.data
        if target.id != delivery.account_id:
            delivery.unused += 1
            return delivery
        # XAA follow payloads carry no event time: the time we received it is the best we have.
        follower = XUser(id=source.id, handle=source.username, name=source.name)
        delivery.events.append(FollowChange(kind=kind, event_id=event_id, occurred_at=received_at, follower=follower))
    elif data.event_type in ("post.reply.create", "post.mention.create", "post.create"):
        _read_v2_post(delivery, data)
    elif data.event_type in ("dm.received", "dm.sent"):
        # Both keep the Account Activity shape inside; a DM the brand sent is dropped there.
        dms = AccountActivity.model_validate(data.payload)
        read_direct_messages(delivery, dms.direct_message_events, dms.users)
    elif data.event_type == "oauth.revoke":
        revoke = _V2Revoke.model_validate(data.payload)
        delivery.account_id = delivery.account_id or revoke.user_id
        delivery.events.append(
            Revocation(event_id=event_id, occurred_at=aware(revoke.date_time), user_id=revoke.user_id)
        )
    else:
        delivery.unused += 1
    return delivery


def _read_v2_post(delivery: Delivery, data: _ActivityData) -> None:
    post = _V2Post.model_validate(data.payload)
    if post.author_id == delivery.account_id:
        delivery.unused += 1  # the brand's own post
        return
    referenced = {ref.type: ref.id for ref in post.referenced_tweets}
    kind: Literal["reply", "mention", "quote"]
    if data.event_type == "post.reply.create":
        kind, answers = "reply", referenced.get("replied_to")
    elif data.event_type == "post.mention.create":
        kind, answers = "mention", referenced.get("replied_to")
    elif "quoted" in referenced:
        kind, answers = "quote", referenced["quoted"]
    else:
        delivery.unused += 1  # someone's post that neither answers nor quotes the brand
        return
    profile = next((u for u in data.includes.users if u.id == post.author_id), None)
    author = XUser(
        id=post.author_id, handle=profile.username if profile else None, name=profile.name if profile else None
    )
    delivery.events.append(
        Interaction(
            kind=kind,
            event_id=f"post:{post.id}",
            occurred_at=aware(post.created_at),
            author=author,
            text=post.text,
            post_id=post.id,
            answers=answers,
        )
    )
