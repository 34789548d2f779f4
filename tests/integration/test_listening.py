"""Listening: rules (CRUD, query checks, sync to X), filtered-stream deliveries heard once per post
and rule, the posts listing, share of voice, rising terms, most-engaged posts, deletions and a
person's posts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.listening.posts import erase_author_posts, hear_delivery, posts_by_author
from chalicelib.listening.rules import LocalRuleSync, RuleFields, add_rule
from chalicelib.sentiment import default_classifier
from chalicelib.store import Store
from chalicelib.x.events import parse_delivery
from tests.conftest import FakeClock
from tests.factories import load_event, signed_headers

ACCOUNT = "1111111"


def delivery(
    post_id: str,
    text: str,
    tags: list[str],
    *,
    author: str = "2244994945",
    handle: str = "Xdevelopers",
    at: str | None = None,
    metrics: dict[str, int] | None = None,
) -> dict[str, Any]:
    """X's documented filtered-stream delivery (tests/events/x/x_filtered_stream_webhook_post.json)
    for another post (posted ``at``, by default an hour ago), author and set of matched rules."""
    payload: dict[str, Any] = copy.deepcopy(load_event("x/x_filtered_stream_webhook_post.json"))
    at = at or (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    payload["data"].update(id=post_id, text=text, author_id=author, created_at=at)
    if metrics is not None:
        payload["data"]["public_metrics"] = metrics
    payload["includes"]["users"][0].update(id=author, username=handle)
    payload["matching_rules"] = [{"id": f"9{n}", "tag": tag} for n, tag in enumerate(tags)]
    return payload


def post_json(api: Any, path: str, body: Any, admin: dict[str, str]) -> Any:
    return api.http.post(path, body=json.dumps(body).encode(), headers={**admin, "Content-Type": "application/json"})


def deliver(api: Any, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return api.http.post("/webhooks/x", body=body, headers=signed_headers(body))


def rule(api: Any, admin: dict[str, str], name: str, kind: str, query: str) -> dict[str, Any]:
    response = post_json(api, "/listening/rules", {"name": name, "kind": kind, "query": query}, admin)
    assert response.status_code == 201, response.body
    created: dict[str, Any] = json.loads(response.body)
    return created


# --- rules ------------------------------------------------------------------------------------


def test_rules_are_created_listed_changed_and_removed(api: Any, admin: dict[str, str]) -> None:
    brand = rule(api, admin, "Dell", "brand", "Dell")
    assert brand["query"] == '"Dell"'  # a plain keyword becomes a quoted phrase
    assert brand["x_sync"]["state"] == "synced"
    assert brand["x_sync"]["x_rule_id"] == f"local-{brand['id']}"
    rival = rule(api, admin, "HP", "competitor", "(hp OR #HPLaptop) -is:retweet lang:en")
    assert rival["query"] == "(hp OR #HPLaptop) -is:retweet lang:en"
    listed = json.loads(api.http.get("/listening/rules", headers=admin).body)
    assert [r["id"] for r in listed["items"]] == [brand["id"], rival["id"]]
    assert listed["next"] is None

    patched = api.http.patch(
        f"/listening/rules/{rival['id']}",
        body=b'{"query": "HP Envy"}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert patched.status_code == 200
    assert json.loads(patched.body)["query"] == '"HP Envy"'
    assert json.loads(api.http.get(f"/listening/rules/{rival['id']}", headers=admin).body)["query"] == '"HP Envy"'

    assert api.http.delete(f"/listening/rules/{rival['id']}", headers=admin).status_code == 204
    assert api.http.delete(f"/listening/rules/{rival['id']}", headers=admin).status_code == 404
    assert api.http.get(f"/listening/rules/{rival['id']}", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("", "at least 1"),
        ("x" * 600, "512"),
        ('"unclosed phrase', "quote"),
        ("(dell OR hp", "parentheses"),
        ("dell)", "parentheses"),
        ("OR dell", "OR"),
        ("dell OR", "OR"),
        ("colour:blue dell", "not an X search operator"),
        ("is:retweet", "stands alone"),
        ("-dell", "stands alone"),
        ("dell is:happy", "is:"),
        ("dell lang:english1", "lang:"),
        ('dell ""', "empty"),
    ],
)
def test_a_query_x_would_refuse_is_a_422_naming_the_query(
    api: Any, admin: dict[str, str], query: str, why: str
) -> None:
    response = post_json(api, "/listening/rules", {"name": "n", "kind": "topic", "query": query}, admin)
    assert response.status_code == 422, (query, response.body)
    error = json.loads(response.body)["error"]
    assert why in error["fields"]["query"], error
    assert json.loads(api.http.get("/listening/rules", headers=admin).body)["items"] == []


def test_bad_rule_fields_are_422s(api: Any, admin: dict[str, str]) -> None:
    for body in (
        {"name": "a", "kind": "rival", "query": "a"},
        {"name": "", "kind": "brand", "query": "a"},
        {"name": "a", "kind": "brand"},
        {"name": "a", "kind": "brand", "query": "a", "extra": 1},
    ):
        assert post_json(api, "/listening/rules", body, admin).status_code == 422, body


def test_a_rule_x_refuses_is_kept_and_says_so(store: Store, clock: FakeClock) -> None:
    class Refusing:
        def add(self, tag: str, query: str) -> str:
            raise RuntimeError("X answered 403: filtered stream needs Enterprise access")

        def delete(self, x_rule_id: str) -> None:
            raise AssertionError("nothing to delete")

    created = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), clock(), Refusing())
    assert created["x_sync"]["state"] == "failed"
    assert "Enterprise" in created["x_sync"]["error"]


# --- hearing filtered-stream deliveries -----------------------------------------------------------


def test_the_documented_delivery_reads_into_one_heard_post() -> None:
    read = parse_delivery(load_event("x/x_filtered_stream_webhook_post.json"), received_at=datetime.now(UTC))
    assert read.stream
    assert read.events == []
    assert len(read.heard) == 1
    post = read.heard[0]
    assert (post.post_id, post.author and post.author.handle, post.rule_tags) == (
        "1346889436626259968",
        "Xdevelopers",
        ("api-posts",),
    )
    assert post.created_at == datetime(2021, 1, 6, 18, 40, 40, tzinfo=UTC)


def test_deliveries_for_a_brand_and_a_competitor_rule_are_listed_once_each_with_duplicates(
    api: Any, admin: dict[str, str]
) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    rival = rule(api, admin, "HP", "competitor", "hp")
    sent = [
        delivery(
            "1860000000000000001", "I love my new Dell XPS, best laptop ever", [brand["id"]], author="501", handle="ana"
        ),
        delivery("1860000000000000002", "HP support was awful today", [rival["id"]], author="502", handle="bo"),
        delivery("1860000000000000003", "Dell or HP? Thinking about it", [brand["id"], rival["id"]], author="503"),
    ]
    for payload in sent + sent + [sent[2]]:  # every one delivered twice, the shared one three times
        assert deliver(api, payload).status_code == 200
    # the shared post again, matched by one rule only: already heard by it, nothing new
    assert json.loads(deliver(api, delivery("1860000000000000003", "Dell or HP?", [rival["id"]])).body)["applied"] == 0

    listed = json.loads(api.http.get("/listening/posts", headers=admin).body)
    assert [p["id"] for p in listed["items"]] == ["1860000000000000003", "1860000000000000002", "1860000000000000001"]
    first = listed["items"][2]
    assert first["text"] == "I love my new Dell XPS, best laptop ever"
    assert first["author_handle"] == "ana"
    assert first["rules"] == [brand["id"]]
    assert first["kinds"] == ["brand"]
    assert first["via"] == "stream"
    assert first["sentiment"]["label"] == "positive"
    assert listed["items"][0]["rules"] == sorted([brand["id"], rival["id"]])
    assert listed["items"][0]["text"] == "Dell or HP? Thinking about it"  # the first delivery's text stays

    def ids(query: str) -> list[str]:
        return [p["id"] for p in json.loads(api.http.get(f"/listening/posts?{query}", headers=admin).body)["items"]]

    assert ids(f"rule={rival['id']}") == ["1860000000000000003", "1860000000000000002"]
    assert ids("kind=brand") == ["1860000000000000003", "1860000000000000001"]
    assert ids("sentiment=negative") == ["1860000000000000002"]
    assert ids(f"since={(datetime.now(UTC) - timedelta(minutes=30)).strftime('%Y-%m-%dT%H:%M:%SZ')}") == []

    voice = json.loads(api.http.get("/listening/share-of-voice?days=3", headers=admin).body)
    by = {v["voice"]: v for v in voice["voices"]}
    assert (by["brand"]["total"], by["HP"]["total"]) == (2, 2)
    assert by["brand"]["positive"] == 1
    assert by["HP"]["negative"] == 1
    assert by["brand"]["share"] == 0.5
    days = {d["day"]: d for d in voice["days"]}
    posted = (datetime.now(UTC) - timedelta(hours=1)).date().isoformat()
    assert days[posted]["kinds"] == {
        "brand": {"total": 2, "positive": 1, "neutral": 1, "negative": 0},
        "competitor": {"total": 2, "positive": 0, "neutral": 1, "negative": 1},
        "product": {"total": 0, "positive": 0, "neutral": 0, "negative": 0},
        "topic": {"total": 0, "positive": 0, "neutral": 0, "negative": 0},
    }


def test_a_post_older_than_search_reaches_counts_on_the_day_it_was_heard(api: Any, admin: dict[str, str]) -> None:
    # X's documented example, as it is: posted in 2021, delivered now
    brand = rule(api, admin, "Developers", "brand", "api")
    payload = load_event("x/x_filtered_stream_webhook_post.json")
    payload["matching_rules"][0]["tag"] = brand["id"]
    assert json.loads(deliver(api, payload).body) == {"applied": 1, "duplicates": 0, "ignored": 0}
    voice = json.loads(api.http.get("/listening/share-of-voice", headers=admin).body)
    assert voice["voices"][0]["total"] == 1
    assert voice["days"][-1]["kinds"]["brand"]["total"] == 1
    (item,) = json.loads(api.http.get("/listening/posts", headers=admin).body)["items"]
    assert item["created_at"] == "2021-01-06T18:40:40.000000Z"
    assert item["author_handle"] == "Xdevelopers"


def test_posts_that_are_not_listening_are_not_heard(api: Any, admin: dict[str, str], store: Store) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    own = delivery("1860000000000000010", "Our Dell deal is live", [brand["id"]], author=ACCOUNT)
    unknown = delivery("1860000000000000011", "dell", ["no-such-rule"])
    to_brand = delivery("1860000000000000013", "@dell where is my order", [brand["id"]])
    to_brand["data"]["in_reply_to_user_id"] = ACCOUNT
    naming = delivery("1860000000000000014", "thanks @dell", [brand["id"]])
    naming["data"]["entities"] = {"mentions": [{"start": 7, "end": 12, "username": "dell", "id": ACCOUNT}]}
    tallies = [json.loads(deliver(api, p).body) for p in (own, unknown, to_brand, naming)]
    assert tallies == [{"applied": 0, "duplicates": 0, "ignored": 1}] * 4  # the last two are feedback's
    # a reply to the brand, captured as feedback first, is not counted again as listening
    reply = load_event("x/x_tweet_create_reply.json")
    tweet = reply["tweet_create_events"][0]
    tweet.update(id_str="1860000000000000012", text="@dell my order is late", in_reply_to_user_id_str=ACCOUNT)
    reply["for_user_id"] = ACCOUNT
    assert deliver(api, reply).status_code == 200
    assert (
        json.loads(deliver(api, delivery("1860000000000000012", "@dell my order is late", [brand["id"]])).body)[
            "ignored"
        ]
        == 1
    )
    assert json.loads(api.http.get("/listening/posts", headers=admin).body)["items"] == []


def test_a_deleted_post_loses_its_text_and_author_and_a_late_one_is_not_heard(api: Any, admin: dict[str, str]) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    deliver(api, delivery("1860000000000000020", "dell is great", [brand["id"]], author="777", handle="gone"))
    deletion = load_event("x/x_tweet_delete_event.json")
    deletion["for_user_id"] = ACCOUNT
    deletion["tweet_delete_events"][0]["status"].update(id="1860000000000000020", user_id="777")
    assert deliver(api, deletion).status_code == 200
    item = json.loads(api.http.get("/listening/posts", headers=admin).body)["items"][0]
    assert (item["text"], item["author_id"], item["author_handle"]) == (None, None, None)
    assert item["deleted_at"]
    # deleted before it was delivered: the tombstone keeps it out
    deletion["tweet_delete_events"][0]["status"].update(id="1860000000000000021")
    deliver(api, deletion)
    late = json.loads(deliver(api, delivery("1860000000000000021", "dell", [brand["id"]])).body)
    assert late == {"applied": 0, "duplicates": 0, "ignored": 1}


class RacingStore(Store):
    """Runs ``meanwhile`` just before its first transaction: another Lambda heard the same post
    and committed first (moto applies transactions one at a time, so the race is staged)."""

    def __init__(self, inner: Store, meanwhile: Callable[[], Any]) -> None:
        super().__init__(inner.table_name, inner._client, clock=inner._clock)
        self.meanwhile: Callable[[], Any] | None = meanwhile

    def transact(self, ops: Any, *, token: str | None = None) -> None:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        super().transact(ops, token=token)


def test_concurrent_deliveries_count_once_per_rule_and_once_per_kind(
    api: Any, admin: dict[str, str], store: Store, clock: FakeClock
) -> None:
    dell = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), clock(), LocalRuleSync())
    xps = add_rule(store, RuleFields(name="XPS", kind="brand", query="xps"), clock(), LocalRuleSync())
    same = parse_delivery(delivery("1860000000000000030", "dell xps #DellDays", [dell["id"]]), clock()).heard
    by_dell = parse_delivery(delivery("1860000000000000031", "dell xps again", [dell["id"]]), clock()).heard
    by_xps = parse_delivery(delivery("1860000000000000031", "dell xps again", [xps["id"]]), clock()).heard

    def hear_with(target: Store, posts: Any) -> dict[str, int]:
        return hear_delivery(target, posts, classifier=default_classifier(), account_id=ACCOUNT, now=clock())

    # the same delivery twice at once: the one that commits second finds the rule's guard taken
    racing = RacingStore(store, lambda: hear_with(store, same))
    assert hear_with(racing, same) == {"applied": 0, "duplicates": 1, "ignored": 0}
    # two brand rules hear one post at the same moment: each rule counts it, the kind once
    racing = RacingStore(store, lambda: hear_with(store, by_dell))
    assert hear_with(racing, by_xps) == {"applied": 1, "duplicates": 0, "ignored": 0}
    voice = json.loads(api.http.get("/listening/share-of-voice?days=90", headers=admin).body)
    totals = {r["name"]: r["total"] for r in voice["rules"]}
    assert totals == {"Dell": 2, "XPS": 1}
    assert voice["kinds"]["brand"]["total"] == 2
    items = json.loads(api.http.get("/listening/posts", headers=admin).body)["items"]
    assert [(i["id"], i["rules"]) for i in items] == [
        ("1860000000000000031", sorted([dell["id"], xps["id"]])),
        ("1860000000000000030", [dell["id"]]),
    ]


# --- a person's posts ------------------------------------------------------------------------


def test_posts_by_author_newest_first_and_erased_on_request(store: Store, clock: FakeClock) -> None:
    created = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), clock(), LocalRuleSync())
    for n in range(3):
        at = (clock() - timedelta(hours=3 - n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        posts = parse_delivery(
            delivery(f"186000000000000004{n}", f"dell {n}", [created["id"]], author="42", at=at), clock()
        ).heard
        hear_delivery(store, posts, classifier=default_classifier(), account_id=ACCOUNT, now=clock())
    other = parse_delivery(delivery("1860000000000000049", "dell too", [created["id"]], author="43"), clock()).heard
    hear_delivery(store, other, classifier=default_classifier(), account_id=ACCOUNT, now=clock())

    found = posts_by_author(store, "42", limit=2)
    assert [p["text"] for p in found] == ["dell 2", "dell 1"]
    assert set(found[0]) >= {"id", "text", "author_id", "rules", "sentiment", "created_at"}
    assert erase_author_posts(store, "42") == (3, True)
    assert posts_by_author(store, "42", limit=10) == []
    assert posts_by_author(store, "43", limit=10)[0]["text"] == "dell too"
    assert erase_author_posts(store, "42") == (0, True)


# --- what the brand sees ----------------------------------------------------------------------------


def test_bad_filters_and_cursors_are_400s(api: Any, admin: dict[str, str]) -> None:
    for query in (
        "kind=rival",
        "sentiment=happy",
        "since=yesterday",
        "since=2026-11-01T00:00:00",
        "rule=a%20b",
        "cursor=abc",
        "limit=0",
    ):
        response = api.http.get(f"/listening/posts?{query}", headers=admin)
        assert 400 <= response.status_code < 500, query
    assert api.http.get("/listening/share-of-voice?days=0", headers=admin).status_code == 400
    assert api.http.get("/listening/share-of-voice?days=91", headers=admin).status_code == 400
    assert api.http.get("/listening/rules/nope/top", headers=admin).status_code == 404


def test_most_engaged_posts_per_rule(api: Any, admin: dict[str, str]) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for n, likes in enumerate((3, 40, 0)):
        metrics = {"like_count": likes, "retweet_count": 1, "reply_count": 0, "quote_count": 0, "impression_count": 900}
        deliver(api, delivery(f"186000000000000005{n}", f"dell {n}", [brand["id"]], at=now, metrics=metrics))
    top = json.loads(api.http.get(f"/listening/rules/{brand['id']}/top", headers=admin).body)["items"]
    assert [(p["id"], p["engagement_score"]) for p in top] == [
        ("1860000000000000051", 41),
        ("1860000000000000050", 4),
        ("1860000000000000052", 1),
    ]
    assert top[0]["engagement"]["impression_count"] == 900


def test_rising_terms_rank_by_smoothed_log_ratio(api: Any, admin: dict[str, str], store: Store) -> None:
    now = datetime.now(UTC)
    brand = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), now, LocalRuleSync())
    n = 0
    for text, at, times in (
        ("dell battery", now - timedelta(weeks=2), 8),  # heard two weeks ago
        ("dell battery #BlackFriday", now, 4),
        ("dell keyboard", now, 3),
    ):
        for _ in range(times):
            n += 1
            payload = delivery(f"18600000000000{n:05d}", text, [brand["id"]], at=at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
            hear_delivery(
                store, parse_delivery(payload, at).heard, classifier=default_classifier(), account_id=ACCOUNT, now=at
            )
    trends = json.loads(api.http.get("/listening/trends", headers=admin).body)
    terms = [(t["term"], t["this_week"]) for t in trends["terms"]]
    # ln((this + 1) / (mean of the 4 weeks before + 1)): #blackfriday ln(5/1), keyboard ln(4/1),
    # dell ln(8/3) (8 two weeks ago: a mean of 2), battery ln(5/3)
    assert terms == [("#blackfriday", 4), ("keyboard", 3), ("dell", 7), ("battery", 4)]
    assert trends["terms"][0]["score"] == pytest.approx(1.6094, abs=1e-4)
    assert "ln(" in trends["formula"]


def test_a_stream_delivery_we_cannot_read_is_a_400_and_changes_nothing(api: Any, admin: dict[str, str]) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    timeless = delivery("not-an-x-id", "dell", [brand["id"]])
    del timeless["data"]["created_at"]  # nothing says when it was posted
    odd_rules = delivery("1860000000000000060", "dell", [brand["id"]])
    odd_rules["matching_rules"] = "api-posts"
    unsafe_id = delivery("1860000000000000061", "dell", [brand["id"]])
    unsafe_id["data"]["id"] = "../1"
    for payload in (timeless, odd_rules, unsafe_id):
        response = deliver(api, payload)
        assert response.status_code == 400, response.body
        assert set(json.loads(response.body)["error"]) == {"code", "message", "fields"}
    assert json.loads(api.http.get("/listening/posts", headers=admin).body)["items"] == []


@pytest.mark.parametrize("reference", ["quoted", "replied_to"])
def test_a_quote_or_reply_heard_first_then_captured_as_feedback_is_counted_once_as_feedback(
    api: Any, admin: dict[str, str], reference: str
) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    rival = rule(api, admin, "HP", "competitor", "hp")
    deliver(api, delivery("1860000000000000070", "dell beats hp, see this", [brand["id"], rival["id"]]))
    voice = json.loads(api.http.get("/listening/share-of-voice", headers=admin).body)
    assert [v["total"] for v in voice["voices"]] == [1, 1]
    # then the account's webhook delivers it: a quote of the brand's post (X Activity API)
    quote = load_event("x/x_xaa_post_create.json" if reference == "quoted" else "x/x_xaa_post_reply_create.json")
    quote["data"]["filter"]["user_id"] = ACCOUNT
    quote["data"]["payload"].update(
        id="1860000000000000070",
        author_id="2244994945",
        text="dell beats hp, see this",
        referenced_tweets=[{"type": reference, "id": "1860000000000000001"}],
    )
    if reference == "replied_to":  # a reply to the brand's post (the stream's copy says nothing of it)
        quote["data"]["payload"].update(in_reply_to_user_id=ACCOUNT, in_reply_to_tweet_id="1860000000000000001")
    assert deliver(api, quote).status_code == 200
    kind = "quote" if reference == "quoted" else "reply"
    assert [f["kind"] for f in json.loads(api.http.get("/feedback", headers=admin).body)["items"]] == [kind]
    voice = json.loads(api.http.get("/listening/share-of-voice", headers=admin).body)
    assert [v["total"] for v in voice["voices"]] == [0, 0]
    assert all(r["total"] == 0 for r in voice["rules"])
    assert json.loads(api.http.get("/listening/posts", headers=admin).body)["items"] == []
    # and the stream delivering it again adds nothing: it is feedback now
    again = json.loads(deliver(api, delivery("1860000000000000070", "dell beats hp", [brand["id"]])).body)
    assert again == {"applied": 0, "duplicates": 0, "ignored": 1}


def test_out_of_range_filters_and_payload_values_are_4xx_and_store_nothing(api: Any, admin: dict[str, str]) -> None:
    brand = rule(api, admin, "Dell", "brand", "dell")
    for path in (
        "/listening/share-of-voice?days=%C2%B2",  # "²": a digit to str.isdigit(), not to int()
        f"/listening/rules/{brand['id']}/top?days=%C2%B2",
        "/listening/posts?since=0001-01-01T00:00:00%2B01:00",  # no such UTC time
        "/listening/posts?since=9999-12-31T23:59:59-01:00",
    ):
        response = api.http.get(path, headers=admin)
        assert response.status_code == 400, (path, response.body)
    ancient = delivery("1860000000000000081", "dell", [brand["id"]], at="0001-01-01T00:00:00+01:00")
    assert deliver(api, ancient).status_code == 400
    huge = delivery("1860000000000000082", "dell", [brand["id"]], metrics={"like_count": 10**40, "retweet_count": 2})
    assert deliver(api, huge).status_code == 200
    listed = json.loads(api.http.get("/listening/posts", headers=admin).body)["items"]
    assert [(p["id"], p["engagement"]) for p in listed] == [("1860000000000000082", {"retweet_count": 2})]
