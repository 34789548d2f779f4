"""Two fixes to the embedded moto DynamoDB that a long-running local server needs (dev-only).

moto 5.2.5's TransactWriteItems deep-copies the whole table, once per item in the transaction,
so that it can roll back; on a table of a few thousand items every transaction costs a second
and hundreds of megabytes, and the copy runs unlocked, so a schedule writing at the same time
makes it fail with "dictionary changed size during iteration" (a 500 DynamoDB itself never gives).

- ``serialize_dynamodb``: one DynamoDB call at a time in the embedded server.
- ``cheap_transaction_rollback``: snapshot only the items a transaction touches and put those
  back when it is cancelled, instead of copying the table.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

Undo = Callable[[], None]


def serialize_dynamodb() -> Undo:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    unlocked = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return unlocked(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    def undo() -> None:
        DynamoHandler.call_action = unlocked  # type: ignore[method-assign]

    return undo


class _TableCopies:
    """Stands in for the ``copy`` module inside moto.dynamodb.models: while a transaction runs
    through our wrapper, "copying" a table returns the table itself."""

    def __init__(self) -> None:
        self.skip = threading.local()

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(self.skip, "on", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def cheap_transaction_rollback() -> Undo:
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    original = backend.transact_write_items
    copies = _TableCopies()
    models.copy = copies  # type: ignore[attr-defined,assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            before = [_snapshot(self, entry) for entry in transact_items]
        except Exception:  # a malformed request: let moto report it the way it always does
            return original(self, transact_items)
        copies.skip.on = True
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed([s for s in before if s is not None]):
                if attributes is not None:
                    self.put_item(table_name, attributes)
                elif self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            raise
        finally:
            copies.skip.on = False

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        backend.transact_write_items = original  # type: ignore[method-assign]
        models.copy = copy  # type: ignore[attr-defined]

    return undo


def _snapshot(backend: Any, entry: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """(table, key, the item's attributes as DynamoDB JSON or None when absent) for one operation."""
    operation = next(iter(entry.values()))
    table_name = operation.get("TableName")
    if table_name not in backend.tables:
        return None
    table = backend.tables[table_name]
    key = operation.get("Key")
    if key is None:
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        key = {name: operation["Item"][name] for name in names}
    current = backend.get_item(table_name, key)
    return table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current is not None else None
