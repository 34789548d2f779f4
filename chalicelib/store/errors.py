"""The store's domain exceptions, and how DynamoDB's errors become them."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.store.keys import Item
from chalicelib.store.wire import from_wire

# Why a transaction may be cancelled and simply tried again: another transaction held one of its
# items, or DynamoDB throttled it. Anything else (a ValidationError...) would fail the same way again.
RETRYABLE_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"}
)


class StoreError(Exception):
    """Base of the store's domain exceptions."""


class ConditionFailed(StoreError):
    """A conditional write found the item in another state. ``item`` is what it found, if any."""

    def __init__(self, message: str, item: Item | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.item = item
        self.index = index


class AlreadyExists(ConditionFailed):
    """``put_new`` found a live item under that key."""


class TransactionConflict(StoreError):
    """Another request touched the same items at the same time, or DynamoDB throttled it: nothing
    was written and the caller may retry (with backoff: ``Store.retrying``)."""


class BatchIncomplete(StoreError):
    """DynamoDB kept returning unprocessed items after every retry."""

    def __init__(self, message: str, remaining: list[Item]) -> None:
        super().__init__(message)
        self.remaining = remaining


class InvalidCursor(StoreError):
    """A paging cursor that this store did not issue for this query."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: ClientError) -> Exception:
    """The domain exception a DynamoDB error means, or the error itself where it means a bug."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        raw: Any = exc.response.get("Item")
        return ConditionFailed("the item is not in the expected state", item=from_wire(raw) if raw else None)
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons", [])
        for index, reason in enumerate(reasons):
            if reason.get("Code") == "ConditionalCheckFailed":
                raw = reason.get("Item")
                return ConditionFailed(
                    f"transaction operation {index} found the item in another state",
                    item=from_wire(raw) if raw else None,
                    index=index,
                )
        causes = {str(reason.get("Code")) for reason in reasons} - {"None"}
        if causes and causes <= RETRYABLE_CANCELLATIONS:
            return TransactionConflict(str(exc))
        return exc  # a ValidationError, an item too large...: a bug to see, not a race to retry
    if code == "TransactionConflictException":
        return TransactionConflict(str(exc))
    return exc
