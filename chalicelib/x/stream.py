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

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from chalicelib.x.fields import Fields, refused
from chalicelib.x.model import Delivery, HeardPost, MalformedPayload, XUser, snowflake_time

_POST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")  # X's are digits; the pattern keeps keys and URLs safe


def is_stream_delivery(payload: dict[str, Any]) -> bool:
    return "matching_rules" in payload


def read_stream_delivery(payload: dict[str, Any]) -> Delivery:
    """One filtered-stream delivery: its post, tagged with the rules it matched (by their tags)."""
    delivery = Fields(payload)
    post = delivery.obj("data")
    users = _users(delivery)
    if "matching_rules" not in payload:
        raise refused("matching_rules", "field required")
    rules = [(rule.optional_text("id"), rule.optional_text("tag")) for rule in delivery.objects("matching_rules")]
    tags = tuple(dict.fromkeys(tag for _, tag in rules if tag))
    return Delivery(account_id=None, stream=True, heard=[heard_post(post, users, tags, "stream")])


def _users(body: Fields) -> list[XUser]:
    includes = Fields(body.data.get("includes", {}), body.at("includes"))
    return [
        XUser(id=u.text("id"), handle=u.optional_text("username"), name=u.optional_text("name"))
        for u in includes.objects("users")
    ]


def _time_of(post_id: str) -> datetime:
    if not post_id.isdigit() or len(post_id) > 19:
        raise MalformedPayload("a post without created_at, and an id that carries no time")
    return snowflake_time(post_id)


def _counts(post: Fields) -> dict[str, int] | None:
    """public_metrics: X adds metrics freely; keep the whole numbers it sends that DynamoDB's numbers hold."""
    metrics = post.optional_raw("public_metrics")
    if metrics is None:
        return None
    return {str(k): v for k, v in metrics.items() if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63}


def heard_post(post: Fields, users: list[XUser], tags: tuple[str, ...], via: Literal["stream", "search"]) -> HeardPost:
    post_id = post.text("id")
    if not _POST_ID.fullmatch(post_id):
        raise refused(post.at("id"), "should be 1 to 64 letters, digits, _ or -")
    author_id = post.optional_text("author_id")
    created_at = post.moment("created_at") if post.data.get("created_at") is not None else _time_of(post_id)
    entities = post.optional_obj("entities")
    mentions = [m.optional_text("id") for m in entities.objects("mentions")] if entities else []
    author = None
    if author_id:
        author = next((u for u in users if u.id == author_id), XUser(id=author_id))
    return HeardPost(
        post_id=post_id,
        text=post.text("text", default=""),
        created_at=created_at,
        author=author,
        conversation_id=post.optional_text("conversation_id"),
        in_reply_to_user_id=post.optional_text("in_reply_to_user_id"),
        referenced={ref.text("type"): ref.text("id") for ref in post.objects("referenced_tweets")},
        engagement=_counts(post),
        mentions=tuple(m for m in mentions if m),
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
    page = Fields(body)
    users = _users(page)
    posts = [heard_post(p, users, (rule_id,), "search") for p in page.objects("data")]
    meta = page.raw("meta")
    newest = meta.get("newest_id")
    token = meta.get("next_token")
    count = meta.get("result_count")
    return SearchPage(
        posts=posts,
        result_count=int(count) if isinstance(count, int) else len(posts),
        newest_id=str(newest) if newest else None,
        next_token=str(token) if token else None,
    )
