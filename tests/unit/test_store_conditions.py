"""The store's conditions (chalicelib/store/conditions.py) against boto3's, which they replace so a
cold start need not import boto3: for any condition, the same expression once each placeholder is
read back as the name or value it stands for; and on moto, the same verdict on every item of a
corpus, for writes and for queries."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb import conditions as theirs
from boto3.dynamodb.types import TypeSerializer
from boto3.exceptions import DynamoDBNeedsKeyConditionError
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.store import Store
from chalicelib.store import conditions as ours
from chalicelib.store.expressions import condition_params
from chalicelib.store.wire import to_wire

TABLE = "conditions"
Pair = tuple[Any, Any]  # the same condition (or attribute) built by ours and by boto3


def boto3_params(condition: Any, *, key: bool = False) -> dict[str, Any]:
    """What the store sent before it had its own builder: boto3's expression, names and values."""
    built = theirs.ConditionExpressionBuilder().build_expression(condition, is_key_condition=key)
    params: dict[str, Any] = {"ConditionExpression": built.condition_expression}
    if built.attribute_name_placeholders:
        params["ExpressionAttributeNames"] = built.attribute_name_placeholders
    if built.attribute_value_placeholders:
        serialize = TypeSerializer().serialize
        params["ExpressionAttributeValues"] = {k: serialize(v) for k, v in built.attribute_value_placeholders.items()}
    return params


def our_key_params(condition: ours.ConditionBase) -> dict[str, Any]:
    placeholders = ours.Placeholders()
    expression = placeholders.condition(condition, key=True)
    return {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": placeholders.names,
        "ExpressionAttributeValues": to_wire(placeholders.values),
    }


def read_back(params: dict[str, Any]) -> str:
    """The expression with every placeholder replaced by the name or the wire value it stands for;
    every placeholder given must be used (DynamoDB refuses one that is not)."""
    names, values = params.get("ExpressionAttributeNames", {}), params.get("ExpressionAttributeValues", {})
    used: set[str] = set()

    def original(match: re.Match[str]) -> str:
        used.add(match.group())
        return names[match.group()] if match.group().startswith("#") else repr(values[match.group()])

    text = re.sub(r"#n\d+|:v\d+", original, params["ConditionExpression"])
    assert used == set(names) | set(values)
    return text


# --- any condition -------------------------------------------------------------------------

segment = st.text(alphabet=string.ascii_letters + string.digits + "_-#: ", min_size=1, max_size=6)
names = st.one_of(
    st.sampled_from(["PK", "status", "history.abc", "top_positive.compound", "list[0]", "list[1].name", "a.b[2].c"]),
    st.lists(segment, min_size=1, max_size=3).map(".".join),
)
scalars = st.one_of(
    st.text(max_size=5),
    st.integers(-(10**6), 10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-100, max_value=100),
    st.booleans(),
    st.none(),
    st.binary(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
)


@st.composite
def attributes(draw: st.DrawFn, kind: str = "Attr") -> Pair:
    name = draw(names)
    return getattr(ours, kind)(name), getattr(theirs, kind)(name)


def comparison(method: str, *arguments: Any) -> Callable[[Pair], Pair]:
    return lambda pair: (getattr(pair[0], method)(*arguments), getattr(pair[1], method)(*arguments))


@st.composite
def leaves(draw: st.DrawFn) -> Pair:
    pair = draw(attributes())
    method = draw(
        st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte", "begins_with", "contains", "between", "is_in", "exists"])
    )
    if method == "between":
        return comparison(method, draw(scalars), draw(scalars))(pair)
    if method == "is_in":
        return comparison(method, draw(st.lists(scalars, min_size=1, max_size=3)))(pair)
    if method == "exists":
        return comparison(draw(st.sampled_from(["exists", "not_exists"])))(pair)
    return comparison(method, draw(scalars))(pair)


def joined(children: st.SearchStrategy[Pair]) -> st.SearchStrategy[Pair]:
    both = st.tuples(children, children)
    return st.one_of(
        both.map(lambda p: (p[0][0] & p[1][0], p[0][1] & p[1][1])),
        both.map(lambda p: (p[0][0] | p[1][0], p[0][1] | p[1][1])),
        children.map(lambda p: (~p[0], ~p[1])),
    )


@settings(max_examples=600, deadline=None)
@given(st.recursive(leaves(), joined, max_leaves=6))
def test_any_condition_reads_back_as_boto3s_does(pair: Pair) -> None:
    mine, boto3s = pair
    assert read_back(condition_params(mine)) == read_back(boto3_params(boto3s))


@st.composite
def key_conditions(draw: st.DrawFn) -> Pair:
    partition = comparison("eq", draw(st.text(max_size=5)))(draw(attributes("Key")))
    sort = draw(attributes("Key"))
    method = draw(st.sampled_from(["eq", "lt", "lte", "gt", "gte", "begins_with", "between", None]))
    if method is None:
        return partition
    arguments = (draw(st.text(max_size=3)), draw(st.text(max_size=3))) if method == "between" else (draw(scalars),)
    bound = comparison(method, *arguments)(sort)
    return partition[0] & bound[0], partition[1] & bound[1]


@settings(max_examples=200, deadline=None)
@given(key_conditions())
def test_any_key_condition_reads_back_as_boto3s_does(pair: Pair) -> None:
    mine, boto3s = pair
    assert read_back(our_key_params(mine)) == read_back(boto3_params(boto3s, key=True))


def test_a_key_condition_naming_a_plain_attribute_is_refused_as_boto3_refuses_it() -> None:
    with pytest.raises(TypeError, match="Key attributes"):
        ours.Placeholders().condition(ours.Key("PK").eq("a") & ours.Attr("SK").eq("b"), key=True)
    with pytest.raises(DynamoDBNeedsKeyConditionError):
        boto3_params(theirs.Key("PK").eq("a") & theirs.Attr("SK").eq("b"), key=True)


def test_only_a_condition_joins_a_condition() -> None:
    with pytest.raises(TypeError):
        ours.Attr("a").exists() & "b = c"  # type: ignore[operator]


def test_a_dotted_name_is_a_map_member_and_brackets_a_list_element() -> None:
    params = condition_params(ours.Attr("history.abc").not_exists() & ours.Attr("list[1].name").eq("b"))
    assert params["ConditionExpression"] == "(attribute_not_exists(#n0.#n1) AND #n2[1].#n3 = :v0)"
    assert params["ExpressionAttributeNames"] == {"#n0": "history", "#n1": "abc", "#n2": "list", "#n3": "name"}


# --- the same verdicts on moto ----------------------------------------------------------------

ITEMS: list[dict[str, Any]] = [
    {},
    {
        "status": "following",
        "version": 3,
        "history": {"abc": "2026-11-26T12:00:00+00:00|follow|abc"},
        "last_event_at": "2026-11-26T12:00:00+00:00",
    },
    {"status": "following", "version": Decimal("2.5"), "history": {"other": "x"}, "last_event_at": "2026-11-30"},
    {"status": "left", "version": 7, "history": {}, "expires_at": 100},
    {
        "status": "sending",
        "checks": 0,
        "keywords": {"deal", "shoes"},
        "kinds": ["reply", "mention"],
        "top_positive": {"compound": Decimal("0.5"), "id": "e1"},
        "failures": 3,
    },
    {"status": "checking", "checks": 2, "sent": 10, "failures": 1, "expires_at": 2_000_000_000},
    {"status": "waiting", "list": [{"name": "a"}, {"name": "b"}], "flag": True, "raw": b"\x00", "note": "déjà vu"},
]


def corpus(a: Any) -> list[Any]:
    """Conditions of every kind the code writes (``a`` is ``Attr``, ours or boto3's)."""
    return [
        a("PK").not_exists(),
        a("PK").exists(),
        a("PK").not_exists() | a("expires_at").lte(1_000),  # the store's absent_condition
        a("status").eq("following"),
        a("status").ne("following"),
        a("status").is_in(["sending", "checking"]),
        a("status").is_in(["sending", "checking"]) & a("checks").eq(2),
        a("status").begins_with("s"),
        a("status").between("l", "t"),
        a("status").eq("following") & a("last_event_at").lt("2026-12-01") & a("history.abc").not_exists(),
        a("history.abc").exists(),
        a("version").eq(Decimal("2.5")),
        a("version").gte(3),
        a("version").lt(3),
        a("sent").not_exists() | a("sent").lt(5),
        a("failures").gt(0),
        a("failures").not_exists() | a("failures").lt(3),
        a("keywords").contains("deal"),
        a("kinds").contains("mention"),
        a("note").contains("jà"),
        a("top_positive.compound").lt(Decimal("0.7")),
        a("top_positive.id").eq("e1"),
        a("list[1].name").eq("b"),
        a("flag").eq(True),
        a("raw").eq(b"\x00"),
        ~a("status").exists(),
        ~(a("status").eq("left") | a("checks").between(1, 5)),
    ]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client: Any = boto3.session.Session(region_name="us-east-1").client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def accepts(client: Any, item: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether a put of ``item`` over itself passes the condition; the table is left as it was
    (an item that was absent is deleted again)."""
    absent = "Item" not in client.get_item(TableName=TABLE, Key=to_wire({"PK": item["PK"], "SK": item["SK"]}))
    try:
        client.put_item(TableName=TABLE, Item=to_wire(item), **params)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    if absent:
        client.delete_item(TableName=TABLE, Key=to_wire({"PK": item["PK"], "SK": item["SK"]}))
    return True


def test_every_condition_of_the_corpus_accepts_and_refuses_the_same_items_as_boto3s(dynamodb: Any) -> None:
    items = [{"PK": f"ITEM#{n}", "SK": "A", **item} for n, item in enumerate(ITEMS)]
    for item in items[1:]:  # the first stays absent: conditions on a missing item
        dynamodb.put_item(TableName=TABLE, Item=to_wire(item))
    mine = [[accepts(dynamodb, item, condition_params(c)) for item in items] for c in corpus(ours.Attr)]
    boto3s = [[accepts(dynamodb, item, boto3_params(c)) for item in items] for c in corpus(theirs.Attr)]
    assert mine == boto3s
    # The corpus tells items apart: every condition accepts some and refuses others.
    assert all(any(v) and not all(v) for v in mine), [(n, v) for n, v in enumerate(mine) if all(v) or not any(v)]


def test_a_query_finds_what_boto3s_key_condition_and_filter_find(dynamodb: Any) -> None:
    store = Store(TABLE, dynamodb)
    sort_keys = ["A", "DEAL#1", "DEAL#2", "DEAL#10", "EVENT#2026-11-26", "EVENT#2026-11-27", "Z"]
    store.batch_put([{"PK": "P", "SK": sk, "n": i} for i, sk in enumerate(sort_keys)])
    for prefix, between, wanted in [
        ("DEAL#", None, None),
        (None, ("DEAL#10", "EVENT#2026-11-26"), None),
        ("EVENT#", None, (ours.Attr("n").gt(4), theirs.Attr("n").gt(4))),
        (None, None, (ours.Attr("n").is_in([0, 6]), theirs.Attr("n").is_in([0, 6]))),
    ]:
        key: Any = theirs.Key("PK").eq("P")
        if prefix is not None:
            key &= theirs.Key("SK").begins_with(prefix)
        if between is not None:
            key &= theirs.Key("SK").between(*between)
        builder = theirs.ConditionExpressionBuilder()
        built = builder.build_expression(key, is_key_condition=True)
        params: dict[str, Any] = {"KeyConditionExpression": built.condition_expression}
        placeholders = {**built.attribute_name_placeholders}, {**built.attribute_value_placeholders}
        if wanted is not None:
            built_filter = builder.build_expression(wanted[1])
            params["FilterExpression"] = built_filter.condition_expression
            placeholders[0].update(built_filter.attribute_name_placeholders)
            placeholders[1].update(built_filter.attribute_value_placeholders)
        response = dynamodb.query(
            TableName=TABLE,
            ExpressionAttributeNames=placeholders[0],
            ExpressionAttributeValues=to_wire(placeholders[1]),
            **params,
        )
        boto3s = [item["SK"]["S"] for item in response["Items"]]
        page = store.query("P", sk_prefix=prefix, sk_between=between, filter=wanted[0] if wanted else None)
        assert [item["SK"] for item in page.items] == boto3s
        assert 0 < len(boto3s) < len(sort_keys)


def test_an_updates_dotted_name_sets_a_member_of_the_map_as_a_conditions_reads_one(dynamodb: Any) -> None:
    store = Store(TABLE, dynamodb)
    store.put({"PK": "F", "SK": "A", "history": {"old": "x"}})
    after = store.update(
        {"PK": "F", "SK": "A"},
        set={"history.new": "y"},
        condition=ours.Attr("history.new").not_exists() & ours.Attr("history.old").eq("x"),
    )
    assert after["history"] == {"old": "x", "new": "y"}
    assert "history.new" not in after
