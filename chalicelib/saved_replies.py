"""Saved replies: a few ready answers per situation, which operators insert into the answer form
and edit before sending. The never-repeat rule of deal posts does not apply to them: an answer is
one-on-one (the composer only warns when a text equals a recent reply, which X would refuse)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import NotFound
from chalicelib.store import Item, Keys, Page, Store, iso, without_keys

MAX_LISTED = 100  # the console's select shows at most this many


class SavedReplyFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=10_000)


def add_saved_reply(store: Store, fields: SavedReplyFields, now: datetime, by: str | None = None) -> Item:
    reply_id = f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"  # sorts by creation
    item: dict[str, Any] = {
        **Keys.saved_reply(reply_id),
        "id": reply_id,
        "name": fields.name,
        "text": fields.text,
        "created_at": iso(now),
        **({"created_by": by} if by else {}),
    }
    store.put_new(item)
    return without_keys(item)


def list_saved_replies(store: Store, *, limit: int = MAX_LISTED, cursor: str | None = None) -> Page:
    page = store.query(Keys.SAVED_REPLIES, limit=limit, cursor=cursor)
    return Page(items=[without_keys(i) for i in page.items], next=page.next)


def get_saved_reply(store: Store, reply_id: str) -> Item | None:
    found = store.get(Keys.saved_reply(reply_id)) if reply_id else None
    return without_keys(found) if found else None


def remove_saved_reply(store: Store, reply_id: str) -> None:
    if get_saved_reply(store, reply_id) is None:
        raise NotFound("no such saved reply")
    store.delete(Keys.saved_reply(reply_id))
