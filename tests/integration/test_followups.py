"""Ending released deals: the expiry sweep, sell-out, and one follow-up reply under the post."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.deals import DealFields, create_deal, get_deal
from chalicelib.fees import FeeSchedule
from chalicelib.followups import end_released_deal, sweep_ended_deals
from chalicelib.publishing import OutboxPublisher
from chalicelib.releases import ReleasePolicy, release_due_deals
from chalicelib.store import Keys, Store
from tests.conftest import FakeClock
from tests.fakes import Crash, CrashAfter, FakeX, ReadRecorder


def released(store: Store, clock: FakeClock, publisher: Any, **overrides: Any) -> str:
    fields = {
        "title": "OptiPlex 7010",
        "price": "449",
        "list_price": "649",
        "currency": "USD",
        "code": "OPTI",
        "release_at": clock() + timedelta(minutes=1),
        "expires_at": clock() + timedelta(hours=2),
        **overrides,
    }
    deal_id = str(create_deal(store, DealFields.model_validate(fields), clock())["id"])
    clock.advance(minutes=2)
    assert release_due_deals(store, publisher, ReleasePolicy(min_gap=timedelta(0)), clock()).released == [deal_id]
    return deal_id


def test_an_expired_deal_gets_one_reply_under_its_post(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    deal_id = released(store, clock, x)
    assert sweep_ended_deals(store, x, FeeSchedule(), clock()).ended == []  # not over yet
    clock.advance(hours=2)
    report = sweep_ended_deals(store, x, FeeSchedule(), clock())
    assert (report.ended, report.replied) == ([deal_id], [deal_id])
    for _ in range(3):
        clock.advance(minutes=5)
        sweep_ended_deals(store, x, FeeSchedule(), clock())
    deal = get_deal(store, deal_id)
    post, reply = x.timeline
    assert reply == (
        deal["followup_post_id"],
        "This deal has ended: OptiPlex 7010. Thanks to everyone who grabbed one! Follow along for the next.",
        post[0],
    )
    assert deal["status"] == "expired"
    assert store.get(Keys.live_code("OPTI")) is None


def test_a_sold_out_deal_gets_a_sold_out_reply(store: Store, clock: FakeClock) -> None:
    publisher = OutboxPublisher(store, clock)
    deal_id = released(store, clock, publisher, quantity=3)
    deal = get_deal(store, deal_id)
    assert end_released_deal(store, deal, "sold_out", clock())
    assert not end_released_deal(store, deal, "sold_out", clock())  # once
    sweep_ended_deals(store, publisher, FeeSchedule(), clock())
    assert get_deal(store, deal_id)["status"] == "sold_out"
    replies = [e for e in store.query(Keys.OUTBOX, index="GSI1").items if e["kind"] == "reply"]
    assert [r["text"] for r in replies] == [
        "Sold out: OptiPlex 7010. Thank you, everyone! Follow along for the next deal."
    ]
    assert replies[0]["in_reply_to"] == get_deal(store, deal_id)["post_id"]


def test_a_crash_after_the_reply_went_out_never_replies_twice(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    deal_id = released(store, clock, x)
    clock.advance(hours=2)
    with pytest.raises(Crash):
        sweep_ended_deals(store, CrashAfter(x), FeeSchedule(), clock())
    clock.advance(minutes=5)
    assert sweep_ended_deals(store, x, FeeSchedule(), clock()).replied == [deal_id]
    assert len(x.timeline) == 2  # the deal and one reply
    assert store.query(Keys.FOLLOWUPS, index="GSI1").items == []


def test_a_reply_x_could_not_take_is_tried_again(store: Store, clock: FakeClock) -> None:
    x = FakeX(clock)
    deal_id = released(store, clock, x)
    clock.advance(hours=2)
    x.fail_times = 1
    assert sweep_ended_deals(store, x, FeeSchedule(), clock()).replied == []
    clock.advance(minutes=5)
    assert sweep_ended_deals(store, x, FeeSchedule(), clock()).replied == [deal_id]
    assert len(x.timeline) == 2


def ending(store: Store) -> set[str]:
    """The deals in the sweep's index: released, with an end time or a quantity, not ended yet."""
    return {str(d["id"]) for d in store.query(Keys.DEALS_ENDING, index="GSI2", limit=100).items}


def test_the_sweep_reads_only_deals_that_can_still_end_by_index(store: Store, clock: FakeClock) -> None:
    publisher = OutboxPublisher(store, clock)

    def release(code: str, **overrides: Any) -> str:
        return released(store, clock, publisher, code=code, title=f"OptiPlex {code}", **overrides)

    # Given a deal that never ends, one that expires and one with a quantity
    forever = release("FOREVER", expires_at=None)
    expiring = release("EXPIRING", expires_at=clock() + timedelta(hours=1))
    limited = release("LIMITED", expires_at=None, quantity=5)
    assert ending(store) == {expiring, limited}

    def sweep_reads() -> tuple[int, list[str]]:
        reading = ReadRecorder(store)
        sweep_ended_deals(reading, publisher, FeeSchedule(), clock())
        return reading.requests, reading.deals_read

    # Then a sweep (after the first, which indexes any deal released before the index existed)
    # reads, by index, only the deal with a quantity (the other is not due before its end time),
    # and costs the same however many deals can never end
    sweep_ended_deals(store, publisher, FeeSchedule(), clock())
    requests, read = sweep_reads()
    assert read == [limited]
    for n in range(5):
        release(f"ALWAYS{n}", expires_at=None)
    assert sweep_reads() == (requests, read)
    assert forever not in ending(store)

    # And a deal that ends leaves the index, so later sweeps do not read it again
    clock.advance(hours=1)
    assert sweep_ended_deals(store, publisher, FeeSchedule(), clock()).ended == [expiring]
    assert ending(store) == {limited}
    assert get_deal(store, limited)["status"] == "released"
    store.update(Keys.deal(limited), add={"sold": 5})  # an order took the last units, then Lambda died
    assert sweep_ended_deals(store, publisher, FeeSchedule(), clock()).ended == [limited]
    assert ending(store) == set()


def test_deals_released_before_the_index_are_indexed_once_and_still_end(store: Store, clock: FakeClock) -> None:
    publisher = OutboxPublisher(store, clock)
    # Given a live deal released before the sweep had an index (no GSI2 keys), and a marker-less table
    old = released(store, clock, publisher, code="BEFORE", expires_at=clock() + timedelta(hours=1))
    store.update(Keys.deal(old), remove=("GSI2PK", "GSI2SK"))
    store.delete(Keys.migration("deals-ending-index"))
    assert ending(store) == set()
    # When the sweep runs: it indexes it once, and it ends when it expires
    assert sweep_ended_deals(store, publisher, FeeSchedule(), clock()).ended == []
    assert ending(store) == {old}
    clock.advance(hours=1)
    reading = ReadRecorder(store)
    assert sweep_ended_deals(reading, publisher, FeeSchedule(), clock()).ended == [old]
    assert reading.deals_read == [old]  # from the index: released deals are not paged again
