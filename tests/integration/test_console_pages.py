"""Each console page with real data: the overview's figures equal the report, its charts carry
the day counters, the inbox filters, the community search, alerts and listening actions."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from chalicelib.community import record_follow_change
from chalicelib.feedback import record_feedback
from chalicelib.listening.rules import LocalRuleSync, RuleFields, add_rule, all_rules, list_rules
from chalicelib.sentiment import VaderClassifier
from chalicelib.store import Store
from chalicelib.x.events import FollowChange, Interaction, XUser
from tests.conftest import FakeClock
from tests.console_browser import EMAIL, Browser, text
from tests.factories import release_deal, shopify_headers, shopify_order


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # the API runs on the real clock


def follow(store: Store, user: str, handle: str, at: datetime, kind: Literal["follow", "unfollow"] = "follow") -> None:
    change = FollowChange(
        kind=kind, event_id=f"{kind}-{user}-{at.timestamp()}", occurred_at=at, follower=XUser(id=user, handle=handle)
    )
    record_follow_change(store, change)


def say(store: Store, n: int, text_: str, at: datetime, author: str = "500", handle: str = "fan") -> None:
    event = Interaction(
        kind="mention",
        event_id=f"post:{n}",
        occurred_at=at,
        author=XUser(id=author, handle=handle),
        text=text_,
        post_id=str(n),
    )
    record_feedback(store, event, VaderClassifier(), all_rules(store))


def figure(page: str, name: str) -> str:
    """A figure's exact value (its data-value); what people read is in ``shown_figure``."""
    match = re.search(rf'data-figure="{re.escape(name)}" data-value="([^"]*)">([^<]*)<', page)
    assert match, f"no figure {name}"
    return match.group(1)


def shown_figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}" data-value="[^"]*">([^<]*)<', page)
    assert match, f"no figure {name}"
    return html.unescape(match.group(1))


def test_the_overview_shows_the_reports_figures_and_escapes_what_it_shows(
    browser: Browser, api: Any, admin: dict[str, str], store: Store, clock: FakeClock
) -> None:
    now = clock()
    for n in range(3):
        follow(store, f"10{n}", f"buyer{n}", now - timedelta(days=2))
    follow(store, "100", "buyer0", now - timedelta(days=1), kind="unfollow")
    release_deal(
        store,
        clock,
        title="<script>alert(1)</script> XPS",
        price="549",
        list_price="749",
        currency="USD",
        code="DASH",
        url="https://shop.example/x",
    )
    body = json.dumps(shopify_order(11, codes=("DASH",), total="549.00")).encode()
    assert (
        api.http.post(
            "/webhooks/shopify/orders", body=body, headers=shopify_headers(body, webhook_id="w-11")
        ).status_code
        == 200
    )
    api.http.get("/r/DASH", headers={"User-Agent": "Mozilla/5.0"})
    summary = json.loads(api.http.get("/reports/summary", headers=admin).body)
    page = text(browser.get("/console"))
    assert figure(page, "followers") == str(summary["followers"]) == "2"
    assert figure(page, "net_growth_30d") == str(summary["growth"]["net"]["30d"])
    assert figure(page, "revenue-USD") == summary["revenue"]["USD"] == "549.00"
    assert shown_figure(page, "revenue-USD") == "$549.00"
    assert shown_figure(page, "x_fees_usd").startswith("$")
    assert figure(page, "orders") == str(summary["orders"]) == "1"
    assert figure(page, "clicks") == str(summary["clicks"]) == "1"
    assert figure(page, "x_fees_usd") == summary["x_fees_usd"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; XPS" in page
    assert "<script>" not in page
    for chart in ("followers", "sentiment", "revenue", "orders"):
        block = page.split(f'data-chart="{chart}"', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in block, chart
        assert "<table" in block, chart
    joined_day = (now - timedelta(days=2)).date().isoformat()
    assert f'data-label="{joined_day} joined" data-value="3"' in page
    said = f"{int(joined_day[8:])} {datetime.fromisoformat(joined_day):%b %Y}"
    assert f'<tr><td><time datetime="{joined_day}">{said}</time></td><td>3</td><td>0</td></tr>' in page


def test_the_overview_lists_the_next_releases_with_their_times(browser: Browser, store: Store) -> None:
    from chalicelib.deals import DealFields, create_deal
    from chalicelib.store import utcnow

    at = utcnow() + timedelta(hours=3)
    fields = {"title": "Soon", "price": "5", "list_price": "9", "currency": "EUR", "code": "SOON1", "release_at": at}
    create_deal(store, DealFields.model_validate(fields), utcnow())
    page = text(browser.get("/console"))
    table = page.split('data-testid="next-releases"', 1)[1].split("</table>", 1)[0]
    assert "Soon" in table
    said = re.sub(r"<[^>]+>", "", table)  # said for people, the exact time in the markup
    assert f"{at.day} {at:%b %Y, %H:%M} UTC" in said
    assert f'<time datetime="{at.strftime("%Y-%m-%dT%H:%M")}' in table


def test_sentiment_per_day_is_counted_as_feedback_arrives_once(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    day = clock() - timedelta(days=1)
    say(store, 1, "I love this deal, amazing price!", day)
    say(store, 2, "This is terrible, worst checkout ever", day)
    say(store, 2, "This is terrible, worst checkout ever", day)  # a duplicate delivery
    from chalicelib.console.series import sentiment_days

    counted = sentiment_days(store, day.date(), days=1)
    assert [(d.positive, d.neutral, d.negative) for d in counted] == [(1, 0, 1)]
    page = text(browser.get("/console"))
    cell = f'<td><time datetime="{day.date().isoformat()}">{day.day} {day:%b %Y}</time></td>'
    assert f"<tr>{cell}<td>1</td><td>0</td><td>1</td></tr>" in page


def test_the_inbox_lists_newest_first_filters_and_links_deal_and_author(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    now = clock()
    add_rule(store, RuleFields(name="XPS", kind="product", query="XPS"), now, LocalRuleSync())
    say(store, 1, "The XPS deal is great, love it", now - timedelta(days=3), author="601", handle="ana")
    say(store, 2, "Shipping was awful and slow", now - timedelta(days=2), author="602", handle="bo")
    say(store, 3, "Is the XPS back in stock?", now - timedelta(days=1), author="603", handle="cy")
    page = text(browser.get("/console/inbox"))
    listed = page.split('data-testid="inbox-items"', 1)[1]  # below the few that waited longest
    ids = re.findall(r'data-feedback-id="([^"]+)"', listed)
    assert ids == ["post:3", "post:2", "post:1"]
    assert 'href="/console/people/602"' in page
    negative = text(browser.get("/console/inbox?sentiment=negative"))
    assert re.findall(r'data-feedback-id="([^"]+)"', negative) == ["post:2"]
    assert 'class="feedback sentiment-negative"' in negative
    tagged = text(browser.get("/console/inbox?keyword=XPS"))
    assert re.findall(r'data-feedback-id="([^"]+)"', tagged) == ["post:3", "post:1"]
    since = (now - timedelta(days=2)).date().isoformat()
    until = (now - timedelta(days=2)).date().isoformat()
    dated = text(browser.get(f"/console/inbox?since={since}&until={until}"))
    assert re.findall(r'data-feedback-id="([^"]+)"', dated) == ["post:2"]
    bad = browser.get("/console/inbox?sentiment=angry&since=yesterday")
    assert bad.status_code == 422
    assert 'data-field="sentiment">Pick one of' in text(bad)
    assert 'data-field="since">Pick a date' in text(bad)


def test_the_inbox_pages_with_the_cursor(browser: Browser, store: Store, clock: FakeClock) -> None:
    for n in range(30):
        say(store, n, f"message number {n}", clock() - timedelta(minutes=n))
    first = text(browser.get("/console/inbox"))
    assert len(re.findall(r'data-testid="feedback-item"', first)) == 25
    link = re.search(r'data-testid="next-page" href="([^"]+)"', first)
    assert link
    second = text(browser.get(link.group(1).replace("&amp;", "&")))
    assert len(re.findall(r'data-testid="feedback-item"', second)) == 5


def test_the_community_page_finds_followers_by_handle_prefix(browser: Browser, store: Store, clock: FakeClock) -> None:
    now = clock() - timedelta(hours=1)
    for user, handle in (("701", "DellFan"), ("702", "dellbuyer"), ("703", "someone"), ("704", "Delilah")):
        follow(store, user, handle, now)
    page = text(browser.get("/console/community?handle=@dell"))
    found = re.findall(r'<tr data-user-id="([^"]+)">', page)
    assert sorted(found) == ["701", "702"]
    everyone = text(browser.get("/console/community"))
    assert len(re.findall(r"<tr data-user-id=", everyone)) == 4
    assert figure(everyone, "community-followers") == "4"
    # A handle that changed no longer finds its old owner.
    follow(store, "702", "renamed", now + timedelta(minutes=5), kind="unfollow")
    follow(store, "702", "renamed", now + timedelta(minutes=6))
    assert re.findall(r'<tr data-user-id="([^"]+)">', text(browser.get("/console/community?handle=dell"))) == ["701"]


def test_alerts_show_the_hold_and_resume_records_who(
    browser: Browser, api: Any, admin: dict[str, str], store: Store
) -> None:
    from chalicelib.channel import record_revocation
    from chalicelib.x.events import Revocation

    record_revocation(store, Revocation(event_id="rev-1", occurred_at=datetime.now(UTC), user_id="1111111"))
    page = text(browser.get("/console/alerts"))
    assert 'data-state="held"' in page
    assert "authorization revoked" in page
    resumed = browser.submit("/console/alerts", "/console/alerts/resume", {})
    assert resumed.status_code == 303
    state = json.loads(api.http.get("/channel", headers=admin).body)
    assert (state["publishing"], state["resumed_by"]) == ("active", EMAIL)
    assert 'data-state="active"' in text(browser.get("/console/alerts"))


def test_listening_rules_are_added_and_removed_on_the_listening_page_recording_who(
    browser: Browser, store: Store
) -> None:
    form = {"name": "Alienware", "kind": "competitor", "query": "alienware"}
    added = browser.submit("/console/listening", "/console/listening/rules", form)
    assert added.status_code == 303
    (rule,) = list_rules(store).items
    assert (rule["name"], rule["kind"], rule["query"], rule["created_by"]) == (
        "Alienware",
        "competitor",
        '"alienware"',
        EMAIL,
    )
    bad = browser.submit("/console/listening", "/console/listening/rules", {**form, "query": "colour:<b>"})
    assert bad.status_code == 422
    assert 'data-field="query">' in text(bad)
    assert "<b>" not in text(bad)
    assert "not an X search operator" in text(bad)
    page = text(browser.get("/console/listening"))
    assert f'data-rule-id="{rule["id"]}"' in page
    assert 'data-sync="synced"' in page
    assert browser.post("/console/listening/rules/remove", {"rule_id": rule["id"]}).status_code == 403  # no token
    removed = browser.submit("/console/listening", "/console/listening/rules/remove", {"rule_id": rule["id"]})
    assert removed.status_code == 303
    assert list_rules(store).items == []
    activity = text(browser.get("/console/alerts"))
    assert "listening rule removed" in activity
    assert "listening rule added" in activity


def test_the_listening_page_shows_share_of_voice_terms_and_posts_and_answers_brand_posts(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    from chalicelib.listening.posts import hear_delivery
    from chalicelib.x.events import parse_delivery
    from tests.factories import load_event

    now = datetime.now(UTC)
    brand = add_rule(store, RuleFields(name="Dell", kind="brand", query="dell"), now, LocalRuleSync())
    rival = add_rule(store, RuleFields(name="HP", kind="competitor", query="hp"), now, LocalRuleSync())
    for n, (words, rule_id, author) in enumerate(
        [
            ("I love my dell <script>x</script>", brand["id"], "71"),
            ("hp is awful", rival["id"], "72"),
            ("hp ok", rival["id"], "73"),
        ]
    ):
        payload = load_event("x/x_filtered_stream_webhook_post.json")
        payload["data"].update(id=f"187000000000000000{n}", text=words, author_id=author, created_at=now.isoformat())
        payload["data"]["public_metrics"] = {"like_count": 10 if n == 1 else 1, "retweet_count": 0}
        payload["includes"]["users"][0].update(id=author, username=f"user{author}")
        payload["matching_rules"] = [{"id": "1", "tag": rule_id}]
        hear_delivery(
            store, parse_delivery(payload, now).heard, classifier=VaderClassifier(), account_id="1111111", now=now
        )

    page = text(browser.get("/console/listening"))
    assert re.findall(r'data-post-id="([^"]+)"', page) == [
        "1870000000000000002",
        "1870000000000000001",
        "1870000000000000000",
    ]
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;" in page
    assert '<tr data-voice="brand"><td>brand</td><td data-value="1">' in page
    assert '<tr data-voice="HP"><td>HP</td><td data-value="2">' in page
    assert page.count('data-testid="answer-post"') == 1  # only the post about the brand
    assert "<script" not in page.split("</head>")[-1]
    by_rule = text(browser.get(f"/console/listening?rule={rival['id']}"))
    assert re.findall(r'data-post-id="([^"]+)" data-score', by_rule) == ["1870000000000000001", "1870000000000000002"]
    negative = text(browser.get("/console/listening?sentiment=negative"))
    assert re.findall(r'data-post-id="([^"]+)"', negative) == ["1870000000000000001"]
    assert browser.get("/console/listening?kind=rival").status_code == 422

    answered = browser.submit("/console/listening", "/console/listening/posts/1870000000000000000/answer", {})
    assert answered.status_code == 303
    assert answered.headers["Location"].endswith("/console/inbox/post%3A1870000000000000000")
    thread = text(browser.get("/console/inbox/post%3A1870000000000000000"))
    assert "I love my dell" in thread
    refused = browser.submit("/console/listening", "/console/listening/posts/1870000000000000001/answer", {})
    assert refused.status_code == 409


def test_a_deal_page_shows_its_figures_and_the_feedback_about_it(
    browser: Browser, api: Any, store: Store, clock: FakeClock
) -> None:
    deal = release_deal(
        store,
        clock,
        title="Latitude",
        price="499",
        list_price="699",
        currency="USD",
        code="LAT5",
        url="https://shop.example/lat",
    )
    api.http.get("/r/LAT5", headers={"User-Agent": "Mozilla/5.0"})
    body = json.dumps(shopify_order(12, codes=("LAT5",), total="499.00")).encode()
    api.http.post("/webhooks/shopify/orders", body=body, headers=shopify_headers(body, webhook_id="w-12"))
    reply = Interaction(
        kind="reply",
        event_id="post:9",
        occurred_at=clock(),
        author=XUser(id="9", handle="happy"),
        text="Love it, just ordered!",
        post_id="9",
        answers=deal["post_id"],
    )
    record_feedback(store, reply, VaderClassifier(), [])
    page = text(browser.get(f"/console/deals/{deal['id']}"))
    assert figure(page, "deal-clicks") == "1"
    assert figure(page, "deal-orders") == "1"
    assert figure(page, "deal-revenue") == "499.00 USD"
    assert shown_figure(page, "deal-revenue") == "$499.00"
    assert re.findall(r'data-feedback-id="([^"]+)"', page) == ["post:9"]
    assert 'data-sentiment="positive">positive</span> 1' in page


def test_inbox_items_name_the_deal_they_answer(browser: Browser, store: Store, clock: FakeClock) -> None:
    deal = release_deal(
        store, clock, title="Precision 3680", price="899", list_price="1299", currency="USD", code="PREC1"
    )
    answer = Interaction(
        kind="reply",
        event_id="post:77",
        occurred_at=clock(),
        author=XUser(id="77", handle="asker"),
        text="Does it have a GPU?",
        post_id="77",
        answers=deal["post_id"],
    )
    record_feedback(store, answer, VaderClassifier(), [])
    page = text(browser.get("/console/inbox"))
    assert f'href="/console/deals/{deal["id"]}" data-testid="deal-link">Precision 3680</a>' in page


def test_the_listening_page_filters_by_any_rule_not_only_the_first_hundred(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    from chalicelib.listening.posts import hear_delivery
    from chalicelib.x.events import parse_delivery
    from tests.integration.test_listening import delivery

    # Given 150 rules, the last one listed (on the listing's second page) having heard a post
    for n in range(150):
        add_rule(store, RuleFields(name=f"Rival {n}", kind="competitor", query=f"rival{n}"), clock(), LocalRuleSync())
    last = all_rules(store)[-1]
    assert last["id"] not in {r["id"] for r in list_rules(store, limit=100).items}
    heard = parse_delivery(delivery("1860000000000000150", "rival149 is fine", [last["id"]], author="77"), clock())
    hear_delivery(store, heard.heard, classifier=VaderClassifier(), account_id="1", now=clock())

    # When the page is filtered by that rule, it shows the post (no "pick one from the list")
    response = browser.get(f"/console/listening?rule={last['id']}")
    assert response.status_code == 200
    assert "rival149 is fine" in text(response)
    # And a rule that does not exist is still refused
    assert browser.get("/console/listening?rule=lr_nosuchrule").status_code == 422
