"""The people pages in a real headless chromium, against the seeded local service: an operator finds a
person by the start of their handle, opens their page, and reads what `GET /people/{user_id}` says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.harness import Service
from tests.browser.test_console import by_css, one, path_of, signed_in, text_of, wait_for

pytestmark = pytest.mark.browser


def someone_who_spoke(console: Service) -> dict[str, Any]:
    """A seeded person with a handle and feedback (the seed's replies, mentions and DMs)."""
    return next(i for i in console.admin("/feedback?limit=100")["items"] if i["author_handle"] and i["text"])


def test_an_operator_finds_a_person_by_handle_and_reads_their_page(page: Any, console: Service) -> None:
    person = someone_who_spoke(console)
    handle, user_id = str(person["author_handle"]), str(person["author_id"])
    signed_in(page, console)

    # From the community page to the search, the start of the handle typed in another case
    page.get(console.url + "/console/community")
    one(page, '[data-testid="people-link"] a').click()
    wait_for(page, lambda p: path_of(p) == "/console/people", "the people search")
    one(page, "#handle").send_keys("@" + handle[:3].swapcase())
    one(page, '[data-testid="people-search"] button').click()
    wait_for(page, lambda p: "handle=" in p.current_url, "the search's results")
    rows = {row.get_attribute("data-user-id"): row for row in by_css(page, '[data-testid="people"] tr[data-user-id]')}
    assert user_id in rows
    rows[user_id].find_element("css selector", "a").click()
    wait_for(page, lambda p: path_of(p) == f"/console/people/{user_id}", "the person's page")

    # The page says what the API says: their state in words first, then their feedback
    told = console.admin(f"/people/{user_id}")
    assert text_of(one(page, '[data-testid="person-name"]')) == f"@{told['handle']}"
    summary = text_of(one(page, '[data-testid="person-summary"]'))
    assert ("Follows the brand since" in summary) == told["following"]
    shown = [e.get_attribute("data-feedback-id") for e in by_css(page, '[data-testid="feedback-item"]')]
    assert shown == [item["id"] for item in told["feedback"]]
    assert "Not known." in text_of(one(page, '[data-testid="orders-unknown"]'))


def test_the_people_pages_fit_a_390px_phone(page: Any, console: Service) -> None:
    person = someone_who_spoke(console)
    signed_in(page, console)
    page.set_window_size(390, 844)
    handle = str(person["author_handle"])[:2]
    for path in (f"/people?handle={handle}", f"/people/{person['author_id']}"):
        page.get(f"{console.url}/console{path}")
        overflow = page.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 0, f"/console{path} is {overflow}px wider than a 390px phone"
