"""`make demo`'s seeder: the month it replays goes in through the real routes and lands on the
days it says, with the demo clock back at real time afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localcloud.demo import RULES
from tests.browser.harness import Service

pytestmark = pytest.mark.browser


def test_deals_are_released_by_the_schedule_each_on_its_own_day(service: Service) -> None:
    deals = [service.admin(f"/deals/{d.id}") for d in service.seeded.deals]
    assert all(d["post_id"] and d["status"] != "scheduled" for d in deals)
    for deal in deals:  # released by the schedule at its time, not written in the past
        released, due = datetime.fromisoformat(deal["released_at"]), datetime.fromisoformat(deal["release_at"])
        assert timedelta(0) <= released - due < timedelta(minutes=2)
    assert len({d["released_at"][:10] for d in deals}) == len(deals)
    outbox = service.all_pages("/outbox")
    assert {d["id"] for d in deals} <= {p["deal_id"] for p in outbox if p["kind"] == "post"}


def test_followers_join_and_leave_on_different_days(service: Service) -> None:
    seeded = service.seeded
    community = service.admin("/community")
    assert (community["joined"]["30d"], community["left"]["30d"]) == (seeded.followers, seeded.unfollows)
    assert community["followers"] == seeded.followers - seeded.unfollows
    followers = service.all_pages("/community/followers")
    assert len({f["followed_at"][:10] for f in followers}) >= 4


def test_clicks_orders_feedback_keywords_and_the_spike_reach_the_report(service: Service) -> None:
    seeded = service.seeded
    summary = service.admin("/reports/summary")
    assert (summary["clicks"], summary["orders"], summary["deals_released"]) == (
        seeded.clicks,
        seeded.orders,
        len(seeded.deals),
    )
    feedback = service.all_pages("/feedback")
    assert len(feedback) == seeded.feedback + seeded.likes
    assert {f["kind"] for f in feedback} >= {"reply", "mention", "dm", "like"}
    assert {f["sentiment"]["label"] for f in feedback} == {"positive", "neutral", "negative"}
    assert any(f["keywords"] for f in feedback)
    assert {r["name"] for r in service.all_pages("/listening/rules")} == {r["name"] for r in RULES}
    heard = service.all_pages("/listening/posts")
    assert len(heard) == seeded.heard > 0
    voices = {v["voice"]: v["total"] for v in service.admin("/listening/share-of-voice?days=31")["voices"]}
    assert voices["brand"] + voices["Contoso"] == seeded.heard
    spikes = [a for a in service.all_pages("/alerts") if a["kind"] == "negative_spike"]
    assert len(spikes) == 1
    assert seeded.spike_at is not None
    assert spikes[0]["raised_at"][:13] == seeded.spike_at.isoformat()[:13]


def test_after_seeding_the_service_keeps_real_time(service: Service) -> None:
    # A release a minute in the (real) past is refused: the service's clock is not behind.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, _, body = service.outlet.call(
        "POST",
        "/deals",
        (
            '{"title": "Clock check", "price": "1.00", "list_price": "2.00", "currency": "USD",'
            f' "code": "CLOCKCHECK", "release_at": "{past}"}}'
        ).encode(),
        {"Authorization": f"Bearer {service.outlet.admin_token}", "Content-Type": "application/json"},
    )
    assert status == 422
    assert b"release_at" in body
