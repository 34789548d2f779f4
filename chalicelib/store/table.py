"""Every way outlet reads or writes the table: conditional writes, counters, transactions,
batches, paged queries, and TTL-expired items hidden until DynamoDB deletes them. DynamoDB's
errors become the domain exceptions below."""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.conditions import Key as KeyCond
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

from chalicelib.store.keys import INDEX_KEYS, TTL_ATTRIBUTE, Item, Key, utcnow
from chalicelib.store.retry import CONTENTION, Backoff, Pacer

T = TypeVar("T")

BATCH_WRITE_LIMIT = 25  # DynamoDB's BatchWriteItem limit (moto does not enforce it)
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100
# Why a transaction may be cancelled and simply tried again: another transaction held one of its
# items, or DynamoDB throttled it. Anything else (a ValidationError...) would fail the same way again.
RETRYABLE_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"}
)


# --- errors ---------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next: str | None


@dataclass
class _Expression:
    text: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def _from_wire(item: Mapping[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


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
        response = self._call("get_item", Key=_to_wire(key), ConsistentRead=consistent)
        raw = response.get("Item")
        if raw is None:
            return None
        item = _from_wire(raw)
        return item if self._is_live(item) else None

    def put(self, item: Item, *, condition: ConditionBase | None = None) -> None:
        params: dict[str, Any] = {"Item": _to_wire(item)}
        if condition is not None:
            params.update(self._condition(condition))
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
        params = self._update_params(key, set, set_if_absent, add, remove, condition)
        if condition is not None:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        response = self._call("update_item", ReturnValues="ALL_NEW", **params)
        return _from_wire(response.get("Attributes", {}))

    def increment(self, key: Key, counters: Mapping[str, int | Decimal]) -> Item:
        """Atomically add to counters (creating them at zero); returns the new values."""
        return self.update(key, add=counters)

    def delete(self, key: Key, *, condition: ConditionBase | None = None) -> None:
        params: dict[str, Any] = {"Key": _to_wire(key)}
        if condition is not None:
            params.update(self._condition(condition))
        self._call("delete_item", **params)

    # --- transactions -----------------------------------------------------------------------

    def op_put(self, item: Item, condition: ConditionBase | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Item": _to_wire(item)}
        if condition is not None:
            params.update(self._condition(condition))
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
        params = self._update_params(key, set, set_if_absent, add, remove, condition)
        params["TableName"] = self.table_name
        if condition is not None:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": params}

    def op_check(self, key: Key, condition: ConditionBase) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": _to_wire(key)}
        params.update(self._condition(condition))
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"ConditionCheck": params}

    def op_delete(self, key: Key, condition: ConditionBase | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": _to_wire(key)}
        if condition is not None:
            params.update(self._condition(condition))
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
            chunk = [{"PutRequest": {"Item": _to_wire(i)}} for i in pending[start : start + BATCH_WRITE_LIMIT]]
            self._write_chunk(chunk)

    def _write_chunk(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(self._max_batch_attempts):
            response = self._call("batch_write_item", RequestItems={self.table_name: requests})
            requests = list(response.get("UnprocessedItems", {}).get(self.table_name, []))
            if not requests:
                return
            self._sleep(_backoff(attempt))
        remaining = [_from_wire(r["PutRequest"]["Item"]) for r in requests if "PutRequest" in r]
        raise BatchIncomplete(f"{len(requests)} items still unprocessed", remaining)

    def batch_get(self, keys: Iterable[Key]) -> list[Item]:
        """Read any number of items, 100 a request; missing and expired ones are left out."""
        unique = list({(k["PK"], k["SK"]): k for k in keys}.values())
        found: list[Item] = []
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            wanted: dict[str, Any] = {"Keys": [_to_wire(k) for k in unique[start : start + BATCH_GET_LIMIT]]}
            for attempt in range(self._max_batch_attempts):
                response = self._call("batch_get_item", RequestItems={self.table_name: wanted})
                found.extend(_from_wire(i) for i in response.get("Responses", {}).get(self.table_name, []))
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
        builder = ConditionExpressionBuilder()
        built = builder.build_expression(key_condition, is_key_condition=True)
        names = dict(built.attribute_name_placeholders)
        values = dict(built.attribute_value_placeholders)
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": built.condition_expression,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if filter is not None:
            built_filter = builder.build_expression(filter)
            params["FilterExpression"] = built_filter.condition_expression
            names.update(built_filter.attribute_name_placeholders)
            values.update(built_filter.attribute_value_placeholders)
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = {k: _serializer.serialize(v) for k, v in values.items()}
        if index is not None:
            params["IndexName"] = index
        if cursor is not None:
            params["ExclusiveStartKey"] = _to_wire(_decode_cursor(cursor, partition, pk_name, sk_name))
        try:
            response = self._client.query(**params)
        except ClientError as exc:
            if _error_code(exc) == "ValidationException" and cursor is not None:
                raise InvalidCursor("the cursor does not belong to this listing") from None
            raise
        finally:
            self.requests += 1
        items = [i for i in (_from_wire(r) for r in response.get("Items", [])) if self._is_live(i)]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, next=_encode_cursor(_from_wire(last)) if last else None)

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

    def _condition(self, condition: ConditionBase) -> dict[str, Any]:
        built = ConditionExpressionBuilder().build_expression(condition)
        params: dict[str, Any] = {"ConditionExpression": built.condition_expression}
        if built.attribute_name_placeholders:
            params["ExpressionAttributeNames"] = dict(built.attribute_name_placeholders)
        if built.attribute_value_placeholders:
            params["ExpressionAttributeValues"] = _to_wire(built.attribute_value_placeholders)
        return params

    def _update_params(
        self,
        key: Key,
        set_: Mapping[str, Any] | None,
        set_if_absent: Mapping[str, Any] | None,
        add: Mapping[str, int | Decimal] | None,
        remove: Iterable[str],
        condition: ConditionBase | None,
    ) -> dict[str, Any]:
        expr = _Expression()
        sets: list[str] = []
        for name, value in (set_ or {}).items():
            sets.append(f"{_name(expr, name)} = {_value(expr, value)}")
        for name, value in (set_if_absent or {}).items():
            placeholder = _name(expr, name)
            sets.append(f"{placeholder} = if_not_exists({placeholder}, {_value(expr, value)})")
        clauses = [f"SET {', '.join(sets)}"] if sets else []
        adds = [f"{_name(expr, n)} {_value(expr, v)}" for n, v in (add or {}).items()]
        if adds:
            clauses.append(f"ADD {', '.join(adds)}")
        removes = [_name(expr, n) for n in remove]
        if removes:
            clauses.append(f"REMOVE {', '.join(removes)}")
        if not clauses:
            raise ValueError("an update needs at least one of set, set_if_absent, add, remove")
        params: dict[str, Any] = {"Key": _to_wire(key), "UpdateExpression": " ".join(clauses)}
        names, values = expr.names, expr.values
        if condition is not None:
            built = ConditionExpressionBuilder().build_expression(condition)
            params["ConditionExpression"] = built.condition_expression
            names = {**names, **built.attribute_name_placeholders}
            values = {**values, **built.attribute_value_placeholders}
        params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = _to_wire(values)
        return params

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        if operation != "transact_write_items" and "RequestItems" not in params:
            params.setdefault("TableName", self.table_name)
        self.requests += 1
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as exc:
            raise _translate(exc) from exc
        return response


def summed(items: Iterable[Item]) -> dict[str, int | Decimal]:
    """The numeric attributes of ``items`` (a counter's shards) added up; anything else left out."""
    totals: dict[str, int | Decimal] = {}
    for item in items:
        for name, value in item.items():
            if isinstance(value, int | Decimal) and not isinstance(value, bool) and name != TTL_ATTRIBUTE:
                totals[name] = totals.get(name, 0) + value
    return totals


def _name(expr: _Expression, attribute: str) -> str:
    """A placeholder path: ``a.b`` names the member ``b`` of the map ``a``, as in boto3's ``Attr``."""
    parts = []
    for part in attribute.split("."):
        placeholder = f"#u{len(expr.names)}"
        expr.names[placeholder] = part
        parts.append(placeholder)
    return ".".join(parts)


def _value(expr: _Expression, value: Any) -> str:
    placeholder = f":u{len(expr.values)}"
    expr.values[placeholder] = value
    return placeholder


def _backoff(attempt: int) -> float:
    """Full-jitter exponential backoff, as AWS recommends for unprocessed batch items."""
    return random.uniform(0, min(2.0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError) -> Exception:
    code = _error_code(exc)
    if code == "ConditionalCheckFailedException":
        raw: Any = exc.response.get("Item")
        return ConditionFailed("the item is not in the expected state", item=_from_wire(raw) if raw else None)
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons", [])
        for index, reason in enumerate(reasons):
            if reason.get("Code") == "ConditionalCheckFailed":
                raw = reason.get("Item")
                return ConditionFailed(
                    f"transaction operation {index} found the item in another state",
                    item=_from_wire(raw) if raw else None,
                    index=index,
                )
        causes = {str(reason.get("Code")) for reason in reasons} - {"None"}
        if causes and causes <= RETRYABLE_CANCELLATIONS:
            return TransactionConflict(str(exc))
        return exc  # a ValidationError, an item too large...: a bug to see, not a race to retry
    if code == "TransactionConflictException":
        return TransactionConflict(str(exc))
    return exc


# --- cursors --------------------------------------------------------------------------------
# A cursor is opaque to callers but comes back from them, so reading one is parsing untrusted
# input: bounded in size before it is decoded, and every way it can be odd is an InvalidCursor.

MAX_CURSOR_LENGTH = 4096  # a key is at most 2 KB + 1 KB per index; a real cursor is far shorter
MAX_KEY_VALUE_LENGTH = 2048  # DynamoDB's limit for a partition key (a sort key's is 1024)
_CURSOR_CHARACTERS = re.compile(r"[A-Za-z0-9_-]*")


def pack_cursor(data: Any) -> str:
    """``data`` (JSON-able) as an opaque URL-safe cursor."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def unpack_cursor(cursor: str) -> Any:
    """What ``pack_cursor`` packed; anything else a caller sends is an InvalidCursor, never a crash."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR_CHARACTERS.fullmatch(cursor):
        raise InvalidCursor("the cursor is not one this service issued")
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise InvalidCursor("the cursor is not one this service issued") from None


def _encode_cursor(key: Mapping[str, Any]) -> str:
    return pack_cursor({k: (int(v) if isinstance(v, Decimal) else v) for k, v in key.items()})


def _decode_cursor(cursor: str, partition: str, pk_name: str, sk_name: str) -> dict[str, Any]:
    """The start key of a page of ``partition``: exactly the key attributes DynamoDB returns for
    that query (the table's, plus the index's for an index query), each a short string."""
    key = unpack_cursor(cursor)
    wanted = {"PK", "SK", pk_name, sk_name}
    if (
        not isinstance(key, dict)
        or set(key) != wanted
        or key.get(pk_name) != partition
        or not all(isinstance(v, str) and 0 < len(v) <= MAX_KEY_VALUE_LENGTH for v in key.values())
    ):
        raise InvalidCursor("the cursor does not belong to this listing")
    return key
