"""The scheduled recent search, against X's recorded response shape: paging with next_token,
since_id resumption, the request and monthly read budgets, a 429 that pauses until
x-rate-limit-reset, and posts heard once across rules and across search and webhook."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import responses

from chalicelib.fees import month_of
from chalicelib.listening.posts import hear_delivery, list_posts
from chalicelib.listening.rules import LocalRuleSync, RuleFields, add_rule
from chalicelib.listening.search import SearchPolicy, run_searches
from chalicelib.publishing import RateLimited
from chalicelib.sentiment import VaderClassifier
from chalicelib.store import Keys, Store
from chalicelib.x.events import parse_delivery
from chalicelib.x.publisher import x_client
from chalicelib.x.search import SEARCH_ROUTE, XRecentSearch
from chalicelib.x.stream import SearchPage, read_search_page
from tests.conftest import FakeClock
from tests.factories import load_event

ACCOUNT = "1111111"
RECORDED = load_event("x/x_api_search_recent_response.json")


def recorded_page(ids: list[str], *, next_token: str | None, authors: bool = True) -> dict[str, Any]:
    """The recorded search response (tweepy's cassette) for other posts, with the fields outlet
    asks for (created_at, author_id, public_metrics and includes.users) when ``authors``."""
    body: dict[str, Any] = copy.deepcopy(RECORDED)
    template = body["data"][0]
    body["data"] = []
    for n, post_id in enumerate(ids):
        post = {**template, "id": post_id, "edit_history_tweet_ids": [post_id], "text": f"dell post {post_id}"}
        if authors:
            post |= {
                "author_id": f"90{n}",
                "created_at": "2026-11-26T11:00:00.000Z",
                "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": n, "quote_count": 0},
            }
        body["data"].append(post)
    if authors:
        body["includes"] = {
            "users": [{"id": f"90{n}", "name": f"Person {n}", "username": f"p{n}"} for n in range(len(ids))]
        }
    body["meta"] = {"newest_id": ids[0], "oldest_id": ids[-1], "result_count": len(ids)}
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


class FakeSearchX:
    """X's recent search: ``pages`` by (rule id, since_id, next_token); records every call."""

    def __init__(self) -> None:
        self.pages: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
        self.calls: list[tuple[str, str | None, str | None]] = []
        self.limited_until: datetime | None = None

    def recent(
        self, rule_id: str, query: str, *, since_id: str | None, next_token: str | None, max_results: int
    ) -> SearchPage:
        self.calls.append((rule_id, since_id, next_token))
        if self.limited_until is not None:
            raise RateLimited("X answered 429 Too Many Requests", retry_at=self.limited_until)
        body = self.pages.get((rule_id, since_id, next_token), {"meta": {"result_count": 0}})
        return read_search_page(body, rule_id)


@pytest.fixture
def rules(store: Store, clock: FakeClock) -> tuple[str, str]:
    brand = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), clock(), LocalRuleSync())
    clock.advance(seconds=1)
    rival = add_rule(store, RuleFields(name="HP", kind="competitor", query="hp"), clock(), LocalRuleSync())
    return str(brand["id"]), str(rival["id"])


def run(store: Store, x: FakeSearchX, clock: FakeClock, **policy: Any) -> Any:
    return run_searches(store, x, SearchPolicy(**policy), clock(), classifier=VaderClassifier(), account_id=ACCOUNT)


def test_the_recorded_response_reads_into_posts_even_without_the_fields_asked_for() -> None:
    page = read_search_page(RECORDED, "r1")
    assert (page.result_count, page.newest_id, page.next_token) == (
        10,
        "1578516068309794817",
        RECORDED["meta"]["next_token"],
    )
    first = page.posts[0]
    assert (first.post_id, first.text, first.author, first.rule_tags, first.via) == (
        "1578516068309794817",
        "2022-10-07 22:42:12.637103 tweepy",
        None,
        ("r1",),
        "search",
    )
    assert first.created_at.replace(microsecond=0) == datetime(2022, 10, 7, 22, 42, 12, tzinfo=UTC)  # from its id


def test_a_run_pages_with_next_token_then_resumes_from_since_id(
    store: Store, clock: FakeClock, rules: tuple[str, str]
) -> None:
    brand, rival = rules
    x = FakeSearchX()
    x.pages[(brand, None, None)] = recorded_page(["1860000000000000103", "1860000000000000102"], next_token="t1")
    x.pages[(brand, None, "t1")] = recorded_page(["1860000000000000101"], next_token=None)
    report = run(store, x, clock)
    assert x.calls == [(brand, None, None), (brand, None, "t1"), (rival, None, None)]
    assert (report.requests, report.read, report.heard, report.stopped) == (3, 3, 3, None)
    # the next run asks only for what is newer than the newest post seen
    clock.advance(minutes=5)
    x.pages[(brand, "1860000000000000103", None)] = recorded_page(["1860000000000000104"], next_token=None)
    x.calls.clear()
    report = run(store, x, clock)
    assert x.calls == [(brand, "1860000000000000103", None), (rival, None, None)]
    assert report.heard == 1
    listed = list_posts(store, limit=10, cursor=None).items
    assert {p["id"] for p in listed} == {f"186000000000000010{n}" for n in (1, 2, 3, 4)}
    assert {p["via"] for p in listed} == {"search"}
    assert listed[0]["author_handle"] is not None
    fees = store.get(Keys.fees_month(month_of(clock())))
    assert fees is not None
    assert (fees["listening_reads"], fees["usd"]) == (4, Decimal("0.020"))


def test_a_run_cut_short_by_its_request_budget_continues_where_it_stopped(
    store: Store, clock: FakeClock, rules: tuple[str, str]
) -> None:
    brand, rival = rules
    x = FakeSearchX()
    x.pages[(brand, "1860000000000000100", None)] = recorded_page(["1860000000000000203"], next_token="t1")
    x.pages[(brand, "1860000000000000100", "t1")] = recorded_page(["1860000000000000202"], next_token=None)
    store.put({**Keys.listening_rule_search(brand), "rule_id": brand, "newest_id": "1860000000000000100"})
    assert run(store, x, clock, requests_per_run=1).stopped == "requests"
    clock.advance(minutes=5)
    # the rule searched longest ago goes first; then the unfinished run goes on with its token and
    # the same since_id. The high-water mark moves only once its pages are read, so nothing
    # between the two runs is skipped
    run(store, x, clock, requests_per_run=2)
    assert x.calls == [
        (brand, "1860000000000000100", None),
        (rival, None, None),
        (brand, "1860000000000000100", "t1"),
    ]
    state = store.get(Keys.listening_rule_search(brand))
    assert state is not None
    assert state["newest_id"] == "1860000000000000203"
    assert "pending" not in state
    clock.advance(minutes=5)
    run(store, x, clock, requests_per_run=2)
    assert set(x.calls[-2:]) == {(rival, None, None), (brand, "1860000000000000203", None)}


def test_a_429_pauses_every_rule_until_x_rate_limit_reset(
    store: Store, clock: FakeClock, rules: tuple[str, str]
) -> None:
    x = FakeSearchX()
    x.limited_until = clock() + timedelta(minutes=12)
    report = run(store, x, clock)
    assert (report.stopped, report.requests, len(x.calls)) == ("rate_limited", 1, 1)
    clock.advance(minutes=5)
    assert run(store, x, clock).stopped == "paused"
    assert len(x.calls) == 1
    x.limited_until = None
    clock.advance(minutes=8)
    assert run(store, x, clock).stopped is None
    assert len(x.calls) == 3


def test_the_monthly_read_budget_stops_the_search(store: Store, clock: FakeClock, rules: tuple[str, str]) -> None:
    _brand, _ = rules
    x = FakeSearchX()
    store.update(Keys.fees_month(month_of(clock())), add={"listening_reads": 950})
    report = run(store, x, clock, monthly_reads=1000)
    assert (report.stopped, x.calls) == ("budget", [])


def test_a_post_found_by_search_after_the_stream_delivered_it_adds_nothing(
    store: Store, clock: FakeClock, rules: tuple[str, str]
) -> None:
    brand, rival = rules
    delivery = load_event("x/x_filtered_stream_webhook_post.json")
    delivery["data"].update(id="1860000000000000301", text="dell post 1860000000000000301", author_id="900")
    delivery["matching_rules"] = [{"id": "1", "tag": brand}]
    hear_delivery(
        store, parse_delivery(delivery, clock()).heard, classifier=VaderClassifier(), account_id=ACCOUNT, now=clock()
    )
    x = FakeSearchX()
    x.pages[(brand, None, None)] = recorded_page(["1860000000000000301"], next_token=None)
    x.pages[(rival, None, None)] = recorded_page(["1860000000000000301"], next_token=None)
    report = run(store, x, clock)
    assert (report.heard, report.duplicates) == (1, 1)  # new for the competitor rule only
    (item,) = list_posts(store, limit=10, cursor=None).items
    assert item["rules"] == sorted([brand, rival])
    assert item["via"] == "stream"


@responses.activate
def test_the_x_client_asks_for_the_fields_and_reads_429_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"https://api.twitter.com{SEARCH_ROUTE}"
    responses.add(responses.GET, url, json=recorded_page(["1860000000000000401"], next_token="t9"), status=200)
    reset = int((datetime.now(UTC) + timedelta(minutes=9)).timestamp())
    responses.add(
        responses.GET,
        url,
        json=load_event("x/x_api_rate_limit_429_body.json"),
        status=429,
        headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
    )
    search = XRecentSearch(x_client("ck", "cs", "at", "ats"))
    page = search.recent("r1", '"dell"', since_id="1860000000000000001", next_token=None, max_results=100)
    assert (page.next_token, page.posts[0].author and page.posts[0].author.handle) == ("t9", "p0")
    sent = responses.calls[0].request
    assert str(sent.headers["Authorization"]).startswith("OAuth ")  # the account's user context
    from urllib.parse import parse_qs, urlparse

    asked = parse_qs(urlparse(str(sent.url)).query)
    assert asked["since_id"] == ["1860000000000000001"]
    assert asked["expansions"] == ["author_id"]
    assert set(asked["tweet.fields"][0].split(",")) >= {
        "created_at",
        "author_id",
        "conversation_id",
        "referenced_tweets",
        "public_metrics",
    }
    assert asked["user.fields"] == ["username,name"]
    assert asked["query"] == ['"dell"']
    with pytest.raises(RateLimited) as limited:
        search.recent("r1", '"dell"', since_id=None, next_token="t9", max_results=100)
    assert limited.value.retry_at == datetime.fromtimestamp(reset, tz=UTC)
    assert responses.calls[1].request.body is None


def sent_json(body: Any) -> Any:
    return json.loads(body)


@responses.activate
def test_a_rule_is_synced_to_the_filtered_stream_with_its_id_as_the_tag() -> None:
    from chalicelib.x.search import APP_AUTH_URL, STREAM_RULES_ROUTE, XStreamRules

    responses.add(responses.POST, APP_AUTH_URL, json={"token_type": "bearer", "access_token": "app-token"})
    rules_url = f"https://api.twitter.com{STREAM_RULES_ROUTE}"
    # the answer's documented fields (data[].value/tag/id, meta.sent, meta.summary: developer.x.com,
    # filtered-stream API reference, POST /2/tweets/search/stream/rules); the values are made up
    added = {
        "data": [{"value": '"dell"', "tag": "r1", "id": "1273026480692322304"}],
        "meta": {"sent": "2026-11-26T12:00:00.000Z", "summary": {"created": 1, "not_created": 0}},
    }
    responses.add(responses.POST, rules_url, json=added, status=201)
    responses.add(responses.POST, rules_url, json={"meta": {"summary": {"deleted": 1}}})
    sync = XStreamRules("ck", "cs")
    assert sync.add("r1", '"dell"') == "1273026480692322304"
    sync.delete("1273026480692322304")
    token, add, delete = responses.calls
    assert token.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent_json(add.request.body) == {"add": [{"value": '"dell"', "tag": "r1"}]}
    assert add.request.headers["Authorization"] == "Bearer app-token"
    assert sent_json(delete.request.body) == {"delete": {"ids": ["1273026480692322304"]}}
