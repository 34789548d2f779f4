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
- An SQS delete rebuilds the queue's message list while a send may be appending to it; both run
  under the queue's own lock here.

``install()`` patches the classes in this process; call it before the server answers a request.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

DYNAMODB_LOCK = threading.RLock()
_installed = False


def install() -> None:
    """Patch moto's DynamoDB, SQS and model tracking (idempotent)."""
    global _installed  # noqa: PLW0603 - patches are process-wide and must be applied once
    if _installed:
        return
    _stop_tracking_instances()
    _serialise_dynamodb()
    _serialise_sqs_queue_changes()
    _installed = True


def _stop_tracking_instances() -> None:
    from moto.core.common_models import BaseModel

    def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # what BaseModel.__new__ does, minus the list

    BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[assignment]
    from moto.core.model_instances import reset_model_data

    reset_model_data()  # drop what was tracked before the patch


def _serialise_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    DynamoHandler.call_action = _locked(DynamoHandler.call_action, DYNAMODB_LOCK)
    DynamoDBBackend.transact_write_items = transact_write_items


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def under_lock(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return under_lock


def _serialise_sqs_queue_changes() -> None:
    from moto.sqs.models import Queue

    for name in ("add_message", "delete_message"):
        method = getattr(Queue, name)

        def under_queue_lock(self: Any, *args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with self._messages_lock:  # a Condition over an RLock: add_message takes it again inside
                return _method(self, *args, **kwargs)

        setattr(Queue, name, functools.wraps(method)(under_queue_lock))


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with an undo log of the items it touches instead of table copies.

    Same checks and errors as moto's: each operation's condition is evaluated in order, a failed
    one is reported in the cancellation reasons and nothing is applied; a validation error undoes
    what was applied and is raised as is.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, item before or None)
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []

    def roll_back() -> None:
        for table, hash_key, range_key, before in reversed(undo):
            _restore(table, hash_key, range_key, before)

    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(item) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")  # noqa: TRY301 - moto reports it per item
            table_name = op["TableName"]
            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in targets:
                raise MultipleTransactionsException()  # noqa: TRY301 - handled with the validation errors below
            targets.add(marker)

            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)  # noqa: TRY301 - reported per item

            if op_type != "ConditionCheck":
                hash_key, range_key = self.get_keys_value(table, key)
                undo.append((table, hash_key, range_key, copy.deepcopy(current)))
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto's catch-all: reported as this item's reason
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        roll_back()
        raise TransactionCanceledException(errors)


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
