"""Fakes with the behaviour of the real things they stand for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.publishing import (
    DuplicateContent,
    NotSent,
    OutcomeUnknown,
    Published,
    PublishFailed,
    RateLimited,
    Refused,
)
from chalicelib.store import Store


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
