"""Keyword rules: admin CRUD, and matching on word boundaries with hashtags and cashtags."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.keywords import matched_terms


def rules(*terms: str) -> list[dict[str, Any]]:
    return [{"term": t, "kind": "custom"} for t in terms]


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("Loving my new xps", ("XPS",), ["XPS"]),
        ("#XPS deal of the day", ("XPS",), ["XPS"]),
        ("$DELL is up today", ("Dell",), ["Dell"]),
        ("XPSfoo is not it", ("XPS",), []),
        ("myxps is not it either", ("XPS",), []),
        ("The XPS  13 is back", ("XPS 13",), ["XPS 13"]),  # any run of spaces
        ("XPS 15 only", ("XPS 13",), []),
        ("Alienware vs. Razer, thoughts?", ("Razer", "Alienware", "HP"), ["Alienware", "Razer"]),
        ("Only #DellOutlet counts", ("#DellOutlet",), ["#DellOutlet"]),
        ("DellOutlet without the tag", ("#DellOutlet",), []),
        ("Dell.", ("Dell",), ["Dell"]),
        ("déjà vu", ("déjà",), ["déjà"]),
    ],
)
def test_terms_match_on_word_boundaries(text: str, terms: tuple[str, ...], expected: list[str]) -> None:
    assert matched_terms(text, rules(*terms)) == expected


def test_keywords_are_added_listed_and_removed(api: Any, admin: dict[str, str]) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    created = api.http.post("/keywords", body=b'{"term": "XPS 13", "kind": "product"}', headers=headers)
    assert created.status_code == 201
    assert json.loads(created.body) == {
        "term": "XPS 13",
        "kind": "product",
        "created_at": json.loads(created.body)["created_at"],
    }
    assert api.http.post("/keywords", body=b'{"term": "xps 13"}', headers=headers).status_code == 409
    assert api.http.post("/keywords", body=b'{"term": "HP", "kind": "rival"}', headers=headers).status_code == 422
    assert api.http.post("/keywords", body=b'{"term": ""}', headers=headers).status_code == 422
    api.http.post("/keywords", body=b'{"term": "Razer", "kind": "competitor"}', headers=headers)
    listed = json.loads(api.http.get("/keywords", headers=admin).body)["items"]
    assert [(k["term"], k["kind"]) for k in listed] == [("Razer", "competitor"), ("XPS 13", "product")]
    assert api.http.delete("/keywords/XPS%2013", headers=admin).status_code == 204
    assert api.http.delete("/keywords/XPS%2013", headers=admin).status_code == 404
    assert [k["term"] for k in json.loads(api.http.get("/keywords", headers=admin).body)["items"]] == ["Razer"]
