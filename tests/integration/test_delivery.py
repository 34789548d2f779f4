"""The delivery queue's consumer: handlers reached, redelivery harmless, bad records isolated, and
a DM message queued in the table for the drain, never failed or deferred on the queue."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib.channel import HELD
from chalicelib.delivery import DeliveryMessage, Handler, QueueRecord, deliver_batch, enqueue
from chalicelib.direct_messages import DmPolicy, drain_dms, intake_handler
from chalicelib.dm_queue import dm_totals
from chalicelib.publishing import OutboxPublisher, list_outbox
from chalicelib.store import Keys, Store, utcnow
from tests.conftest import REGION


def dm(message_id: str, to: str = "2244994945", text: str = "Your deal is live") -> DeliveryMessage:
    return DeliveryMessage(kind="dm", id=message_id, payload={"to": to, "text": text, "deal_id": "d1"})


def record(message_id: str, body: str) -> QueueRecord:
    return QueueRecord(message_id=message_id, body=body)


def handlers_on(store: Store) -> dict[str, Handler]:
    return {"dm": intake_handler(store, utcnow)}


def drain(store: Store) -> None:
    drain_dms(store, OutboxPublisher(store), DmPolicy(), utcnow, lambda: 30.0)


def test_a_dm_message_waits_in_the_table_and_the_drain_sends_it(store: Store) -> None:
    result = deliver_batch([record("m1", dm("dm-1").model_dump_json())], handlers_on(store))
    assert result == {"batchItemFailures": []}
    assert list_outbox(store, limit=10, cursor=None).items == []  # queued, not sent by the consumer
    drain(store)
    (entry,) = list_outbox(store, limit=10, cursor=None).items
    assert (entry["kind"], entry["to"], entry["text"]) == ("dm", "2244994945", "Your deal is live")


def test_a_redelivered_message_sends_nothing_twice(store: Store) -> None:
    body = dm("dm-7").model_dump_json()
    deliver_batch([record("m1", body)], handlers_on(store))
    drain(store)
    deliver_batch([record("m2", body), record("m3", body)], handlers_on(store))
    drain(store)
    assert len(list_outbox(store, limit=10, cursor=None).items) == 1
    assert dm_totals(store)["waiting"] == 0


def test_one_bad_record_fails_alone(store: Store) -> None:
    handlers = handlers_on(store)

    def exploding(message: DeliveryMessage) -> None:
        raise RuntimeError("X is down")

    handlers["flaky"] = exploding
    records = [
        record("good-1", dm("a").model_dump_json()),
        record("not-json", "{nope"),
        record("unknown-kind", json.dumps({"kind": "fax", "id": "f1"})),
        record("bad-payload", json.dumps({"kind": "dm", "id": "x", "payload": {"to": "@handle", "text": "hi"}})),
        record("raises", json.dumps({"kind": "flaky", "id": "z"})),
        record("good-2", dm("b").model_dump_json()),
    ]
    result = deliver_batch(records, handlers)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        "not-json",
        "unknown-kind",
        "bad-payload",
        "raises",
    ]
    assert dm_totals(store)["waiting"] == 2


def test_enqueue_sends_ten_a_request_and_every_message_arrives(cloud: Any) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = cloud.environment["DELIVERY_QUEUE_URL"]
    calls: list[int] = []
    sqs.meta.events.register(
        "before-parameter-build.sqs.SendMessageBatch", lambda params, **_: calls.append(len(params["Entries"]))
    )
    enqueue(sqs, url, [dm(f"m{n}") for n in range(23)])
    assert calls == [10, 10, 3]
    ids: set[str] = set()
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        ids.update(DeliveryMessage.model_validate_json(m["Body"]).id for m in got)
    assert ids == {f"m{n}" for n in range(23)}


class FlakySQS:
    """SendMessageBatch that fails some entries on its first call, as SQS may under load."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        ids = [e["Id"] for e in Entries]
        self.calls.append(ids)
        if len(self.calls) == 1:
            failed = [{"Id": i, "SenderFault": False, "Code": "InternalError"} for i in ids[:3]]
            return {"Successful": [{"Id": i} for i in ids[3:]], "Failed": failed}
        return {"Successful": [{"Id": i} for i in ids], "Failed": []}


def test_enqueue_retries_only_the_entries_sqs_failed() -> None:
    flaky = FlakySQS()
    enqueue(flaky, "url", [dm(f"m{n}") for n in range(5)], sleep=lambda _: None)  # type: ignore[arg-type]
    assert flaky.calls == [["0", "1", "2", "3", "4"], ["0", "1", "2"]]


def test_a_held_channel_fails_no_message_and_sends_nothing_until_resumed(store: Store) -> None:
    store.update(Keys.channel(), set={"publishing": HELD})
    result = deliver_batch(
        [record("m1", dm("a").model_dump_json()), record("m2", dm("b").model_dump_json())], handlers_on(store)
    )
    assert result == {"batchItemFailures": []}  # nothing comes back, so nothing can reach the dead-letter queue
    drain(store)
    assert list_outbox(store, limit=10, cursor=None).items == []
    store.update(Keys.channel(), set={"publishing": "active"})
    drain(store)
    assert len(list_outbox(store, limit=10, cursor=None).items) == 2
