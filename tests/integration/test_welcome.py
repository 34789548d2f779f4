"""The welcome post: batched, at most once per interval, never the same text, crash-safe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.channel import record_revocation
from chalicelib.community import record_follow_change
from chalicelib.delivery import DeliveryMessage
from chalicelib.posts import claim_text, weighted_length
from chalicelib.publishing import OutboxPublisher, Published, list_outbox
from chalicelib.store import Store
from chalicelib.welcome import WelcomePolicy, compose_welcomes, welcome_new_followers
from chalicelib.x.events import FollowChange, Revocation, XUser

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
WEEKLY = WelcomePolicy(interval=timedelta(days=7), settle=timedelta(minutes=10), dm_text=None, dm_budget=0)


def follow(store: Store, user: str, at: datetime, kind: str = "follow", handle: str | None = None) -> None:
    record_follow_change(
        store,
        FollowChange(
            kind=kind,  # type: ignore[arg-type]
            event_id=f"{kind}-{user}-{at.isoformat()}",
            occurred_at=at,
            follower=XUser(id=user, handle=handle or f"fan{user}"),
        ),
    )


def posts(store: Store) -> list[dict[str, Any]]:
    return list_outbox(store, limit=100, cursor=None).items


def test_nobody_new_posts_nothing(store: Store) -> None:
    assert welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW).outcome == "nobody_new"
    assert posts(store) == []


def test_new_followers_are_welcomed_once_in_one_post(store: Store) -> None:
    for n in range(3):
        follow(store, str(n), NOW - timedelta(hours=n + 1))
    result = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    assert (result.outcome, result.welcomed) == ("posted", 3)
    (post,) = posts(store)
    assert post["kind"] == "post"
    assert post["text"] == "Welcome to the 3 new followers who joined this week! @fan0 @fan1 @fan2"
    # Within the interval nothing more is posted, however often the schedule fires.
    follow(store, "9", NOW)
    assert welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW + timedelta(days=1)).outcome == "not_due"
    assert len(posts(store)) == 1


def test_the_next_welcome_names_only_those_who_joined_since(store: Store) -> None:
    follow(store, "1", NOW - timedelta(days=1))
    welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    follow(store, "2", NOW + timedelta(days=2))
    follow(store, "3", NOW + timedelta(days=3))
    result = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW + timedelta(days=7))
    assert result.text == "Welcome to the 2 new followers who joined this week! @fan3 @fan2"
    assert welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW + timedelta(days=14)).outcome == (
        "nobody_new"
    )


def test_a_follower_who_arrives_late_is_still_welcomed_next_time(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=1))
    follow(store, "2", NOW - timedelta(minutes=5))  # inside the settle window: next time
    first = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    assert first.text is not None
    assert "@fan2" not in first.text
    second = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW + timedelta(days=7))
    assert second.text is not None
    assert "@fan2" in second.text
    assert "@fan1" not in second.text


def test_who_left_or_came_back_is_not_welcomed(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=3))
    follow(store, "1", NOW - timedelta(hours=2), kind="unfollow")
    follow(store, "2", NOW - timedelta(days=30))
    follow(store, "2", NOW - timedelta(days=20), kind="unfollow")
    follow(store, "2", NOW - timedelta(hours=1))  # returning, welcomed before
    follow(store, "3", NOW - timedelta(hours=1))
    result = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    assert result.text == "Welcome to our newest follower this week! @fan3"


def test_a_big_batch_names_as_many_handles_as_fit_in_280(store: Store) -> None:
    for n in range(40):
        follow(store, str(n), NOW - timedelta(minutes=20 + n), handle=f"a_rather_long_handle_{n:02d}")
    result = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    assert result.text is not None
    assert result.text.startswith("Welcome to the 40 new followers who joined this week!")
    assert weighted_length(result.text) <= 280
    named = result.text.count("@")
    assert 5 < named < 40
    assert result.text.endswith(f"and {40 - named} more")


def test_a_held_channel_welcomes_nobody(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=1))
    record_revocation(store, Revocation(event_id="r1", occurred_at=NOW - timedelta(minutes=30), user_id="brand"))
    assert welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW).outcome == "held"
    assert posts(store) == []


def test_a_text_used_before_is_never_posted_again(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=2))
    follow(store, "2", NOW - timedelta(hours=1))
    newcomers = [{"handle": "fan1", "user_id": "1"}, {"handle": "fan2", "user_id": "2"}]  # oldest first
    first_choice = compose_welcomes(newcomers, timedelta(days=7))[0]
    assert claim_text(store, first_choice, post_key="an-earlier-post", at=NOW)
    result = welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    assert result.outcome == "posted"
    assert result.text != first_choice
    assert result.text == "A warm welcome to the 2 people who followed us this week! @fan2 @fan1"


class CrashingPublisher(OutboxPublisher):
    """Crashes once after the run was claimed, before anything is published."""

    crashed = False

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        if not self.crashed:
            self.crashed = True
            raise TimeoutError("Lambda timed out")
        return super().post(text, key=key, deal_id=deal_id, in_reply_to=in_reply_to)


def test_a_run_that_crashed_after_its_claim_is_finished_by_the_next_with_the_same_post(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=1))
    publisher = CrashingPublisher(store)
    with pytest.raises(TimeoutError):
        welcome_new_followers(store, publisher, WEEKLY, NOW)
    follow(store, "2", NOW + timedelta(minutes=1))  # joins between the crash and the retry
    result = welcome_new_followers(store, publisher, WEEKLY, NOW + timedelta(minutes=1))
    assert result.text == "Welcome to our newest follower this week! @fan1"
    assert [p["text"] for p in posts(store)] == [result.text]


def test_publishing_the_same_key_again_records_nothing_new(store: Store) -> None:
    follow(store, "1", NOW - timedelta(hours=1))
    welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    (first,) = posts(store)
    again = OutboxPublisher(store).post(first["text"], key=first["id"].removeprefix("outbox-"))
    assert again.id == first["id"]
    assert len(posts(store)) == 1


def test_welcome_dms_go_to_the_queue_within_the_budget(store: Store) -> None:
    for n in range(5):
        follow(store, str(n), NOW - timedelta(hours=1, minutes=n))
    queued: list[DeliveryMessage] = []

    def enqueue(messages: Sequence[DeliveryMessage]) -> None:
        queued.extend(messages)

    policy = WelcomePolicy(interval=timedelta(days=7), settle=timedelta(minutes=10), dm_text="Thanks!", dm_budget=3)
    welcome_new_followers(store, OutboxPublisher(store), policy, NOW, enqueue_dms=enqueue)
    assert len(queued) == 3
    assert {m.kind for m in queued} == {"dm"}
    assert all(m.id == f"welcome-dm-{m.payload['to']}" for m in queued)
    assert {m.payload["text"] for m in queued} == {"Thanks!"}
    # They wait in the table with every other DM, and the drain sends each once under the DM budget.
    from chalicelib.direct_messages import DmPolicy, drain_dms, intake_handler

    accept = intake_handler(store, lambda: NOW)
    for message in [*queued, *queued]:  # the queue may deliver each twice
        accept(message)
    drain_dms(store, OutboxPublisher(store, lambda: NOW), DmPolicy(), lambda: NOW, lambda: 30.0)
    sent = [e for e in list_outbox(store, limit=10, cursor=None).items if e["kind"] == "dm"]
    assert sorted(e["to"] for e in sent) == sorted(m.payload["to"] for m in queued)


def test_a_welcome_that_died_after_posting_to_x_is_not_posted_again(store: Store) -> None:
    from tests.fakes import Crash, CrashAfter, FakeX

    follow(store, "1", NOW - timedelta(hours=1))
    x = FakeX(lambda: NOW)
    with pytest.raises(Crash):
        welcome_new_followers(store, CrashAfter(x), WEEKLY, NOW)
    result = welcome_new_followers(store, x, WEEKLY, NOW + timedelta(minutes=1))
    assert result.outcome == "posted"
    assert [text for _, text, _ in x.timeline] == ["Welcome to our newest follower this week! @fan1"]


def test_a_welcome_post_is_charged_to_the_fee_ledger(store: Store) -> None:
    from decimal import Decimal

    from chalicelib.store import Keys

    follow(store, "1", NOW - timedelta(hours=1))
    welcome_new_followers(store, OutboxPublisher(store), WEEKLY, NOW)
    fees = store.get(Keys.fees_month("2026-11"))
    assert fees is not None
    assert (fees["usd"], fees["posts"]) == (Decimal("0.015"), 1)  # no link: X's plain post price
