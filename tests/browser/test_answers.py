"""Answering from the inbox in a real headless chromium (the harness of tests/browser, from the
`demo` branch): an operator opens an open reply, double-clicks Reply, and sees it answered once,
in the thread and in the outbox. Skipped until that harness is here."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import pytest

pytest.importorskip("tests.browser.harness", reason="the browser harness comes with the demo branch")

from tests.browser.harness import Service, sign_in  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.browser


def test_an_operator_answers_a_reply_from_the_inbox_once_despite_a_double_click(page: Any, console: Service) -> None:
    from selenium.webdriver.common.action_chains import ActionChains  # type: ignore[import-not-found,unused-ignore]
    from selenium.webdriver.common.by import By  # type: ignore[import-not-found,unused-ignore]
    from selenium.webdriver.support.ui import WebDriverWait  # type: ignore[import-not-found,unused-ignore]

    sign_in(page, console)
    WebDriverWait(page, 10).until(lambda p: urlparse(p.current_url).path == "/console")

    # Given the inbox's open replies (it shows open items by default)
    page.get(console.url + "/console/inbox?kind=reply")
    links = page.find_elements(By.CSS_SELECTOR, '[data-kind="reply"] [data-testid="open-thread"]')
    assert links, "the seeded inbox has no open reply"
    links[0].click()
    WebDriverWait(page, 10).until(lambda p: p.find_elements(By.CSS_SELECTOR, '[data-testid="answer-form"]'))
    feedback_id = unquote(urlparse(page.current_url).path.rsplit("/", 1)[1])
    text = f"Thanks for asking! ({feedback_id[-6:]})"

    # When the operator writes an answer and double-clicks Reply
    page.find_element(By.ID, "text").send_keys(text)
    ActionChains(page).double_click(page.find_element(By.CSS_SELECTOR, '[data-testid="send-answer"]')).perform()

    # Then the conversation shows it answered, with the answer
    WebDriverWait(page, 10).until(lambda p: p.find_elements(By.CSS_SELECTOR, '[data-state="answered"]'))
    answers = page.find_elements(By.CSS_SELECTOR, '[data-testid="thread-answer"]')
    assert [a.get_attribute("data-status") for a in answers] == ["sent"]
    assert text in answers[0].text

    # And the outbox holds exactly one reply to their post
    replies = [e for e in console.all_pages("/outbox") if e["kind"] == "reply" and e["text"] == text]
    assert len(replies) == 1
    assert replies[0]["in_reply_to"] == feedback_id.removeprefix("post:")
    item = next(i for i in console.all_pages("/feedback?kind=reply") if i["id"] == feedback_id)
    assert item["state"] == "answered"
    assert item["answer"]["text"] == text
