"""DynamoDB's wire format and expressions: items to and from typed attribute values, and the
condition and update expressions of a write, every name and value behind a placeholder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.store.keys import Item, Key

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def from_wire(item: Mapping[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def serialize(value: Any) -> Any:
    return _serializer.serialize(value)


def condition_params(condition: ConditionBase) -> dict[str, Any]:
    """A write's ``ConditionExpression`` with its names and values."""
    built = ConditionExpressionBuilder().build_expression(condition)
    params: dict[str, Any] = {"ConditionExpression": built.condition_expression}
    if built.attribute_name_placeholders:
        params["ExpressionAttributeNames"] = dict(built.attribute_name_placeholders)
    if built.attribute_value_placeholders:
        params["ExpressionAttributeValues"] = to_wire(built.attribute_value_placeholders)
    return params


@dataclass
class _Expression:
    text: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def update_params(
    key: Key,
    set_: Mapping[str, Any] | None,
    set_if_absent: Mapping[str, Any] | None,
    add: Mapping[str, int | Decimal] | None,
    remove: Iterable[str],
    condition: ConditionBase | None,
) -> dict[str, Any]:
    """One UpdateItem's key, ``UpdateExpression`` (SET, ADD, REMOVE) and condition."""
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
    params: dict[str, Any] = {"Key": to_wire(key), "UpdateExpression": " ".join(clauses)}
    names, values = expr.names, expr.values
    if condition is not None:
        built = ConditionExpressionBuilder().build_expression(condition)
        params["ConditionExpression"] = built.condition_expression
        names = {**names, **built.attribute_name_placeholders}
        values = {**values, **built.attribute_value_placeholders}
    params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = to_wire(values)
    return params


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
