"""The store's wire format (chalicelib/store/wire.py) against boto3's TypeSerializer and
TypeDeserializer, which it replaces so a cold start need not import boto3: the same typed value for
every Python value, the same error for every value DynamoDB cannot hold, the same Python value back
(B as ``bytes`` where boto3 gives its ``Binary`` of the same bytes)."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.store.wire import deserialize, from_wire, serialize, to_wire

BOTO3_SERIALIZE = TypeSerializer().serialize
BOTO3_DESERIALIZE: Callable[[Any], Any] = TypeDeserializer().deserialize


def outcome(convert: Callable[[Any], Any], value: Any) -> tuple[str, Any]:
    """What ``convert`` made of ``value``, or the class of what it raised."""
    try:
        return "value", convert(value)
    except (TypeError, ArithmeticError) as exc:  # decimal's Inexact, Rounded... are ArithmeticErrors
        return "error", type(exc)


def typed(value: Any) -> Any:
    """``value`` with every leaf tagged by its type, so 1 and Decimal("1"), or Decimal("1") and
    Decimal("1.0"), differ; boto3's Binary is read as the bytes it holds."""
    if isinstance(value, Binary):
        binary: Any = value  # Any: the stubs leave out the bytes it holds
        value = binary.value
    if isinstance(value, Mapping):
        return ("map", {k: typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, set):
        return ("set", frozenset(typed(v) for v in value))
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, value)


# --- values a caller may hand the store ------------------------------------------------------

# Decimals built digit by digit around DynamoDB's bounds: up to 45 digits (38 fit), exponents well
# past -130 and +125, zeros with odd exponents.
crafted_decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, digits, exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=45).map(tuple),
    st.integers(-200, 200),
)
hashable_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=False),
    crafted_decimals,
)
numbers = st.one_of(hashable_numbers, st.decimals(allow_nan=True, allow_infinity=True), st.just(Decimal("sNaN")))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.floats(),
    st.text(),
    st.binary(),
    st.binary().map(bytearray),
    st.frozensets(hashable_numbers, max_size=4).map(set),
    st.sets(st.text(), max_size=4),
    st.sets(st.binary(), max_size=4),
    st.sets(st.one_of(st.booleans(), st.integers(), st.text(), st.binary(), st.floats(allow_nan=False)), max_size=4),
    st.sampled_from([object(), 1j, range(3), frozenset()]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=1500, deadline=None)
@given(values)
def test_every_value_serializes_as_boto3_serializes_it_or_fails_as_boto3_fails(value: Any) -> None:
    assert outcome(serialize, value) == outcome(BOTO3_SERIALIZE, value)


@settings(max_examples=800, deadline=None)
@given(values)
def test_every_value_on_the_wire_reads_back_as_boto3_reads_it(value: Any) -> None:
    kind, wire = outcome(BOTO3_SERIALIZE, value)
    if kind == "error":
        return
    assert typed(deserialize(wire)) == typed(BOTO3_DESERIALIZE(wire))


# --- hand-picked cases, so a reader sees the rules ---------------------------------------------

SAME_AS_BOTO3 = [
    None,
    True,
    False,
    0,
    -7,
    10**38 - 1,  # 38 nines: the largest int DynamoDB holds exactly
    -(10**38) + 1,
    10**38,  # 39 digits whose last is a zero: boto3 still refuses it (Rounded)
    10**38 + 1,  # Inexact
    Decimal("1.50"),  # the trailing zero is kept
    Decimal("-0"),
    Decimal("0E+200"),
    Decimal("1E+125"),
    Decimal("1E+126"),  # boto3's context takes it (Overflow from 1E+127); DynamoDB refuses it
    Decimal("1E-130"),
    Decimal("1E-131"),  # below DynamoDB's smallest, yet boto3's context takes it (Underflow from 1E-166)
    Decimal("12345678901234567890123456789012345678"),
    Decimal("1234567890123456789012345678901234567.8"),
    Decimal("123456789012345678901234567890123456789"),
    Decimal("NaN"),
    Decimal("-NaN"),  # boto3 lets this one through as the number "-NaN"; so do we, to be equal
    Decimal("Infinity"),
    Decimal("-Infinity"),
    1.5,
    float("nan"),
    "",
    "ünïcode ✓",
    b"",
    b"\x00\xff",
    bytearray(b"abc"),
    set(),
    {1, Decimal("2.5")},
    {True},  # a bool is an int to boto3's set rule: NS ["1"]
    {"a", "b"},
    {b"a", b"b"},
    {"a", 1},
    {1.5},
    frozenset({"a"}),
    [],
    (),
    [1, "a", None, [True, {"x": Decimal("0.1")}]],
    ("tuple", 1),
    {"": {"nested": {"deeper": [set(), {"s"}]}}},
    {"history": {"abc": "2026-11-26T12:00:00+00:00|follow|abc"}},
    object(),
    3 + 4j,
]


@pytest.mark.parametrize("value", SAME_AS_BOTO3, ids=repr)
def test_the_edge_cases_serialize_as_boto3_serializes_them(value: Any) -> None:
    assert outcome(serialize, value) == outcome(BOTO3_SERIALIZE, value)


def test_what_dynamodb_cannot_hold_exactly_is_refused_with_boto3s_errors() -> None:
    with pytest.raises(TypeError, match="Float types are not supported"):
        serialize({"price": 9.99})
    with pytest.raises(TypeError, match="Infinity and NaN not supported"):
        serialize(Decimal("NaN"))
    with pytest.raises(decimal.Inexact):
        serialize(Decimal("1.000000000000000000000000000000000000001"))
    with pytest.raises(decimal.Rounded):
        serialize(10**40)
    with pytest.raises(decimal.Overflow):
        serialize(Decimal("1E+200"))
    with pytest.raises(TypeError, match="Unsupported type"):
        serialize({"at": object()})


def test_an_item_goes_out_and_comes_back_with_numbers_as_decimals_and_binary_as_bytes() -> None:
    item = {
        "PK": "FOLLOWER#1",
        "count": 3,
        "price": Decimal("19.90"),
        "tags": {"a", "b"},
        "raw": b"\x01",
        "history": {"e1": "x"},
        "none": None,
        "flags": [True, False],
    }
    wire = to_wire(item)
    assert wire == {name: BOTO3_SERIALIZE(value) for name, value in item.items()}
    back = from_wire(wire)
    assert back == {**item, "count": Decimal(3)}
    assert type(back["count"]) is Decimal
    assert type(back["raw"]) is bytes


@pytest.mark.parametrize(
    "wire",
    [{}, {"X": "1"}, {"S": "a", "N": "1"}],
    ids=["empty", "unknown type", "two types"],
)
def test_a_malformed_wire_value_is_a_type_error(wire: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        deserialize(wire)
    if len(wire) < 2:  # boto3 reads the first of two types; we refuse what DynamoDB never sends
        with pytest.raises(TypeError):
            BOTO3_DESERIALIZE(wire)


@pytest.mark.parametrize("number", ["0", "-0", "1E+2", "0.00", "1e-130", "9" * 38, "-1.50", "1E+125"])
def test_numbers_from_dynamodb_read_as_boto3_reads_them_digit_for_digit(number: str) -> None:
    assert typed(deserialize({"N": number})) == typed(BOTO3_DESERIALIZE({"N": number}))
    assert typed(deserialize({"NS": [number]})) == typed(BOTO3_DESERIALIZE({"NS": [number]}))
