"""The community under at-least-once, out-of-order delivery: exact state, exact counters, and the
DynamoDB requests each event costs."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.community import Outcome, committed_in, community_summary, list_followers, record_follow_change
from chalicelib.store import Keys, Store
from chalicelib.x.events import FollowChange, XUser
from tests.conftest import aws_client

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def change(user: str, kind: str, slot: int) -> FollowChange:
    at = BASE + timedelta(hours=6 * slot)  # four slots a day: counters by day get exercised
    return FollowChange(
        kind=kind,  # type: ignore[arg-type]
        event_id=f"aaa:{kind}:{user}:brand:{int(at.timestamp() * 1000)}",
        occurred_at=at,
        follower=XUser(id=user, handle=f"h{user}", name=f"n{user}"),
    )


def scan(store: Store) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws_client("dynamodb").scan(TableName=store.table_name)["Items"]
    return items


def test_a_new_follower_costs_one_request(store: Store) -> None:
    assert record_follow_change(store, change("1", "follow", 0)).requests == 1


def another_container(store: Store) -> Store:
    """The same table as another container sees it: a Store of its own, with an empty memory."""
    return Store(store.table_name, aws_client("dynamodb"))


def test_a_duplicate_in_another_container_costs_one_request_and_writes_nothing(store: Store) -> None:
    record_follow_change(store, change("1", "follow", 0))
    before = scan(store)
    outcome = record_follow_change(another_container(store), change("1", "follow", 0))
    assert (outcome.applied, outcome.requests) == (False, 1)
    assert scan(store) == before


def test_a_duplicate_in_the_container_that_committed_it_costs_no_request(store: Store) -> None:
    record_follow_change(store, change("1", "follow", 0))
    before = scan(store)
    assert record_follow_change(store, change("1", "follow", 0)) == Outcome(applied=False, requests=0)
    assert scan(store) == before
    # and a container that found it committed remembers it too
    other = another_container(store)
    assert record_follow_change(other, change("1", "follow", 0)).requests == 1
    assert record_follow_change(other, change("1", "follow", 0)) == Outcome(applied=False, requests=0)


def test_an_in_order_unfollow_costs_one_request(store: Store) -> None:
    record_follow_change(store, change("1", "follow", 0))
    assert record_follow_change(store, change("1", "unfollow", 1)).requests == 1
    outcome = record_follow_change(another_container(store), change("1", "unfollow", 1))
    assert (outcome.applied, outcome.requests) == (False, 1)


class Crashing(Store):
    """A store whose next transaction fails: before DynamoDB got it, or after it committed (a
    Lambda that timed out waiting for the answer)."""

    def __init__(self, store: Store, *, after_commit: bool) -> None:
        super().__init__(store.table_name, aws_client("dynamodb"))
        self.after_commit, self.crashes = after_commit, 1

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        if self.crashes and not self.after_commit:
            self.crashes -= 1
            raise RuntimeError("crashed before the transaction")
        super().transact(ops, token=token)
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("crashed after the transaction committed")


def test_a_transaction_that_failed_is_not_remembered(store: Store) -> None:
    crashing = Crashing(store, after_commit=False)
    with pytest.raises(RuntimeError):
        record_follow_change(crashing, change("1", "follow", 0))
    assert scan(store) == []
    assert record_follow_change(crashing, change("1", "follow", 0)) == Outcome(applied=True, requests=1)


def test_a_transaction_whose_outcome_is_unknown_is_asked_again_and_counted_once(store: Store) -> None:
    crashing = Crashing(store, after_commit=True)
    with pytest.raises(RuntimeError):
        record_follow_change(crashing, change("1", "follow", 0))
    assert record_follow_change(crashing, change("1", "follow", 0)) == Outcome(applied=False, requests=1)
    assert community_summary(crashing, BASE)["followers"] == 1


def test_the_memory_is_bounded_and_forgets_the_oldest_first(store: Store) -> None:
    committed_in(store).limit = 2
    for user in ("1", "2", "3"):
        record_follow_change(store, change(user, "follow", 0))
    assert len(committed_in(store)) == 2
    assert record_follow_change(store, change("1", "follow", 0)) == Outcome(applied=False, requests=1)  # forgotten
    assert record_follow_change(store, change("3", "follow", 0)) == Outcome(applied=False, requests=0)
    assert len(committed_in(store)) == 2


def test_a_returning_or_late_event_costs_two_requests(store: Store) -> None:
    record_follow_change(store, change("1", "follow", 0))
    record_follow_change(store, change("1", "unfollow", 2))
    assert record_follow_change(store, change("1", "follow", 3)).requests == 2  # returning
    assert record_follow_change(store, change("1", "unfollow", 1)).requests == 2  # late


def test_a_returning_follower_counts_twice_but_is_one_person(store: Store) -> None:
    for kind, slot in [("follow", 0), ("unfollow", 1), ("follow", 2)]:
        record_follow_change(store, change("7", kind, slot))
    summary = community_summary(store, BASE + timedelta(days=1))
    assert (summary["followers"], summary["ever_followed"], summary["unfollows"]) == (1, 1, 1)
    (follower,) = list_followers(store, status="following", limit=10, cursor=None).items
    assert follower["follow_count"] == 2
    assert follower["followed_at"] == "2026-11-01T12:00:00.000000Z"


def test_joined_and_left_windows_count_by_event_day(store: Store) -> None:
    now = datetime(2026, 11, 26, 15, tzinfo=UTC)
    for user, kind, days_ago in [("1", "follow", 0), ("2", "follow", 3), ("3", "follow", 20), ("4", "follow", 40)]:
        at = now - timedelta(days=days_ago)
        record_follow_change(
            store,
            FollowChange(kind=kind, event_id=f"e{user}", occurred_at=at, follower=XUser(id=user)),  # type: ignore[arg-type]
        )
    record_follow_change(store, FollowChange(kind="unfollow", event_id="u2", occurred_at=now, follower=XUser(id="2")))
    summary = community_summary(store, now)
    assert summary["joined"] == {"today": 1, "7d": 2, "30d": 3}
    assert summary["left"] == {"today": 1, "7d": 1, "30d": 1}
    assert summary["net_growth"] == {"today": 0, "7d": 1, "30d": 2}
    assert (summary["followers"], summary["ever_followed"]) == (3, 4)


def test_followers_page_newest_first(store: Store) -> None:
    for n in range(5):
        record_follow_change(store, change(str(n), "follow", n))
    first = list_followers(store, status="following", limit=2, cursor=None)
    assert [f["user_id"] for f in first.items] == ["4", "3"]
    rest = list_followers(store, status="following", limit=10, cursor=first.next)
    assert [f["user_id"] for f in rest.items] == ["2", "1", "0"]


# --- the property: any delivery order, any duplicates, the state of a simple model ---------------


def model(events: set[tuple[str, str, int]]) -> dict[str, Any]:
    """The truth, computed the plain way: each user's distinct events replayed in time order."""
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user, kind, slot in events:
        by_user[user].append((slot, kind))
    users, joined, left = {}, Counter[str](), Counter[str]()
    totals = {"followers": 0, "ever_followed": 0, "unfollows": 0}
    for user, history in by_user.items():
        status, follows, unfollows = None, 0, 0
        for slot, kind in sorted(history, key=lambda e: (e[0], e[1] == "unfollow")):
            day = (BASE + timedelta(hours=6 * slot)).date().isoformat()
            if kind == "follow" and status != "following":
                status, follows = "following", follows + 1
                joined[day] += 1
            elif kind == "unfollow" and status != "left":
                if status is None:
                    follows += 1  # an unfollow proves a follow we never saw
                status, unfollows = "left", unfollows + 1
                left[day] += 1
        users[user] = (status, follows)
        totals["followers"] += status == "following"
        totals["ever_followed"] += 1
        totals["unfollows"] += unfollows
    return {"users": users, "totals": totals, "joined": +joined, "left": +left}


def observed(store: Store) -> dict[str, Any]:
    users = {}
    for status in ("following", "left"):
        for item in list_followers(store, status=status, limit=100, cursor=None).items:
            users[item["user_id"]] = (item["status"], item["follow_count"])
    totals_item = store.sum_of(Keys.community_totals(n) for n in range(Keys.COMMUNITY_SHARDS))
    totals = {name: int(totals_item.get(name, 0)) for name in ("followers", "ever_followed", "unfollows")}
    joined, left = Counter[str](), Counter[str]()
    for shard in store.query(Keys.COMMUNITY_DAYS, limit=1000).items:  # a day's shards: "<day>#<shard>"
        joined[str(shard["SK"])[:10]] += int(shard.get("joined", 0))
        left[str(shard["SK"])[:10]] += int(shard.get("left", 0))
    return {"users": users, "totals": totals, "joined": +joined, "left": +left}


event = st.tuples(st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(["follow", "unfollow"]), st.integers(0, 11))


def empty(store: Store) -> None:
    ddb = aws_client("dynamodb")
    for item in scan(store):
        ddb.delete_item(TableName=store.table_name, Key={"PK": item["PK"], "SK": item["SK"]})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=14, unique=True), data=st.data())
def test_any_delivery_order_with_duplicates_ends_in_the_models_state(
    store: Store, events: list[tuple[str, str, int]], data: st.DataObject
) -> None:
    # Given the events, delivered in a shuffled order, some of them more than once
    deliveries = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=8))))
    empty(store)
    fresh = another_container(store)  # an emptied table: a store that remembers none of it
    # When each delivery is applied
    for user, kind, slot in deliveries:
        record_follow_change(fresh, change(user, kind, slot))
    # Then state and counters are exactly those of the events, once each, in time order
    assert observed(store) == model(set(events))
