"""Feedback: what people reply, mention, quote, DM and like, with sentiment, keywords and the deal
it answers. Recorded once per event id (a duplicate delivery changes nothing); a deleted post's
text and author are erased everywhere, while the counts it added stay.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, ConditionBase
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.alerts import raise_alert
from chalicelib.answers import STATES, waiting_ops
from chalicelib.keywords import matched_terms
from chalicelib.sentiment import Classifier, Sentiment
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Page, Store, iso
from chalicelib.x.events import DirectMessage, Interaction, PostDeleted, XUser

FeedbackKind = Literal["reply", "mention", "quote", "dm", "like"]
KINDS: tuple[FeedbackKind, ...] = ("reply", "mention", "quote", "dm", "like")
LABELS = ("positive", "neutral", "negative")
ALERT_ATTRIBUTION = timedelta(days=7)  # a DM within this time of a deal alert answers that deal
LIKE = Sentiment("positive", Decimal(0))  # a like approves; it has no text to score


def deal_answered(store: Store, event: Interaction | DirectMessage) -> str | None:
    if isinstance(event, Interaction):
        if not event.answers:
            return None
        found = store.get(Keys.post_of_deal(event.answers))
        return str(found["deal_id"]) if found else None
    subscriber = store.get(Keys.subscriber(event.sender.id)) or {}
    alerted_at = subscriber.get("last_alert_at")
    if alerted_at and event.occurred_at - datetime.fromisoformat(str(alerted_at)) <= ALERT_ATTRIBUTION:
        return str(subscriber["last_alert_deal_id"])
    return None


@dataclass(frozen=True)
class SpikePolicy:
    window: timedelta = timedelta(minutes=60)
    negative_share: Decimal = Decimal("0.40")
    min_items: int = 10


BUCKET = timedelta(minutes=5)


def _bucket(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def record_feedback(
    store: Store,
    event: Interaction | DirectMessage,
    classifier: Classifier,
    rules: list[Item],
    spikes: SpikePolicy | None = None,
    notify: Callable[[Item], None] | None = None,
) -> bool:
    """Record one interaction or DM once; False for a duplicate delivery."""
    kind: FeedbackKind = event.kind if isinstance(event, Interaction) else "dm"
    author: XUser = event.author if isinstance(event, Interaction) else event.sender
    text = event.text
    sentiment = classifier.score(text) if text else LIKE
    deal_id = deal_answered(store, event)
    item: Item = {
        **Keys.feedback(event.event_id),
        **Keys.feedback_index(event.occurred_at, event.event_id),
        "id": event.event_id,
        "kind": kind,
        "author_id": author.id,
        "author_handle": author.handle,
        "text": text,
        "created_at": iso(event.occurred_at),
        "deal_id": deal_id,
        "sentiment": sentiment.label,
        "compound": sentiment.compound,
        "keywords": matched_terms(text, rules) if text else [],
        "post_id": event.post_id if isinstance(event, Interaction) else None,
        "state": "open",  # open, answered, dismissed (chalicelib.answers)
    }
    negative = sentiment.label == "negative"
    ops = [
        store.op_put(item, Attr("PK").not_exists()),
        store.op_update(
            Keys.feeling_bucket(_bucket(event.occurred_at)),
            add={"total": 1, "negative": int(negative)},
            set={"ttl": int((event.occurred_at + timedelta(days=2)).timestamp())},
        ),
        store.op_update(Keys.feedback_totals(), add={"items": 1, f"sentiment_{sentiment.label}": 1}),
    ]
    if deal_id:
        counts = {"items": 1, f"kind_{kind}": 1, f"sentiment_{sentiment.label}": 1}
        if text:
            counts |= {"scored": 1}
        ops.append(store.op_update(Keys.deal_feedback(deal_id), add={**counts, "compound_sum": sentiment.compound}))
    # The console's sentiment-per-day chart (chalicelib/console/series.py) reads these day counters.
    shard = int.from_bytes(hashlib.blake2b(event.event_id.encode(), digest_size=4).digest()) % Keys.SENTIMENT_DAY_SHARDS
    ops.append(store.op_update(Keys.sentiment_day(iso(event.occurred_at)[:10], shard), add={sentiment.label: 1}))
    if kind != "like":  # a like cannot be answered: it never waits for one
        ops += waiting_ops(store, event.occurred_at, event.event_id)
    try:
        store.transact(ops)
    except ConditionFailed:
        return False  # delivered before
    if negative:
        check_spike(store, event.occurred_at, spikes or SpikePolicy(), notify)
    # Only a positive item can be the most positive, and only a negative one the most negative.
    if deal_id and text and sentiment.label == "positive":
        _keep_extreme(store, deal_id, item, "top_positive", Attr("top_positive.compound").lt(sentiment.compound))
    elif deal_id and text and negative:
        _keep_extreme(store, deal_id, item, "top_negative", Attr("top_negative.compound").gt(sentiment.compound))
    return True


def check_spike(store: Store, at: datetime, policy: SpikePolicy, notify: Callable[[Item], None] | None) -> bool:
    """An emotion moment: in the window ending at ``at``, the negative share of feedback passed the
    threshold. One alert per window (the window's clock hour names it); True if raised now."""
    buckets = int(policy.window / BUCKET)
    ends = _bucket(at)
    keys = [Keys.feeling_bucket(ends - k * BUCKET) for k in range(buckets)]
    counted = store.batch_get(keys)
    total = sum(int(b.get("total", 0)) for b in counted)
    negative = sum(int(b.get("negative", 0)) for b in counted)
    if total < policy.min_items or Decimal(negative) / total < policy.negative_share:
        return False
    alert_id = f"negative-spike-{iso(at.replace(minute=0, second=0, microsecond=0))}"
    message = (
        f"{negative} of the last {total} pieces of feedback were negative ({negative * 100 // total}%) "
        f"in the {int(policy.window.total_seconds() // 60)} minutes to {iso(at)}."
    )
    return raise_alert(
        store,
        alert_id=alert_id,
        kind="negative_spike",
        message=message,
        raised_at=at,
        notify=notify,
        negative=negative,
        total=total,
    )


def _keep_extreme(store: Store, deal_id: str, item: Item, name: str, better: ConditionBase) -> None:
    summary = {
        "id": item["id"],
        "compound": item["compound"],
        "text": item["text"],
        "author_handle": item["author_handle"],
    }
    with contextlib.suppress(ConditionFailed):  # not more extreme than the one kept
        store.update(Keys.deal_feedback(deal_id), set={name: summary}, condition=Attr(name).not_exists() | better)


def erase_post(store: Store, deleted: PostDeleted) -> bool:
    """Honor a deletion: the post's text and author go from its feedback item and from any rollup."""
    event_id = f"post:{deleted.post_id}"
    try:
        erased = store.update(
            Keys.feedback(event_id),
            set={
                "text": None,
                "author_id": None,
                "author_handle": None,
                "keywords": [],
                "deleted_at": iso(deleted.occurred_at),
            },
            condition=Attr("PK").exists(),
        )
    except ConditionFailed:
        return False  # never captured
    deal_id = erased.get("deal_id")
    if deal_id:
        for name in ("top_positive", "top_negative"):
            with contextlib.suppress(ConditionFailed):
                store.update(
                    Keys.deal_feedback(str(deal_id)), remove=(name,), condition=Attr(f"{name}.id").eq(event_id)
                )
    return True


class FeedbackFilter(BaseModel):
    """``GET /feedback``'s filters (paging is the listing's own business)."""

    model_config = ConfigDict(extra="ignore")

    deal_id: str | None = Field(default=None, max_length=64)
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    kind: FeedbackKind | None = None
    since: AwareDatetime | None = None
    state: Literal["open", "answered", "dismissed"] | None = None


def list_feedback(
    store: Store,
    *,
    deal_id: str | None = None,
    sentiment: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    keyword: str | None = None,
    author_id: str | None = None,
    state: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page:
    wanted: list[ConditionBase] = [
        Attr(name).eq(value)
        for name, value in (("deal_id", deal_id), ("sentiment", sentiment), ("kind", kind), ("author_id", author_id))
        if value
    ]
    if keyword:
        wanted.append(Attr("keywords").contains(keyword))
    if state in STATES:  # items recorded before states existed are open
        wanted.append(
            Attr("state").eq(state) | Attr("state").not_exists() if state == "open" else Attr("state").eq(state)
        )
    condition: ConditionBase | None = None
    for clause in wanted:
        condition = clause if condition is None else condition & clause
    page = store.query(
        Keys.FEEDBACK,
        index=GSI1,
        newest_first=True,
        sk_between=(iso(since) if since else "0", iso(until) if until else "~"),
        filter=condition,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[public_feedback(i) for i in page.items], next=page.next)


def public_feedback(item: Item) -> Item:
    return {
        "id": item["id"],
        "kind": item["kind"],
        "author_id": item.get("author_id"),
        "author_handle": item.get("author_handle"),
        "text": item.get("text"),
        "created_at": item["created_at"],
        "deal_id": item.get("deal_id"),
        "sentiment": {"label": item["sentiment"], "compound": float(item["compound"])},
        "keywords": list(item.get("keywords") or []),
        "state": item.get("state") or "open",
        "answer": _answer(item.get("answer")),
    }


def _answer(answer: Item | None) -> Item | None:
    return {name: answer.get(name) for name in ("text", "by", "at")} if answer else None


def deal_rollup(store: Store, deal_id: str) -> dict[str, Any]:
    item = store.get(Keys.deal_feedback(deal_id)) or {}
    scored = int(item.get("scored", 0))
    mean = Decimal(item.get("compound_sum", 0)) / scored if scored else None

    def extreme(name: str) -> Item | None:
        kept = item.get(name)
        return {**kept, "compound": float(kept["compound"])} if kept else None

    return {
        "items": int(item.get("items", 0)),
        "by_kind": {kind: int(item.get(f"kind_{kind}", 0)) for kind in KINDS},
        "by_sentiment": {label: int(item.get(f"sentiment_{label}", 0)) for label in LABELS},
        "mean_compound": float(round(mean, 4)) if mean is not None else None,
        "top_positive": extreme("top_positive"),
        "top_negative": extreme("top_negative"),
    }
