"""The console as a marketer meets it: what waits longest for an answer first, a first run that
says what to do next, every figure with its period, a scheduled deal that says when it goes
out, the menu marking the current page, and forms whose hints reach screen readers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.store import Store
from tests.conftest import FakeClock
from tests.console_browser import Browser, text
from tests.integration.test_console_pages import say


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # the API runs on the real clock


def waiting_ids(page: str) -> list[str]:
    block = page.split('data-testid="waiting"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'data-feedback-id="([^"]+)"', block)


def test_the_overview_and_the_inbox_list_what_waited_longest_first(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    from chalicelib.answers import dismiss

    # Given three mentions, the oldest dismissed (it needs no answer)
    now = clock()
    for n, hours in ((1, 30), (2, 5), (3, 20)):
        at = now - timedelta(hours=hours)
        say(store, n, f"question {n} about the outlet?", at, author=f"50{n}", handle=f"fan{n}")
    dismiss(store, "post:1", by="ops@example.com", now=now)

    # Then the overview lists the open ones, the longest waiting first, each a link to its thread
    overview = text(browser.get("/console"))
    assert waiting_ids(overview) == ["post:3", "post:2"]
    assert 'href="/console/inbox/post%3A3"' in overview
    # And the inbox opens with them above everything newer
    inbox = text(browser.get("/console/inbox"))
    assert waiting_ids(inbox) == ["post:3", "post:2"]
    assert inbox.index('data-testid="waiting"') < inbox.index('data-testid="inbox-items"')
    # But a filtered inbox is just the filtered list
    assert 'data-testid="waiting"' not in text(browser.get("/console/inbox?sentiment=negative"))


def test_a_deleted_post_no_longer_waits_for_an_answer(browser: Browser, store: Store, clock: FakeClock) -> None:
    from chalicelib.feedback import erase_post
    from chalicelib.response_times import alert_long_waits
    from chalicelib.x.events import PostDeleted

    # Given two mentions waiting, the older then deleted on X
    now = clock()
    say(store, 1, "old question?", now - timedelta(hours=30), author="501", handle="fan1")
    say(store, 2, "new question?", now - timedelta(hours=5), author="502", handle="fan2")
    erase_post(store, PostDeleted(event_id="delete:1", occurred_at=now, post_id="1", user_id="501"), now)

    # Then nobody is asked to answer it: not on the overview, nor by a long-wait alert
    assert waiting_ids(text(browser.get("/console"))) == ["post:2"]
    assert alert_long_waits(store, now, timedelta(hours=1)) == ["post:2"]


def test_a_first_run_says_what_to_do_next(browser: Browser) -> None:
    overview = text(browser.get("/console"))
    assert "Nothing is waiting for an answer" in overview
    assert "people opt in by following the brand on X" in overview
    inbox = browser.get("/console/inbox")
    assert inbox.status_code == 200
    assert "land here" in text(inbox)
    assert 'href="/console/deals/new"' in text(inbox)
    filtered = text(browser.get("/console/inbox?sentiment=negative"))
    assert "No feedback matches these filters." in filtered
    assert '<a href="/console/inbox">Clear the filters.</a>' in filtered


def test_every_overview_total_says_its_period(browser: Browser) -> None:
    page = text(browser.get("/console"))
    labels = re.findall(r'<span class="figure-label">([^<]*)</span>', page)
    assert labels
    assert all(label.endswith(("all time", "30 days")) or label == "Followers now" for label in labels), labels


def test_a_scheduled_deal_says_when_it_goes_out_instead_of_empty_figures(browser: Browser, store: Store) -> None:
    from chalicelib.deals import DealFields, create_deal
    from chalicelib.store import utcnow

    at = utcnow() + timedelta(days=2)
    fields = {"title": "Soon", "price": "5", "list_price": "9", "currency": "EUR", "code": "SOON2", "release_at": at}
    deal = create_deal(store, DealFields.model_validate(fields), utcnow())
    page = text(browser.get(f"/console/deals/{deal['id']}"))
    assert 'data-testid="not-out-yet"' in page
    assert "data-figure=" not in page
    assert "characters, as X counts them" in page


@pytest.mark.parametrize(
    ("path", "current", "title"),
    [
        ("/console", "overview", "Overview"),
        ("/console/deals/new", "deals", "Compose a deal"),
        ("/console/inbox", "inbox", "Inbox"),
        ("/console/people", "people", "People"),
        ("/console/listening", "listening", "Listening"),
    ],
)
def test_the_menu_marks_the_current_page_and_the_title_names_it(
    browser: Browser, path: str, current: str, title: str
) -> None:
    page = text(browser.get(path))
    assert re.findall(r'data-testid="nav-(\w+)" aria-current="page"', page) == [current]
    assert f"<title>{title} · outlet</title>" in page
    assert '<html lang="en">' in page
    assert 'href="/console/account"' in page  # the operator's own account, from every page
    assert "<th></th>" not in page  # every column has a header a screen reader can say


def test_a_fields_hint_and_error_are_read_with_it(browser: Browser) -> None:
    page = text(browser.get("/console/deals/new"))
    assert re.search(r'id="price"[^>]*aria-describedby="price-hint"', page)
    assert 'id="price-hint"' in page
    refused = text(browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", "price": "abc"}))
    assert re.search(r'id="price"[^>]*aria-invalid="true"[^>]*aria-describedby="price-error price-hint"', refused)


def test_an_overdue_answer_alert_leads_to_its_conversation(browser: Browser, store: Store, clock: FakeClock) -> None:
    from chalicelib.response_times import alert_long_waits

    say(store, 7, "hello? anyone there?", clock() - timedelta(hours=3), author="507", handle="waiting")
    assert alert_long_waits(store, clock(), timedelta(minutes=120)) == ["post:7"]
    for path in ("/console/alerts", "/console"):
        page = text(browser.get(path))
        assert '<a href="/console/inbox/post%3A7" data-testid="alert-action">Open the conversation</a>' in page, path
