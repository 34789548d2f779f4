"""X API v2 posts heard by listening: filtered-stream webhook deliveries and recent-search pages,
read into ``HeardPost``.

A filtered-stream delivery is one post with the rules it matched (X's documented shape,
docs.x.com/x-api/webhooks/stream/quickstart: ``{"data": {post}, "includes": {"users": [...]},
"matching_rules": [{"id", "tag"}]}``); a search page is ``{"data": [posts], "includes", "meta"}``
(tests/events/x/x_api_search_recent_response.json). Fields X leaves out (a search without
``tweet.fields`` has no ``created_at`` or ``author_id``) are read from what is there: a post's id
carries its creation time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from chalicelib.x.model import Delivery, HeardPost, Lenient, MalformedPayload, XId, XUser, aware, snowflake_time


class _User(Lenient):
    id: XId
    username: str | None = None
    name: str | None = None


class _Includes(Lenient):
    users: list[_User] = Field(default_factory=list)


class _Reference(Lenient):
    type: str
    id: XId


class _Mention(Lenient):
    id: XId | None = None


class _Entities(Lenient):
    mentions: list[_Mention] = Field(default_factory=list)


class _Post(Lenient):
    id: XId = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")  # X's are digits; the pattern keeps keys and URLs safe
    text: str = ""
    author_id: XId | None = None
    created_at: datetime | None = None
    conversation_id: XId | None = None
    in_reply_to_user_id: XId | None = None
    referenced_tweets: list[_Reference] = Field(default_factory=list)
    public_metrics: dict[str, int] | None = None
    entities: _Entities | None = None

    @field_validator("public_metrics", mode="before")
    @classmethod
    def _counts_only(cls, value: Any) -> Any:
        if isinstance(value, dict):  # X adds metrics freely; keep the whole numbers it sends
            return {
                str(k): v
                for k, v in value.items()
                if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63  # DynamoDB's numbers hold it
            }
        return value


class _MatchingRule(Lenient):
    id: XId | None = None
    tag: str | None = None


class StreamDelivery(Lenient):
    data: _Post
    includes: _Includes = Field(default_factory=_Includes)
    matching_rules: list[_MatchingRule]


class SearchResponse(Lenient):
    data: list[_Post] = Field(default_factory=list)
    includes: _Includes = Field(default_factory=_Includes)
    meta: dict[str, Any] = Field(default_factory=dict)


def is_stream_delivery(payload: dict[str, Any]) -> bool:
    return "matching_rules" in payload


def read_stream_delivery(payload: dict[str, Any]) -> Delivery:
    """One filtered-stream delivery: its post, tagged with the rules it matched (by their tags)."""
    delivery = StreamDelivery.model_validate(payload)
    tags = tuple(dict.fromkeys(r.tag for r in delivery.matching_rules if r.tag))
    post = heard_post(delivery.data, delivery.includes.users, tags, "stream")
    return Delivery(account_id=None, stream=True, heard=[post])


def _time_of(post_id: str) -> datetime:
    if not post_id.isdigit() or len(post_id) > 19:
        raise MalformedPayload("a post without created_at, and an id that carries no time")
    return snowflake_time(post_id)


def heard_post(post: _Post, users: list[_User], tags: tuple[str, ...], via: Literal["stream", "search"]) -> HeardPost:
    profile = next((u for u in users if u.id == post.author_id), None)
    author = None
    if post.author_id:
        author = XUser(
            id=post.author_id, handle=profile.username if profile else None, name=profile.name if profile else None
        )
    return HeardPost(
        post_id=post.id,
        text=post.text,
        created_at=aware(post.created_at) if post.created_at else _time_of(post.id),
        author=author,
        conversation_id=post.conversation_id,
        in_reply_to_user_id=post.in_reply_to_user_id,
        referenced={ref.type: ref.id for ref in post.referenced_tweets},
        engagement=post.public_metrics,
        mentions=tuple(m.id for m in (post.entities.mentions if post.entities else []) if m.id),
        rule_tags=tags,
        via=via,
    )


@dataclass(frozen=True)
class SearchPage:
    posts: list[HeardPost]
    result_count: int
    newest_id: str | None
    next_token: str | None


def read_search_page(body: Any, rule_id: str) -> SearchPage:
    """One page of ``GET /2/tweets/search/recent``, each post tagged with the rule that found it."""
    page = SearchResponse.model_validate(body)
    posts = [heard_post(p, page.includes.users, (rule_id,), "search") for p in page.data]
    meta = page.meta
    newest = meta.get("newest_id")
    token = meta.get("next_token")
    count = meta.get("result_count")
    return SearchPage(
        posts=posts,
        result_count=int(count) if isinstance(count, int) else len(posts),
        newest_id=str(newest) if newest else None,
        next_token=str(token) if token else None,
    )
