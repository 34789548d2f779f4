"""The Account Activity API's payloads (v1.1 objects: ``for_user_id``, ``follow_events``,
``tweet_create_events``, ``direct_message_events``, ``favorite_events``, ``tweet_delete_events``,
``user_event``) read into the internal model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib.x.fields import Fields, optional_text
from chalicelib.x.model import (
    Delivery,
    DirectMessage,
    FollowChange,
    FollowKind,
    Interaction,
    MalformedPayload,
    PostDeleted,
    Revocation,
    XId,
    XUser,
    epoch_millis,
)

_FOLLOW_TYPES: dict[str, FollowKind] = {"follow": "follow", "unfollow": "unfollow"}


def _any_id(loose: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    """The first of ``keys`` that holds an id (a string or a whole number, as v1.1 sends them)."""
    for key in keys:
        found = Fields(loose, where).text_or_number(key)
        if found:
            return found
    return None


def _v1_user(user: Fields) -> XUser:
    """A v1.1 user object: ``id_str``, else ``id`` (a number or a string)."""
    id_str, number = user.optional_text("id_str"), user.text_or_number("id")
    handle, name = user.optional_text("screen_name"), user.optional_text("name")
    user_id = id_str or number or ""
    if not user_id:
        raise MalformedPayload("a user object without an id")
    return XUser(id=user_id, handle=handle, name=name)


def read_account_activity(envelope: Fields) -> Delivery:
    account = envelope.optional_text("for_user_id")
    delivery = Delivery(account_id=account)
    # Every part is read (and so checked) before any is used: a body is taken whole or refused.
    follows = [_v1_follow(raw) for raw in [*envelope.objects("follow_events"), *envelope.objects("unfollow_events")]]
    messages = envelope.objects("direct_message_events")
    users = envelope.raw("users")
    posts = [_v1_post(raw) for raw in envelope.objects("tweet_create_events")]
    likes = [_v1_like(raw) for raw in envelope.objects("favorite_events")]
    deletes = [_v1_delete(raw) for raw in envelope.objects("tweet_delete_events")]
    user_event = envelope.optional_obj("user_event")
    revoke = user_event.optional_obj("revoke") if user_event else None
    revoked_at = revoke.moment("date_time") if revoke else None
    revoked_by = revoke.obj("source").optional_text("user_id") if revoke else None
    for kind_name, created, source, target in follows:
        kind = _FOLLOW_TYPES.get(kind_name)
        if kind is None or target.id != account:  # the brand following someone is not an opt-in
            delivery.unused += 1
            continue
        occurred_at = epoch_millis(created)
        event_id = f"aaa:{kind}:{source.id}:{target.id}:{created}"
        delivery.events.append(FollowChange(kind=kind, event_id=event_id, occurred_at=occurred_at, follower=source))
    read_direct_messages(delivery, messages, users)
    _add_v1_interactions(delivery, posts, likes, deletes)
    if revoked_at is not None and revoked_by:
        # user_event carries no for_user_id: the account is whoever revoked.
        delivery.account_id = delivery.account_id or revoked_by
        event_id = f"aaa:revoke:{revoked_by}:{revoked_at.isoformat()}"
        delivery.events.append(Revocation(event_id=event_id, occurred_at=revoked_at, user_id=revoked_by))
    return delivery


def _v1_follow(raw: Fields) -> tuple[str, str, XUser, XUser]:
    kind, created = raw.text("type"), raw.text("created_timestamp")
    source, target = raw.obj("source"), raw.obj("target")
    return kind, created, _v1_user(source), _v1_user(target)


def read_direct_messages(delivery: Delivery, events: list[Fields], users: dict[str, Any], where: str = "users") -> None:
    """Incoming DMs only. ``users`` (at ``where`` in the body) maps ids to v1.1 users (AAA) or
    ``{"data": v2 user}`` (XAA); a refusal names the place by position, never by the id it holds."""
    read = [_v1_message(event) for event in events]
    for n, (message_id, kind, created, create) in enumerate(read):
        if kind != "message_create" or create is None or create[0] == delivery.account_id:
            delivery.unused += 1  # the brand's own DMs are delivered back to it
            continue
        sender_id, text = create
        sender = _profile(sender_id, users.get(sender_id), f"{where}[sender of direct_message_events.{n}]")
        delivery.events.append(
            DirectMessage(event_id=f"dm:{message_id}", occurred_at=epoch_millis(created), sender=sender, text=text)
        )


def _v1_message(event: Fields) -> tuple[str, str, str, tuple[XId, str] | None]:
    kind, message_id, created = event.text("type"), event.text("id"), event.text("created_timestamp")
    create = event.optional_obj("message_create")
    if create is None:
        return message_id, kind, created, None
    create.obj("target").text("recipient_id")
    sender_id = create.text("sender_id")
    return message_id, kind, created, (sender_id, create.obj("message_data").text("text", default=""))


def _profile(user_id: XId, profile: Any, where: str) -> XUser:
    """Someone named in ``users``: a v1.1 user, or a v2 one inside ``data``; anything else names nobody."""
    if isinstance(profile, dict) and "data" in profile:
        profile, where = profile["data"], f"{where}.data"
    if not isinstance(profile, dict):
        return XUser(id=user_id)
    handle = optional_text(profile.get("screen_name"), f"{where}.screen_name") or optional_text(
        profile.get("username"), f"{where}.username"
    )
    return XUser(id=user_id, handle=handle, name=optional_text(profile.get("name"), f"{where}.name"))


@dataclass(frozen=True, slots=True)
class _V1Post:
    id: XId
    text: str
    created_at: str
    author: XUser
    retweet: bool
    in_reply_to_status: XId | None
    in_reply_to_user: XId | None
    quoted_status_id: XId | None
    quoted_author: str


def _v1_post(tweet: Fields) -> _V1Post:
    extended = tweet.optional_obj("extended_tweet")
    full_text = extended.text("full_text", default="") if extended else None
    text = tweet.text("text", default="")
    quoted_user = (tweet.optional_raw("quoted_status") or {}).get("user")
    return _V1Post(
        id=tweet.text("id_str"),
        text=full_text if tweet.flag("truncated") and full_text is not None else text,
        created_at=tweet.text("created_at"),
        author=_v1_user(tweet.obj("user")),
        retweet=tweet.optional_raw("retweeted_status") is not None,
        in_reply_to_status=tweet.optional_text("in_reply_to_status_id_str"),
        in_reply_to_user=tweet.optional_text("in_reply_to_user_id_str"),
        quoted_status_id=tweet.optional_text("quoted_status_id_str"),
        quoted_author=str(quoted_user.get("id_str", "")) if isinstance(quoted_user, dict) else "",
    )


def _v1_like(like: Fields) -> tuple[str, str, dict[str, Any], dict[str, Any], str]:
    like_id, millis = like.text("id"), like.text_or_number("timestamp_ms")
    if millis is None:
        raise MalformedPayload(f"unexpected webhook body at {like.at('timestamp_ms')}: field required")
    return like_id, millis, like.raw("favorited_status"), like.raw("user"), like.where


def _v1_delete(deleted: Fields) -> tuple[XId, XId, str]:
    status = deleted.obj("status")
    post_id, user_id = status.text("id"), status.text("user_id")
    millis = deleted.text_or_number("timestamp_ms")
    if millis is None:
        raise MalformedPayload(f"unexpected webhook body at {deleted.at('timestamp_ms')}: field required")
    return post_id, user_id, millis


def _add_v1_interactions(
    delivery: Delivery,
    posts: list[_V1Post],
    likes: list[tuple[str, str, dict[str, Any], dict[str, Any], str]],
    deletes: list[tuple[XId, XId, str]],
) -> None:
    account = delivery.account_id
    for post in posts:
        if post.author.id == account or post.retweet:
            delivery.unused += 1  # the brand's own posts, and retweets, are not feedback
            continue
        kind: Literal["reply", "mention", "quote"]
        answers: XId | None
        if post.quoted_status_id and post.quoted_author == account:
            kind, answers = "quote", post.quoted_status_id
        elif post.in_reply_to_status and post.in_reply_to_user == account:
            kind, answers = "reply", post.in_reply_to_status
        else:
            kind, answers = "mention", post.in_reply_to_status
        delivery.events.append(
            Interaction(
                kind=kind,
                event_id=f"post:{post.id}",
                occurred_at=_v1_time(post.created_at),
                author=post.author,
                text=post.text,
                post_id=post.id,
                answers=answers,
            )
        )
    for like_id, millis, liked_status, user, where in likes:
        liker = _any_id(user, ("id_str", "user_id", "id"), f"{where}.user") or ""
        if not liker or liker == account:
            delivery.unused += 1
            continue
        liked = _any_id(liked_status, ("id_str", "id"), f"{where}.favorited_status")
        author = XUser(
            id=liker,
            handle=optional_text(user.get("screen_name"), f"{where}.user.screen_name"),
            name=optional_text(user.get("name"), f"{where}.user.name"),
        )
        delivery.events.append(
            Interaction(
                kind="like",
                event_id=f"like:{like_id}",
                occurred_at=epoch_millis(millis),
                author=author,
                answers=liked,
            )
        )
    for post_id, user_id, millis in deletes:
        delivery.events.append(
            PostDeleted(
                event_id=f"delete:{post_id}", occurred_at=epoch_millis(millis), post_id=post_id, user_id=user_id
            )
        )


def _v1_time(created_at: str) -> datetime:
    try:
        return datetime.strptime(created_at, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise MalformedPayload("created_at is not a v1.1 timestamp") from None
