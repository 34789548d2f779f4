"""Which cancelled transactions are retried, and how: against botocore's Stubber, since moto never
cancels a transaction for a conflict or throttling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.store import ConditionFailed, Store, TransactionConflict
from chalicelib.store.retry import Backoff

OPS = [
    {
        "Update": {
            "TableName": "t",
            "Key": {"PK": {"S": "COMMUNITY"}, "SK": {"S": "TOTALS#0"}},
            "UpdateExpression": "ADD #n :v",
            "ExpressionAttributeNames": {"#n": "followers"},
            "ExpressionAttributeValues": {":v": {"N": "1"}},
        }
    }
]


@pytest.fixture
def stubbed() -> Iterator[tuple[Store, Stubber, list[float]]]:
    client: Any = boto3.session.Session(region_name="us-east-1").client(
        "dynamodb", aws_access_key_id="x", aws_secret_access_key="x"
    )
    sleeps: list[float] = []
    with Stubber(client) as stubber:
        yield Store("t", client, sleep=sleeps.append), stubber, sleeps


def cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        http_status_code=400,
        response_meta={},
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_transaction_cancelled_by_a_conflict_or_throttling_is_retried_until_it_goes_through(
    stubbed: tuple[Store, Stubber, list[float]], reason: str
) -> None:
    store, stubber, sleeps = stubbed
    cancelled(stubber, "None", reason)
    cancelled(stubber, reason, "None")
    stubber.add_response("transact_write_items", {})

    store.retrying(lambda: store.transact(OPS))

    stubber.assert_no_pending_responses()
    assert len(sleeps) == 2


def test_a_validation_error_surfaces_at_once_and_is_not_retried(stubbed: tuple[Store, Stubber, list[float]]) -> None:
    store, stubber, sleeps = stubbed
    cancelled(stubber, "None", "ValidationError")

    with pytest.raises(ClientError) as raised:
        store.retrying(lambda: store.transact(OPS))

    assert not isinstance(raised.value, TransactionConflict)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert sleeps == []


def test_a_conflict_beside_a_validation_error_is_not_retried_either(
    stubbed: tuple[Store, Stubber, list[float]],
) -> None:
    store, stubber, _ = stubbed
    cancelled(stubber, "TransactionConflict", "ValidationError")
    with pytest.raises(ClientError):
        store.transact(OPS)


def test_a_failed_condition_is_reported_as_such_whatever_else_cancelled_the_transaction(
    stubbed: tuple[Store, Stubber, list[float]],
) -> None:
    store, stubber, _ = stubbed
    cancelled(stubber, "TransactionConflict", "ConditionalCheckFailed")
    with pytest.raises(ConditionFailed) as raised:
        store.transact(OPS)
    assert raised.value.index == 1


def test_retries_stop_at_the_deadline_with_the_conflict(stubbed: tuple[Store, Stubber, list[float]]) -> None:
    store, stubber, sleeps = stubbed
    for _ in range(200):
        cancelled(stubber, "TransactionConflict")

    with pytest.raises(TransactionConflict):
        store.retrying(lambda: store.transact(OPS), Backoff(base=0.1, cap=0.4, deadline=1.0))

    assert 0 < len(sleeps) < 200
    assert sum(sleeps) <= 1.0


def test_backoff_pauses_are_jittered_below_a_growing_ceiling_and_never_past_the_deadline() -> None:
    # Given a jitter that always takes the top of its range, and a clock that only sleeps move
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Backoff(base=0.1, cap=0.8, deadline=3.0).start(sleep, lambda: now[0], lambda low, high: high)
    while pacer.pause():
        pass

    assert sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 0.8, 0.7])  # doubling, capped, the last cut to the deadline


def test_backoff_pauses_differ_between_writers() -> None:
    pauses: set[float] = set()
    for _ in range(20):
        pacer = Backoff(base=0.1).start(pauses.add, lambda: 0.0)
        pacer.pause()
    assert len(pauses) > 10  # full jitter: writers that met once do not meet again in step
