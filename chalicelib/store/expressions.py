"""The condition and update expressions of a write, every name and value behind a placeholder
(``conditions``'s), the values on the wire (``wire``'s)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.store.conditions import ConditionBase, Placeholders
from chalicelib.store.keys import Key
from chalicelib.store.wire import to_wire


def condition_params(condition: ConditionBase) -> dict[str, Any]:
    """A write's ``ConditionExpression`` with its names and values."""
    placeholders = Placeholders()
    params: dict[str, Any] = {"ConditionExpression": placeholders.condition(condition)}
    return {**params, **expression_attributes(placeholders)}


def update_params(
    key: Key,
    set_: Mapping[str, Any] | None,
    set_if_absent: Mapping[str, Any] | None,
    add: Mapping[str, int | Decimal] | None,
    remove: Iterable[str],
    condition: ConditionBase | None,
) -> dict[str, Any]:
    """One UpdateItem's key, ``UpdateExpression`` (SET, ADD, REMOVE) and condition. An attribute
    is a path, as in a condition: ``a.b`` names the member ``b`` of the map ``a``."""
    expr = Placeholders()
    sets: list[str] = []
    for name, value in (set_ or {}).items():
        sets.append(f"{expr.name(name)} = {expr.value(value)}")
    for name, value in (set_if_absent or {}).items():
        placeholder = expr.name(name)
        sets.append(f"{placeholder} = if_not_exists({placeholder}, {expr.value(value)})")
    clauses = [f"SET {', '.join(sets)}"] if sets else []
    adds = [f"{expr.name(n)} {expr.value(v)}" for n, v in (add or {}).items()]
    if adds:
        clauses.append(f"ADD {', '.join(adds)}")
    removes = [expr.name(n) for n in remove]
    if removes:
        clauses.append(f"REMOVE {', '.join(removes)}")
    if not clauses:
        raise ValueError("an update needs at least one of set, set_if_absent, add, remove")
    params: dict[str, Any] = {"Key": to_wire(key), "UpdateExpression": " ".join(clauses)}
    if condition is not None:
        params["ConditionExpression"] = expr.condition(condition)
    return {**params, **expression_attributes(expr)}


def expression_attributes(placeholders: Placeholders) -> dict[str, Any]:
    """``ExpressionAttributeNames`` and ``ExpressionAttributeValues``, each only if it has any
    (DynamoDB refuses an empty one)."""
    params: dict[str, Any] = {}
    if placeholders.names:
        params["ExpressionAttributeNames"] = placeholders.names
    if placeholders.values:
        params["ExpressionAttributeValues"] = to_wire(placeholders.values)
    return params
