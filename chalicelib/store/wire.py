"""DynamoDB's wire format: Python values to typed attribute values (``{"S": "abc"}``) and back.

The rules are boto3's ``TypeSerializer`` and ``TypeDeserializer``'s (tests/unit/test_store_wire.py
holds this module to them value for value, errors included), without importing boto3 (see
``conditions``) and without its per-value ``getattr`` dispatch: None is NULL, a bool BOOL (before
int), an int or Decimal N within DynamoDB's 38 digits (a float, NaN, Infinity or a number that
would be rounded is refused), str S, bytes B, a set SS, NS or BS, a Mapping M, a list or tuple L.
Numbers come back as Decimal. One difference: B comes back as ``bytes``, where boto3 wraps it in
its ``Binary`` (which equals the same bytes); outlet stores no binary attribute today.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 significant digits; boto3's context, to the letter (it lets through some numbers
# DynamoDB refuses, from 1E+126 to 9.99...E+126 and down to 1E-165: DynamoDB says so, as for boto3).
NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
_EXACT_INT = 10**38  # an int closer to zero than this is written as it stands, digit for digit


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def from_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: deserialize(value) for name, value in item.items()}


def serialize(value: Any) -> dict[str, Any]:
    """``value`` as one typed attribute value; a TypeError (or a decimal error) for what DynamoDB
    cannot hold exactly, as boto3 raises."""
    kind = type(value)  # fast lanes for the exact types most values are; the rest go boto3's way
    if kind is str:
        return {"S": value}
    if kind is int and -_EXACT_INT < value < _EXACT_INT:
        return {"N": str(value)}  # exact as it stands: no context needed
    if kind is dict:
        return {"M": {name: serialize(member) for name, member in value.items()}}
    return _serialize_in_boto3s_order(value)


def _serialize_in_boto3s_order(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, Set):
        typed = _typed_set(value)
        if typed is not None:
            return typed
    if isinstance(value, Mapping):
        return {"M": {name: serialize(member) for name, member in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(element) for element in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(attribute: Mapping[str, Any]) -> Any:
    """One typed attribute value as Python: numbers Decimal, sets ``set``, B ``bytes``."""
    try:
        (tag,) = attribute
    except ValueError:
        raise TypeError("Value must be a dictionary with one key, a DynamoDB type") from None
    raw = attribute[tag]
    if tag == "S":
        return raw
    if tag == "N":
        return NUMBERS.create_decimal(raw)
    if tag == "M":
        return {name: deserialize(member) for name, member in raw.items()}
    if tag == "L":
        return [deserialize(element) for element in raw]
    if tag in ("BOOL", "B"):
        return raw
    if tag == "NULL":
        return None
    if tag in ("SS", "BS"):
        return set(raw)
    if tag == "NS":
        return set(map(NUMBERS.create_decimal, raw))
    raise TypeError(f"Dynamodb type {tag} is not supported")


def _number(value: int | Decimal) -> str:
    if type(value) is int and -_EXACT_INT < value < _EXACT_INT:
        return str(value)  # exact as it stands (a bool, an IntEnum take the context's way)
    number = str(NUMBERS.create_decimal(value))  # raises Inexact, Rounded, Overflow... as boto3's does
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _typed_set(value: Set[Any]) -> dict[str, Any] | None:
    """An SS, NS or BS if every member is of the one kind (an empty set is an NS, as in boto3)."""
    if all(isinstance(member, int | Decimal) for member in value):
        return {"NS": [_number(member) for member in value]}
    if any(isinstance(member, float) for member in value):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if all(isinstance(member, str) for member in value):
        return {"SS": list(value)}
    if all(isinstance(member, bytes | bytearray) for member in value):
        return {"BS": list(value)}
    return None
