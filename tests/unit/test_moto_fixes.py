"""The local server's moto fixes: a transaction that is cancelled still changes nothing, and one
that succeeds still changes everything, without copying the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.moto_fixes import cheap_transaction_rollback, serialize_dynamodb

TABLE = "fixes"


@pytest.fixture
def ddb() -> Iterator[Any]:
    undo_rollback, undo_lock = cheap_transaction_rollback(), serialize_dynamodb()
    try:
        with mock_aws():
            client: Any = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            yield client
    finally:
        undo_lock()
        undo_rollback()


def key(name: str) -> dict[str, Any]:
    return {"PK": {"S": name}, "SK": {"S": "ITEM"}}


def read(ddb: Any, name: str) -> dict[str, Any] | None:
    return ddb.get_item(TableName=TABLE, Key=key(name)).get("Item")  # type: ignore[no-any-return]


def update(name: str, n: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(name),
            "UpdateExpression": "SET n = :n, nested.deep = :n",
            "ExpressionAttributeValues": {":n": {"N": str(n)}},
        }
    }


def test_a_cancelled_transaction_leaves_every_item_as_it_was(ddb: Any) -> None:
    original = {**key("a"), "n": {"N": "1"}, "nested": {"M": {"deep": {"N": "1"}, "keep": {"S": "x"}}}}
    ddb.put_item(TableName=TABLE, Item=original)
    items = [
        update("a", 2),  # applied by moto before the last check fails
        {"Put": {"TableName": TABLE, "Item": {**key("b"), "n": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": key("missing"), "ConditionExpression": "attribute_exists(PK)"}},
    ]
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=items)
    assert read(ddb, "a") == original
    assert read(ddb, "b") is None


def test_a_transaction_that_passes_applies_all_its_writes(ddb: Any) -> None:
    ddb.put_item(TableName=TABLE, Item={**key("a"), "n": {"N": "1"}, "nested": {"M": {}}})
    ddb.put_item(TableName=TABLE, Item={**key("gone"), "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            update("a", 2),
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {**key("b"), "n": {"N": "1"}},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {"Delete": {"TableName": TABLE, "Key": key("gone")}},
        ]
    )
    assert read(ddb, "a") == {**key("a"), "n": {"N": "2"}, "nested": {"M": {"deep": {"N": "2"}}}}
    assert read(ddb, "b") == {**key("b"), "n": {"N": "1"}}
    assert read(ddb, "gone") is None


def test_a_refused_put_over_an_existing_item_restores_it(ddb: Any) -> None:
    ddb.put_item(TableName=TABLE, Item={**key("a"), "n": {"N": "1"}})
    ddb.put_item(TableName=TABLE, Item={**key("c"), "n": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**key("c"), "n": {"N": "9"}}}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**key("a"), "n": {"N": "9"}},
                        "ConditionExpression": "n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
            ]
        )
    assert read(ddb, "c") == {**key("c"), "n": {"N": "1"}}
    assert read(ddb, "a") == {**key("a"), "n": {"N": "1"}}
