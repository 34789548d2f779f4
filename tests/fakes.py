"""Fakes with the behaviour of the real things they stand for."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.publishing import (
    DuplicateContent,
    NotSent,
    OutcomeUnknown,
    Published,
    PublishFailed,
    RateLimited,
    Refused,
)
from chalicelib.store import Item, Key, Page, Store


class Crash(BaseException):
    """Lambda dying mid-run: nothing in the app catches it."""


class FakeX:
    """X as a publisher sees it: every post or DM call publishes (no idempotency key), an identical
    text is refused as a duplicate (403), and the account's recent posts and its conversations can be
    read back.

    ``dm_outcomes`` scripts the next DM calls, one word each: ``timeout`` (the DM went out, the
    answer was lost), ``lost`` (it never arrived, no answer either), ``refused`` (no connection),
    ``429``, ``403``; ``ok`` or an empty script sends normally."""

    def __init__(
        self, clock: Callable[[], datetime], fail_times: int = 0, dm_outcomes: list[str] | None = None
    ) -> None:
        self.clock = clock
        self.timeline: list[tuple[str, str, str | None]] = []  # (post id, text, in reply to)
        self.dms: list[tuple[str, str]] = []
        self.conversations: list[tuple[str, str, Published]] = []  # (to, text, the DM event)
        self.fail_times = fail_times
        self.dm_outcomes = list(dm_outcomes or [])
        self.post_outcomes: list[str] = []
        self.dm_calls = 0
        self.lookups = 0

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        if self.fail_times:
            self.fail_times -= 1
            raise PublishFailed("503 Service Unavailable")
        if any(existing == text for _, existing, _ in self.timeline):
            raise DuplicateContent("You are not allowed to create a Tweet with duplicate content.")
        post_id = str(1_860_000_000_000_000_000 + len(self.timeline))
        self.timeline.append((post_id, text, in_reply_to))
        return Published(id=post_id, created_at=self.clock())

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Published:
        """A reply is a post to X; ``post_outcomes`` scripts it like ``dm_outcomes`` (``timeout``)."""
        outcome = self.post_outcomes.pop(0) if self.post_outcomes else "ok"
        published = self.post(text, key=key, in_reply_to=in_reply_to)
        if outcome == "timeout":
            raise OutcomeUnknown("X did not answer: ReadTimeout")
        return published

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published:
        self.dm_calls += 1
        outcome = self.dm_outcomes.pop(0) if self.dm_outcomes else "ok"
        if outcome == "refused":
            raise NotSent("X was not reached: ConnectionError")
        if outcome == "429":
            raise RateLimited("X answered 429 Too Many Requests", retry_at=self.clock() + timedelta(minutes=5))
        if outcome == "403":
            raise Refused("X refused the request: You cannot send messages to this user.")
        if outcome == "lost":
            raise OutcomeUnknown("X did not answer: ReadTimeout")
        self.dms.append((to, text))
        event = Published(id=f"dm-{len(self.dms)}", created_at=self.clock())
        self.conversations.append((to, text, event))
        if outcome == "timeout":
            raise OutcomeUnknown("X did not answer: ReadTimeout")
        return event

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Published | None:
        self.lookups += 1
        for recipient, sent, event in self.conversations:
            if recipient == to and sent == text and event.created_at >= since:
                return event
        return None

    def find_post(self, text: str, *, key: str) -> Published | None:
        for post_id, existing, _ in self.timeline:
            if existing == text:
                return Published(id=post_id, created_at=self.clock())
        return None


class CrashAfter:
    """Wraps a publisher: the call goes through, then the run dies before its result is used."""

    def __init__(self, inner: Any, method: str = "post") -> None:
        self.inner = inner
        self.method = method
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.inner, name)
        if name != self.method:
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            if self.armed:
                self.armed = False
                raise Crash(f"died after {name}")
            return result

        return call


class CrashingStore(Store):
    """A store whose run dies on the first transaction that ``when`` picks, before it is sent."""

    def __init__(self, inner: Store, when: Callable[[list[dict[str, Any]]], bool]) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.when = when
        self.armed = True

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        if self.armed and self.when(list(ops)):
            self.armed = False
            raise Crash("died before the transaction was sent")
        super().transact(ops, token=token)


class ReadRecorder(Store):
    """The table, noting what reads cost: every item a query returns and every key a batch asks for."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.table_name, store._client, clock=store._clock)
        self.queried: list[Item] = []
        self.batch_keys = 0

    def query(self, partition: str, **kwargs: Any) -> Page:
        page = super().query(partition, **kwargs)
        self.queried += page.items
        return page

    def batch_get(self, keys: Iterable[Key], **options: Any) -> list[Item]:
        wanted = list(keys)
        self.batch_keys += len(wanted)
        return super().batch_get(wanted, **options)

    @property
    def deals_read(self) -> list[str]:
        return [str(item["id"]) for item in self.queried if str(item["PK"]).startswith("DEAL#")]

    @property
    def items_read(self) -> int:
        return len(self.queried) + self.batch_keys


class ContendedDynamo:
    """A moto DynamoDB client that meets contention as DynamoDB does (moto never does): a
    transaction holds its items while it is in flight (``hold`` seconds, then moto's own execution
    of it), and another transaction that touches one of them meanwhile is cancelled with
    ``TransactionConflict`` for that item. moto itself is not thread-safe (its transact_write_items
    takes no lock), so every call reaches it through one lock; the time a transaction waits for that
    lock is a test artefact, so its items are not held then (they are checked again once it has it).
    ``monotonic`` (the clock a store's retry deadline reads) leaves out both that wait and moto's
    own execution, which on a loaded machine can take longer than DynamoDB ever would: the deadline
    then measures the holds and the store's pauses, so the test does not depend on the CPU."""

    def __init__(self, client: Any, hold: float = 0.02) -> None:
        self._client, self._hold = client, hold
        self._moto, self._guard = threading.Lock(), threading.Lock()
        self._held: set[tuple[str, str]] = set()
        self._queued = threading.local()
        self.transactions = self.conflicts = 0

    def monotonic(self) -> float:
        """This thread's time, less what it spent waiting for moto's lock and inside moto."""
        return time.monotonic() - getattr(self._queued, "seconds", 0.0)

    def _lock_moto(self) -> None:
        self._queued.began = time.monotonic()
        self._moto.acquire()

    def _unlock_moto(self) -> None:
        self._moto.release()
        self._queued.seconds = getattr(self._queued, "seconds", 0.0) + time.monotonic() - self._queued.began

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if not callable(call):
            return call

        def serialised(*args: Any, **kwargs: Any) -> Any:
            self._lock_moto()
            try:
                return call(*args, **kwargs)
            finally:
                self._unlock_moto()

        return serialised

    def transact_write_items(self, **params: Any) -> Any:
        keys = [self._key(op) for op in params["TransactItems"]]
        with self._guard:
            self.transactions += 1
        self._take(keys)
        try:
            time.sleep(self._hold)
        finally:
            self._give_back(keys)
        self._lock_moto()
        try:
            self._take(keys)
            try:
                return self._client.transact_write_items(**params)
            finally:
                self._give_back(keys)
        finally:
            self._unlock_moto()

    def _take(self, keys: list[tuple[str, str]]) -> None:
        with self._guard:
            if self._held.intersection(keys):
                self.conflicts += 1
                reasons = [{"Code": "TransactionConflict" if k in self._held else "None"} for k in keys]
                error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
                response: Any = {"Error": error, "CancellationReasons": reasons}
                raise ClientError(response, "TransactWriteItems")
            self._held.update(keys)

    def _give_back(self, keys: list[tuple[str, str]]) -> None:
        with self._guard:
            self._held.difference_update(keys)

    @staticmethod
    def _key(op: dict[str, Any]) -> tuple[str, str]:
        ((_, body),) = op.items()
        key = body.get("Key") or body["Item"]
        return key["PK"]["S"], key["SK"]["S"]
