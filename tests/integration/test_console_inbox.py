"""The inbox as a marketer reads it: what needs an answer (likes never do: they have a tab of their
own and still count as feedback), and the deal filter, a choice of the deals by title."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.console import views
from chalicelib.feedback import ANSWERABLE, list_feedback, record_feedback
from chalicelib.response_times import alert_long_waits
from chalicelib.sentiment import VaderClassifier
from chalicelib.store import Store
from chalicelib.x.events import Interaction, XUser
from tests.conftest import FakeClock
from tests.console_browser import Browser, text
from tests.factories import release_deal
from tests.integration.test_console_pages import say
from tests.integration.test_console_usability import waiting_ids


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # the API runs on the real clock


def listed(page: str) -> list[str]:
    """The ids in the inbox's list (below the few that waited longest)."""
    _, found, below = page.partition('data-testid="inbox-items"')
    return re.findall(r'data-feedback-id="([^"]+)"', below) if found else []


def like(store: Store, n: int, at: datetime, author: str = "800", answers: str | None = None) -> None:
    event = Interaction(
        kind="like", event_id=f"like:{n}", occurred_at=at, author=XUser(id=author, handle="liker"), answers=answers
    )
    record_feedback(store, event, VaderClassifier(), [])


def test_likes_never_wait_for_an_answer_but_have_their_tab_and_still_count(
    browser: Browser, api: Any, admin: dict[str, str], store: Store, clock: FakeClock
) -> None:
    # Given a question and two likes, all older than the long-wait threshold, the likes stored
    # ``open`` as every like ever recorded was (no migration: the inbox leaves them out by kind)
    now = clock()
    say(store, 1, "Is the XPS back in stock?", now - timedelta(hours=5), author="800", handle="liker")
    like(store, 1, now - timedelta(hours=6))
    like(store, 2, now - timedelta(hours=4), author="801")

    # Then the inbox lists only what needs an answer, and only that waits longest
    inbox = text(browser.get("/console/inbox"))
    assert listed(inbox) == ["post:1"]
    assert waiting_ids(inbox) == ["post:1"]
    assert waiting_ids(text(browser.get("/console"))) == ["post:1"]
    assert 'data-testid="view-open" aria-current="page"' in inbox
    # And no like raises a long-wait alert
    alerted = alert_long_waits(store, now, timedelta(hours=1))
    assert alerted == ["post:1"]

    # But the likes have their own tab, which says they need no answer
    likes = text(browser.get("/console/inbox?kind=like"))
    assert listed(likes) == ["like:2", "like:1"]
    assert 'data-testid="view-likes" aria-current="page"' in likes
    assert likes.count(">no answer needed</span>") == 2
    assert 'data-testid="likes-note"' in likes
    # (an old link asking for open likes shows the likes too, not an empty page)
    assert listed(text(browser.get("/console/inbox?state=open&kind=like"))) == ["like:2", "like:1"]
    # And all feedback lists everything, newest first
    assert listed(text(browser.get("/console/inbox?state=all"))) == ["like:2", "post:1", "like:1"]
    # And a like's conversation says it needs no answer and leads back to the likes
    thread = text(browser.get("/console/inbox/like:1"))
    assert 'data-testid="state">no answer needed</span>' in thread
    assert 'href="/console/inbox?kind=like">← Inbox' in thread

    # And likes still count as feedback: the report's sentiment and the person's history
    summary = api.http.get("/reports/summary", headers=admin).json_body
    assert summary["sentiment"] == {"positive": 2, "neutral": 1, "negative": 0}
    person = text(browser.get("/console/people/800"))
    assert re.findall(r'data-feedback-id="([^"]+)"', person) == ["post:1", "like:1"]


def test_a_filter_in_the_needs_an_answer_tab_leaves_likes_out_too(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    now = clock()
    say(store, 1, "I love this deal", now - timedelta(minutes=2))
    like(store, 1, now - timedelta(minutes=1))  # a like is positive too
    positive = text(browser.get("/console/inbox?sentiment=positive"))
    assert listed(positive) == ["post:1"]
    assert '<option value="like"' not in positive.split('id="kind"', 1)[1].split("</select>", 1)[0]
    assert listed(text(browser.get("/console/inbox?state=all&sentiment=positive"))) == ["like:1", "post:1"]


@pytest.mark.parametrize("mistake", ["kind=bogus", "since=yesterday", f"deal_id={'d' * 65}"])
def test_a_filter_with_a_mistake_lists_nothing_rather_than_everything(
    browser: Browser, store: Store, clock: FakeClock, mistake: str
) -> None:
    say(store, 1, "Is it in stock?", clock() - timedelta(minutes=2))
    like(store, 1, clock() - timedelta(minutes=1))
    page = browser.get(f"/console/inbox?{mistake}")
    assert page.status_code == 422
    assert listed(text(page)) == []


def test_likes_outnumbering_the_questions_never_leave_the_needs_an_answer_page_empty(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    # Given three questions, then 110 likes (a post gone viral: more than a query of a page reads)
    now = clock()
    for n in range(3):
        say(store, n, f"question {n}?", now - timedelta(hours=3, minutes=n))
    for n in range(110):
        like(store, n, now - timedelta(minutes=110 - n), author=str(900 + n))
    # Then the first page of what needs an answer shows the questions, not an empty page
    page = text(browser.get("/console/inbox"))
    assert listed(page) == ["post:0", "post:1", "post:2"]
    assert 'data-testid="next-page"' not in page


def test_a_page_cut_short_of_what_was_read_goes_on_from_its_last_item(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    # Given 28 questions, a like before every second one
    now = clock()
    for n in range(14):
        like(store, n, now - timedelta(minutes=3 * n))
        say(store, 2 * n, f"question {2 * n}?", now - timedelta(minutes=3 * n + 1))
        say(store, 2 * n + 1, f"question {2 * n + 1}?", now - timedelta(minutes=3 * n + 2))
    # Then the pages hold 25 and 3 of them, newest first: none lost, none twice
    first = text(browser.get("/console/inbox"))
    link = re.search(r'data-testid="next-page" href="([^"]+)"', first)
    assert link
    second = text(browser.get(link.group(1).replace("&amp;", "&")))
    assert listed(first) + listed(second) == [f"post:{n}" for n in range(28)]
    assert len(listed(first)) == views.PAGE_SIZE


def test_a_likes_conversation_names_the_deal_liked_and_does_not_link_to_itself(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    liked = deal(store, clock, "Latitude 7440", "LAT7")
    like(store, 1, clock(), answers=str(liked["post_id"]))
    thread = text(browser.get("/console/inbox/like:1"))
    assert 'data-testid="liked">liked Latitude 7440</p>' in thread
    assert 'data-testid="open-thread"' not in thread  # the page is the conversation already


def test_the_inbox_does_not_send_you_to_the_inbox_for_more_waiting_items(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    for n in range(views.WAITING_SHOWN + 1):
        say(store, n, f"question {n}?", clock() - timedelta(hours=n))
    inbox = text(browser.get("/console/inbox"))
    assert 'data-testid="more-waiting"' in inbox
    assert ">More in the inbox</a>" not in inbox
    assert ">More in the inbox</a>" in text(browser.get("/console"))  # the overview does


def deal(store: Store, clock: FakeClock, title: str, code: str) -> dict[str, Any]:
    return release_deal(store, clock, title=title, price="499", list_price="699", currency="USD", code=code)


def deal_options(page: str) -> list[tuple[str, str]]:
    select = page.split('id="deal_id"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_deal_filter_offers_the_deals_by_title_newest_first_and_keeps_the_id_in_the_link(
    browser: Browser, store: Store, clock: FakeClock
) -> None:
    # Given three released deals (each the answer of one reply) and one still scheduled
    released = [deal(store, clock, title, code) for title, code in (("XPS 13", "XPS1"), ("Latitude", "LAT1"))]
    released.append(deal(store, clock, "Precision", "PRE1"))
    for n, d in enumerate(released):
        reply = Interaction(
            kind="reply",
            event_id=f"post:{n}",
            occurred_at=clock(),
            author=XUser(id=f"9{n}", handle=f"fan{n}"),
            text="Does it have a GPU?",
            post_id=str(n),
            answers=d["post_id"],
        )
        record_feedback(store, reply, VaderClassifier(), [])
    from chalicelib.deals import DealFields, create_deal

    create_deal(
        store,
        DealFields.model_validate(
            {"title": "Not yet", "price": "1", "list_price": "2", "currency": "USD", "code": "LATER"}
            | {"release_at": clock() + timedelta(days=1)}
        ),
        clock(),
    )
    xps, latitude, precision = (str(d["id"]) for d in released)

    # Then the inbox offers the released deals by title, newest first, and no deal typed by id
    inbox = text(browser.get("/console/inbox"))
    day = f"{clock().day} {clock():%b %Y}"
    assert deal_options(inbox) == [
        ("", "any deal"),
        (precision, f"Precision · {day}"),
        (latitude, f"Latitude · {day}"),
        (xps, f"XPS 13 · {day}"),
    ]
    assert '<input id="deal_id"' not in inbox
    # And choosing one (a plain GET form: no script) filters by its id, kept in the link
    chosen = text(browser.get(f"/console/inbox?deal_id={latitude}"))
    assert listed(chosen) == ["post:1"]
    assert f'<option value="{latitude}" selected>Latitude · {day}</option>' in chosen

    # And only the newest few are offered, yet a link to an older one still shows it chosen
    fewer = views.deal_choices(store, f" {xps} ", offered=2)
    assert fewer == [(xps, f"XPS 13 · {day}"), (precision, f"Precision · {day}"), (latitude, f"Latitude · {day}")]
    assert listed(text(browser.get(f"/console/inbox?deal_id={xps}"))) == ["post:0"]
    # And a link to a deal that does not exist says so in the choice, listing nothing
    unknown = text(browser.get("/console/inbox?deal_id=nope"))
    assert '<option value="nope" selected>deal nope</option>' in unknown
    assert listed(unknown) == []


def test_a_page_that_matches_at_once_reads_only_a_page(store: Store, clock: FakeClock) -> None:
    # Given 30 replies and, older, 60 likes
    for n in range(60):
        like(store, n, clock() - timedelta(hours=2, minutes=n))
    for n in range(30):
        say(store, n, "Is it in stock?", clock() - timedelta(minutes=n))
    limits: list[int] = []
    store._client.meta.events.register(  # botocore's own hook: what each query asked DynamoDB for
        "before-parameter-build.dynamodb.Query", lambda params, **_: limits.append(params["Limit"])
    )
    # When the first page of what needs an answer is listed, Then one query of a page does it
    first = list_feedback(store, state="open", kinds=ANSWERABLE, limit=25, cursor=None, read_up_to=500)
    assert (len(first.items), limits) == (25, [25])
    # And the next page, 5 replies then likes only, reads on in larger queries until it has read 500
    limits.clear()
    rest = list_feedback(store, state="open", kinds=ANSWERABLE, limit=25, cursor=first.next, read_up_to=500)
    assert (len(rest.items), rest.next) == (5, None)
    assert limits == [25, 100]  # the second query reached the end of the feedback
