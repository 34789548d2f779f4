"""The delivery queue: what travels on it, how a batch is consumed, and how work is put on it.

A batch reports its failed records (``ReportBatchItemFailures``), so one bad message is retried
alone; a message that keeps failing reaches the dead-letter queue after the queue's
maxReceiveCount (infra/template.json).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SEND_BATCH_LIMIT = 10  # SQS SendMessageBatch holds at most ten entries
MAX_DELAY_SECONDS = 900  # SQS's longest per-message delay


class DeliveryMessage(BaseModel):
    """One unit of work. ``id`` is its idempotency key: redelivery must not repeat its effect."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=256)
    payload: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class QueueRecord:
    message_id: str
    body: str


class PoisonMessage(ValueError):
    """A message that no retry can fix."""


Handler = Callable[[DeliveryMessage], None]


def deliver_batch(records: Iterable[QueueRecord], handlers: Mapping[str, Handler]) -> dict[str, list[dict[str, str]]]:
    """Run each record's handler; return the failed ones in Lambda's partial-batch shape. No
    handler waits or defers: DMs are written to the table's queues and sent by the drain."""
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            _deliver(record, handlers)
        except (ValidationError, PoisonMessage) as exc:
            logger.error("poison message", extra={"message_id": record.message_id, "reason": type(exc).__name__})
            failures.append({"itemIdentifier": record.message_id})
        except Exception:
            logger.exception("delivery failed", extra={"message_id": record.message_id})
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def _deliver(record: QueueRecord, handlers: Mapping[str, Handler]) -> None:
    message = DeliveryMessage.model_validate_json(record.body)
    handler = handlers.get(message.kind)
    if handler is None:
        raise PoisonMessage(f"no handler for kind {message.kind!r}")
    handler(message)
    logger.debug("delivered", extra={"message_id": record.message_id, "kind": message.kind})


def enqueue(
    sqs: SQSClient,
    queue_url: str,
    messages: Sequence[DeliveryMessage],
    *,
    delay_seconds: int = 0,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send any number of messages, ten a request, retrying the entries SQS reports as failed."""
    delay = max(0, min(delay_seconds, MAX_DELAY_SECONDS))
    for start in range(0, len(messages), SEND_BATCH_LIMIT):
        pending = {str(n): m.model_dump_json() for n, m in enumerate(messages[start : start + SEND_BATCH_LIMIT])}
        for attempt in range(attempts):
            entries = [{"Id": n, "MessageBody": body, "DelaySeconds": delay} for n, body in pending.items()]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
            failed = {f["Id"] for f in response.get("Failed", []) if not f.get("SenderFault")}
            sender_faults = [f for f in response.get("Failed", []) if f.get("SenderFault")]
            if sender_faults:
                raise ValueError(f"SQS refused {len(sender_faults)} messages: {sender_faults[0].get('Code')}")
            pending = {n: body for n, body in pending.items() if n in failed}
            if not pending:
                break
            sleep(0.05 * 2**attempt)
        else:
            raise RuntimeError(f"{len(pending)} messages could not be queued")
