"""Keyword rules: the brand, its products, its competitors and anything else worth tracking.

A term matches case-insensitively on word boundaries, bare or as a hashtag or cashtag
(``XPS`` matches "xps", "#XPS" and "$XPS", not "XPSfoo"); spaces in a term match any run of
spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import Conflict, NotFound
from chalicelib.store import GSI1, AlreadyExists, Item, Keys, Page, Store, iso, without_keys

KeywordKind = Literal["brand", "product", "competitor", "custom"]


class KeywordRule(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    term: str = Field(min_length=1, max_length=64, pattern=r"^[#$]?[\w][\w .&'-]*$")
    kind: KeywordKind = "custom"


def pattern_of(term: str) -> re.Pattern[str]:
    prefix = "" if term[0] in "#$" else "[#$]?"
    body = r"\s+".join(re.escape(word) for word in term.split())
    return re.compile(rf"(?<![\w#$]){prefix}{body}(?!\w)", re.IGNORECASE)


def matched_terms(text: str, rules: Iterable[Item]) -> list[str]:
    return sorted({str(rule["term"]) for rule in rules if pattern_of(str(rule["term"])).search(text)})


def add_keyword(store: Store, rule: KeywordRule, now: datetime, by: str | None = None) -> Item:
    item: dict[str, Any] = {
        **Keys.keyword(rule.term),
        **Keys.keyword_index(rule.term),
        "term": rule.term,
        "kind": rule.kind,
        "created_at": iso(now),
        **({"created_by": by} if by else {}),  # the console's operator; the admin API names nobody
    }
    try:
        store.put_new(item)
    except AlreadyExists:
        raise Conflict(f"the keyword {rule.term!r} exists", fields={"term": "exists"}) from None
    return without_keys(item)


def remove_keyword(store: Store, term: str) -> None:
    if store.get(Keys.keyword(term)) is None:
        raise NotFound(f"no keyword {term!r}")
    store.delete(Keys.keyword(term))


def list_keywords(store: Store, *, limit: int = 100, cursor: str | None = None) -> Page:
    page = store.query(Keys.KEYWORDS, index=GSI1, limit=limit, cursor=cursor)
    return Page(items=[without_keys(i) for i in page.items], next=page.next)


def all_rules(store: Store) -> list[Item]:
    rules: list[Item] = []
    cursor = None
    while True:
        page = list_keywords(store, limit=100, cursor=cursor)
        rules.extend(page.items)
        cursor = page.next
        if cursor is None:
            return rules
