"""What moto 5.2.5 gets wrong when a server answers requests from many threads, fixed for `make run`.

- DynamoDB takes no lock: two conditional writes can both pass their condition, and a query can
  iterate a partition while another thread adds to it. Every DynamoDB request runs under one lock
  here, as DynamoDB itself applies each request atomically.
- ``transact_write_items`` deep-copies every table it touches before each transaction and, when a
  condition fails, puts that copy back, wiping whatever other requests committed meanwhile (a
  duplicate delivery fails its condition on purpose, so duplicates lost writes). It is replaced by
  one that remembers only the items it changes and undoes just those.
- Every moto model object ever built (each item, each table copy) is kept in a class-level list
  for moto's dashboard, so memory grew with every request. Nothing is tracked here.
- A query sorts every item of the table (comparing moto's value objects in Python) before it looks
  at the partition asked for, so each page cost O(table log table): a table query here reads only
  its partition, an index query only the items whose index key matches, and sorting compares
  plain values. Results and their order are moto's.
- An SQS delete rebuilds the queue's message list while a send may be appending to it; both run
  under the queue's own lock here.

``install()`` patches the classes in this process; call it before the server answers a request.
``changes()`` counts the requests that may have changed the table or a queue, so the state keeper
saves only when there is something new.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

DYNAMODB_LOCK = threading.RLock()
# DynamoDB actions that never change anything; every other one counts as a change.
READ_ACTIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "ListTagsOfResource",
        "DescribeEndpoints",
        "DescribeLimits",
    }
)
_installed = False
_serialised = False
_change_lock = threading.Lock()
_change_count = 0


def changes() -> int:
    """How many table or queue changes this process has seen (a counter; only its movement matters)."""
    return _change_count


def _count_change() -> None:
    global _change_count  # noqa: PLW0603 - one counter for the whole process
    with _change_lock:
        _change_count += 1


def install() -> None:
    """Patch moto's DynamoDB, SQS and model tracking (idempotent)."""
    global _installed  # noqa: PLW0603 - patches are process-wide and must be applied once
    if _installed:
        return
    _stop_tracking_instances()
    serialise()
    _query_only_the_partition()
    _installed = True


def serialise() -> None:
    """Only the locks (idempotent): one DynamoDB request at a time, queue changes under the queue's
    lock. For tests that run LocalCloud's threads beside the test client on the in-process moto,
    where the rest of install() (instance tracking off) would change what mock_aws resets."""
    global _serialised  # noqa: PLW0603 - patches are process-wide and must be applied once
    if _serialised:
        return
    _serialise_dynamodb()
    _serialise_sqs_queue_changes()
    _serialised = True


def _stop_tracking_instances() -> None:
    from moto.core.common_models import BaseModel

    def untracked_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # what BaseModel.__new__ does, minus the list

    model: Any = BaseModel  # Any: assigning to a class's methods is the point here
    model.__new__ = staticmethod(untracked_new)
    from moto.core.model_instances import reset_model_data

    reset_model_data()  # drop what was tracked before the patch


def _serialise_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def one_request_at_a_time(handler: Any) -> Any:
        with DYNAMODB_LOCK:
            if handler._get_action() not in READ_ACTIONS:
                _count_change()
            return call_action(handler)

    handler_class: Any = DynamoHandler  # Any: assigning to a class's methods is the point here
    handler_class.call_action = one_request_at_a_time
    backend_class: Any = DynamoDBBackend
    backend_class.transact_write_items = transact_write_items


_query_scope = threading.local()  # the partition the running query asks for (it runs under the lock)


def _query_only_the_partition() -> None:
    from moto.dynamodb.models.table import Table

    query, signature = Table.query, inspect.signature(Table.query)

    @functools.wraps(query)
    def partition_query(table: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(table, *args, **kwargs).arguments
        if call.get("index_name"):
            _query_scope.wanted = list(call.get("hash_key_conditions") or []) or None
        elif call.get("hash_key") is not None:
            _query_scope.wanted = [(table.hash_key_attr, call["hash_key"])]
        try:
            return query(table, *args, **kwargs)
        finally:
            _query_scope.wanted = None

    def items_in_scope(table: Any) -> list[Any]:
        """What moto's ``all_items`` returns (every item, by table key), narrowed to the running
        query's partition; moto still applies its own key conditions to what this returns."""
        wanted = getattr(_query_scope, "wanted", None)
        if wanted and wanted[0][0] == table.hash_key_attr and len(wanted) == 1:
            partition = table.items.get(wanted[0][1])
            items = [] if partition is None else list(partition.values()) if table.range_key_attr else [partition]
        else:
            every = (i for p in table.items.values() for i in (p.values() if table.range_key_attr else (p,)))
            items = [i for i in every if all(_same(i.attrs.get(a), v) for a, v in wanted)] if wanted else list(every)
        if table.range_key_attr:
            return sorted(items, key=lambda i: (_plain(i.hash_key), _plain(i.range_key)))
        return sorted(items, key=lambda i: _plain(i.hash_key))

    table_class: Any = Table
    table_class.query = partition_query
    table_class.all_items = items_in_scope


def _plain(value: Any) -> Any:
    """A key value as Python compares it the way moto's DynamoType does (numbers as numbers)."""
    return Decimal(value.value) if value.type == "N" else value.value


def _same(found: Any, wanted: Any) -> bool:
    if found is None or found.type != wanted.type:
        return False
    return bool(found.value == wanted.value or (found.type == "N" and _plain(found) == _plain(wanted)))


def _serialise_sqs_queue_changes() -> None:
    from moto.sqs.models import Queue

    for name in ("add_message", "delete_message"):
        method = getattr(Queue, name)

        def under_queue_lock(self: Any, *args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with self._messages_lock:  # a Condition over an RLock: add_message takes it again inside
                _count_change()
                return _method(self, *args, **kwargs)

        setattr(Queue, name, functools.wraps(method)(under_queue_lock))


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with an undo log of the items it touches instead of table copies.

    Every operation's condition is checked first, as DynamoDB does (the request holds the lock, so
    nothing changes in between), and only if all hold is anything applied: a failed condition is
    reported in the cancellation reasons (with the old item when asked). moto applied each
    operation before checking the next, then undid them all, so a refused duplicate paid for every
    write it did not make. What moto reports otherwise is kept: an operation that cannot apply (ADD
    to a string) undoes what was applied and is raised as moto's ValidationException (DynamoDB
    cancels with a ValidationError reason), and a failed condition is reported before it.
    """
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    operations = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        operations.append(next(iter(item.items())))
    reasons = _check_all(self, operations)
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, the item before or None)
    for index, (op_type, op) in enumerate(operations):
        try:
            _apply_one(self, op_type, op, undo)
        except (MultipleTransactionsException, MockValidationException):
            _roll_back(undo)
            raise
        except Exception as e:  # moto's catch-all: reported as this item's reason
            _roll_back(undo)
            reasons[index] = (type(e).__name__, str(e), None)
            raise TransactionCanceledException(reasons) from None


Reason = tuple[str | None, str | None, dict[str, Any] | None]


def _check_all(backend: Any, operations: list[tuple[str, dict[str, Any]]]) -> list[Reason]:
    """Each operation's cancellation reason (None, None, None when its condition holds), before any
    is applied; two operations on one item are a validation error, as in DynamoDB."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import MultipleTransactionsException

    targets: set[tuple[str, str]] = set()
    reasons: list[Reason] = []
    for op_type, op in operations:
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name, key = op["TableName"], _key_of(backend, op_type, op)
        marker = (str(table_name), str(dict(sorted(key.items()))))
        if marker in targets:
            raise MultipleTransactionsException()
        targets.add(marker)
        condition = op.get("ConditionExpression")
        if condition is None:
            reasons.append((None, None, None))
            continue
        current = backend.get_item(table_name, key)
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if get_filter_expression(condition, names, values).expr(current):
            reasons.append((None, None, None))
            continue
        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
        old = current.to_json()["Attributes"] if wants_old else None
        reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    return reasons


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        key: dict[str, Any] = op["Key"]
        return key
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _apply_one(backend: Any, op_type: str, op: dict[str, Any], undo: list[Any]) -> None:
    """One operation of a transaction whose conditions all held, recording what it replaces."""
    if op_type == "ConditionCheck":
        return
    table_name, key = op["TableName"], _key_of(backend, op_type, op)
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, key)
    undo.append((table, hash_key, range_key, copy.deepcopy(backend.get_item(table_name, key))))
    expressions = {  # checked already; moto checks them again, as its own loop does
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expressions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expressions)
    else:
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expressions)


def _roll_back(undo: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, before in reversed(undo):
        _restore(table, hash_key, range_key, before)


def _restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    if table.range_key_attr is None:
        if before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before
        return
    partition = table.items[hash_key]
    if before is None:
        partition.pop(range_key, None)
        if not partition:
            del table.items[hash_key]
    else:
        partition[range_key] = before
