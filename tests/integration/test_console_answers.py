"""Answering from the console: the inbox defaults to open items, a conversation's answer form
answers once however often it is submitted, saved replies are inserted without a script, the
composer warns about a repeated text, dismissing, and the response-time page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest

from tests.console_browser import Browser, text
from tests.integration.test_answers import ACCOUNT, PERSON, a_dm, a_reply, deliver, listed

REPLY_ID = "post:1900000000000000501"


@pytest.fixture(autouse=True)
def brand(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"the page has no {name}"
    return unescape(match.group(1))


def answer_form(page: str, text_: str) -> dict[str, str]:
    return {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "kind": hidden(page, "kind"),
        "text": text_,
    }


def test_the_inbox_shows_open_items_and_links_each_to_its_conversation(
    browser: Browser, api: Any, admin: dict[str, str]
) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    inbox = text(browser.get("/console/inbox"))
    assert 'data-feedback-id="post:1900000000000000501"' in inbox
    assert 'href="/console/inbox/post%3A1900000000000000501"' in inbox
    assert 'data-testid="view-open" aria-current="page">Needs an answer<' in inbox


def test_a_double_submitted_answer_form_answers_once(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    # Given a reply and its conversation page, whose form carries its own idempotency key
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC) - timedelta(minutes=3)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    assert 'data-testid="answer-form"' in page
    form = answer_form(page, "Yes, it is in stock!")

    # When the form is submitted twice (a double-click)
    first = browser.post(f"/console/inbox/{REPLY_ID}/answer", form)
    second = browser.post(f"/console/inbox/{REPLY_ID}/answer", form)

    # Then both lead back to the conversation, and exactly one reply went out
    assert first.status_code == second.status_code == 303
    outbox = listed(api, admin, "/outbox")
    assert [(e["kind"], e["to"], e["in_reply_to"]) for e in outbox] == [("reply", PERSON, "1900000000000000501")]
    thread = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    assert 'data-state="answered"' in thread
    assert "Yes, it is in stock!" in thread
    answered = next(i for i in listed(api, admin, "/feedback") if i["id"] == REPLY_ID)
    assert answered["answer"]["by"] == "ops@example.com"
    assert REPLY_ID not in text(browser.get("/console/inbox"))  # not open any more
    assert REPLY_ID in text(browser.get("/console/inbox?state=answered"))


def test_a_dm_is_answered_with_a_dm(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_dm("1900000000000000502", datetime.now(UTC)))
    page = text(browser.get("/console/inbox/dm:1900000000000000502"))
    assert "Send DM" in page
    assert browser.post("/console/inbox/dm:1900000000000000502/answer", answer_form(page, "Yes!")).status_code == 303
    assert [(e["kind"], e["to"]) for e in listed(api, admin, "/outbox")] == [("dm", "3001969357")]


def test_an_answer_form_without_the_csrf_token_is_refused(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    form = {**answer_form(page, "Hello"), "csrf_token": "forged"}
    assert browser.post(f"/console/inbox/{REPLY_ID}/answer", form).status_code == 403
    assert listed(api, admin, "/outbox") == []


def test_a_too_long_reply_re_renders_the_form_with_the_message(
    browser: Browser, api: Any, admin: dict[str, str]
) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    refused = browser.post(f"/console/inbox/{REPLY_ID}/answer", answer_form(page, "x" * 300))
    assert refused.status_code == 422
    assert "20 over" in text(refused)
    assert "x" * 300 in text(refused)
    assert listed(api, admin, "/outbox") == []


def test_saved_replies_are_kept_and_inserted_into_the_form(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    saved = browser.submit(
        "/console/saved-replies", "/console/saved-replies", {"name": "Stock", "text": "Back in stock next week!"}
    )
    assert saved.status_code == 303
    (kept,) = listed(api, admin, "/saved-replies")
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    assert 'data-testid="saved-reply-picker"' in page
    prefilled = text(browser.get(f"/console/inbox/{REPLY_ID}?saved={kept['id']}"))
    assert ">Back in stock next week!</textarea>" in prefilled
    removed = browser.submit("/console/saved-replies", "/console/saved-replies/remove", {"id": kept["id"]})
    assert removed.status_code == 303
    assert listed(api, admin, "/saved-replies") == []


def test_the_composer_warns_about_a_recent_identical_reply(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    deliver(api, a_reply("1900000000000000503", datetime.now(UTC)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    assert browser.post(f"/console/inbox/{REPLY_ID}/answer", answer_form(page, "Thanks a lot!")).status_code == 303
    other = text(browser.get("/console/inbox/post:1900000000000000503"))
    warned = browser.post("/console/inbox/post:1900000000000000503/answer", answer_form(other, "Thanks a lot!"))
    assert warned.status_code == 422
    assert "X refuses a post identical to a recent one" in text(warned)
    assert len(listed(api, admin, "/outbox")) == 1


def test_dismissing_takes_an_item_out_of_the_open_inbox(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    dismissed = browser.post(f"/console/inbox/{REPLY_ID}/dismiss", {"csrf_token": hidden(page, "csrf_token")})
    assert dismissed.status_code == 303
    assert REPLY_ID not in text(browser.get("/console/inbox"))
    assert REPLY_ID in text(browser.get("/console/inbox?state=dismissed"))


def test_the_response_time_page_shows_the_figures(browser: Browser, api: Any, admin: dict[str, str]) -> None:
    deliver(api, a_reply("1900000000000000501", datetime.now(UTC) - timedelta(minutes=10)))
    deliver(api, a_reply("1900000000000000503", datetime.now(UTC) - timedelta(hours=3)))
    page = text(browser.get(f"/console/inbox/{REPLY_ID}"))
    browser.post(f"/console/inbox/{REPLY_ID}/answer", answer_form(page, "On it!"))
    shown = text(browser.get("/console/response-times"))
    assert re.search(r'data-figure="median" data-value="[^"]*">10\.0 min<', shown)
    assert re.search(r'data-figure="within-1h" data-value="[^"]*">100\.0%<', shown)
    assert "1 open item waited more than 120 minutes" in shown
    assert 'data-operator="ops@example.com"' in shown
    assert json.loads(api.http.get("/reports/summary", headers=admin).body)["response_time"]["answered"] == 1
