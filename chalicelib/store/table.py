"""The Store: every way outlet reads or writes the table (conditional writes, counters,
transactions, batches, paged queries), with TTL-expired items hidden until DynamoDB deletes them.
DynamoDB's errors become the domain exceptions of ``errors``; the wire format is ``wire``'s,
conditions ``conditions``'s, the expressions of a write ``expressions``'s, pages and their cursors
``cursors``'s."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

from chalicelib.store.conditions import Attr, ConditionBase, Placeholders
from chalicelib.store.conditions import Key as KeyCond
from chalicelib.store.cursors import Page, decode_cursor, encode_cursor
from chalicelib.store.errors import (
    AlreadyExists,
    BatchIncomplete,
    ConditionFailed,
    InvalidCursor,
    TransactionConflict,
    error_code,
    translate,
)
from chalicelib.store.expressions import condition_params, expression_attributes, update_params
from chalicelib.store.keys import INDEX_KEYS, KEY_ATTRIBUTES, TTL_ATTRIBUTE, Item, Key, utcnow
from chalicelib.store.retry import CONTENTION, Backoff, Pacer
from chalicelib.store.wire import from_wire, to_wire

T = TypeVar("T")

BATCH_WRITE_LIMIT = 25  # DynamoDB's BatchWriteItem limit (moto does not enforce it)
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100


class Store:
    """The table behind one small class. ``requests`` counts DynamoDB calls, for the benchmarks."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_batch_attempts: int = 8,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._max_batch_attempts = max_batch_attempts
        self.requests = 0

    # --- single items -----------------------------------------------------------------------

    def get(self, key: Key, *, consistent: bool = False) -> Item | None:
        response = self._call("get_item", Key=to_wire(key), ConsistentRead=consistent)
        raw = response.get("Item")
        if raw is None:
            return None
        item = from_wire(raw)
        return item if self._is_live(item) else None

    def put(self, item: Item, *, condition: ConditionBase | None = None) -> None:
        params: dict[str, Any] = {"Item": to_wire(item)}
        if condition is not None:
            params.update(condition_params(condition))
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._call("put_item", **params)

    def put_new(self, item: Item) -> None:
        """Write ``item`` only if no live item has its key (an expired one may be replaced)."""
        try:
            self.put(item, condition=self.absent_condition())
        except ConditionFailed as exc:
            raise AlreadyExists("an item with this key exists", item=exc.item) from None

    def update(
        self,
        key: Key,
        *,
        set: Mapping[str, Any] | None = None,  # noqa: A002 - the DynamoDB clause's name
        set_if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, int | Decimal] | None = None,
        remove: Iterable[str] = (),
        condition: ConditionBase | None = None,
    ) -> Item:
        """One UpdateItem; returns the item as it is after the update."""
        params = update_params(key, set, set_if_absent, add, remove, condition)
        if condition is not None:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        response = self._call("update_item", ReturnValues="ALL_NEW", **params)
        return from_wire(response.get("Attributes", {}))

    def increment(self, key: Key, counters: Mapping[str, int | Decimal]) -> Item:
        """Atomically add to counters (creating them at zero); returns the new values."""
        return self.update(key, add=counters)

    def delete(self, key: Key, *, condition: ConditionBase | None = None) -> None:
        params: dict[str, Any] = {"Key": to_wire(key)}
        if condition is not None:
            params.update(condition_params(condition))
        self._call("delete_item", **params)

    # --- transactions -----------------------------------------------------------------------

    def op_put(self, item: Item, condition: ConditionBase | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Item": to_wire(item)}
        if condition is not None:
            params.update(condition_params(condition))
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Put": params}

    def op_update(
        self,
        key: Key,
        *,
        set: Mapping[str, Any] | None = None,  # noqa: A002
        set_if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, int | Decimal] | None = None,
        remove: Iterable[str] = (),
        condition: ConditionBase | None = None,
    ) -> dict[str, Any]:
        params = update_params(key, set, set_if_absent, add, remove, condition)
        params["TableName"] = self.table_name
        if condition is not None:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": params}

    def op_check(self, key: Key, condition: ConditionBase) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": to_wire(key)}
        params.update(condition_params(condition))
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"ConditionCheck": params}

    def op_delete(self, key: Key, condition: ConditionBase | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": to_wire(key)}
        if condition is not None:
            params.update(condition_params(condition))
        return {"Delete": params}

    def transact(self, ops: Sequence[dict[str, Any]], *, token: str | None = None) -> None:
        """All or nothing. ``token`` makes a retried call idempotent for ten minutes."""
        if not 0 < len(ops) <= TRANSACTION_LIMIT:
            raise ValueError(f"a transaction holds 1 to {TRANSACTION_LIMIT} operations")
        params: dict[str, Any] = {"TransactItems": list(ops)}
        if token is not None:
            params["ClientRequestToken"] = token
        self._call("transact_write_items", **params)

    def pacer(self, backoff: Backoff = CONTENTION) -> Pacer:
        """The retries of one write that may meet others: jittered, growing pauses up to a deadline."""
        return backoff.start(self._sleep, self._monotonic)

    def retrying(self, write: Callable[[], T], backoff: Backoff = CONTENTION) -> T:
        """``write()`` again, after a jittered pause, while it meets a concurrent transaction; the
        last ``TransactionConflict`` once the deadline passed. Only for writes that are safe to
        repeat as they are (a cancelled transaction wrote nothing)."""
        pacer = self.pacer(backoff)
        while True:
            try:
                return write()
            except TransactionConflict:
                if not pacer.pause():
                    raise

    # --- batches ----------------------------------------------------------------------------

    def batch_put(self, items: Iterable[Item]) -> None:
        """Write any number of items, 25 a request, retrying what DynamoDB leaves unprocessed."""
        unique: dict[tuple[str, str], Item] = {}
        for item in items:  # one request may not name a key twice; the last write wins
            unique[(item["PK"], item["SK"])] = item
        pending = list(unique.values())
        for start in range(0, len(pending), BATCH_WRITE_LIMIT):
            chunk = [{"PutRequest": {"Item": to_wire(i)}} for i in pending[start : start + BATCH_WRITE_LIMIT]]
            self._write_chunk(chunk)

    def _write_chunk(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(self._max_batch_attempts):
            response = self._call("batch_write_item", RequestItems={self.table_name: requests})
            requests = list(response.get("UnprocessedItems", {}).get(self.table_name, []))
            if not requests:
                return
            self._sleep(_backoff(attempt))
        remaining = [from_wire(r["PutRequest"]["Item"]) for r in requests if "PutRequest" in r]
        raise BatchIncomplete(f"{len(requests)} items still unprocessed", remaining)

    def batch_get(
        self, keys: Iterable[Key], *, consistent: bool = False, fields: Sequence[str] | None = None
    ) -> list[Item]:
        """Read any number of items, 100 a request; missing and expired ones are left out. With
        ``fields``, only those attributes (and the keys, and the TTL) are read."""
        unique = list({(k["PK"], k["SK"]): k for k in keys}.values())
        found: list[Item] = []
        shape: dict[str, Any] = {"ConsistentRead": consistent}
        if fields is not None:
            names = list(dict.fromkeys([*KEY_ATTRIBUTES[:2], TTL_ATTRIBUTE, *fields]))
            shape["ProjectionExpression"] = ", ".join(f"#f{n}" for n in range(len(names)))
            shape["ExpressionAttributeNames"] = {f"#f{n}": name for n, name in enumerate(names)}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            wanted: dict[str, Any] = {"Keys": [to_wire(k) for k in unique[start : start + BATCH_GET_LIMIT]], **shape}
            for attempt in range(self._max_batch_attempts):
                response = self._call("batch_get_item", RequestItems={self.table_name: wanted})
                found.extend(from_wire(i) for i in response.get("Responses", {}).get(self.table_name, []))
                retry = response.get("UnprocessedKeys", {}).get(self.table_name)
                if not retry or not retry.get("Keys"):
                    break
                wanted = dict(retry)
                self._sleep(_backoff(attempt))
            else:
                raise BatchIncomplete("keys still unprocessed", [])
        return [i for i in found if self._is_live(i)]

    def sum_of(self, keys: Iterable[Key]) -> dict[str, int | Decimal]:
        """The counters of the items under ``keys`` (a counter's shards), summed: one BatchGetItem."""
        return summed(self.batch_get(keys))

    # --- queries ----------------------------------------------------------------------------

    def query(
        self,
        partition: str,
        *,
        index: str | None = None,
        sk_prefix: str | None = None,
        sk_between: tuple[str, str] | None = None,
        newest_first: bool = False,
        limit: int = 50,
        cursor: str | None = None,
        filter: ConditionBase | None = None,  # noqa: A002 - the DynamoDB parameter's name
    ) -> Page:
        """One page of a partition (of the table, or of ``index``), in sort-key order."""
        pk_name, sk_name = INDEX_KEYS[index] if index is not None else ("PK", "SK")
        key_condition: ConditionBase = KeyCond(pk_name).eq(partition)
        if sk_prefix is not None:
            key_condition = key_condition & KeyCond(sk_name).begins_with(sk_prefix)
        if sk_between is not None:
            key_condition = key_condition & KeyCond(sk_name).between(*sk_between)
        placeholders = Placeholders()
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": placeholders.condition(key_condition, key=True),
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if filter is not None:
            params["FilterExpression"] = placeholders.condition(filter)
        params.update(expression_attributes(placeholders))
        if index is not None:
            params["IndexName"] = index
        if cursor is not None:
            params["ExclusiveStartKey"] = to_wire(decode_cursor(cursor, partition, pk_name, sk_name))
        try:
            response = self._client.query(**params)
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and cursor is not None:
                raise InvalidCursor("the cursor does not belong to this listing") from None
            raise
        finally:
            self.requests += 1
        items = [i for i in (from_wire(r) for r in response.get("Items", [])) if self._is_live(i)]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, next=encode_cursor(from_wire(last)) if last else None)

    # --- conditions -------------------------------------------------------------------------

    def absent_condition(self) -> ConditionBase:
        """No item under the key, or one whose TTL has passed (DynamoDB deletes those late)."""
        condition: ConditionBase = Attr("PK").not_exists() | Attr(TTL_ATTRIBUTE).lte(self._now_epoch())
        return condition

    def _is_live(self, item: Mapping[str, Any]) -> bool:
        expires = item.get(TTL_ATTRIBUTE)
        return expires is None or int(expires) > self._now_epoch()

    def _now_epoch(self) -> int:
        return int(self._clock().timestamp())

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        if operation != "transact_write_items" and "RequestItems" not in params:
            params.setdefault("TableName", self.table_name)
        self.requests += 1
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as exc:
            raise translate(exc) from exc
        return response


def summed(items: Iterable[Item]) -> dict[str, int | Decimal]:
    """The numeric attributes of ``items`` (a counter's shards) added up; anything else left out."""
    totals: dict[str, int | Decimal] = {}
    for item in items:
        for name, value in item.items():
            if isinstance(value, int | Decimal) and not isinstance(value, bool) and name != TTL_ATTRIBUTE:
                totals[name] = totals.get(name, 0) + value
    return totals


def _backoff(attempt: int) -> float:
    """Full-jitter exponential backoff, as AWS recommends for unprocessed batch items."""
    return random.uniform(0, min(2.0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security
