"""Listening rules' queries: what X would take, a plain keyword as a phrase, and tagging feedback
with the rules whose terms its text holds (word boundaries, hashtags and cashtags)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.listening.rules import QueryError, matched_rule_names, normalize_query


def rules(*queries: str) -> list[dict[str, Any]]:
    return [{"name": q.strip('"'), "query": normalize_query(q)} for q in queries]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("XPS 13", '"XPS 13"'),
        ("  Dell   Outlet ", '"Dell Outlet"'),
        ("#DellOutlet", "#DellOutlet"),
        ("from:Dell -is:retweet", "from:Dell -is:retweet"),
        ('"XPS 13" OR alienware', '"XPS 13" OR alienware'),
        ("(dell OR hp) laptop lang:en", "(dell OR hp) laptop lang:en"),
        ('url:"dell.com" sale', 'url:"dell.com" sale'),
        ("$DELL has:cashtags", "$DELL has:cashtags"),
    ],
)
def test_queries_x_takes_are_kept_and_plain_keywords_quoted(raw: str, kept: str) -> None:
    assert normalize_query(raw) == kept


@pytest.mark.parametrize("raw", ["", "(", "a OR", "- dell", "is:reply", "nope:x dell", "dell sample:0", '"a'])
def test_queries_x_refuses_say_why(raw: str) -> None:
    with pytest.raises(QueryError):
        normalize_query(raw)


@pytest.mark.parametrize(
    ("text", "queries", "expected"),
    [
        ("Loving my new xps", ("XPS",), ["XPS"]),
        ("#XPS deal of the day", ("XPS",), ["XPS"]),
        ("$DELL is up today", ("Dell",), ["Dell"]),
        ("XPSfoo is not it", ("XPS",), []),
        ("The XPS  13 is back", ("XPS 13",), ["XPS 13"]),  # any run of spaces
        ("XPS 15 only", ("XPS 13",), []),
        ("Alienware vs. Razer, thoughts?", ("Razer", "Alienware", "HP"), ["Alienware", "Razer"]),
        ("Only #DellOutlet counts", ("#DellOutlet",), ["#DellOutlet"]),
        ("DellOutlet without the tag", ("#DellOutlet",), []),
        ("déjà vu", ("déjà",), ["déjà"]),
        ("the dell laptop", ("dell laptop -is:retweet",), ["dell laptop -is:retweet"]),  # every term of a group
        ("the dell desktop", ("dell laptop",), []),
        ("an hp here", ("dell OR hp",), ["dell OR hp"]),  # one group of an OR
    ],
)
def test_feedback_is_tagged_with_the_rules_whose_terms_it_holds(
    text: str, queries: tuple[str, ...], expected: list[str]
) -> None:
    assert matched_rule_names(text, rules(*queries)) == expected
