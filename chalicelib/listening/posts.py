"""The posts listening hears: each stored once per post id, counted once per rule that heard it.

Whichever way a post arrives (a filtered-stream delivery, a recent-search page), ``hear`` writes,
for each rule that heard it, one transaction: the item that says the rule heard it (the guard:
written only if absent), the post itself (created by the first rule, its ``rules`` and ``kinds``
grown by the others), the day's counters, and its author's handle entry (the console's people
search finds people known only from listening). A post by someone erased (chalicelib.people) is
stored and counted tied to nobody: a check in the same transaction sees the erasure's mark.
A post is counted for its kind once, however many rules of that kind heard it (a second guard
item per kind). So a duplicate, redelivered, concurrent or out-of-order delivery changes nothing,
and a post the search finds after the stream delivered it adds nothing either.

Not heard: the brand's own posts, posts addressed to the brand (a reply to it or a mention of it:
the account's webhook delivers those as feedback), posts already captured as feedback (a quote
of the brand's post, say), and posts deleted before they reached us (their tombstone, written by
chalicelib.feedback.erase_post). A deletion later erases the text and author (``erase_post``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from chalicelib.community import handle_entries
from chalicelib.sentiment import Classifier
from chalicelib.store import (
    GSI1,
    GSI2,
    ConditionFailed,
    Item,
    Keys,
    Page,
    Store,
    iso,
    shard_of,
    utcnow,
)
from chalicelib.store.conditions import Attr, ConditionBase
from chalicelib.x.model import HeardPost

ERASED: Item = {"text": None, "author_id": None, "author_handle": None, "author_name": None}
METRICS = ("like_count", "retweet_count", "reply_count", "quote_count")
MAX_TERMS_PER_POST = 20
AUTHOR_ERASED_CHECK = 3  # the index of the check that the post's author was not erased
SEARCH_REACH = timedelta(days=7)  # recent search finds posts of the last seven days
TERMS_KEPT_FOR = timedelta(weeks=6)  # this week and the four before it, plus one to spare
_HASHTAG = re.compile(r"(?<![\w#])#\w{2,}")
_WORD = re.compile(r"(?<![\w@#$/.])[^\W\d_][\w'\u2019-]{3,}")
_URL = re.compile(r"https?://\S+")
STOPWORDS = frozenset(
    """about above after again against because been before being below between both could does doing
    down during each from further have having here hers herself himself into itself just more most
    myself once only other ought ours ourselves over same should some such than that their theirs
    them themselves then there these they this those through under until very were what when where
    which while whom will with would your yours yourself yourselves also really like just want dont
    cant wont thats thing things still even much many make made get got going know think need""".split()  # noqa: SIM905 - a word list reads better as text
)


@dataclass
class Heard:
    """What one ``hear`` did: the rules that heard it now, those that had before, and why not."""

    rules: list[str] = field(default_factory=list)
    duplicates: int = 0
    ignored: str | None = None  # own, feedback, deleted, no_rule


def engagement_score(engagement: Mapping[str, int] | None) -> int:
    """Likes, reposts, replies and quotes, each worth one."""
    return sum(int((engagement or {}).get(name, 0)) for name in METRICS)


def counted_at(created_at: datetime, heard_at: datetime) -> datetime:
    """When a post counts in the day and week series: when it was posted, unless that is older
    than recent search reaches (7 days) or later than it was heard (a clock off, or a replayed or
    re-edited old post), then when it was heard."""
    return created_at if heard_at - SEARCH_REACH <= created_at <= heard_at else heard_at


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def terms_of(text: str) -> list[str]:
    """The hashtags and words (four letters or more, no stopwords) a trend counts, at most 20."""
    bare = _URL.sub(" ", text)
    found = [t.lower() for t in _HASHTAG.findall(bare)]
    found += [w.lower().strip("'\u2019-") for w in _WORD.findall(bare)]
    kept = [t for t in dict.fromkeys(found) if len(t) >= 4 and t not in STOPWORDS]
    return kept[:MAX_TERMS_PER_POST]


def hear(
    store: Store,
    post: HeardPost,
    rule_ids: list[str],
    rules: Mapping[str, Item],
    *,
    classifier: Classifier,
    account_id: str,
    now: datetime,
) -> Heard:
    """Store ``post`` as heard by ``rule_ids`` (those still in ``rules``), once per rule."""
    outcome = Heard()
    known = [r for r in dict.fromkeys(rule_ids) if r in rules]
    if not known:
        outcome.ignored = "no_rule"
        return outcome
    if account_id and post.author is not None and post.author.id == account_id:
        outcome.ignored = "own"
        return outcome
    if account_id and (post.in_reply_to_user_id == account_id or account_id in post.mentions):
        outcome.ignored = "feedback"  # addressed to the brand: the account's webhook captures it as feedback
        return outcome
    sentiment = classifier.score(post.text) if post.text else None
    label = sentiment.label if sentiment else "neutral"
    compound = sentiment.compound if sentiment else Decimal(0)
    stored = _post_item(post, label, compound, now)
    for rule_id in known:
        kind = str(rules[rule_id]["kind"])
        result = _hear_for_rule(store, post, stored, rule_id, kind, label, now)
        if result == "heard":
            outcome.rules.append(rule_id)
        elif result == "duplicate":
            outcome.duplicates += 1
        else:
            outcome.ignored = result
            return outcome
    _count_terms(store, post, now)
    return outcome


def _post_item(post: HeardPost, label: str, compound: Decimal, now: datetime) -> Item:
    author = post.author
    item: Item = {
        **Keys.listening_post(post.post_id),
        **Keys.listening_post_index(post.created_at, post.post_id),
        "id": post.post_id,
        "text": post.text,
        "author_id": author.id if author else None,
        "author_handle": author.handle if author else None,
        "author_name": author.name if author else None,
        "created_at": iso(post.created_at),
        "heard_at": iso(now),
        "via": post.via,
        "conversation_id": post.conversation_id,
        "sentiment": label,
        "compound": compound,
        "engagement": dict(post.engagement) if post.engagement is not None else None,
    }
    if author:
        item |= Keys.listening_author_index(author.id, post.created_at, post.post_id)
    return item


def _hear_for_rule(
    store: Store, post: HeardPost, stored: Item, rule_id: str, kind: str, label: str, now: datetime
) -> str:
    """One rule's hearing in one transaction: ``heard``, ``duplicate``, or why it was not heard.
    It first claims the kind too (most posts are heard by one rule); if another rule of the kind
    claimed it first, it tries again counting the rule alone."""
    new_kind = True
    while True:
        ops = _ops(store, post, stored, (rule_id, kind, label), new_kind, now)
        try:
            store.retrying(functools.partial(store.transact, ops))
            return "heard"
        except ConditionFailed as failed:
            if failed.index == AUTHOR_ERASED_CHECK and stored.get("author_id"):
                stored = _tied_to_nobody(stored, now)  # its author was erased: counted, never linked again
                continue
            reason = {0: "duplicate", 1: "deleted", 2: "feedback"}.get(failed.index or 0)
            if reason is not None or not new_kind:
                return reason or "duplicate"
            new_kind = False  # the kind's claim (the last operation) was taken: counted for it already


def _tied_to_nobody(stored: Item, now: datetime) -> Item:
    """The post as an erasure leaves it: no text, no author, not on anyone's page."""
    kept = {k: v for k, v in stored.items() if k not in ("GSI2PK", "GSI2SK")}
    return {**kept, **ERASED, "erased_at": iso(now)}


def _ops(
    store: Store, post: HeardPost, stored: Item, heard: tuple[str, str, str], new_kind: bool, now: datetime
) -> list[dict[str, Any]]:
    rule_id, kind, label = heard
    day = iso(counted_at(post.created_at, now))[:10]
    shard = shard_of(post.post_id, Keys.LISTENING_DAY_SHARDS)
    counts: dict[str, int] = {f"rule#{rule_id}#total": 1, f"rule#{rule_id}#{label}": 1}
    if new_kind:
        counts |= {f"kind#{kind}#total": 1, f"kind#{kind}#{label}": 1}
    heard_by: Item = {
        **Keys.listening_heard(post.post_id, rule_id),
        **Keys.listening_heard_index(rule_id, post.created_at, post.post_id),
        "post_id": post.post_id,
        "rule_id": rule_id,
        "kind": kind,
        "sentiment": label,
        "engagement_score": engagement_score(post.engagement),
        "created_at": stored["created_at"],
    }
    key = Keys.listening_post(post.post_id)
    fields = {k: v for k, v in stored.items() if k not in key and v is not None}
    grow = cast(Any, {"rules": {rule_id}, "kinds": {kind}})  # string sets: ADD joins them
    ops = [
        store.op_put(heard_by, Attr("PK").not_exists()),
        store.op_check(Keys.post_deleted(post.post_id), store.absent_condition()),
        store.op_check(Keys.feedback(f"post:{post.post_id}"), Attr("PK").not_exists()),
    ]
    author_id, handle = stored.get("author_id"), stored.get("author_handle")
    if author_id:
        # Not linked to someone erased (index 3): a post heard again must not come back to their page.
        ops.append(store.op_check(Keys.person_erased(str(author_id)), Attr("PK").not_exists()))
    ops += [
        store.op_update(key, set_if_absent=fields, add=grow),
        store.op_update(Keys.listening_day(day, shard), add=counts),
    ]
    if author_id and handle:  # found by the handle search, like people known from their feedback
        ops += [store.op_put(entry) for entry in handle_entries(str(handle), str(author_id))]
    if new_kind:
        claim: Item = {**Keys.listening_heard(post.post_id, f"kind:{kind}"), "post_id": post.post_id}
        ops.append(store.op_put(claim, Attr("PK").not_exists()))
    return ops


def _count_terms(store: Store, post: HeardPost, now: datetime) -> None:
    """The post's terms in its week's trends, once (a crash before this is finished by a redelivery)."""
    terms = terms_of(post.text)
    if not terms:
        return
    counted = counted_at(post.created_at, now)
    week = week_of(counted)
    expires = int((counted + TERMS_KEPT_FOR).timestamp())
    marker: Item = {**Keys.listening_terms_counted(post.post_id), "ttl": expires}
    ops = [store.op_put(marker, store.absent_condition())]
    ops += [store.op_update(Keys.listening_term(week, t), add={"n": 1}, set={"ttl": expires}) for t in terms]
    with contextlib.suppress(ConditionFailed):  # counted before
        store.retrying(lambda: store.transact(ops))


# --- reading and erasing ---------------------------------------------------------------------


def public_post(item: Item) -> Item:
    engagement = item.get("engagement")
    return {
        "id": item["id"],
        "text": item.get("text"),
        "author_id": item.get("author_id"),
        "author_handle": item.get("author_handle"),
        "author_name": item.get("author_name"),
        "created_at": item["created_at"],
        "heard_at": item.get("heard_at"),
        "via": item.get("via"),
        "rules": sorted(item.get("rules") or ()),
        "kinds": sorted(item.get("kinds") or ()),
        "sentiment": {"label": item["sentiment"], "compound": float(item["compound"])},
        "engagement": {str(k): int(v) for k, v in engagement.items()} if engagement else None,
        "conversation_id": item.get("conversation_id"),
        "deleted_at": item.get("deleted_at"),
    }


def list_posts(
    store: Store,
    *,
    rule: str | None = None,
    kind: str | None = None,
    sentiment: str | None = None,
    since: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> Page:
    """Newest first. With ``rule``, through that rule's partition of the index (no filter
    discards other rules' posts); otherwise the listing of every post, filtered."""
    between = (iso(since) if since else "0", "~")
    if rule:
        wanted = [Attr(n).eq(v) for n, v in (("kind", kind), ("sentiment", sentiment)) if v]
        page = store.query(
            Keys.listening_rule_posts(rule),
            index=GSI1,
            newest_first=True,
            sk_between=between,
            filter=_all(wanted),
            limit=limit,
            cursor=cursor,
        )
        found = {i["id"]: i for i in store.batch_get(Keys.listening_post(str(h["post_id"])) for h in page.items)}
        items = [public_post(found[h["post_id"]]) for h in page.items if h["post_id"] in found]
        return Page(items=items, next=page.next)
    clauses: list[ConditionBase] = []
    if kind:
        clauses.append(Attr("kinds").contains(kind))
    if sentiment:
        clauses.append(Attr("sentiment").eq(sentiment))
    page = store.query(
        Keys.LISTENING_POSTS,
        index=GSI1,
        newest_first=True,
        sk_between=between,
        filter=_all(clauses),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[public_post(i) for i in page.items], next=page.next)


def _all(clauses: Sequence[ConditionBase]) -> ConditionBase | None:
    condition: ConditionBase | None = None
    for clause in clauses:
        condition = clause if condition is None else condition & clause
    return condition


def posts_by_author(store: Store, user_id: str, *, limit: int) -> list[dict[str, Any]]:
    """One author's heard posts, newest first: at most ``limit`` (1 to 100), one query."""
    if not user_id:
        return []
    bounded = max(1, min(limit, 100))
    page = store.query(Keys.listening_author(user_id), index=GSI2, newest_first=True, limit=bounded)
    return [public_post(i) for i in page.items]


def erase_post(store: Store, post_id: str, deleted_at: datetime) -> bool:
    """A deleted post's text and author go (the counts it added stay); False if never heard."""
    try:
        store.update(
            Keys.listening_post(post_id),
            set={**ERASED, "deleted_at": iso(deleted_at)},
            remove=("GSI2PK", "GSI2SK"),
            condition=Attr("PK").exists(),
        )
    except ConditionFailed:
        return False
    return True


def erase_author_posts(
    store: Store, user_id: str, *, max_pages: int = 20, handles: set[str] | None = None
) -> tuple[int, bool]:
    """Erases the text of every post heard from ``user_id`` (X compliance: the person's deletion):
    how many, and whether it got through them all; the handles the posts carried are added to
    ``handles`` (for the search's entries). Pages of 100 followed by their cursor (an index may
    still list a post just erased), at most ``max_pages``; a call that stopped at the bound leaves
    the rest listed, for the next call."""
    erased, cursor = 0, None
    for _ in range(max_pages):
        page = store.query(Keys.listening_author(user_id), index=GSI2, limit=100, cursor=cursor)
        for item in page.items:
            if handles is not None and item.get("author_handle"):
                handles.add(str(item["author_handle"]))
            try:
                store.update(
                    Keys.listening_post(str(item["id"])),
                    set={**ERASED, "erased_at": iso(utcnow())},
                    remove=("GSI2PK", "GSI2SK"),
                    condition=Attr("PK").exists(),
                )
                erased += 1
            except ConditionFailed:
                continue
        cursor = page.next
        if cursor is None:
            return erased, True
    return erased, False


def hear_delivery(
    store: Store, posts: list[HeardPost], *, classifier: Classifier, account_id: str, now: datetime
) -> dict[str, int]:
    """A filtered-stream delivery's posts, matched to rules by their tags (``matching_rules[].tag``
    is a rule's outlet id): the webhook's tally (``applied`` rule hearings, ``duplicates``,
    ``ignored`` posts: the brand's own, feedback, deleted, or of no rule outlet has now)."""
    from chalicelib.listening.rules import all_rules

    rules = {str(r["id"]): r for r in all_rules(store)}
    tally = {"applied": 0, "duplicates": 0, "ignored": 0}
    for post in posts:
        heard = hear(store, post, list(post.rule_tags), rules, classifier=classifier, account_id=account_id, now=now)
        tally["applied"] += len(heard.rules)
        tally["duplicates"] += heard.duplicates
        tally["ignored"] += int(heard.ignored is not None)
    return tally


def take_into_inbox(store: Store, post_id: str, classifier: Classifier) -> str:
    """A post heard by a brand rule, made a feedback item (a mention) so the inbox can answer it
    publicly; the feedback item's id. Only on an operator's action: from then on it is counted
    as feedback too. Taking it again opens the same item."""
    from chalicelib.errors import Conflict, NotFound
    from chalicelib.feedback import record_feedback
    from chalicelib.listening.rules import all_rules
    from chalicelib.x.model import Interaction, XUser

    item = store.get(Keys.listening_post(post_id)) if post_id.isdigit() else None
    if item is None:
        raise NotFound("No such post was heard.")
    if "brand" not in (item.get("kinds") or ()):
        raise Conflict("Only posts about the brand (heard by a brand rule) are answered from here.")
    if not item.get("text") or not item.get("author_id"):
        raise Conflict("This post was deleted: there is nothing to answer.")
    event = Interaction(
        kind="mention",
        event_id=f"post:{post_id}",
        occurred_at=datetime.fromisoformat(str(item["created_at"])),
        author=XUser(id=str(item["author_id"]), handle=item.get("author_handle"), name=item.get("author_name")),
        text=str(item["text"]),
        post_id=post_id,
    )
    record_feedback(store, event, classifier, all_rules(store))  # False when taken before: the same item
    return event.event_id


def withdraw_post(store: Store, post_id: str) -> bool:
    """A heard post that later came as feedback (a quote or mention of the brand that the stream or
    the search heard first) leaves listening: its counts are taken back, rule by rule and kind by
    kind, each with the guard that counted it, then the post goes. A run cut short is finished by
    the next; False if the post was never heard."""
    item = store.get(Keys.listening_post(post_id), consistent=True)
    if item is None:
        return False
    heard_at = datetime.fromisoformat(str(item.get("heard_at") or item["created_at"]))
    day = iso(counted_at(datetime.fromisoformat(str(item["created_at"])), heard_at))[:10]
    counters = Keys.listening_day(day, shard_of(post_id, Keys.LISTENING_DAY_SHARDS))
    label = str(item["sentiment"])
    guards = [(f"rule#{r}", Keys.listening_heard(post_id, str(r))) for r in item.get("rules") or ()]
    guards += [(f"kind#{k}", Keys.listening_heard(post_id, f"kind:{k}")) for k in item.get("kinds") or ()]
    for prefix, guard in guards:
        back: dict[str, int | Decimal] = {f"{prefix}#total": -1, f"{prefix}#{label}": -1}
        ops = [store.op_delete(guard, Attr("PK").exists()), store.op_update(counters, add=back)]
        with contextlib.suppress(ConditionFailed):  # taken back before
            store.retrying(functools.partial(store.transact, ops))
    store.delete(Keys.listening_post(post_id))
    return True
