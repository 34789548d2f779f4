"""Answers against the fake X: an unknown outcome is looked up, never resent; a run that died after
the call is recovered; the fee is counted once; response times and long-wait alerts on known times."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.answers import CHECKING, SENT, AnswerPolicy, answer_feedback, check_answers, recently_sent
from chalicelib.errors import Conflict
from chalicelib.fees import spent
from chalicelib.response_times import alert_long_waits, figures, response_time_summary
from chalicelib.sentiment import VaderClassifier
from chalicelib.store import Keys, Store
from chalicelib.x.events import DirectMessage, Interaction, XUser
from tests.conftest import FakeClock
from tests.fakes import Crash, CrashAfter, FakeX

POLICY = AnswerPolicy()
PERSON = XUser(id="1247048165561270272", handle="TanuLearns")


def captured_reply(store: Store, clock: FakeClock, post_id: str, ago: timedelta) -> str:
    from chalicelib.feedback import record_feedback

    event = Interaction(
        kind="reply",
        event_id=f"post:{post_id}",
        occurred_at=clock.now - ago,
        author=PERSON,
        text="Is it in stock?",
        post_id=post_id,
        answers="1332252354599555074",
    )
    assert record_feedback(store, event, VaderClassifier(), [])
    return event.event_id


def captured_dm(store: Store, clock: FakeClock, dm_id: str, ago: timedelta) -> str:
    from chalicelib.feedback import record_feedback

    event = DirectMessage(event_id=f"dm:{dm_id}", occurred_at=clock.now - ago, sender=PERSON, text="Ships to Canada?")
    assert record_feedback(store, event, VaderClassifier(), [])
    return event.event_id


def test_a_reply_whose_outcome_is_unknown_is_found_not_posted_twice(store: Store, clock: FakeClock) -> None:
    # Given X publishes the reply but the answer is lost
    x = FakeX(clock)
    x.post_outcomes = ["timeout"]
    feedback_id = captured_reply(store, clock, "1900000000000000101", timedelta(minutes=5))
    first = answer_feedback(store, x, POLICY, feedback_id, text="Yes!", by="olivia", key="k1", now=clock.now)
    assert first.status == 202
    assert first.body["status"] == CHECKING

    # When the operator repeats the request with the same key
    clock.advance(seconds=30)
    again = answer_feedback(store, x, POLICY, feedback_id, text="Yes!", by="olivia", key="k1", now=clock.now)

    # Then it is found on X and recorded: one post, one fee, answered
    assert again.status == 201
    assert again.body["status"] == SENT
    assert len(x.timeline) == 1
    assert spent(store, f"{clock.now:%Y-%m}") == Decimal("0.015")
    item = store.get(Keys.feedback(feedback_id))
    assert item is not None
    assert item["state"] == "answered"
    assert "answering_key" not in item
    third = answer_feedback(store, x, POLICY, feedback_id, text="Yes!", by="olivia", key="k1", now=clock.now)
    assert third.body == again.body
    assert len(x.timeline) == 1


def test_a_run_that_died_after_posting_is_recovered_by_the_schedule(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    feedback_id = captured_reply(store, clock, "1900000000000000111", timedelta(minutes=5))
    with pytest.raises(Crash):
        answer_feedback(store, CrashAfter(x, "reply"), POLICY, feedback_id, text="Hi!", by="a", key="k", now=clock.now)

    # While the lease runs, a repeat waits, and nothing is looked up or sent
    with pytest.raises(Conflict):
        answer_feedback(store, x, POLICY, feedback_id, text="Hi!", by="a", key="k", now=clock.now)
    assert check_answers(store, x, POLICY, clock.now) == 0

    # After it, the schedule looks the answer up and records it, without posting again
    clock.advance(minutes=3)
    assert check_answers(store, x, POLICY, clock.now) == 1
    assert len(x.timeline) == 1
    item = store.get(Keys.feedback(feedback_id))
    assert item is not None
    assert item["state"] == "answered"
    assert spent(store, f"{clock.now:%Y-%m}") == Decimal("0.015")


def test_a_dm_answer_lost_on_its_way_is_never_resent(store: Store, clock: FakeClock) -> None:
    # Given a DM answer that never reached X, though no answer said so
    x = FakeX(clock, dm_outcomes=["lost"])
    feedback_id = captured_dm(store, clock, "1900000000000000121", timedelta(minutes=1))
    first = answer_feedback(store, x, POLICY, feedback_id, text="It does!", by="a", key="k", now=clock.now)
    assert first.status == 202

    # When the look-ups run out without finding it
    for _ in range(POLICY.max_checks):
        clock.advance(minutes=3)
        check_answers(store, x, POLICY, clock.now)

    # Then it is unknown, looked up (find_dm) but never sent again; the item is open for a new answer
    assert x.dm_calls == 1
    assert x.lookups == POLICY.max_checks
    claim = store.get(Keys.answer(feedback_id, "k"))
    assert claim is not None
    assert claim["status"] == "unknown"
    with pytest.raises(Conflict):
        answer_feedback(store, x, POLICY, feedback_id, text="It does!", by="a", key="k", now=clock.now)
    assert x.dm_calls == 1
    retry = answer_feedback(store, x, POLICY, feedback_id, text="It does!", by="a", key="k2", now=clock.now)
    assert retry.status == 201
    assert x.dms == [(PERSON.id, "It does!")]


def test_a_dm_answer_takes_a_token_from_the_dm_budget(store: Store, clock: FakeClock) -> None:
    from chalicelib.direct_messages import DmBudget

    tight = AnswerPolicy(dm_budget=DmBudget(per_15_minutes=1, per_day=10))
    x = FakeX(clock)
    one = captured_dm(store, clock, "1900000000000000131", timedelta(minutes=2))
    two = captured_dm(store, clock, "1900000000000000132", timedelta(minutes=1))
    assert answer_feedback(store, x, tight, one, text="Yes", by="a", key="k", now=clock.now).status == 201
    with pytest.raises(Conflict) as refused:
        answer_feedback(store, x, tight, two, text="Yes", by="a", key="k", now=clock.now)
    assert refused.value.fields == {"dm_budget": "spent"}
    assert x.dm_calls == 1
    assert store.get(Keys.answer(two, "k")) is None  # nothing claimed: the same key works later


def test_the_median_and_p90_are_exact_on_known_times(store: Store, clock: FakeClock) -> None:
    # Given five items answered after 1, 2, 3, 10 and 90 minutes, by two operators
    x = FakeX(clock)
    waits = [1, 2, 3, 10, 90]
    for n, minutes in enumerate(waits):
        feedback_id = captured_reply(store, clock, f"19000000000000002{n:02d}", timedelta(minutes=minutes))
        by = "olivia" if n % 2 == 0 else "sam"
        answer_feedback(store, x, POLICY, feedback_id, text=f"Answer {n}", by=by, key="k", now=clock.now)

    summary = response_time_summary(store, clock.now, threshold=timedelta(minutes=120))

    assert summary["answered"] == 5
    assert summary["median_seconds"] == 180.0
    assert summary["p90_seconds"] == 5400.0  # nearest rank: the 5th of 5
    assert summary["answered_within_1h_share"] == 0.8
    assert summary["weeks"][-1]["answered"] == 5
    assert summary["weeks"][0]["answered"] == 0
    operators = {row["by"]: row for row in summary["operators"]}
    assert operators["olivia"]["answered"] == 3
    assert operators["olivia"]["median_seconds"] == 180.0
    assert operators["sam"]["median_seconds"] == 360.0  # 2 and 10: their mean


def test_figures_on_even_and_empty_samples() -> None:
    assert figures([], 0, 0)["median_seconds"] is None
    assert figures([1000, 3000], 2, 2)["median_seconds"] == 2.0
    assert figures(range(1000, 11000, 1000), 10, 10)["p90_seconds"] == 9.0


def test_a_long_wait_raises_one_alert_per_item(store: Store, clock: FakeClock) -> None:
    raised: list[dict[str, Any]] = []
    threshold = timedelta(minutes=120)
    waiting = captured_reply(store, clock, "1900000000000000301", timedelta(minutes=150))
    captured_reply(store, clock, "1900000000000000302", timedelta(minutes=30))
    answered = captured_reply(store, clock, "1900000000000000303", timedelta(minutes=200))
    answer_feedback(store, FakeX(clock), POLICY, answered, text="Sorry!", by="a", key="k", now=clock.now)

    assert alert_long_waits(store, clock.now, threshold, raised.append) == [waiting]
    assert alert_long_waits(store, clock.now, threshold, raised.append) == []
    assert [a["kind"] for a in raised] == ["answer_overdue"]
    since = clock.now - timedelta(minutes=150)
    assert raised[0]["message"] == (
        f"A reply from @TanuLearns has waited more than 2 hours for an answer (since {since:%d %b %Y, %H:%M} UTC)."
    )
    old = response_time_summary(store, clock.now, threshold=threshold)["open_over_threshold"]
    assert old["count"] == 1
    assert old["more"] is False

    clock.advance(minutes=100)  # now the second one has waited too long
    assert alert_long_waits(store, clock.now, threshold, raised.append) == ["post:1900000000000000302"]


def test_the_composer_knows_a_recent_reply_text(store: Store, clock: FakeClock) -> None:
    feedback_id = captured_reply(store, clock, "1900000000000000401", timedelta(minutes=1))
    assert not recently_sent(store, "Thanks so much!")
    answer_feedback(store, FakeX(clock), POLICY, feedback_id, text="Thanks so much!", by="a", key="k", now=clock.now)
    assert recently_sent(store, "thanks  so much!")  # X compares texts like this too


def test_a_reopened_conversation_waits_again_from_the_new_message(store: Store, clock: FakeClock) -> None:
    from chalicelib.answers import reopen_conversation

    # Given an item answered long ago
    x = FakeX(clock)
    earlier = captured_reply(store, clock, "1900000000000000501", timedelta(days=3))
    sent = answer_feedback(store, x, POLICY, earlier, text="Here you go", by="a", key="k", now=clock.now)

    # Another person's reply to our answer reopens nothing
    assert (
        reopen_conversation(store, author_id="999", kind="reply", answers=sent.body["x_id"], new_id="p3", at=clock.now)
        is None
    )

    # When they reply to our answer an hour later
    clock.advance(hours=1)
    reopened = reopen_conversation(
        store, author_id=PERSON.id, kind="reply", answers=sent.body["x_id"], new_id="post:2", at=clock.now
    )

    # Then it is open again and waits from now: no alert until the threshold passes from now
    assert reopened == earlier
    item = store.get(Keys.feedback(earlier))
    assert item is not None
    assert item["state"] == "open"
    threshold = timedelta(minutes=120)
    assert alert_long_waits(store, clock.now + timedelta(minutes=60), threshold) == []
    assert alert_long_waits(store, clock.now + timedelta(minutes=121), threshold) == [earlier]
