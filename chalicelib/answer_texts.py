"""Composing an answer: the request's body and idempotency key, the text's checks (a public reply
within X's weighted 280, a DM within 10,000), whether and how an item can be answered, and the
composer's warning about a text X would refuse as a repeat."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import BadRequest, Unprocessable
from chalicelib.posts import MAX_WEIGHTED_LENGTH, fingerprint, weighted_length
from chalicelib.store import Item, Keys, Store

PUBLIC = ("reply", "mention", "quote")  # answered with a public reply; a DM with a DM; a like not at all
MAX_DM_LENGTH = 10_000
RECENT_TEXT_LIFETIME = timedelta(days=7)  # a reply text equal to one sent within this is warned about
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class ReplyRequest(BaseModel):
    """``POST /feedback/{id}/reply``'s body; ``again`` answers an item that has an answer already."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_DM_LENGTH)
    again: bool = False


def new_key(header: str | None) -> str:
    """The request's idempotency key, or a fresh one (a request without a key answers once, itself)."""
    return check_key(header) or uuid.uuid4().hex


def check_key(key: str | None) -> str | None:
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise BadRequest(
            "the Idempotency-Key is 1 to 128 letters, digits or _.:-", fields={"Idempotency-Key": "invalid"}
        )
    return key


def check_text(kind: str, text: str) -> str:
    """The answer's text: not empty; a public reply within X's weighted 280, a DM within 10,000."""
    text = text.strip()
    if not text:
        raise Unprocessable("the answer has no text", fields={"text": "write something"})
    if kind == "dm":
        if len(text) > MAX_DM_LENGTH:
            raise Unprocessable("the DM is too long", fields={"text": f"at most {MAX_DM_LENGTH} characters"})
        return text
    length = weighted_length(text)
    if length > MAX_WEIGHTED_LENGTH:
        over = length - MAX_WEIGHTED_LENGTH
        raise Unprocessable("the reply is too long", fields={"text": f"{length} of {MAX_WEIGHTED_LENGTH}: {over} over"})
    return text


def answerable(item: Item) -> str:
    """How an item is answered (``reply`` or ``dm``), or a 422 saying why it cannot be."""
    kind = str(item["kind"])
    if kind == "like":
        raise Unprocessable("a like cannot be answered", fields={"kind": "like"})
    if item.get("deleted_at") or not item.get("author_id"):
        raise Unprocessable("the post was deleted: it cannot be answered", fields={"id": "deleted"})
    return "dm" if kind == "dm" else "reply"


def their_post(item: Item) -> str | None:
    """The X id of the post a reply answers (the feedback item's own post)."""
    found = item.get("post_id") or (
        str(item["id"]).removeprefix("post:") if str(item["id"]).startswith("post:") else None
    )
    return str(found) if found else None


def recently_sent(store: Store, text: str) -> bool:
    """The composer's warning: X refuses a post identical to a recent one."""
    return bool(text.strip()) and store.get(Keys.recent_reply_text(fingerprint(text))) is not None
