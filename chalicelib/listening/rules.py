"""Listening rules: a name, a kind (brand, product, competitor, topic) and an X search query.

A rule's outlet ``id`` is its tag on X: the filtered stream delivers a post with the tags of the
rules it matched, and recent search runs each rule's query. A query is checked before it is kept:
at most 512 characters (X's limit for recent search), balanced quotes and parentheses, known
operators only, and at least one term that stands alone (X refuses a query of only ``is:``,
``has:``, ``lang:`` or negations). A plain keyword (``XPS 13``) becomes the quoted phrase
``"XPS 13"``.

Feedback is still tagged with what it names: its ``keywords`` are the names of the rules whose
terms its text holds (``matched_rule_names``; local matching of a query's terms, an approximation
of X's own).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.errors import NotFound, Unprocessable
from chalicelib.observability import logger
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Page, Store, iso, without_keys
from chalicelib.store.conditions import Attr, ConditionBase

RuleKind = Literal["brand", "product", "competitor", "topic"]
KINDS: tuple[RuleKind, ...] = ("brand", "product", "competitor", "topic")
MAX_QUERY_LENGTH = 512  # X's limit for a recent-search query (pay-per-use and Basic/Pro)
MAX_RULES = 200  # every rule is searched, and read whole to tag feedback: a bounded set
_PLAIN = re.compile(r"[\w][\w .&'-]*")
_TOKEN = re.compile(r'-?"[^"]*"|-?\(|\)|[^\s()"]+')
STANDALONE_OPERATORS = frozenset(
    {
        "from", "to", "url", "retweets_of", "in_reply_to_tweet_id", "retweets_of_tweet_id",
        "quotes_of_tweet_id", "context", "entity", "conversation_id", "list", "place",
        "place_country", "point_radius", "bounding_box", "bio", "bio_name", "bio_location",
        "url_title", "url_description", "url_contains", "source",
    }
)  # fmt: skip
CONJUNCTION_OPERATORS = {
    "is": frozenset({"retweet", "reply", "quote", "verified", "nullcast"}),
    "has": frozenset({"hashtags", "cashtags", "links", "mentions", "media", "images", "video_link", "geo"}),
    "lang": None,  # a language code
    "sample": None,  # a percentage
}
_LANG = re.compile(r"[a-z]{2,3}(-[a-z]{2,4})?", re.IGNORECASE)


class QueryError(ValueError):
    """A query X would refuse, said in a sentence an operator can act on."""


def normalize_query(raw: str) -> str:
    """The query to keep: a plain keyword quoted as a phrase, anything else checked as it is."""
    text = " ".join(raw.split())
    if not text:
        raise QueryError("the query is empty")
    if _PLAIN.fullmatch(text) and "OR" not in text.split():
        text = f'"{text}"'
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is {len(text)} characters; X takes at most {MAX_QUERY_LENGTH}")
    check_query(text)
    return text


def tokens_of(query: str) -> list[str]:
    found: list[str] = []
    position = 0
    while position < len(query):
        if query[position].isspace():
            position += 1
            continue
        match = _TOKEN.match(query, position)
        if match is None:
            raise QueryError("a quote is not closed")
        found.append(match.group())
        position = match.end()
    return found


def check_query(query: str) -> None:
    parts = tokens_of(query)
    depth, standalone, previous = 0, False, "OR"  # as if after an OR: a query cannot start with one
    for index, part in enumerate(parts):
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if part == "OR":
            if previous in ("OR", "(", "-(") or not following:
                raise QueryError("OR needs a term on each side")
        elif part in ("(", "-("):
            depth += 1
        elif part == ")":
            depth -= 1
            if depth < 0 or previous in ("(", "-("):
                raise QueryError("the parentheses do not match")
        else:
            standalone |= _is_standalone(part, following)
        previous = part
    if depth != 0:
        raise QueryError("the parentheses do not match")
    if not standalone:
        raise QueryError("the query needs at least one term that stands alone (a word, a phrase, #, @, from: ...)")


def _is_standalone(part: str, following: str) -> bool:
    """Whether a term (not OR, not a parenthesis) stands alone; a QueryError if X would refuse it."""
    negated = part.startswith("-") and len(part) > 1
    bare = part[1:] if negated else part
    if bare == "-":
        raise QueryError("a lone '-': put it right before the term it excludes")
    if bare == '""':
        raise QueryError("a quoted phrase is empty")
    is_operator = ":" in bare and not bare.startswith(('"', "#", "$", "@", "http://", "https://"))
    if is_operator:
        return _check_operator(bare, following) and not negated
    return not negated


def _check_operator(token: str, following: str) -> bool:
    """Whether the operator stands alone; a QueryError for an unknown one or a bad value."""
    name, _, value = token.partition(":")
    name = name.lower()
    if not value and not following.startswith('"'):
        raise QueryError(f"{name}: needs a value")
    if name in STANDALONE_OPERATORS:
        return True
    if name not in CONJUNCTION_OPERATORS:
        raise QueryError(f"{name}: is not an X search operator")
    allowed = CONJUNCTION_OPERATORS[name]
    if allowed is not None and value.lower() not in allowed:
        raise QueryError(f"{name}: takes one of {', '.join(sorted(allowed))}")
    if name == "lang" and not _LANG.fullmatch(value):
        raise QueryError("lang: takes a language code, like en")
    if name == "sample" and not (value.isdigit() and 1 <= int(value) <= 100):
        raise QueryError("sample: takes a percentage from 1 to 100")
    return False


class RuleFields(BaseModel):
    """``POST /listening/rules`` (and the console's form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: RuleKind
    query: str = Field(min_length=1, max_length=2048)

    @field_validator("query")
    @classmethod
    def _x_query(cls, value: str) -> str:
        return normalize_query(value)


class RuleChanges(BaseModel):
    """``PATCH /listening/rules/{id}``: any of the fields, at least one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: RuleKind | None = None
    query: str | None = Field(default=None, min_length=1, max_length=2048)

    @field_validator("query")
    @classmethod
    def _x_query(cls, value: str | None) -> str | None:
        return normalize_query(value) if value is not None else None


class RuleSync(Protocol):
    """The filtered stream's rules on X (chalicelib.x.search.XStreamRules in the cloud)."""

    def add(self, tag: str, query: str) -> str:
        """Adds the rule; X's id for it."""
        ...

    def delete(self, x_rule_id: str) -> None: ...


class LocalRuleSync:
    """Locally, and where the account has no filtered stream: the rule is kept as synced to
    nothing, and the item says so (``x_sync.state == "local"``)."""

    def add(self, tag: str, query: str) -> str:
        return f"local-{tag}"

    def delete(self, x_rule_id: str) -> None:
        return None


def new_rule_id() -> str:
    return f"r{secrets.token_hex(6)}"  # short and tag-safe: X's rule tags are free text


def add_rule(store: Store, fields: RuleFields, now: datetime, sync: RuleSync, by: str | None = None) -> Item:
    if _count_rules(store) >= MAX_RULES:
        raise Unprocessable(f"at most {MAX_RULES} listening rules", fields={"query": "too many rules"})
    rule_id = new_rule_id()
    item: Item = {
        **Keys.listening_rule(rule_id),
        **Keys.listening_rule_index(now, rule_id),
        "id": rule_id,
        "name": fields.name,
        "kind": fields.kind,
        "query": fields.query,
        "created_at": iso(now),
        "updated_at": iso(now),
        "x_sync": {"state": "pending"},
        **({"created_by": by} if by else {}),  # the console's operator; the admin API names nobody
    }
    store.put_new(item)  # the rule exists (its tag is good) before X is told of it
    return public_rule(_synced(store, item, sync, now))


def _synced(store: Store, item: Item, sync: RuleSync, now: datetime, replaces: str | None = None) -> Item:
    """Tells X of the rule (and removes the one it replaces); the rule, saying how that went."""
    state: Item
    try:
        if replaces:
            sync.delete(replaces)
        state = {"state": "synced", "x_rule_id": sync.add(str(item["id"]), str(item["query"])), "at": iso(now)}
    except Exception as exc:
        logger.warning("listening rule not synced to X", extra={"rule": item["id"], "error": repr(exc)})
        state = {"state": "failed", "error": str(exc)[:200], "at": iso(now)}
    try:
        return store.update(Keys.listening_rule(str(item["id"])), set={"x_sync": state}, condition=_exists())
    except ConditionFailed:
        return {**item, "x_sync": state}  # removed meanwhile


def _exists() -> ConditionBase:
    return Attr("PK").exists()


def get_rule(store: Store, rule_id: str) -> Item:
    found = store.get(Keys.listening_rule(rule_id)) if _is_rule_id(rule_id) else None
    if found is None:
        raise NotFound(f"no listening rule {rule_id!r}")
    return found


def _is_rule_id(rule_id: str) -> bool:
    return 0 < len(rule_id) <= 64


def update_rule(store: Store, rule_id: str, changes: RuleChanges, now: datetime, sync: RuleSync) -> Item:
    current = get_rule(store, rule_id)
    changed = {k: v for k, v in changes.model_dump(exclude_none=True).items() if v != current.get(k)}
    if not changed:
        return public_rule(current)
    try:
        updated = store.update(
            Keys.listening_rule(rule_id), set={**changed, "updated_at": iso(now)}, condition=_exists()
        )
    except ConditionFailed:
        raise NotFound(f"no listening rule {rule_id!r}") from None
    if "query" in changed:  # X's rule is its query: a new query is a new rule there, under the same tag
        old = (current.get("x_sync") or {}).get("x_rule_id")
        updated = _synced(store, updated, sync, now, replaces=str(old) if old else None)
    return public_rule(updated)


def remove_rule(store: Store, rule_id: str, sync: RuleSync) -> None:
    current = get_rule(store, rule_id)
    store.delete(Keys.listening_rule(rule_id))
    store.delete(Keys.listening_rule_search(rule_id))
    x_rule_id = (current.get("x_sync") or {}).get("x_rule_id")
    if x_rule_id:
        try:
            sync.delete(str(x_rule_id))
        except Exception as exc:
            logger.warning("listening rule not removed from X", extra={"rule": rule_id, "error": repr(exc)})


def list_rules(store: Store, *, limit: int = 100, cursor: str | None = None) -> Page:
    page = store.query(Keys.LISTENING_RULES, index=GSI1, limit=limit, cursor=cursor)
    return Page(items=[public_rule(i) for i in page.items], next=page.next)


def all_rules(store: Store) -> list[Item]:
    """Every rule (at most ``MAX_RULES``: two pages)."""
    rules: list[Item] = []
    cursor = None
    while True:
        page = list_rules(store, limit=100, cursor=cursor)
        rules.extend(page.items)
        cursor = page.next
        if cursor is None or len(rules) >= MAX_RULES:
            return rules


def _count_rules(store: Store) -> int:
    return len(all_rules(store))


def public_rule(item: Item) -> Item:
    rule = without_keys(item)
    return {
        "id": rule["id"],
        "name": rule["name"],
        "kind": rule["kind"],
        "query": rule["query"],
        "created_at": rule["created_at"],
        "updated_at": rule.get("updated_at", rule["created_at"]),
        "created_by": rule.get("created_by"),
        "x_sync": rule.get("x_sync") or {"state": "pending"},
    }


# --- tagging feedback with the rules its text names ------------------------------------------


def pattern_of(term: str) -> re.Pattern[str]:
    """A term on word boundaries, bare or as a hashtag or cashtag (``XPS`` matches "xps", "#XPS"
    and "$XPS", not "XPSfoo"); spaces in a term match any run of spaces."""
    prefix = "" if term[0] in "#$" else "[#$]?"
    body = r"\s+".join(re.escape(word) for word in term.split())
    return re.compile(rf"(?<![\w#$]){prefix}{body}(?!\w)", re.IGNORECASE)


def alternatives_of(query: str) -> list[list[str]]:
    """The query's positive terms, in the groups OR separates (parentheses flattened): a text
    matches the rule when it holds every term of one group."""
    groups: list[list[str]] = [[]]
    for part in tokens_of(query):
        if part == "OR":
            groups.append([])
        elif part.startswith('"') and len(part) > 2:
            groups[-1].append(part[1:-1])
        elif part[0] not in '-()"@' and ":" not in part:
            groups[-1].append(part)
    return [g for g in groups if g]


def matched_rule_names(text: str, rules: Iterable[Item]) -> list[str]:
    names = set()
    for rule in rules:
        for group in alternatives_of(str(rule["query"])):
            if all(pattern_of(term).search(text) for term in group):
                names.add(str(rule["name"]))
                break
    return sorted(names)
