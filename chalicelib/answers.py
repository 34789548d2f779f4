"""Answering people: a public reply to a reply, mention or quote, a DM to a DM, each sent on X
exactly once, and an unknown outcome looked up, never resent. Composing the answer is
chalicelib.answer_texts's; recording and looking up what became of it chalicelib.answer_outcomes's;
the item's conversation state (``open``, ``answered``, ``dismissed``) chalicelib.conversations's.
All are re-exported here, for the routes and the console.

Exactly once. An answer is an item claimed under its idempotency key (``Keys.answer``) in the same
transaction that takes the feedback item's answering lock (``answering_key``): the lock is free
only while the item is not being answered and, unless the operator asks to answer ``again``, not
answered yet. So two keys never answer one item at once, and one item is answered once by default.
A repeat of a key returns what the first request did (the same 201 body) and sends nothing.

Then one call to X, whose error says what is known (chalicelib.publishing): sent -> the answer, its
fee, the item's state and its response time in one transaction conditioned on the claim, so the
fee is counted once; certainly not sent -> the claim is undone (the key may be used again);
refused -> ``failed``; unknown (a timeout, a 5xx, or a run that died after the call) ->
``checking``: never sent again, looked up instead (chalicelib.answer_outcomes), then ``unknown``
(the lock is freed; answering again is the operator's explicit choice, with a new key).

DMs go out directly, not through the DM pacer's queue (an answer is a conversation in real time),
but each takes a token from the pacer's own 15-minute and daily windows in its claim
(chalicelib.dm_budget): answers and alerts share X's DM budget, and an answer that would exceed
it is refused (409) before it is sent.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from chalicelib.answer_outcomes import (
    CHECKING,
    FAILED,
    SENDING,
    SENT,
    UNKNOWN,
    AnswerPolicy,
    answers_of,
    check_answers,
    public_claim,
    publish_key_of,
    record_answer,
    resolve,
    settle,
)
from chalicelib.answer_texts import (
    MAX_DM_LENGTH,
    PUBLIC,
    RECENT_TEXT_LIFETIME,
    ReplyRequest,
    answerable,
    check_key,
    check_text,
    new_key,
    recently_sent,
    their_post,
)
from chalicelib.conversations import (
    ANSWERED,
    DISMISSED,
    OPEN,
    STATES,
    AnswerBusy,
    dismiss,
    reopen_conversation,
    waiting_ops,
)
from chalicelib.dm_budget import give_back_tokens, take_tokens
from chalicelib.errors import Conflict, NotFound, Unprocessable
from chalicelib.observability import logger
from chalicelib.publishing import (
    DuplicateContent,
    NotSent,
    OutcomeUnknown,
    Publisher,
    PublishError,
    RateLimited,
)
from chalicelib.store import ConditionFailed, Item, Keys, Store, TransactionConflict, iso
from chalicelib.store.conditions import Attr, ConditionBase

__all__ = [
    "ANSWERED",
    "CHECKING",
    "DISMISSED",
    "FAILED",
    "MAX_DM_LENGTH",
    "OPEN",
    "PUBLIC",
    "RECENT_TEXT_LIFETIME",
    "SENDING",
    "SENT",
    "STATES",
    "UNKNOWN",
    "AnswerBusy",
    "AnswerPolicy",
    "Answered",
    "ReplyRequest",
    "answer_feedback",
    "answerable",
    "answers_of",
    "check_answers",
    "check_key",
    "check_text",
    "dismiss",
    "new_key",
    "public_claim",
    "publish_key_of",
    "recently_sent",
    "reopen_conversation",
    "resolve",
    "their_post",
    "waiting_ops",
]


@dataclass(frozen=True)
class Answered:
    """What ``answer_feedback`` did: ``status`` 201 (answered), or 202 (its outcome is being looked up)."""

    status: int
    body: Item


def answer_feedback(
    store: Store,
    publisher: Publisher,
    policy: AnswerPolicy,
    feedback_id: str,
    *,
    text: str,
    by: str,
    key: str,
    now: datetime,
    again: bool = False,
) -> Answered:
    """Answer one feedback item once per ``key``; see the module's docstring."""
    claim = store.get(Keys.answer(feedback_id, key), consistent=True)
    if claim is not None:
        return _repeat(store, publisher, policy, claim, now)
    item = store.get(Keys.feedback(feedback_id), consistent=True)
    if item is None:
        raise NotFound("no such feedback item")
    kind = answerable(item)
    text = check_text(kind, text)
    claim = _claim(store, policy, item, kind, text, by=by, key=key, now=now, again=again)
    return _send(store, publisher, policy, claim, now)


def _claim(
    store: Store,
    policy: AnswerPolicy,
    item: Item,
    kind: str,
    text: str,
    *,
    by: str,
    key: str,
    now: datetime,
    again: bool,
) -> Item:
    feedback_id = str(item["id"])
    claim: Item = {
        **Keys.answer(feedback_id, key),
        **Keys.answer_checking_index(now + policy.lease, feedback_id, key),  # found if the run dies
        "feedback_id": feedback_id,
        "key": key,
        "kind": kind,
        "text": text,
        "to": str(item["author_id"]),
        "in_reply_to": their_post(item) if kind == "reply" else None,
        "by": by,
        "status": SENDING,
        "attempted_at": iso(now),
        "received_at": str(item["created_at"]),
        "waiting_since": str(item.get("waiting_since") or item["created_at"]),  # a reopened item: since then
        "first": not item.get("first_answer_at"),
        "checks": 0,
    }
    free: ConditionBase = Attr("answering_key").not_exists()
    if not again:
        free = free & Attr("first_answer_at").not_exists()
    ops = [
        store.op_put(claim, Attr("PK").not_exists()),
        store.op_update(Keys.feedback(feedback_id), set={"answering_key": key}, condition=Attr("PK").exists() & free),
    ]
    if kind == "dm":
        ops += take_tokens(store, policy.dm_budget, now)
    try:
        store.transact(ops)
    except ConditionFailed as exc:
        if exc.index == 0:
            raise AnswerBusy("this answer is already being sent: repeat the request to see it") from None
        if exc.index == 1:
            if (exc.item or {}).get("answering_key"):
                raise AnswerBusy("another answer to this item is being sent") from None
            raise Conflict(
                "this item is answered already; answer again explicitly (again: true)", fields={"again": "false"}
            ) from None
        raise Conflict(
            "the DM budget of this window is spent: try again later", fields={"dm_budget": "spent"}
        ) from None
    except TransactionConflict:
        raise AnswerBusy("the item met a concurrent change: repeat the request") from None
    return claim


def _send(store: Store, publisher: Publisher, policy: AnswerPolicy, claim: Item, now: datetime) -> Answered:
    text, publish_key = str(claim["text"]), publish_key_of(claim)
    try:
        if claim["kind"] == "dm":
            published = publisher.send_dm(str(claim["to"]), text, key=publish_key)
        else:
            published = publisher.reply(
                text, key=publish_key, in_reply_to=str(claim["in_reply_to"]), to=str(claim["to"])
            )
    except DuplicateContent:
        found = publisher.find_post(text, key=publish_key)  # ours from a lost run, or an equal earlier text
        if found is None:
            _fail(store, claim, "X refused the text as identical to an earlier post")
            raise Conflict(
                "X refuses a reply identical to an earlier post: change the text", fields={"text": "duplicate"}
            ) from None
        published = found
    except OutcomeUnknown as exc:
        logger.warning("answer outcome unknown: to be looked up", extra={"feedback_id": claim["feedback_id"]})
        checking = _move(store, claim, CHECKING, now + policy.check_every, str(exc))
        return Answered(202, public_claim(checking))
    except (NotSent, RateLimited) as exc:
        _undo(store, claim, now)
        raise Conflict(f"X was not reached ({exc}): nothing was sent; try again", fields={"x": "not_sent"}) from None
    except PublishError as exc:
        _fail(store, claim, str(exc))
        raise Unprocessable(f"X refused the answer: {exc}", fields={"x": "refused"}) from None
    return Answered(201, record_answer(store, policy, claim, published, now))


def _move(store: Store, claim: Item, status: str, due: datetime, error: str) -> Item:
    feedback_id, key = str(claim["feedback_id"]), str(claim["key"])
    changes = {"status": status, "last_error": error[:500], **Keys.answer_checking_index(due, feedback_id, key)}
    with contextlib.suppress(ConditionFailed):
        store.update(Keys.answer(feedback_id, key), set=changes, condition=Attr("status").eq(claim["status"]))
    return {**claim, **changes}


def _undo(store: Store, claim: Item, now: datetime) -> None:
    """Certainly not sent: the claim, the lock and the DM tokens go, so the key may be used again."""
    feedback_id, key = str(claim["feedback_id"]), str(claim["key"])
    ops = [
        store.op_delete(Keys.answer(feedback_id, key)),
        store.op_update(Keys.feedback(feedback_id), remove=("answering_key",), condition=Attr("answering_key").eq(key)),
    ]
    if claim["kind"] == "dm":
        ops += give_back_tokens(store, datetime.fromisoformat(str(claim["attempted_at"])))
    try:
        store.transact(ops)
    except (ConditionFailed, TransactionConflict):
        logger.warning("answer claim not undone: it is looked up instead", extra={"feedback_id": feedback_id})


def _fail(store: Store, claim: Item, error: str) -> None:
    settle(store, claim, FAILED, error)


def _repeat(store: Store, publisher: Publisher, policy: AnswerPolicy, claim: Item, now: datetime) -> Answered:
    """The same key again: what the first request did, sending nothing; an unknown outcome is
    looked up (never resent)."""
    status = str(claim["status"])
    if status == SENT:
        return Answered(201, dict(claim["reply"]))
    if status == FAILED:
        raise Unprocessable(f"this answer was refused: {claim.get('last_error', '')}", fields={"x": "refused"})
    if status == UNKNOWN:
        raise Conflict(
            "this answer's outcome is unknown (not found on X): answer again with a new key if it should go",
            fields={"x": "unknown"},
        )
    lease_over = datetime.fromisoformat(str(claim["GSI1SK"]).split("#", 1)[0]) <= now
    if status == SENDING and not lease_over:
        raise AnswerBusy("this answer is being sent: repeat the request in a moment")
    resolved = resolve(store, publisher, policy, claim, now)
    return Answered(201, resolved) if resolved is not None else Answered(202, public_claim(claim))
