"""Conditions on items (``Attr``), on keys (``Key``), joined with ``&``, ``|`` and ``~``, and
``Placeholders``, which writes them into one request's expressions, each name and value behind a
placeholder.

Why not ``boto3.dynamodb.conditions``: the store otherwise needs only botocore, and importing
boto3 on top of it (s3transfer, multiprocessing, boto3's resources and docs) costs every cold
start that writes 27 to 36 ms, 14% to 15% more than botocore's own imports (medians of 21
alternated pairs of fresh processes, boto3 1.44, this project's machine), for four small classes.
The expressions written here are boto3's, operator for operator and bracket for bracket, and
tests/unit/test_store_conditions.py holds both builders to the same text and the same verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# As boto3 reads an attribute's name: ``a.b`` is the member ``b`` of the map ``a``, ``a[2]`` the
# third element of the list ``a``; each part between dots and brackets gets its own placeholder.
_NAME_PART = re.compile(r"[^.\[\]]+(?![^\[]*\])")


class ConditionBase:
    """A condition: a template whose ``{0}``, ``{1}``... are its operands, each an attribute, a
    value, a group of values, or another condition."""

    __slots__ = ("operands", "template")

    def __init__(self, template: str, *operands: Any) -> None:
        self.template = template
        self.operands = operands

    def __and__(self, other: ConditionBase) -> ConditionBase:
        return ConditionBase("({0} AND {1})", self, _condition(other))

    def __or__(self, other: ConditionBase) -> ConditionBase:
        return ConditionBase("({0} OR {1})", self, _condition(other))

    def __invert__(self) -> ConditionBase:
        return ConditionBase("(NOT {0})", self)

    def __repr__(self) -> str:
        return f"ConditionBase({self.template!r}, {', '.join(map(repr, self.operands))})"


class _Attribute:
    """An attribute a condition compares: what both a key and any other attribute allow."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def eq(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} = {1}", self, value)

    def lt(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} < {1}", self, value)

    def lte(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} <= {1}", self, value)

    def gt(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} > {1}", self, value)

    def gte(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} >= {1}", self, value)

    def begins_with(self, value: Any) -> ConditionBase:
        return ConditionBase("begins_with({0}, {1})", self, value)

    def between(self, low: Any, high: Any) -> ConditionBase:
        return ConditionBase("{0} BETWEEN {1} AND {2}", self, low, high)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Key(_Attribute):
    """A key attribute: the only kind a query's key condition may name."""

    __slots__ = ()


class Attr(_Attribute):
    """Any attribute of an item, or a member of one (``history.abc``)."""

    __slots__ = ()

    def ne(self, value: Any) -> ConditionBase:
        return ConditionBase("{0} <> {1}", self, value)

    def is_in(self, values: Iterable[Any]) -> ConditionBase:
        return ConditionBase("{0} IN {1}", self, _Group(tuple(values)))

    def exists(self) -> ConditionBase:
        return ConditionBase("attribute_exists({0})", self)

    def not_exists(self) -> ConditionBase:
        return ConditionBase("attribute_not_exists({0})", self)

    def contains(self, value: Any) -> ConditionBase:
        return ConditionBase("contains({0}, {1})", self, value)


class _Group:
    """The values of an ``IN``: one placeholder each, in brackets."""

    __slots__ = ("values",)

    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values


class Placeholders:
    """The names and values of one request's expressions (``#n0``, ``:v0``...), numbered across
    all of them, so a key condition, a filter and an update can share one request."""

    __slots__ = ("names", "values")

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        """``attribute`` (a path, as boto3 reads one) with each part behind a placeholder."""
        names = self.names

        def placeholder(part: re.Match[str]) -> str:
            key = f"#n{len(names)}"
            names[key] = part.group()
            return key

        return _NAME_PART.sub(placeholder, attribute)

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = value
        return key

    def condition(self, condition: ConditionBase, *, key: bool = False) -> str:
        """The expression of ``condition``; with ``key``, a query's key condition (only ``Key``s)."""
        operands = []
        for operand in condition.operands:
            if isinstance(operand, ConditionBase):
                operands.append(self.condition(operand, key=key))
            elif isinstance(operand, _Attribute):
                if key and not isinstance(operand, Key):
                    raise TypeError(f"a key condition names only Key attributes, not {operand!r}")
                operands.append(self.name(operand.name))
            elif isinstance(operand, _Group):
                operands.append(f"({', '.join(self.value(v) for v in operand.values)})")
            else:
                operands.append(self.value(operand))
        return condition.template.format(*operands)


def _condition(other: object) -> ConditionBase:
    if not isinstance(other, ConditionBase):
        raise TypeError(f"only a condition joins a condition, not {other!r}")
    return other
