"""The conversation state of every feedback item: ``open`` (waiting for an answer, listed oldest
first), ``answered``, or ``dismissed``; a later message from the same person reopens an answered
one. While an answer is being sent the item holds its answering lock (``answering_key``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import Conflict, NotFound
from chalicelib.store import ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr

OPEN, ANSWERED, DISMISSED = "open", "answered", "dismissed"
STATES = (OPEN, ANSWERED, DISMISSED)


class AnswerBusy(Conflict):
    """An answer to this item is being sent: its answering lock is held."""

    code = "answer_in_progress"


def dismiss(store: Store, feedback_id: str, *, by: str, now: datetime) -> Item:
    """An open item needs no answer: ``dismissed``, and no longer waiting."""
    try:
        item = store.update(
            Keys.feedback(feedback_id),
            set={"state": DISMISSED, "dismissed_by": by, "dismissed_at": iso(now)},
            condition=Attr("PK").exists() & Attr("answering_key").not_exists(),
        )
    except ConditionFailed as exc:
        if exc.item is None:
            raise NotFound("no such feedback item") from None
        raise AnswerBusy("an answer to this item is being sent") from None
    store.transact(unwaiting_ops(store, item))
    return item


def unwaiting_ops(store: Store, item: Item) -> list[dict[str, Any]]:
    """The item no longer waits: off both waiting lists (deleting an entry already gone is fine)."""
    since = datetime.fromisoformat(str(item.get("waiting_since") or item["created_at"]))
    return [
        store.op_delete(Keys.waiting(partition, since, str(item["id"])))
        for partition in (Keys.WAITING, Keys.WAITING_UNALERTED)
    ]


def waiting_ops(store: Store, since: datetime, feedback_id: str) -> list[dict[str, Any]]:
    """The item waits for an answer: listed oldest first, and once in the long-wait alert's list."""
    entry = {"feedback_id": feedback_id, "waiting_since": iso(since)}
    return [
        store.op_put({**Keys.waiting(partition, since, feedback_id), **entry})
        for partition in (Keys.WAITING, Keys.WAITING_UNALERTED)
    ]


def reopen_conversation(
    store: Store, *, author_id: str, kind: str, answers: str | None, new_id: str, at: datetime
) -> str | None:
    """A later message from the same person in an answered conversation (a reply to our answer's
    post, or a DM after our DM answer) reopens the item we answered; returns its id."""
    if kind == "dm":
        found = store.get(Keys.dm_conversation(author_id))
    elif answers:
        found = store.get(Keys.answered_post(answers))
    else:
        return None
    if not found or str(found["feedback_id"]) == new_id:
        return None
    earlier_id = str(found["feedback_id"])
    try:
        store.update(
            Keys.feedback(earlier_id),
            set={"state": OPEN, "reopened_by": new_id, "reopened_at": iso(at), "waiting_since": iso(at)},
            condition=Attr("state").eq(ANSWERED) & Attr("author_id").eq(author_id),
        )
    except ConditionFailed:
        return None  # open already, dismissed, or another person's
    store.transact(waiting_ops(store, at, earlier_id))  # it waits again, from the new message
    return earlier_id
