"""Feedback: what people reply, mention, quote, DM and like, with sentiment, keywords and the deal
it answers. Recorded once per event id (a duplicate delivery changes nothing); a deleted post's
text and author are erased everywhere, while the counts it added stay. A deletion leaves a
tombstone (kept ``TOMBSTONE_FOR``), so a post X delivers after its deletion is stored erased.

The counters every item moves (totals, five-minute buckets, a deal's counts) are sharded by event
(``Keys.FEEDBACK_SHARDS``), so the replies of a viral moment rarely meet on one item; when they
do, the transaction is tried again after a jittered pause, up to a deadline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.alerts import raise_alert
from chalicelib.community import handle_entries
from chalicelib.conversations import STATES, unwaiting_ops, waiting_ops
from chalicelib.listening.rules import matched_rule_names
from chalicelib.sentiment import Classifier, Sentiment
from chalicelib.store import GSI1, ConditionFailed, Item, Key, Keys, Page, Store, iso, pack_cursor, shard_of, summed
from chalicelib.store.conditions import Attr, ConditionBase
from chalicelib.x.events import DirectMessage, Interaction, PostDeleted, XUser

FeedbackKind = Literal["reply", "mention", "quote", "dm", "like"]
KINDS: tuple[FeedbackKind, ...] = ("reply", "mention", "quote", "dm", "like")
ANSWERABLE: tuple[FeedbackKind, ...] = ("reply", "mention", "quote", "dm")  # a like has nothing to answer
LABELS = ("positive", "neutral", "negative")
ALERT_ATTRIBUTION = timedelta(days=7)  # a DM within this time of a deal alert answers that deal
LIKE = Sentiment("positive", Decimal(0))  # a like approves; it has no text to score
TOMBSTONE_FOR = timedelta(days=30)  # X may deliver a post late; far longer than any redelivery
ERASED: Item = {"text": None, "author_id": None, "author_handle": None, "keywords": []}


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
        "keywords": matched_rule_names(text, rules) if text else [],  # the listening rules it names
        "post_id": event.post_id if isinstance(event, Interaction) else None,
        "state": "open",  # open, answered, dismissed (chalicelib.answers)
    }
    negative = sentiment.label == "negative"
    post_id = event.post_id if isinstance(event, Interaction) else None
    counters = _counter_ops(store, event, kind, sentiment, deal_id)
    if kind in ANSWERABLE:  # a like cannot be answered: it never waits for one
        counters += waiting_ops(store, event.occurred_at, event.event_id)
    recorded = _write(store, item, counters, post_id, _person_ops(store, author, event.occurred_at, event.event_id))
    if recorded is None:
        return False  # delivered before
    if negative:
        check_spike(store, event.occurred_at, spikes or SpikePolicy(), notify)
    # Only a positive item can be the most positive, and only a negative one the most negative.
    text = recorded["text"]
    if deal_id and text and sentiment.label == "positive":
        _keep_extreme(store, deal_id, item, "top_positive", Attr("top_positive.compound").lt(sentiment.compound))
    elif deal_id and text and negative:
        _keep_extreme(store, deal_id, item, "top_negative", Attr("top_negative.compound").gt(sentiment.compound))
    return True


def _counter_ops(
    store: Store, event: Interaction | DirectMessage, kind: str, sentiment: Sentiment, deal_id: str | None
) -> list[dict[str, Any]]:
    """The ADDs one item makes, all in the event's shard."""
    shard = shard_of(event.event_id, Keys.FEEDBACK_SHARDS)
    ops = [
        store.op_update(
            Keys.feeling_bucket(_bucket(event.occurred_at), shard),
            add={"total": 1, "negative": int(sentiment.label == "negative")},
            set={"ttl": int((event.occurred_at + timedelta(days=2)).timestamp())},
        ),
        store.op_update(Keys.feedback_totals(shard), add={"items": 1, f"sentiment_{sentiment.label}": 1}),
    ]
    if deal_id:
        counts: dict[str, int | Decimal] = {"items": 1, f"kind_{kind}": 1, f"sentiment_{sentiment.label}": 1}
        if event.text:
            counts |= {"scored": 1}
        counts["compound_sum"] = sentiment.compound
        ops.append(store.op_update(Keys.deal_feedback_counts(deal_id, shard), add=counts))
    # The console's sentiment-per-day chart (chalicelib/console/series.py) reads these day counters.
    day_shard = shard_of(event.event_id, Keys.SENTIMENT_DAY_SHARDS)
    ops.append(store.op_update(Keys.sentiment_day(iso(event.occurred_at)[:10], day_shard), add={sentiment.label: 1}))
    return ops


def author_entries(author_id: str, handle: str | None, at: datetime, event_id: str) -> list[Item]:
    """The item on its author's page (chalicelib.people), and their handle in the prefix search, so
    people known only from what they said are found too."""
    entries: list[Item] = [
        {**Keys.person_feedback(author_id, at, event_id), "feedback_id": event_id, "created_at": iso(at)}
    ]
    return entries + handle_entries(handle, author_id)


def _person_ops(store: Store, author: XUser, at: datetime, event_id: str) -> list[dict[str, Any]]:
    return [store.op_put(entry) for entry in author_entries(author.id, author.handle, at, event_id)]


def _write(
    store: Store, item: Item, counters: list[dict[str, Any]], post_id: str | None, person: list[dict[str, Any]]
) -> Item | None:
    """The item, its counters and its author's entries in one transaction (retried while it meets
    others); the item as stored, or None if it was there already. A post deleted before it reached
    us (its tombstone is there) is stored as a later deletion would leave it: erased, its counts
    kept, tied to nobody."""
    new = Attr("PK").not_exists()
    unless_deleted = [store.op_check(Keys.post_deleted(post_id), store.absent_condition())] if post_id else []
    try:
        store.retrying(lambda: store.transact([store.op_put(item, new), *counters, *unless_deleted, *person]))
        return item
    except ConditionFailed as failed:
        if not unless_deleted or failed.index != len(counters) + 1:
            return None
        erased = {**item, **ERASED, "deleted_at": (failed.item or {}).get("deleted_at")}
    try:
        store.retrying(lambda: store.transact([store.op_put(erased, new), *counters]))
    except ConditionFailed:
        return None
    return erased


def check_spike(store: Store, at: datetime, policy: SpikePolicy, notify: Callable[[Item], None] | None) -> bool:
    """An emotion moment: in the window ending at ``at``, the negative share of feedback passed the
    threshold. One alert per window (the window's clock hour names it); True if raised now."""
    buckets = int(policy.window / BUCKET)
    ends = _bucket(at)
    first = ends - (buckets - 1) * BUCKET
    counted: list[Item] = []  # every shard of every bucket in the window: one query, one page
    cursor = None
    while True:
        page = store.query(Keys.FEELING, sk_between=(iso(first), iso(ends) + "~"), limit=1000, cursor=cursor)
        counted.extend(page.items)
        cursor = page.next
        if cursor is None:
            break
    window = summed(counted)
    total, negative = int(window.get("total", 0)), int(window.get("negative", 0))
    if total < policy.min_items or Decimal(negative) / total < policy.negative_share:
        return False
    alert_id = f"negative-spike-{iso(at.replace(minute=0, second=0, microsecond=0))}"
    message = (
        f"{negative} of the last {total} pieces of feedback were negative ({negative * 100 // total}%) "
        f"in the {int(policy.window.total_seconds() // 60)} minutes to {at.day} {at:%b %Y, %H:%M} UTC."
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


def erase_post(store: Store, deleted: PostDeleted, received_at: datetime) -> bool:
    """Honor a deletion: the post's text and author go from its feedback item and from any rollup;
    a tombstone keeps the deletion for a post still on its way. False for a repeated deletion.

    The tombstone is written first, so a post recorded at the same moment either finds it, or was
    recorded before it and is erased here."""
    event_id = f"post:{deleted.post_id}"
    tombstone = {
        **Keys.post_deleted(deleted.post_id),
        "post_id": deleted.post_id,
        "deleted_at": iso(deleted.occurred_at),
        "ttl": int((received_at + TOMBSTONE_FOR).timestamp()),  # from now: X's event clock may be off
    }
    try:
        store.put(tombstone, condition=store.absent_condition())
        first = True
    except ConditionFailed:
        first = False  # X delivered the deletion again; erase anyway, in case the first run died here
    found = store.get(Keys.feedback(event_id), consistent=True)
    if found is None:
        return first  # not captured (yet)
    erase_item(store, found, {"deleted_at": iso(deleted.occurred_at)})
    return first


def erase_item(store: Store, item: Item, marks: Item) -> None:
    """A feedback item's text and author go, with its entry on the author's page and its places on
    the waiting lists (nobody can answer a deleted post or an erased person: one transaction), then
    from its deal's rollup if it was the deal's most positive or negative; its counts stay."""
    event_id = str(item["id"])
    ops = [
        store.op_update(Keys.feedback(event_id), set={**ERASED, **marks}, condition=Attr("PK").exists()),
        *unwaiting_ops(store, item),
    ]
    if item.get("author_id"):
        at = datetime.fromisoformat(str(item["created_at"]))
        ops.append(store.op_delete(Keys.person_feedback(str(item["author_id"]), at, event_id)))
    try:
        store.retrying(lambda: store.transact(ops))
    except ConditionFailed:
        return  # the item is gone: nothing to erase
    deal_id = item.get("deal_id")
    if deal_id:
        for name in ("top_positive", "top_negative"):
            with contextlib.suppress(ConditionFailed):
                store.update(
                    Keys.deal_feedback(str(deal_id)), remove=(name,), condition=Attr(f"{name}.id").eq(event_id)
                )


class FeedbackFilter(BaseModel):
    """``GET /feedback``'s filters (paging is the listing's own business)."""

    model_config = ConfigDict(extra="ignore")

    deal_id: str | None = Field(default=None, max_length=64)
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    kind: FeedbackKind | None = None
    since: AwareDatetime | None = None
    state: Literal["open", "answered", "dismissed"] | None = None


READ_STEP = 100  # items one query of a longer read reads


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
    kinds: tuple[str, ...] = (),
    limit: int,
    cursor: str | None,
    read_up_to: int = 0,
) -> Page:
    """Feedback newest first, filtered; ``kinds`` keeps only those kinds (the console's "needs an
    answer" leaves likes out, whose stored state is ``open`` though nothing waits).

    DynamoDB filters after it reads, so one query of ``limit`` items returns those that match. With
    ``read_up_to``, the read goes on (a first query of ``limit``, then queries of ``READ_STEP``)
    until ``limit`` match or that many items were read: a filtered page is full unless what it asks
    for is rarer than that (likes outnumbering replies, say). A page cut short of what was read
    ends at its last item."""
    condition = _feedback_condition(deal_id, sentiment, kind, keyword, author_id, state, kinds)
    budget = max(read_up_to, limit)
    found: list[Item] = []
    read = 0
    while True:
        # A page's worth first (most pages match at once), then larger reads while it fills
        step = limit if read == 0 else min(budget - read, READ_STEP)
        page = store.query(
            Keys.FEEDBACK,
            index=GSI1,
            newest_first=True,
            sk_between=(iso(since) if since else "0", iso(until) if until else "~"),
            filter=condition,
            limit=step,
            cursor=cursor,
        )
        read += step
        found.extend(page.items)
        cursor = page.next
        if len(found) >= limit:
            kept = found[:limit]
            after = _cursor_after(kept[-1]) if len(found) > limit else cursor
            return Page(items=[public_feedback(i) for i in kept], next=after)
        if cursor is None or read >= budget:
            return Page(items=[public_feedback(i) for i in found], next=cursor)


def _feedback_condition(
    deal_id: str | None,
    sentiment: str | None,
    kind: str | None,
    keyword: str | None,
    author_id: str | None,
    state: str | None,
    kinds: tuple[str, ...],
) -> ConditionBase | None:
    wanted: list[ConditionBase] = [
        Attr(name).eq(value)
        for name, value in (("deal_id", deal_id), ("sentiment", sentiment), ("kind", kind), ("author_id", author_id))
        if value
    ]
    if kinds:
        wanted.append(Attr("kind").is_in(list(kinds)))
    if keyword:
        wanted.append(Attr("keywords").contains(keyword))
    if state in STATES:  # items recorded before states existed are open
        wanted.append(
            Attr("state").eq(state) | Attr("state").not_exists() if state == "open" else Attr("state").eq(state)
        )
    condition: ConditionBase | None = None
    for clause in wanted:
        condition = clause if condition is None else condition & clause
    return condition


def _cursor_after(item: Item) -> str:
    """The cursor of the listing's page after ``item``: its key there, as DynamoDB's
    LastEvaluatedKey would have said had the page ended at it."""
    feedback_id = str(item["id"])
    names = {
        **Keys.feedback(feedback_id),
        **Keys.feedback_index(datetime.fromisoformat(str(item["created_at"])), feedback_id),
    }
    return pack_cursor({name: item[name] for name in names})


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


def deal_feedback_keys(deal_id: str) -> list[Key]:
    """A deal's feedback: the extremes' item and every shard of its counts."""
    shards = [Keys.deal_feedback_counts(deal_id, n) for n in range(Keys.FEEDBACK_SHARDS)]
    return [Keys.deal_feedback(deal_id), *shards]


def _answer(answer: Item | None) -> Item | None:
    return {name: answer.get(name) for name in ("text", "by", "at")} if answer else None


def deal_rollup(store: Store, deal_id: str) -> dict[str, Any]:
    found = store.batch_get(deal_feedback_keys(deal_id))
    extremes = next((i for i in found if i["SK"] == Keys.deal_feedback(deal_id)["SK"]), {})
    item = {**extremes, **summed(found)}
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
