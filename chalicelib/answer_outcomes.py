"""What became of an answer: recorded once when it is sent (the answer, the item's state, the fee
and the response time in one transaction), settled when it is refused or never found, and looked up,
never resent, when its outcome is unknown (``find_post`` for a reply, ``find_dm`` for a DM): by a
repeat of the key, or by the ``check_answers`` schedule, ``max_checks`` times, then ``unknown``."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.answer_texts import RECENT_TEXT_LIFETIME
from chalicelib.conversations import ANSWERED
from chalicelib.dm_budget import DmBudget
from chalicelib.fees import FeeSchedule, charge_op
from chalicelib.observability import logger
from chalicelib.posts import fingerprint
from chalicelib.publishing import Published, Publisher, PublishError
from chalicelib.response_times import record_op
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Store, TransactionConflict, iso
from chalicelib.store.conditions import Attr

SENDING, CHECKING, SENT, UNKNOWN, FAILED = "sending", "checking", "sent", "unknown", "failed"


@dataclass(frozen=True)
class AnswerPolicy:
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    dm_budget: DmBudget = field(default_factory=DmBudget)
    lease: timedelta = timedelta(minutes=2)  # an answer still ``sending`` after this died with its run
    check_every: timedelta = timedelta(minutes=2)
    max_checks: int = 3


def publish_key_of(claim: Item) -> str:
    return f"answer-{claim['feedback_id']}-{claim['key']}"


def public_claim(claim: Item) -> Item:
    return {
        "feedback_id": claim["feedback_id"],
        "idempotency_key": claim["key"],
        "kind": claim["kind"],
        "text": claim["text"],
        "to": claim["to"],
        "in_reply_to": claim.get("in_reply_to"),
        "by": claim["by"],
        "status": claim["status"],
    }


def record_answer(store: Store, policy: AnswerPolicy, claim: Item, published: Published, now: datetime) -> Item:
    """Sent: the answer, the item's state, the fee and the response time, in one transaction."""
    feedback_id, key, text = str(claim["feedback_id"]), str(claim["key"]), str(claim["text"])
    answered_at = published.created_at
    reply = {
        **public_claim(claim),
        "status": SENT,
        "state": ANSWERED,
        "x_id": published.id,
        "at": iso(answered_at),
    }
    answer = {"text": text, "by": str(claim["by"]), "at": iso(answered_at), "kind": claim["kind"], "x_id": published.id}
    fee = policy.fees.dm if claim["kind"] == "dm" else policy.fees.for_post(text)
    received = datetime.fromisoformat(str(claim["received_at"]))
    waiting = datetime.fromisoformat(str(claim.get("waiting_since") or claim["received_at"]))
    ops = [
        store.op_update(
            Keys.answer(feedback_id, key),
            set={"status": SENT, "x_id": published.id, "reply": reply},
            remove=("GSI1PK", "GSI1SK"),
            condition=Attr("status").is_in([SENDING, CHECKING]),
        ),
        store.op_update(
            Keys.feedback(feedback_id),
            set={"state": ANSWERED, "answer": answer},
            set_if_absent={"first_answer_at": iso(answered_at), "first_answer_by": str(claim["by"])},
            remove=("answering_key",),
        ),
        store.op_delete(Keys.waiting(Keys.WAITING, waiting, feedback_id)),
        store.op_delete(Keys.waiting(Keys.WAITING_UNALERTED, waiting, feedback_id)),
        charge_op(store, fee, "dms" if claim["kind"] == "dm" else "posts", now),
        # The answer on its person's page (chalicelib.people): our text, never theirs.
        store.op_put(
            {
                **Keys.person_answer(str(claim["to"]), answered_at, feedback_id, key),
                **answer,
                "feedback_id": feedback_id,
            }
        ),
    ]
    if claim["kind"] == "dm":
        ops.append(store.op_put({**Keys.dm_conversation(str(claim["to"])), "feedback_id": feedback_id}))
    else:
        ops.append(store.op_put({**Keys.answered_post(published.id), "feedback_id": feedback_id}))
        expires = int((answered_at + RECENT_TEXT_LIFETIME).timestamp())
        ops.append(store.op_put({**Keys.recent_reply_text(fingerprint(text)), "text": text, "ttl": expires}))
    if claim.get("first"):
        ops += record_op(store, received=received, answered=answered_at, by=str(claim["by"]), feedback_id=feedback_id)
    for _ in range(3):
        try:
            store.transact(ops)
        except ConditionFailed:
            break  # recorded already (a concurrent look-up found it)
        except TransactionConflict:
            continue  # a concurrent write on one of these items; if it persists, the look-ups record it
        break
    logger.info("answered", extra={"feedback_id": feedback_id, "kind": claim["kind"]})
    return reply


def settle(store: Store, claim: Item, status: str, error: str) -> None:
    """Not sent (refused), or never found: the claim says so and the item's lock is freed."""
    feedback_id, key = str(claim["feedback_id"]), str(claim["key"])
    with contextlib.suppress(ConditionFailed, TransactionConflict):
        store.transact(
            [
                store.op_update(
                    Keys.answer(feedback_id, key),
                    set={"status": status, "last_error": error[:500]},
                    remove=("GSI1PK", "GSI1SK"),
                    condition=Attr("status").is_in([SENDING, CHECKING]),
                ),
                store.op_update(Keys.feedback(feedback_id), remove=("answering_key",)),
            ]
        )


def resolve(store: Store, publisher: Publisher, policy: AnswerPolicy, claim: Item, now: datetime) -> Item | None:
    """Look for an answer whose outcome is unknown: record it if found, else count the look-up."""
    publish_key, text = publish_key_of(claim), str(claim["text"])
    try:
        if claim["kind"] == "dm":
            since = datetime.fromisoformat(str(claim["attempted_at"]))
            found = publisher.find_dm(str(claim["to"]), text, key=publish_key, since=since)
        else:
            found = publisher.find_post(text, key=publish_key)
    except PublishError as exc:
        logger.warning("answer look-up failed", extra={"feedback_id": claim["feedback_id"], "error": str(exc)})
        return None
    if found is not None:
        return record_answer(store, policy, claim, found, now)
    checks = int(claim.get("checks", 0)) + 1
    if checks >= policy.max_checks:
        settle(store, claim, UNKNOWN, f"not found after {checks} look-ups; never resent")
        logger.error("answer outcome unknown: never resent", extra={"feedback_id": claim["feedback_id"]})
        return None
    feedback_id, key = str(claim["feedback_id"]), str(claim["key"])
    with contextlib.suppress(ConditionFailed):
        store.update(
            Keys.answer(feedback_id, key),
            set={
                "status": CHECKING,
                "checks": checks,
                **Keys.answer_checking_index(now + policy.check_every, feedback_id, key),
            },
            condition=Attr("status").is_in([SENDING, CHECKING]) & Attr("checks").eq(int(claim.get("checks", 0))),
        )
    return None


def check_answers(store: Store, publisher: Publisher, policy: AnswerPolicy, now: datetime, limit: int = 10) -> int:
    """The schedule's part: answers whose outcome is unknown (or whose run died), due for a look-up."""
    due = store.query(Keys.ANSWERS_CHECKING, index=GSI1, sk_between=("0", iso(now) + "~"), limit=limit)
    found = 0
    for claim in due.items:
        if claim.get("status") in (SENDING, CHECKING) and resolve(store, publisher, policy, claim, now) is not None:
            found += 1
    return found


def answers_of(store: Store, feedback_id: str, limit: int = 20) -> list[Item]:
    """An item's answers (a thread holds a few): each claim's public form, in key order."""
    page = store.query(Keys.answers_partition(feedback_id), limit=limit)
    return [{**public_claim(claim), "at": (claim.get("reply") or {}).get("at")} for claim in page.items]
