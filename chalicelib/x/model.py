"""The internal model of what X tells us, whichever webhook envelope it came in.

Everything after chalicelib.x sees only these: ``FollowChange``, ``Revocation``,
``DirectMessage``, ``Interaction`` and ``PostDeleted``, gathered in a ``Delivery``. Plain frozen
dataclasses, not pydantic: the readers (chalicelib.x.fields) check the payload, and a webhook,
often a container's first request, loads no pydantic (issue 17: ~175 ms of a cold follow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

XId = str  # X ids exceed 2**53: always strings
FollowKind = Literal["follow", "unfollow"]


class MalformedPayload(ValueError):
    """A body behind a valid signature that is not a webhook envelope we can read."""


@dataclass(frozen=True, slots=True)
class XUser:
    id: XId
    handle: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FollowChange:
    """Someone followed or unfollowed the brand's account."""

    kind: FollowKind
    event_id: str
    occurred_at: datetime
    follower: XUser


@dataclass(frozen=True, slots=True)
class Revocation:
    """The brand withdrew the app's authorization."""

    event_id: str
    occurred_at: datetime
    user_id: XId


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """A DM someone sent the brand (the brand's own DMs come back too and are dropped)."""

    event_id: str
    occurred_at: datetime
    sender: XUser
    text: str


@dataclass(frozen=True, slots=True)
class Interaction:
    """Someone replied to, mentioned, quoted or liked the brand's posts."""

    kind: Literal["reply", "mention", "quote", "like"]
    event_id: str
    occurred_at: datetime
    author: XUser
    text: str | None = None  # none for a like
    post_id: XId | None = None  # their post (none for a like)
    answers: XId | None = None  # the post replied to, quoted or liked


@dataclass(frozen=True, slots=True)
class PostDeleted:
    """A post was deleted: its captured text and author must go (X's developer terms)."""

    event_id: str
    occurred_at: datetime
    post_id: XId
    user_id: XId


@dataclass(frozen=True, slots=True)
class HeardPost:
    """A public post a listening rule heard: delivered by the filtered stream (``matching_rules``)
    or found by recent search. ``rule_tags`` are the tags X matched it with: outlet's rule ids."""

    post_id: XId
    text: str
    created_at: datetime
    author: XUser | None = None  # search without expansions names no author
    conversation_id: XId | None = None
    in_reply_to_user_id: XId | None = None
    referenced: dict[str, XId] = field(default_factory=dict)  # type (replied_to, quoted, retweeted) -> post id
    engagement: dict[str, int] | None = None  # public_metrics, when X sent them
    mentions: tuple[XId, ...] = ()  # the ids of the accounts it mentions (entities.mentions), when X sent them
    rule_tags: tuple[str, ...] = ()
    via: Literal["stream", "search"] = "stream"


XEvent = FollowChange | Revocation | DirectMessage | Interaction | PostDeleted


@dataclass(slots=True)
class Delivery:
    """One webhook body: whose account it concerns, the events we use, and how many we dropped.
    A filtered-stream delivery concerns no account (``stream``): its post is ``heard``, for listening."""

    account_id: XId | None
    events: list[XEvent] = field(default_factory=list)
    unused: int = 0
    stream: bool = False
    heard: list[HeardPost] = field(default_factory=list)


def epoch_millis(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload("created_timestamp is not epoch milliseconds") from None


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise MalformedPayload("a timestamp without a time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no such UTC time
        raise MalformedPayload("a timestamp out of range") from None


_SNOWFLAKE_EPOCH_MS = 1288834974657  # X ids carry their creation time (milliseconds since this) above bit 22


def snowflake_time(x_id: int | str) -> datetime:
    return datetime.fromtimestamp(((int(x_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)
