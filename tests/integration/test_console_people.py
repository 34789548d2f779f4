"""The console's people pages: one person (state in words first, then each section), the search by
handle, erasing a person through a confirmed, CSRF-guarded form, and the listening section."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.console.render import page
from chalicelib.console.sessions import Session
from chalicelib.people import listening_post, person_page
from chalicelib.store import Store
from tests.conftest import FakeClock
from tests.console_browser import Browser, csrf_of, text
from tests.integration.test_console_pages import follow, say


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # the API runs on the real clock


def words(html: str) -> str:
    """What a reader sees: the tags taken out, the spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-testid="{name}".*?</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(0)


def test_a_persons_page_says_their_state_first_then_each_section(
    browser: Browser, api: Any, admin: dict[str, str], store: Store, clock: FakeClock
) -> None:
    # Given a follower who said two things, one of them with markup in it, and was answered once
    now = clock()
    follow(store, "801", "loyal", now - timedelta(days=5))
    say(store, 1, "Best outlet ever", now - timedelta(days=1), author="801", handle="loyal")
    say(store, 2, "<script>alert(1)</script> awful", now - timedelta(hours=5), author="801", handle="loyal")
    say(store, 3, "Not me", now - timedelta(days=1), author="802", handle="other")
    headers = {**admin, "Content-Type": "application/json"}
    answered = api.http.post("/feedback/post:2/reply", body=b'{"text": "We hear you"}', headers=headers)
    assert answered.status_code == 201

    # When the operator opens their page
    html = text(browser.get("/console/people/801"))

    # Then the state comes first, in words
    summary = words(section(html, "person-summary"))
    assert f"Follows the brand since {(now - timedelta(days=5)).day} " in summary
    assert "Never opted in to deal DMs." in summary
    assert "Sent 2 pieces of feedback: 1 positive, 1 negative. 1 waits for an answer." in summary
    assert "Answered 1 time, last by admin on" in summary
    assert html.index('data-testid="person-summary"') < html.index('data-testid="person-feedback"')
    # then the detail: their feedback only, newest first, with sentiment and state, escaped
    assert re.findall(r'data-feedback-id="([^"]+)"', section(html, "person-feedback")) == ["post:2", "post:1"]
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; awful" in html
    assert 'data-state="answered"' in html
    assert "We hear you" in section(html, "person-answers")
    assert 'data-kind="follow"' in section(html, "person-follows")
    assert "Not known. Store orders carry no X user id" in words(section(html, "person-orders"))
    assert "No post of theirs was heard by a listening rule." in section(html, "person-listening")
    assert re.search(r'<form method="post" action="/console/people/801/erase"', html)
    assert csrf_of(html)


def test_a_stranger_is_a_404_page_and_a_malformed_id_a_400_page(browser: Browser) -> None:
    missing = browser.get("/console/people/999")
    assert missing.status_code == 404
    assert "outlet has never heard of X user 999" in text(missing)
    assert browser.get("/console/people/not-a-number").status_code == 400


def test_the_person_page_pages_their_feedback_and_says_it_shows_only_the_latest(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    for n in range(23):
        say(store, n, f"message number {n}", clock() - timedelta(minutes=n + 1), author="801", handle="loyal")
    first = text(browser.get("/console/people/801"))
    assert len(re.findall(r'data-testid="feedback-item"', first)) == 20
    assert "Showing their latest 20." in first
    link = re.search(r'data-testid="next-page" href="([^"]+)"', first)
    assert link
    second = text(browser.get(link.group(1).replace("&amp;", "&")))
    assert len(re.findall(r'data-testid="feedback-item"', second)) == 3


def test_people_are_found_by_handle_and_reached_from_the_community_page(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    # Given a follower and someone known only from a mention
    follow(store, "701", "DellFan", clock() - timedelta(hours=2))
    say(store, 1, "Where is my order?", clock() - timedelta(hours=1), author="702", handle="dellbuyer")

    # When the operator searches by the start of a handle
    html = text(browser.get("/console/people?handle=@Dell"))

    # Then both are found, each linking to their page
    assert sorted(re.findall(r'<tr data-user-id="([^"]+)">', html)) == ["701", "702"]
    assert 'href="/console/people/702"' in html
    assert "Nobody outlet knows" in text(browser.get("/console/people?handle=zz"))
    assert 'href="/console/people/702"' in text(browser.get("/console/people?handle=702"))  # an id is offered
    assert browser.get("/console/people?handle=" + "x" * 60).status_code == 422
    assert 'href="/console/people"' in text(browser.get("/console/community"))
    assert 'href="/console/people/702"' in text(browser.get("/console/inbox"))


def test_erasing_from_the_console_needs_the_confirmation_and_the_csrf_token(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    follow(store, "801", "loyal", clock() - timedelta(days=5))
    say(store, 1, "Secret thoughts", clock() - timedelta(days=1), author="801", handle="loyal")

    # A POST without the session's token is refused and erases nothing
    refused = browser.post("/console/people/801/erase", {"confirm": "yes"})
    assert refused.status_code == 403
    assert "Secret thoughts" in text(browser.get("/console/people/801"))

    # Without the box ticked the page comes back with the message beside it
    unconfirmed = browser.submit("/console/people/801", "/console/people/801/erase", {})
    assert unconfirmed.status_code == 422
    assert 'data-field="confirm">Tick the box' in text(unconfirmed)

    # Confirmed, their text is gone and the page says so
    done = browser.submit("/console/people/801", "/console/people/801/erase", {"confirm": "yes"})
    assert done.status_code == 303
    html = text(browser.get("/console/people/801"))
    assert "Secret thoughts" not in html
    assert 'data-testid="person-erased"' in html
    assert "Their texts were erased on" in words(section(html, "person-summary"))
    assert "person erased" in text(browser.get("/console/alerts"))  # who did it, in the activity log


def test_the_listening_section_shows_posts_heard_with_sentiment_and_rules(store: Store, clock: FakeClock) -> None:
    # Given a person and posts of theirs that listening heard (as chalicelib.listening will hand them)
    follow(store, "801", "loyal", clock() - timedelta(days=5))
    found = person_page(store, "801")
    heard: list[dict[str, Any]] = [
        {
            "id": "1900000000000000777",
            "text": "Acme laptops beat <b>Dell</b>?",
            "created_at": "2026-11-25T10:00:00.000000Z",
            "sentiment": {"label": "negative", "compound": -0.4},
            "rules": [{"id": "r1", "name": "Acme"}],
        },
        {"post_id": "1900000000000000778", "text": None, "created_at": "2026-11-24T10:00:00Z", "sentiment": "neutral"},
    ]
    found["listening_posts"] = [listening_post(post) for post in heard]
    session = Session(digest="d", operator_id="o", email="ops@example.com", name="Olivia", csrf_token="t")

    # When the person page renders them
    html = text(
        page("person.html", root="/console", session=session, person=found, summary=[], deal_titles={}, errors={})
    )

    # Then each post shows its time, sentiment and rules, escaped; an erased one says so
    listening = section(html, "person-listening")
    assert re.findall(r'data-post-id="([^"]+)"', listening) == ["1900000000000000777", "1900000000000000778"]
    assert 'data-sentiment="negative"' in listening
    assert '<span class="tag">Acme</span>' in listening
    assert "Acme laptops beat &lt;b&gt;Dell&lt;/b&gt;?" in listening
    assert "25 Nov 2026, 10:00 UTC" in listening
    assert "(text erased)" in listening
