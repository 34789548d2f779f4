"""The store against moto: conditional writes, counters, transactions, paging and TTL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.store import GSI1, AlreadyExists, ConditionFailed, InvalidCursor, Keys, Store, pack_cursor
from chalicelib.store.conditions import Attr
from tests.conftest import FakeClock


def user(n: int, **extra: Any) -> dict[str, Any]:
    return {"PK": f"USER#{n}", "SK": "PROFILE", "name": f"user {n}", **extra}


def test_put_new_refuses_an_existing_key_and_reports_what_it_found(store: Store) -> None:
    store.put_new(user(1, version=1))
    with pytest.raises(AlreadyExists) as raised:
        store.put_new(user(1, version=2))
    assert raised.value.item is not None
    assert raised.value.item["version"] == 1
    assert store.get({"PK": "USER#1", "SK": "PROFILE"})["version"] == 1  # type: ignore[index]


def test_a_conditional_update_that_fails_changes_nothing(store: Store) -> None:
    store.put_new(user(2, status="scheduled"))
    key = {"PK": "USER#2", "SK": "PROFILE"}
    store.update(key, set={"status": "releasing"}, condition=Attr("status").eq("scheduled"))
    with pytest.raises(ConditionFailed) as raised:
        store.update(key, set={"status": "releasing", "extra": 1}, condition=Attr("status").eq("scheduled"))
    assert raised.value.item is not None
    assert raised.value.item["status"] == "releasing"
    assert "extra" not in store.get(key)  # type: ignore[operator]


def test_set_if_absent_keeps_the_first_value(store: Store) -> None:
    key = {"PK": "USER#3", "SK": "PROFILE"}
    store.update(key, set_if_absent={"first_seen": "2026-01-01"}, set={"last_seen": "2026-01-01"})
    after = store.update(key, set_if_absent={"first_seen": "2026-02-02"}, set={"last_seen": "2026-02-02"})
    assert after["first_seen"] == "2026-01-01"
    assert after["last_seen"] == "2026-02-02"


def test_increment_adds_in_one_request_and_returns_the_new_values(store: Store) -> None:
    # ADD in a single UpdateItem is atomic in DynamoDB (moto is not thread-safe, so atomicity
    # itself cannot be shown here: what can be shown is that no read-modify-write happens).
    key = {"PK": "COUNTERS", "SK": "COMMUNITY"}
    before = store.requests
    first = store.increment(key, {"followers": 1, "ever_followed": 1})
    second = store.increment(key, {"followers": -1, "unfollows": 1})
    assert store.requests - before == 2
    assert (first["followers"], first["ever_followed"]) == (1, 1)
    assert (second["followers"], second["ever_followed"], second["unfollows"]) == (0, 1, 1)


def test_decimals_round_trip_exactly_and_floats_are_refused(store: Store) -> None:
    store.put_new(user(4, price=Decimal("19.99")))
    assert store.get({"PK": "USER#4", "SK": "PROFILE"})["price"] == Decimal("19.99")  # type: ignore[index]
    with pytest.raises(TypeError):
        store.put(user(5, price=19.99))


def test_a_transaction_is_all_or_nothing_and_names_the_failed_operation(store: Store) -> None:
    store.put_new(user(6, status="released"))
    ops = [
        store.op_put(user(7)),
        store.op_update({"PK": "COUNTERS", "SK": "X"}, add={"n": 1}),
        store.op_check({"PK": "USER#6", "SK": "PROFILE"}, Attr("status").eq("scheduled")),
    ]
    with pytest.raises(ConditionFailed) as raised:
        store.transact(ops)
    assert raised.value.index == 2
    assert store.get({"PK": "USER#7", "SK": "PROFILE"}) is None
    assert store.get({"PK": "COUNTERS", "SK": "X"}) is None
    store.transact(ops[:2])
    assert store.get({"PK": "COUNTERS", "SK": "X"}) == {"PK": "COUNTERS", "SK": "X", "n": 1}


def test_expired_items_are_invisible_to_reads_before_dynamodb_deletes_them(store: Store, clock: FakeClock) -> None:
    # Given an item whose TTL passes in one hour (moto, like DynamoDB for up to days, keeps it)
    expires = int(clock().timestamp()) + 3600
    store.put_new(user(8, ttl=expires))
    key = {"PK": "USER#8", "SK": "PROFILE"}
    assert store.get(key) is not None
    # When the hour has passed
    clock.advance(hours=1, seconds=1)
    # Then get, query and batch_get no longer see it, and put_new may reuse the key
    assert store.get(key) is None
    assert store.query("USER#8").items == []
    assert store.batch_get([key]) == []
    store.put_new(user(8, fresh=True))
    assert store.get(key)["fresh"] is True  # type: ignore[index]


def test_query_pages_with_an_opaque_cursor_until_the_end(store: Store) -> None:
    store.batch_put({"PK": "LIST", "SK": f"{n:04d}", "n": n} for n in range(120))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = store.query("LIST", limit=50, cursor=cursor)
        seen.extend(int(i["n"]) for i in page.items)
        pages += 1
        cursor = page.next
        if cursor is None:
            break
    assert seen == list(range(120))
    assert pages in (3, 4)  # DynamoDB may return an empty last page


def test_query_reads_the_index_newest_first(store: Store) -> None:
    for n, when in enumerate(["2026-01-01", "2026-03-01", "2026-02-01"]):
        store.put_new({"PK": f"E#{n}", "SK": "E", "GSI1PK": "EVENTS", "GSI1SK": when})
    page = store.query("EVENTS", index=GSI1, newest_first=True)
    assert [i["GSI1SK"] for i in page.items] == ["2026-03-01", "2026-02-01", "2026-01-01"]


@pytest.mark.parametrize("cursor", ["not-base64!", "eyJmb28iOiAxfQ", "W10"])
def test_a_cursor_this_store_did_not_issue_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        store.query("LIST", cursor=cursor)


def test_a_cursor_from_another_listing_is_refused(store: Store) -> None:
    store.batch_put({"PK": "A", "SK": f"{n}"} for n in range(3))
    cursor = store.query("A", limit=1).next
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        store.query("B", cursor=cursor)


def test_every_key_shape_comes_from_keys(store: Store) -> None:
    key = Keys.dedupe("x-event", "123")
    store.put_new({**key, "seen": True})
    with pytest.raises(AlreadyExists):
        store.put_new({**key, "seen": True})


def test_a_dotted_name_updates_a_member_of_a_map(store: Store) -> None:
    key = {"PK": "USER#9", "SK": "PROFILE"}
    store.put_new({**key, "history": {"a": "1"}})
    after = store.update(key, set={"history.b": "2"}, condition=Attr("history.b").not_exists())
    assert after["history"] == {"a": "1", "b": "2"}
    assert "history.b" not in after


def test_the_sparse_index_pages_with_its_own_cursors(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib.store import GSI2

    start = datetime(2026, 11, 26, tzinfo=UTC)
    for n in range(5):
        store.put({**Keys.deal(f"d{n}"), **Keys.deal_ending(start + timedelta(hours=n), f"d{n}"), "id": f"d{n}"})
    store.put({**Keys.deal("never"), "id": "never"})  # no GSI2 keys: not in the index at all
    seen, cursor = [], None
    while True:
        page = store.query(Keys.DEALS_ENDING, index=GSI2, limit=2, cursor=cursor)
        seen += [item["id"] for item in page.items]
        if (cursor := page.next) is None:
            break
    assert seen == [f"d{n}" for n in range(5)]
    first = store.query(Keys.DEALS_ENDING, index=GSI2, limit=2).next
    assert first is not None
    with pytest.raises(InvalidCursor):  # a GSI2 position is not a GSI1 one
        store.query(Keys.DEALS_ENDING, index=GSI1, limit=2, cursor=first)


def test_an_index_pages_with_its_cursor_and_refuses_one_with_other_keys(store: Store) -> None:
    # Items may carry other indexes' keys too; an index's cursor holds the table's and its own.
    for n in range(5):
        store.put_new({"PK": f"E#{n}", "SK": "E", "GSI1PK": "EVENTS", "GSI1SK": f"{n}", "GSI2PK": "X", "GSI2SK": "x"})
    first = store.query("EVENTS", index=GSI1, limit=3)
    assert first.next is not None
    rest = store.query("EVENTS", index=GSI1, limit=3, cursor=first.next)
    assert [i["GSI1SK"] for i in first.items + rest.items] == ["0", "1", "2", "3", "4"]
    with pytest.raises(InvalidCursor):  # the index's cursor, read as the table's
        store.query("EVENTS", cursor=first.next)
    key = {"PK": "E#2", "SK": "E", "GSI1PK": "EVENTS", "GSI1SK": "2", "GSI2PK": "X"}
    with pytest.raises(InvalidCursor):  # a key attribute this query does not return
        store.query("EVENTS", index=GSI1, cursor=pack_cursor(key))
