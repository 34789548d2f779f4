"""Where posts, replies and DMs go: the publisher interface and the outbox publisher.

The outbox publisher records what would be published in the table (``GET /outbox`` shows it); it
is the local default and what the tests use. The X publisher (chalicelib.x.publisher) is the cloud's.

Publishing errors say what is known about the attempt: ``NotSent`` and ``RateLimited`` (it certainly
did not happen: try again later), ``Refused`` (X said no: trying again as is will not help),
``OutcomeUnknown`` (the request left and no answer came: it may have happened, so never repeat it
before looking with ``find_post`` or ``find_dm``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from chalicelib.store import GSI1, AlreadyExists, Keys, Page, Store, iso, utcnow, without_keys

EntryKind = Literal["post", "reply", "dm"]


@dataclass(frozen=True)
class Published:
    id: str
    created_at: datetime


class PublishError(Exception):
    """Publishing did not happen (as far as we can tell)."""


class RateLimited(PublishError):
    def __init__(self, message: str, retry_at: datetime | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class DuplicateContent(PublishError):
    """X refused the text as a duplicate of a post it already has: never retry it as is."""


class PublishFailed(PublishError):
    """It did not happen, or may have: the subclasses say which."""


class NotSent(PublishFailed):
    """The request certainly never reached X (connection refused, connect timeout): safe to repeat."""


class Refused(PublishFailed):
    """X answered with a 4xx: not published, and repeating it as is would not help."""


class OutcomeUnknown(PublishFailed):
    """The request left and no answer came back (a read timeout, a 5xx): it may have been
    published. Never repeat it before looking (``find_post``, ``find_dm``)."""


class Publisher(Protocol):
    """Publishing is keyed by a caller's ``key``, stable across retries.

    ``find_post`` answers "did the post with this key (and text) go out?" after a crash between
    publishing and recording it: the outbox looks the key up; X's publisher reads the account's
    recent posts for the text. ``find_dm`` answers the same for a DM, sent to ``to`` at or after
    ``since``: X's publisher reads the conversation with ``to``. Callers ask before sending again."""

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published: ...

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published: ...

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Published:
        """A public answer to ``to``'s post ``in_reply_to`` (chalicelib.answers); ``find_post`` finds it."""
        ...

    def find_post(self, text: str, *, key: str) -> Published | None: ...

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Published | None: ...


class LazyPublisher:
    """Builds the real publisher on first use: a schedule with nothing to publish needs neither
    the X credentials nor the account id, so a stage still being set up raises no errors."""

    def __init__(self, build: Callable[[], Publisher]) -> None:
        self._build = build
        self._built: Publisher | None = None

    def _real(self) -> Publisher:
        if self._built is None:
            self._built = self._build()
        return self._built

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        return self._real().post(text, key=key, deal_id=deal_id, in_reply_to=in_reply_to)

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published:
        return self._real().send_dm(to, text, key=key, deal_id=deal_id)

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Published:
        return self._real().reply(text, key=key, in_reply_to=in_reply_to, to=to)

    def find_post(self, text: str, *, key: str) -> Published | None:
        return self._real().find_post(text, key=key)

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Published | None:
        return self._real().find_dm(to, text, key=key, since=since)


class OutboxPublisher:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        kind: EntryKind = "reply" if in_reply_to else "post"
        return self._record(kind, text, key=key, to=None, deal_id=deal_id, in_reply_to=in_reply_to)

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published:
        return self._record("dm", text, key=key, to=to, deal_id=deal_id, in_reply_to=None)

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Published:
        return self._record("reply", text, key=key, to=to, deal_id=None, in_reply_to=in_reply_to)

    def find_post(self, text: str, *, key: str) -> Published | None:
        item = self._store.get(Keys.outbox_entry(f"outbox-{key}"), consistent=True)
        if item is None:
            return None
        return Published(id=str(item["id"]), created_at=datetime.fromisoformat(str(item["created_at"])))

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Published | None:
        """The outbox's own record of the key is the conversation with ``to``."""
        found = self.find_post(text, key=key)
        return found if found is not None and found.created_at >= since else None

    def _record(
        self, kind: EntryKind, text: str, *, key: str, to: str | None, deal_id: str | None, in_reply_to: str | None
    ) -> Published:
        created_at = self._clock()
        entry_id = f"outbox-{key}"
        item: dict[str, Any] = {
            **Keys.outbox_entry(entry_id),
            **Keys.outbox_index(created_at, entry_id),
            "id": entry_id,
            "kind": kind,
            "text": text,
            "to": to,
            "deal_id": deal_id,
            "in_reply_to": in_reply_to,
            "created_at": iso(created_at),
        }
        try:
            self._store.put_new(item)
        except AlreadyExists as exc:  # a repeat of the same key: the first record stands
            first = exc.item or item
            return Published(id=str(first["id"]), created_at=datetime.fromisoformat(str(first["created_at"])))
        return Published(id=entry_id, created_at=created_at)


def list_outbox(store: Store, *, limit: int, cursor: str | None) -> Page:
    page = store.query(Keys.OUTBOX, index=GSI1, newest_first=True, limit=limit, cursor=cursor)
    return Page(items=[without_keys(item) for item in page.items], next=page.next)
