"""Batch writes and reads against a stub client: moto never returns unprocessed items and does not
enforce the 25-item limit, so these are the only tests that can see that behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store import BatchIncomplete, Store


class StubDynamoDB:
    """Leaves the last ``unprocessed`` items of each request unprocessed, ``rounds`` times."""

    def __init__(self, unprocessed: int = 0, rounds: int = 1) -> None:
        self.unprocessed = unprocessed
        self.rounds = rounds
        self.calls: list[list[dict[str, Any]]] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        ((table, requests),) = RequestItems.items()
        assert len(requests) <= 25, "DynamoDB refuses more than 25 writes a request"
        self.calls.append(requests)
        if self.rounds > 0 and self.unprocessed:
            self.rounds -= 1
            return {"UnprocessedItems": {table: requests[-self.unprocessed :]}}
        return {"UnprocessedItems": {}}

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        ((table, wanted),) = RequestItems.items()
        keys = wanted["Keys"]
        assert len(keys) <= 100
        self.calls.append(keys)
        if self.rounds > 0 and self.unprocessed:
            self.rounds -= 1
            served, held = keys[: -self.unprocessed], keys[-self.unprocessed :]
            return {"Responses": {table: served}, "UnprocessedKeys": {table: {"Keys": held}}}
        return {"Responses": {table: keys}, "UnprocessedKeys": {}}


def items(n: int) -> list[dict[str, Any]]:
    return [{"PK": f"USER#{i}", "SK": "PROFILE", "n": i} for i in range(n)]


def written(stub: StubDynamoDB) -> list[str]:
    return [r["PutRequest"]["Item"]["PK"]["S"] for call in stub.calls for r in call]


def test_batch_put_splits_into_requests_of_at_most_25() -> None:
    stub = StubDynamoDB()
    Store("t", stub, sleep=lambda _: None).batch_put(items(60))  # type: ignore[arg-type]
    assert [len(c) for c in stub.calls] == [25, 25, 10]
    assert sorted(written(stub)) == sorted(f"USER#{i}" for i in range(60))


def test_batch_put_retries_unprocessed_items_until_written() -> None:
    # Given DynamoDB that leaves 5 items unprocessed on the first two requests
    stub = StubDynamoDB(unprocessed=5, rounds=2)
    sleeps: list[float] = []
    store = Store("t", stub, sleep=sleeps.append)  # type: ignore[arg-type]
    # When 30 items are written
    store.batch_put(items(30))
    # Then the unprocessed ones were sent again, after a backoff, and every item was written
    assert [len(c) for c in stub.calls] == [25, 5, 5, 5]  # chunk one, its two retries, chunk two
    assert len(sleeps) == 2
    assert set(written(stub)) == {f"USER#{i}" for i in range(30)}
    assert store.requests == len(stub.calls)


def test_batch_put_gives_up_with_the_remaining_items_after_bounded_attempts() -> None:
    stub = StubDynamoDB(unprocessed=3, rounds=100)
    store = Store("t", stub, sleep=lambda _: None, max_batch_attempts=4)  # type: ignore[arg-type]
    with pytest.raises(BatchIncomplete) as raised:
        store.batch_put(items(10))
    assert len(stub.calls) == 4
    assert sorted(i["PK"] for i in raised.value.remaining) == ["USER#7", "USER#8", "USER#9"]


def test_batch_put_sends_a_key_once_with_its_last_value() -> None:
    # DynamoDB rejects a batch that names one key twice; the store keeps the last write.
    stub = StubDynamoDB()
    first, second = {"PK": "A", "SK": "B", "v": 1}, {"PK": "A", "SK": "B", "v": 2}
    Store("t", stub).batch_put([first, second])  # type: ignore[arg-type]
    assert len(stub.calls[0]) == 1
    assert stub.calls[0][0]["PutRequest"]["Item"]["v"] == {"N": "2"}


def test_batch_get_reads_in_pages_of_100_and_retries_unprocessed_keys() -> None:
    stub = StubDynamoDB(unprocessed=7, rounds=1)
    keys = [{"PK": f"USER#{i}", "SK": "PROFILE"} for i in range(150)]
    found = Store("t", stub, sleep=lambda _: None).batch_get(keys)  # type: ignore[arg-type]
    assert [len(c) for c in stub.calls] == [100, 7, 50]
    assert sorted(i["PK"] for i in found) == sorted(k["PK"] for k in keys)


def test_batch_get_can_read_consistently_and_only_some_attributes() -> None:
    stub = StubDynamoDB()
    requests: list[dict[str, Any]] = []
    served = stub.batch_get_item

    def recording(RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        requests.append(RequestItems["t"])
        return served(RequestItems)

    stub.batch_get_item = recording  # type: ignore[method-assign]
    store = Store("t", stub, sleep=lambda _: None)  # type: ignore[arg-type]
    store.batch_get([{"PK": "A", "SK": "B"}], consistent=True, fields=("id", "name"))
    store.batch_get([{"PK": "A", "SK": "B"}])
    with_fields, plain = requests
    assert with_fields["ConsistentRead"] is True
    named = [with_fields["ExpressionAttributeNames"][n] for n in with_fields["ProjectionExpression"].split(", ")]
    assert named == ["PK", "SK", "ttl", "id", "name"]  # "name" is a reserved word: always by placeholder
    assert plain["ConsistentRead"] is False
    assert "ProjectionExpression" not in plain
