"""`make run`'s saved data: the state file (missing, empty, damaged, written atomically), a snapshot
of moto's table, queues and secret, and its restore into freshly provisioned resources; and the
moto fixes that make the embedded server exact under concurrent requests."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from localcloud.provision import provision
from localcloud.run import kept_resources
from localcloud.state import Snapshot, UnreadableState, capture, read_state, restore, state_file, write_state
from tests.conftest import aws_client

PROJECT = Path(__file__).resolve().parents[2]


def test_a_missing_or_empty_state_directory_means_no_saved_state(tmp_path: Path) -> None:
    assert read_state(tmp_path / "never-created") is None
    assert read_state(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "not valid JSON"),
        ('{"tables": {', "not valid JSON"),
        ('["a list"]', "not an outlet state file"),
        ('{"format": "something-else"}', "not an outlet state file"),
        ('{"format": "outlet-local-state", "version": 99}', "has version 99"),
        ('{"format": "outlet-local-state", "version": 1, "tables": {}}', "incomplete or damaged"),
        (
            '{"format": "outlet-local-state", "version": 1, "local_secrets": {}, "secret_strings": {},'
            ' "queues": {}, "tables": {"t": ["not an item"]}}',
            "incomplete or damaged",
        ),
    ],
)
def test_a_damaged_state_file_is_reported_not_guessed_at(tmp_path: Path, content: str, reason: str) -> None:
    state_file(tmp_path).write_text(content)
    with pytest.raises(UnreadableState, match=reason) as raised:
        read_state(tmp_path)
    assert str(state_file(tmp_path)) in str(raised.value)


def test_the_state_file_is_replaced_whole_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    first = Snapshot(local_secrets={"ADMIN_TOKEN": "one"}, tables={"t": [{"PK": {"S": "a"}}]})
    write_state(directory, first)
    second = Snapshot(local_secrets={"ADMIN_TOKEN": "two"}, tables={"t": []}, queues={"q": [{"body": "x"}]})
    write_state(directory, second)
    assert read_state(directory) == second
    assert sorted(p.name for p in directory.iterdir()) == ["state.json"]  # no temporary file left
    assert stat.S_IMODE(state_file(directory).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_snapshot_restores_items_queued_messages_and_the_secret_into_a_new_cloud(tmp_path: Path) -> None:
    # Given a provisioned cloud with items (one past its TTL), two queued messages (one delayed, one with
    # attributes) and a changed secret value
    with mock_aws():
        stack = provision(aws_client, stage="local")
        resources = kept_resources(stack, "us-east-1")
        table = stack.environment["TABLE_NAME"]
        ddb, sqs = aws_client("dynamodb"), aws_client("sqs")
        items: list[dict[str, Any]] = [
            {"PK": {"S": "FOLLOWER#1"}, "SK": {"S": "FOLLOWER"}, "history": {"M": {"e1": {"S": "x"}}}},
            {"PK": {"S": "DEAL#d1"}, "SK": {"S": "DEAL"}, "price": {"N": "799.00"}, "tags": {"SS": ["a", "b"]}},
            {"PK": {"S": "BLOB#1"}, "SK": {"S": "B"}, "raw": {"B": b"\x00\x01binary"}},
            {"PK": {"S": "DEDUPE#1"}, "SK": {"S": "D"}, "ttl": {"N": str(int(time.time()) + 3600)}},
        ]
        expired = {"PK": {"S": "DEDUPE#0"}, "SK": {"S": "D"}, "ttl": {"N": str(int(time.time()) - 60)}}
        for item in [*items, expired]:
            ddb.put_item(TableName=table, Item=item)
        queue = stack.environment["DELIVERY_QUEUE_URL"]
        sqs.send_message(QueueUrl=queue, MessageBody='{"kind": "dm", "id": "now"}')
        sqs.send_message(
            QueueUrl=queue,
            MessageBody='{"kind": "dm", "id": "later"}',
            DelaySeconds=600,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )
        aws_client("secretsmanager").put_secret_value(SecretId=stack.environment["SECRET_ARN"], SecretString='{"k": 1}')
        snapshot = capture(resources, {"ADMIN_TOKEN": "kept"})
    # When it is written, read back and restored into a fresh cloud
    write_state(tmp_path, snapshot)
    with mock_aws():
        stack = provision(aws_client, stage="local")
        restore(read_state(tmp_path) or Snapshot(), kept_resources(stack, "us-east-1"), aws_client)
        # Then every item (but the one whose TTL passed), message and the secret's value are back
        ddb, sqs = aws_client("dynamodb"), aws_client("sqs")
        found = ddb.scan(TableName=stack.environment["TABLE_NAME"])["Items"]
        assert sorted(found, key=lambda i: i["PK"]["S"]) == sorted(items, key=lambda i: i["PK"]["S"])
        queue = stack.environment["DELIVERY_QUEUE_URL"]
        visible = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["id"] for m in visible] == ["now"]  # the other is still delayed
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
        assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
        secret = aws_client("secretsmanager").get_secret_value(SecretId=stack.environment["SECRET_ARN"])
        assert secret["SecretString"] == '{"k": 1}'
    assert snapshot.local_secrets == {"ADMIN_TOKEN": "kept"}
    (delayed,) = [m for m in snapshot.queues["outlet-local-delivery"] if "later" in m["body"]]
    assert 590 <= delayed["delay_seconds"] <= 600
    assert delayed["attributes"]["origin"]["StringValue"] == "test"


CONCURRENT_TRANSACTIONS = r"""
import json, random, sys, threading, logging
from collections import Counter
from localcloud.run import start_moto
import boto3, botocore.config
server, endpoint = start_moto()
ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                   aws_secret_access_key="x", config=botocore.config.Config(retries={"max_attempts": 1},
                   max_pool_connections=16))
ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}])
users = [str(n) for n in range(int(sys.argv[1]))]
work = users + random.sample(users, len(users) // 3)
random.shuffle(work)
outcomes = Counter()
def send(mine):
    for user in mine:
        try:
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "F#" + user}, "SK": {"S": "F"}},
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Update": {"TableName": "t", "Key": {"PK": {"S": "C"}, "SK": {"S": "C"}},
                            "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
            outcomes["applied"] += 1
        except ddb.exceptions.TransactionCanceledException as e:
            outcomes[",".join(r["Code"] for r in e.response["CancellationReasons"])] += 1
        except Exception as e:
            outcomes[type(e).__name__] += 1
threads = [threading.Thread(target=send, args=(work[n::8],)) for n in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
followers = ddb.query(TableName="t", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "F#1"}})
counter = ddb.get_item(TableName="t", Key={"PK": {"S": "C"}, "SK": {"S": "C"}})["Item"]["n"]["N"]
stored = ddb.scan(TableName="t", Select="COUNT")["Count"] - 1
from moto.dynamodb.models.dynamo_type import Item
print(json.dumps({"sent": len(work), "outcomes": outcomes, "counter": int(counter), "stored": stored,
                  "tracked": len(Item.instances_tracked), "one": followers["Count"]}))
"""


def test_the_embedded_moto_applies_concurrent_conditional_transactions_exactly() -> None:
    # Given 8 threads sending transactions (a conditional put of a follower and a counter ADD),
    # a third of them duplicates, to the same moto server `make run` embeds (run in its own process:
    # the fixes patch moto process-wide)
    users = 300
    result = subprocess.run(  # noqa: S603 - this interpreter, this file's script
        [sys.executable, "-c", CONCURRENT_TRANSACTIONS, str(users)],
        cwd=PROJECT,
        env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    # Then each user is written once, the counter counts each once, duplicates fail only their
    # condition, nothing errs, and moto keeps no copy of what it built
    assert outcome["outcomes"] == {"applied": users, "ConditionalCheckFailed,None": outcome["sent"] - users}
    assert (outcome["stored"], outcome["counter"], outcome["one"]) == (users, users, 1)
    assert outcome["tracked"] == 0


TRANSACTION_SEMANTICS = r"""
import json
from localcloud.run import start_moto
import boto3
server, endpoint = start_moto()
ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                   aws_secret_access_key="x")
ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}])
def key(pk): return {"PK": {"S": pk}, "SK": {"S": "x"}}
ddb.put_item(TableName="t", Item={**key("kept"), "n": {"N": "1"}, "name": {"S": "text"}})
from moto.dynamodb.models import DynamoDBBackend
writes = []
for name in ("put_item", "update_item", "delete_item"):
    def counted(self, *args, _write=getattr(DynamoDBBackend, name), **kwargs):
        writes.append(_write.__name__)
        return _write(self, *args, **kwargs)
    setattr(DynamoDBBackend, name, counted)
out = {}
def attempt(name, items):
    writes.clear()
    try:
        ddb.transact_write_items(TransactItems=items)
        out[name] = "applied"
    except ddb.exceptions.TransactionCanceledException as e:
        out[name] = [(r["Code"], r.get("Item")) for r in e.response["CancellationReasons"]]
        out[name + " writes"] = len(writes)
    except Exception as e:
        out[name] = e.response["Error"]["Code"]
attempt("condition", [
    {"Put": {"TableName": "t", "Item": key("new-1")}},
    {"Update": {"TableName": "t", "Key": key("kept"), "UpdateExpression": "SET n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}, ":one": {"N": "5"}},
                "ConditionExpression": "n = :one",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
attempt("bad update", [
    {"Put": {"TableName": "t", "Item": key("new-2")}},
    {"Update": {"TableName": "t", "Key": key("kept"), "UpdateExpression": "ADD #name :one",
                "ExpressionAttributeNames": {"#name": "name"}, "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
attempt("same item twice", [
    {"Put": {"TableName": "t", "Item": key("new-3")}},
    {"Delete": {"TableName": "t", "Key": key("new-3")}}])
attempt("delete and check", [
    {"Delete": {"TableName": "t", "Key": key("kept")}},
    {"ConditionCheck": {"TableName": "t", "Key": key("absent"), "ConditionExpression": "attribute_exists(PK)"}}])
out["items"] = sorted(i["PK"]["S"] for i in ddb.scan(TableName="t")["Items"])
out["kept"] = ddb.get_item(TableName="t", Key=key("kept"))["Item"]
print(json.dumps(out))
"""


def test_a_cancelled_transaction_undoes_only_its_own_writes_with_moto_s_reasons() -> None:
    result = subprocess.run(  # noqa: S603 - this interpreter, this file's script
        [sys.executable, "-c", TRANSACTION_SEMANTICS],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    kept = {"PK": {"S": "kept"}, "SK": {"S": "x"}, "n": {"N": "1"}, "name": {"S": "text"}}
    # A failed condition: the reasons say which, with the old item when asked; nothing applied,
    # nor even tried (every condition is checked before any write, as in DynamoDB)
    assert out["condition"] == [["None", None], ["ConditionalCheckFailed", kept]]
    assert out["condition writes"] == out["delete and check writes"] == 0
    # An update that cannot apply (ADD to a string) and two operations on one item are validation
    # errors, raised as moto raises them: the first undoes the put before it, the second is refused
    # before anything is written
    assert out["bad update"] == "ValidationException"
    assert out["same item twice"] == "ValidationException"
    assert out["delete and check"] == [["None", None], ["ConditionalCheckFailed", None]]
    assert out["items"] == ["kept"]
    assert out["kept"] == kept
