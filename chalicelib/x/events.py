"""X webhook payloads, both envelopes, mapped into one internal event model.

The Account Activity API (AAA, v1.1-shaped: ``for_user_id``, ``follow_events``, ``user_event``)
and the X Activity API (XAA: ``{"data": {"event_uuid", "event_type", "filter", "payload"}}``)
describe the same things differently; everything after this module sees only ``FollowChange``
and ``Revocation``. Events the service does not use are counted and dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

XId = str  # X ids exceed 2**53: always strings


class MalformedPayload(ValueError):
    """A body behind a valid signature that is not a webhook envelope we can read."""


class XUser(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: XId
    handle: str | None = None
    name: str | None = None


class FollowChange(BaseModel):
    """Someone followed or unfollowed the brand's account."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["follow", "unfollow"]
    event_id: str
    occurred_at: datetime
    follower: XUser


class Revocation(BaseModel):
    """The brand withdrew the app's authorization."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: datetime
    user_id: XId


class DirectMessage(BaseModel):
    """A DM someone sent the brand (the brand's own DMs come back too and are dropped)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: datetime
    sender: XUser
    text: str


class Interaction(BaseModel):
    """Someone replied to, mentioned, quoted or liked the brand's posts."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["reply", "mention", "quote", "like"]
    event_id: str
    occurred_at: datetime
    author: XUser
    text: str | None = None  # none for a like
    post_id: XId | None = None  # their post (none for a like)
    answers: XId | None = None  # the post replied to, quoted or liked


class PostDeleted(BaseModel):
    """A post was deleted: its captured text and author must go (X's developer terms)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: datetime
    post_id: XId
    user_id: XId


XEvent = FollowChange | Revocation | DirectMessage | Interaction | PostDeleted


@dataclass
class Delivery:
    """One webhook body: whose account it concerns, the events we use, and how many we dropped."""

    account_id: XId | None
    events: list[XEvent] = field(default_factory=list)
    unused: int = 0


# --- the Account Activity API (v1.1 objects) --------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _V1User(_Lenient):
    id: int | str | None = None
    id_str: str | None = None
    screen_name: str | None = None
    name: str | None = None

    def as_user(self) -> XUser:
        user_id = self.id_str or (str(self.id) if self.id is not None else "")
        if not user_id:
            raise MalformedPayload("a user object without an id")
        return XUser(id=user_id, handle=self.screen_name, name=self.name)


class _V1FollowEvent(_Lenient):
    type: str
    created_timestamp: str
    source: _V1User
    target: _V1User


class _V1RevokeParty(_Lenient):
    user_id: XId | None = None


class _V1Revoke(_Lenient):
    date_time: datetime
    source: _V1RevokeParty


class _V1UserEvent(_Lenient):
    revoke: _V1Revoke | None = None


class _V1MessageData(_Lenient):
    text: str = ""


class _V1Target(_Lenient):
    recipient_id: XId


class _V1MessageCreate(_Lenient):
    target: _V1Target
    sender_id: XId
    message_data: _V1MessageData


class _V1DirectMessageEvent(_Lenient):
    type: str
    id: XId
    created_timestamp: str
    message_create: _V1MessageCreate | None = None


class _V1ExtendedTweet(_Lenient):
    full_text: str = ""


class _V1Tweet(_Lenient):
    id_str: XId
    text: str = ""
    created_at: str
    user: _V1User
    truncated: bool = False
    extended_tweet: _V1ExtendedTweet | None = None
    in_reply_to_status_id_str: XId | None = None
    in_reply_to_user_id_str: XId | None = None
    quoted_status_id_str: XId | None = None
    quoted_status: dict[str, Any] | None = None
    retweeted_status: dict[str, Any] | None = None


class _V1Favorite(_Lenient):
    id: str
    timestamp_ms: int | str
    favorited_status: dict[str, Any] = Field(default_factory=dict)
    user: dict[str, Any] = Field(default_factory=dict)


class _V1DeletedStatus(_Lenient):
    id: XId
    user_id: XId


class _V1Delete(_Lenient):
    status: _V1DeletedStatus
    timestamp_ms: int | str


class _AccountActivity(_Lenient):
    for_user_id: XId | None = None
    tweet_create_events: list[_V1Tweet] = Field(default_factory=list)
    favorite_events: list[_V1Favorite] = Field(default_factory=list)
    tweet_delete_events: list[_V1Delete] = Field(default_factory=list)
    direct_message_events: list[_V1DirectMessageEvent] = Field(default_factory=list)
    users: dict[str, Any] = Field(default_factory=dict)
    follow_events: list[_V1FollowEvent] = Field(default_factory=list)
    unfollow_events: list[_V1FollowEvent] = Field(default_factory=list)  # the docs name both keys
    user_event: _V1UserEvent | None = None


# --- the X Activity API (v2 objects) ----------------------------------------------------------


class _V2User(_Lenient):
    id: XId
    username: str | None = None
    name: str | None = None


class _V2UserData(_Lenient):
    data: _V2User


class _V2Follow(_Lenient):
    source: _V2UserData
    target: _V2UserData


class _V2Revoke(_Lenient):
    date_time: datetime
    user_id: XId


class _V2Reference(_Lenient):
    type: str
    id: XId


class _V2Post(_Lenient):
    id: XId
    text: str = ""
    author_id: XId
    created_at: datetime
    in_reply_to_user_id: XId | None = None
    referenced_tweets: list[_V2Reference] = Field(default_factory=list)


class _V2Includes(_Lenient):
    users: list[_V2User] = Field(default_factory=list)


class _ActivityData(_Lenient):
    event_uuid: str
    event_type: str
    filter: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    includes: _V2Includes = Field(default_factory=_V2Includes)

    @field_validator("event_uuid", mode="before")
    @classmethod
    def _uuid_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # it may arrive as a bare number


class _Activity(_Lenient):
    data: _ActivityData


# --- parsing ---------------------------------------------------------------------------------

FollowKind = Literal["follow", "unfollow"]
_FOLLOW_TYPES: dict[str, FollowKind] = {"follow": "follow", "unfollow": "unfollow"}
_XAA_FOLLOW_TYPES: dict[str, FollowKind] = {"follow.follow": "follow", "follow.unfollow": "unfollow"}


def parse_delivery(payload: Any, received_at: datetime) -> Delivery:
    """Read one webhook body. Raises ``MalformedPayload`` for what no envelope allows."""
    if not isinstance(payload, dict):
        raise MalformedPayload("a webhook body is a JSON object")
    try:
        if "data" in payload and isinstance(payload["data"], dict) and "event_type" in payload["data"]:
            return _parse_activity(_Activity.model_validate(payload).data, received_at)
        return _parse_account_activity(_AccountActivity.model_validate(payload))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedPayload(f"unexpected webhook body at {where}: {first['msg']}") from None


def _epoch_millis(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload("created_timestamp is not epoch milliseconds") from None


def _read_direct_messages(delivery: Delivery, events: list[_V1DirectMessageEvent], users: dict[str, Any]) -> None:
    """Incoming DMs only. ``users`` maps ids to v1.1 users (AAA) or ``{"data": v2 user}`` (XAA)."""
    for event in events:
        create = event.message_create
        if event.type != "message_create" or create is None or create.sender_id == delivery.account_id:
            delivery.unused += 1  # the brand's own DMs are delivered back to it
            continue
        profile = users.get(create.sender_id) or {}
        profile = profile.get("data", profile) if isinstance(profile, dict) else {}
        sender = XUser(
            id=create.sender_id, handle=profile.get("screen_name") or profile.get("username"), name=profile.get("name")
        )
        delivery.events.append(
            DirectMessage(
                event_id=f"dm:{event.id}",
                occurred_at=_epoch_millis(event.created_timestamp),
                sender=sender,
                text=create.message_data.text,
            )
        )


def _read_v1_interactions(delivery: Delivery, envelope: _AccountActivity) -> None:
    account = delivery.account_id
    for tweet in envelope.tweet_create_events:
        author = tweet.user.as_user()
        if author.id == account or tweet.retweeted_status is not None:
            delivery.unused += 1  # the brand's own posts, and retweets, are not feedback
            continue
        quoted_author = str(((tweet.quoted_status or {}).get("user") or {}).get("id_str", ""))
        kind: Literal["reply", "mention", "quote"]
        answers: XId | None
        if tweet.quoted_status_id_str and quoted_author == account:
            kind, answers = "quote", tweet.quoted_status_id_str
        elif tweet.in_reply_to_status_id_str and tweet.in_reply_to_user_id_str == account:
            kind, answers = "reply", tweet.in_reply_to_status_id_str
        else:
            kind, answers = "mention", tweet.in_reply_to_status_id_str
        text = tweet.extended_tweet.full_text if tweet.truncated and tweet.extended_tweet else tweet.text
        delivery.events.append(
            Interaction(
                kind=kind,
                event_id=f"post:{tweet.id_str}",
                occurred_at=_v1_time(tweet.created_at),
                author=author,
                text=text,
                post_id=tweet.id_str,
                answers=answers,
            )
        )
    for like in envelope.favorite_events:
        liker = str(like.user.get("id_str") or like.user.get("user_id") or like.user.get("id") or "")
        if not liker or liker == account:
            delivery.unused += 1
            continue
        liked = like.favorited_status.get("id_str") or like.favorited_status.get("id")
        delivery.events.append(
            Interaction(
                kind="like",
                event_id=f"like:{like.id}",
                occurred_at=_epoch_millis(str(like.timestamp_ms)),
                author=XUser(id=liker, handle=like.user.get("screen_name"), name=like.user.get("name")),
                answers=str(liked) if liked else None,
            )
        )
    for deleted in envelope.tweet_delete_events:
        delivery.events.append(
            PostDeleted(
                event_id=f"delete:{deleted.status.id}",
                occurred_at=_epoch_millis(str(deleted.timestamp_ms)),
                post_id=deleted.status.id,
                user_id=deleted.status.user_id,
            )
        )


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
            occurred_at=_aware(post.created_at),
            author=author,
            text=post.text,
            post_id=post.id,
            answers=answers,
        )
    )


def _v1_time(created_at: str) -> datetime:
    try:
        return datetime.strptime(created_at, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise MalformedPayload("created_at is not a v1.1 timestamp") from None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise MalformedPayload("a timestamp without a time zone")
    return moment.astimezone(UTC)


def _parse_account_activity(envelope: _AccountActivity) -> Delivery:
    account = envelope.for_user_id
    delivery = Delivery(account_id=account)
    for raw in [*envelope.follow_events, *envelope.unfollow_events]:
        kind = _FOLLOW_TYPES.get(raw.type)
        source, target = raw.source.as_user(), raw.target.as_user()
        if kind is None or target.id != account:  # the brand following someone is not an opt-in
            delivery.unused += 1
            continue
        occurred_at = _epoch_millis(raw.created_timestamp)
        event_id = f"aaa:{kind}:{source.id}:{target.id}:{raw.created_timestamp}"
        delivery.events.append(FollowChange(kind=kind, event_id=event_id, occurred_at=occurred_at, follower=source))
    _read_direct_messages(delivery, envelope.direct_message_events, envelope.users)
    _read_v1_interactions(delivery, envelope)
    revoke = envelope.user_event.revoke if envelope.user_event else None
    if revoke is not None and revoke.source.user_id:
        # user_event carries no for_user_id: the account is whoever revoked.
        delivery.account_id = delivery.account_id or revoke.source.user_id
        occurred_at = _aware(revoke.date_time)
        delivery.events.append(
            Revocation(
                event_id=f"aaa:revoke:{revoke.source.user_id}:{occurred_at.isoformat()}",
                occurred_at=occurred_at,
                user_id=revoke.source.user_id,
            )
        )
    return delivery


def _parse_activity(data: _ActivityData, received_at: datetime) -> Delivery:
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
        dms = _AccountActivity.model_validate(data.payload)
        _read_direct_messages(delivery, dms.direct_message_events, dms.users)
    elif data.event_type == "oauth.revoke":
        revoke = _V2Revoke.model_validate(data.payload)
        delivery.account_id = delivery.account_id or revoke.user_id
        delivery.events.append(
            Revocation(event_id=event_id, occurred_at=_aware(revoke.date_time), user_id=revoke.user_id)
        )
    else:
        delivery.unused += 1
    return delivery
