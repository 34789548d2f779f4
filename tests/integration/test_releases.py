"""Releasing deals: on time, one per gap, never twice (even across crashes), never stale."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.channel import record_revocation
from chalicelib.deals import DealFields, cancel_deal, create_deal, get_deal
from chalicelib.fees import FeeSchedule
from chalicelib.publishing import OutboxPublisher, RateLimited, list_outbox
from chalicelib.releases import ReleasePolicy, release_due_deals
from chalicelib.store import Keys, Store
from chalicelib.x.events import Revocation
from tests.conftest import FakeClock
from tests.fakes import Crash, CrashAfter, CrashingStore, FakeX

HOURLY = ReleasePolicy(min_gap=timedelta(minutes=60), lease=timedelta(minutes=2), max_attempts=3)


def schedule(store: Store, clock: FakeClock, n: int = 0, *, at_minutes: int = 30, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "title": f"Latitude {5000 + n}",
        "price": "600",
        "list_price": "900",
        "currency": "USD",
        "code": f"LAT{n}",
        "url": f"https://www.dell.com/outlet/latitude-{n}",
        "release_at": clock() + timedelta(minutes=at_minutes),
        **overrides,
    }
    return str(create_deal(store, DealFields.model_validate(fields), clock())["id"])


def posts(store: Store) -> list[dict[str, Any]]:
    return list(reversed(list_outbox(store, limit=100, cursor=None).items))  # oldest first


def status(store: Store, deal_id: str) -> str:
    return str(get_deal(store, deal_id)["status"])


def test_a_due_deal_is_released_once(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    publisher = OutboxPublisher(store, clock)
    assert release_due_deals(store, publisher, HOURLY, clock()).released == []  # not due yet
    clock.advance(minutes=30)
    assert release_due_deals(store, publisher, HOURLY, clock()).released == [deal_id]
    for _ in range(5):
        clock.advance(minutes=1)
        release_due_deals(store, publisher, HOURLY, clock())
    (post,) = posts(store)
    deal = get_deal(store, deal_id)
    assert (deal["status"], deal["post_id"], post["deal_id"]) == ("released", post["id"], deal_id)
    assert post["text"] == deal["post_text"]


def test_three_deals_due_together_go_out_one_per_gap_in_order(store: Store, clock: FakeClock) -> None:
    ids = [schedule(store, clock, n, at_minutes=30 + n) for n in range(3)]
    publisher = OutboxPublisher(store, clock)
    clock.advance(minutes=40)
    start = clock()
    for _ in range(180):  # the schedule fires every minute for three hours
        release_due_deals(store, publisher, HOURLY, clock())
        clock.advance(minutes=1)
    released = posts(store)
    assert [p["deal_id"] for p in released] == ids
    offsets = [(get_deal(store, i)["released_at"]) for i in ids]
    assert offsets == [f"{(start + timedelta(minutes=60 * k)):%Y-%m-%dT%H:%M:%S}.000000Z" for k in range(3)]


def test_overlapping_runs_release_a_deal_once(store: Store, clock: FakeClock) -> None:
    schedule(store, clock, 1)
    schedule(store, clock, 2)
    clock.advance(minutes=31)
    first, second = OutboxPublisher(store, clock), OutboxPublisher(store, clock)
    reports = [release_due_deals(store, p, HOURLY, clock()) for p in (first, second, first)]
    assert [len(r.released) for r in reports] == [1, 0, 0]
    assert reports[1].waiting == 1
    assert len(posts(store)) == 1


def test_expired_cancelled_and_sold_out_deals_are_never_posted(store: Store, clock: FakeClock) -> None:
    expired = schedule(store, clock, 1, expires_at=clock() + timedelta(minutes=45))
    cancelled = schedule(store, clock, 2)
    sold_out = schedule(store, clock, 3, quantity=2)
    cancel_deal(store, cancelled, clock())
    store.update(Keys.deal(sold_out), set={"sold": 2})
    clock.advance(minutes=50)
    report = release_due_deals(store, OutboxPublisher(store, clock), ReleasePolicy(min_gap=timedelta(0)), clock())
    assert sorted(report.closed) == sorted([expired, sold_out])
    assert (status(store, expired), status(store, cancelled), status(store, sold_out)) == (
        "expired",
        "cancelled",
        "sold_out",
    )
    assert posts(store) == []
    # Their codes are free again.
    clock.advance(minutes=1)
    schedule(store, clock, 1, title="Latitude again")


def test_a_release_records_its_fee_and_counts(store: Store, clock: FakeClock) -> None:
    schedule(store, clock, 1)  # its text has a link: $0.20
    schedule(store, clock, 2, url=None, at_minutes=31)  # no link: $0.015
    clock.advance(minutes=40)
    anytime = ReleasePolicy(min_gap=timedelta(0))
    release_due_deals(store, OutboxPublisher(store, clock), anytime, clock())
    release_due_deals(store, OutboxPublisher(store, clock), anytime, clock())
    fees = store.get(Keys.fees_month(f"{clock():%Y-%m}"))
    assert fees is not None
    assert (fees["usd"], fees["posts"]) == (Decimal("0.215"), 2)
    assert store.get(Keys.channel_totals())["deals_released"] == 2  # type: ignore[index]


def test_a_release_over_the_monthly_budget_is_held_with_one_alert(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    clock.advance(minutes=31)
    capped = ReleasePolicy(fees=FeeSchedule(monthly_budget=Decimal("0.10")))
    told: list[dict[str, Any]] = []
    for _ in range(3):
        report = release_due_deals(store, OutboxPublisher(store, clock), capped, clock(), notify=told.append)
        clock.advance(minutes=1)
    assert report.held == "budget"
    assert status(store, deal_id) == "scheduled"
    assert posts(store) == []
    alerts = store.query(Keys.ALERTS, index="GSI1").items
    assert [a["kind"] for a in alerts] == ["x_budget_exceeded"]
    assert [a["kind"] for a in told] == ["x_budget_exceeded"]  # operators are told once, too


def test_a_held_channel_releases_nothing(store: Store, clock: FakeClock) -> None:
    schedule(store, clock)
    record_revocation(store, Revocation(event_id="r", occurred_at=clock(), user_id="brand"))
    clock.advance(minutes=31)
    assert release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock()).held == "channel"
    assert posts(store) == []


# --- crashes, retries and X's refusals -------------------------------------------------------------


@pytest.mark.parametrize("x", [False, True], ids=["outbox", "x-like"])
def test_a_crash_before_publishing_is_retried_after_the_lease(store: Store, clock: FakeClock, x: bool) -> None:
    deal_id = schedule(store, clock)
    inner = FakeX(clock) if x else OutboxPublisher(store, clock)
    clock.advance(minutes=31)

    class DiesBeforePost:
        def __getattr__(self, name: str) -> Any:
            if name == "post":
                raise Crash("died before post")
            return getattr(inner, name)

    with pytest.raises(Crash):
        release_due_deals(store, DiesBeforePost(), HOURLY, clock())
    assert status(store, deal_id) == "releasing"
    clock.advance(minutes=1)
    assert release_due_deals(store, inner, HOURLY, clock()).released == []  # its lease still runs
    clock.advance(minutes=2)
    assert release_due_deals(store, inner, HOURLY, clock()).released == [deal_id]
    assert status(store, deal_id) == "released"


@pytest.mark.parametrize("x", [False, True], ids=["outbox", "x-like"])
def test_a_crash_between_publishing_and_recording_never_posts_twice(store: Store, clock: FakeClock, x: bool) -> None:
    deal_id = schedule(store, clock)
    inner = FakeX(clock) if x else OutboxPublisher(store, clock)
    clock.advance(minutes=31)
    with pytest.raises(Crash):
        release_due_deals(store, CrashAfter(inner), HOURLY, clock())
    for _ in range(10):
        clock.advance(minutes=1)
        release_due_deals(store, inner, HOURLY, clock())
    deal = get_deal(store, deal_id)
    assert deal["status"] == "released"
    published = [t for _, t, _ in inner.timeline] if isinstance(inner, FakeX) else [p["text"] for p in posts(store)]
    assert published == [deal["post_text"]]


def test_a_crash_inside_the_recording_transaction_never_posts_twice(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    x = FakeX(clock)
    clock.advance(minutes=31)
    dying = CrashingStore(store, when=lambda ops: any("FEES" in json.dumps(op, default=str) for op in ops))
    with pytest.raises(Crash):
        release_due_deals(dying, x, HOURLY, clock())
    clock.advance(minutes=3)
    release_due_deals(store, x, HOURLY, clock())
    assert status(store, deal_id) == "released"
    assert len(x.timeline) == 1
    assert store.get(Keys.fees_month(f"{clock():%Y-%m}"))["posts"] == 1  # type: ignore[index]


def test_a_crash_before_queueing_alerts_queues_them_on_the_next_run(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock, dm_subscribers=True)
    clock.advance(minutes=31)
    queued: list[str] = []

    def dies(deal: str) -> None:
        raise Crash("died before the fan-out was queued")

    with pytest.raises(Crash):
        release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock(), queue_alerts=dies)
    clock.advance(minutes=1)
    release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock(), queue_alerts=queued.append)
    release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock(), queue_alerts=queued.append)
    assert queued == [deal_id]


def test_server_errors_are_retried_then_the_deal_fails_with_its_reason(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    x = FakeX(clock, fail_times=10)
    clock.advance(minutes=31)
    for _ in range(15):
        release_due_deals(store, x, HOURLY, clock())
        clock.advance(minutes=1)
    deal = get_deal(store, deal_id)
    assert deal["status"] == "failed"
    assert deal["failure_reason"] == "not published after 3 attempts: 503 Service Unavailable"
    assert x.timeline == []
    assert x.fail_times == 7  # three attempts, no more
    # The code and the text are free for a new deal.
    schedule(store, clock, 0, at_minutes=5)


def test_a_transient_error_then_success_releases_once(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    x = FakeX(clock, fail_times=1)
    clock.advance(minutes=31)
    for _ in range(6):
        release_due_deals(store, x, HOURLY, clock())
        clock.advance(minutes=1)
    assert status(store, deal_id) == "released"
    assert len(x.timeline) == 1


def test_a_rate_limit_waits_for_xs_reset_time(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    clock.advance(minutes=31)
    reset = clock() + timedelta(minutes=10)
    x = FakeX(clock)

    class Limited:
        calls = 0

        def __getattr__(self, name: str) -> Any:
            if name == "post" and Limited.calls == 0:
                Limited.calls += 1
                raise RateLimited("429 Too Many Requests", retry_at=reset)
            return getattr(x, name)

    release_due_deals(store, Limited(), HOURLY, clock())
    clock.advance(minutes=5)
    release_due_deals(store, Limited(), HOURLY, clock())
    assert status(store, deal_id) == "releasing"
    clock.advance(minutes=5)
    release_due_deals(store, Limited(), HOURLY, clock())
    assert status(store, deal_id) == "released"


def test_x_refusing_a_duplicate_it_does_not_have_from_us_fails_the_deal(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock)
    x = FakeX(clock)
    clock.advance(minutes=31)

    class Refuses:
        def __getattr__(self, name: str) -> Any:
            if name == "post":
                from chalicelib.publishing import DuplicateContent

                raise DuplicateContent("duplicate content")
            return getattr(x, name)

    release_due_deals(store, Refuses(), HOURLY, clock())
    assert get_deal(store, deal_id)["failure_reason"] == "X refused the text as a duplicate"


def test_a_text_published_since_creation_is_not_posted_again(store: Store, clock: FakeClock) -> None:
    deal_id = schedule(store, clock, text="Latitude 5000 for $600 with code LAT0, today only")
    from chalicelib.posts import claim_text

    claim_text(store, "Latitude 5000 for $600 with code LAT0 - today only!", post_key="welcome-x", at=clock())
    clock.advance(minutes=31)
    release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock())
    assert get_deal(store, deal_id)["failure_reason"] == "repeats the earlier post welcome-x"
    assert posts(store) == []


def test_a_released_deal_shows_its_post_and_fee_as_exact_strings(api: Any, admin: dict[str, str]) -> None:
    import json as jsonlib
    from datetime import UTC, datetime

    from chalicelib import deps

    store = deps.store()
    clock = FakeClock(datetime.now(UTC))
    deal_id = schedule(store, clock, 1, at_minutes=1)
    clock.advance(minutes=2)
    release_due_deals(store, OutboxPublisher(store, clock), HOURLY, clock())
    shown = jsonlib.loads(api.http.get(f"/deals/{deal_id}", headers=admin).body)
    assert shown["status"] == "released"
    assert shown["x_fee_usd"] == "0.20"
    assert shown["attempts"] == 1
    assert not {"claimed_at", "retry_at", "alerts_queued", "PK", "version"} & set(shown)
