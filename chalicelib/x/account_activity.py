"""The Account Activity API's payloads (v1.1 objects: ``for_user_id``, ``follow_events``,
``tweet_create_events``, ``direct_message_events``, ``favorite_events``, ``tweet_delete_events``,
``user_event``) read into the internal model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from chalicelib.x.model import (
    Delivery,
    DirectMessage,
    FollowChange,
    FollowKind,
    Interaction,
    Lenient,
    MalformedPayload,
    PostDeleted,
    Revocation,
    XId,
    XUser,
    aware,
    epoch_millis,
)

_FOLLOW_TYPES: dict[str, FollowKind] = {"follow": "follow", "unfollow": "unfollow"}


class _V1User(Lenient):
    id: int | str | None = None
    id_str: str | None = None
    screen_name: str | None = None
    name: str | None = None

    def as_user(self) -> XUser:
        user_id = self.id_str or (str(self.id) if self.id is not None else "")
        if not user_id:
            raise MalformedPayload("a user object without an id")
        return XUser(id=user_id, handle=self.screen_name, name=self.name)


class _V1FollowEvent(Lenient):
    type: str
    created_timestamp: str
    source: _V1User
    target: _V1User


class _V1RevokeParty(Lenient):
    user_id: XId | None = None


class _V1Revoke(Lenient):
    date_time: datetime
    source: _V1RevokeParty


class _V1UserEvent(Lenient):
    revoke: _V1Revoke | None = None


class _V1MessageData(Lenient):
    text: str = ""


class _V1Target(Lenient):
    recipient_id: XId


class _V1MessageCreate(Lenient):
    target: _V1Target
    sender_id: XId
    message_data: _V1MessageData


class _V1DirectMessageEvent(Lenient):
    type: str
    id: XId
    created_timestamp: str
    message_create: _V1MessageCreate | None = None


class _V1ExtendedTweet(Lenient):
    full_text: str = ""


class _V1Tweet(Lenient):
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


class _V1Favorite(Lenient):
    id: str
    timestamp_ms: int | str
    favorited_status: dict[str, Any] = Field(default_factory=dict)
    user: dict[str, Any] = Field(default_factory=dict)


class _V1DeletedStatus(Lenient):
    id: XId
    user_id: XId


class _V1Delete(Lenient):
    status: _V1DeletedStatus
    timestamp_ms: int | str


class AccountActivity(Lenient):
    for_user_id: XId | None = None
    tweet_create_events: list[_V1Tweet] = Field(default_factory=list)
    favorite_events: list[_V1Favorite] = Field(default_factory=list)
    tweet_delete_events: list[_V1Delete] = Field(default_factory=list)
    direct_message_events: list[_V1DirectMessageEvent] = Field(default_factory=list)
    users: dict[str, Any] = Field(default_factory=dict)
    follow_events: list[_V1FollowEvent] = Field(default_factory=list)
    unfollow_events: list[_V1FollowEvent] = Field(default_factory=list)  # the docs name both keys
    user_event: _V1UserEvent | None = None


def read_account_activity(envelope: AccountActivity) -> Delivery:
    account = envelope.for_user_id
    delivery = Delivery(account_id=account)
    for raw in [*envelope.follow_events, *envelope.unfollow_events]:
        kind = _FOLLOW_TYPES.get(raw.type)
        source, target = raw.source.as_user(), raw.target.as_user()
        if kind is None or target.id != account:  # the brand following someone is not an opt-in
            delivery.unused += 1
            continue
        occurred_at = epoch_millis(raw.created_timestamp)
        event_id = f"aaa:{kind}:{source.id}:{target.id}:{raw.created_timestamp}"
        delivery.events.append(FollowChange(kind=kind, event_id=event_id, occurred_at=occurred_at, follower=source))
    read_direct_messages(delivery, envelope.direct_message_events, envelope.users)
    _read_v1_interactions(delivery, envelope)
    revoke = envelope.user_event.revoke if envelope.user_event else None
    if revoke is not None and revoke.source.user_id:
        # user_event carries no for_user_id: the account is whoever revoked.
        delivery.account_id = delivery.account_id or revoke.source.user_id
        occurred_at = aware(revoke.date_time)
        delivery.events.append(
            Revocation(
                event_id=f"aaa:revoke:{revoke.source.user_id}:{occurred_at.isoformat()}",
                occurred_at=occurred_at,
                user_id=revoke.source.user_id,
            )
        )
    return delivery


def read_direct_messages(delivery: Delivery, events: list[_V1DirectMessageEvent], users: dict[str, Any]) -> None:
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
                occurred_at=epoch_millis(event.created_timestamp),
                sender=sender,
                text=create.message_data.text,
            )
        )


def _read_v1_interactions(delivery: Delivery, envelope: AccountActivity) -> None:
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
                occurred_at=epoch_millis(str(like.timestamp_ms)),
                author=XUser(id=liker, handle=like.user.get("screen_name"), name=like.user.get("name")),
                answers=str(liked) if liked else None,
            )
        )
    for deleted in envelope.tweet_delete_events:
        delivery.events.append(
            PostDeleted(
                event_id=f"delete:{deleted.status.id}",
                occurred_at=epoch_millis(str(deleted.timestamp_ms)),
                post_id=deleted.status.id,
                user_id=deleted.status.user_id,
            )
        )


def _v1_time(created_at: str) -> datetime:
    try:
        return datetime.strptime(created_at, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise MalformedPayload("created_at is not a v1.1 timestamp") from None
