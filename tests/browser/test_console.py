"""The operator console in a real headless chromium, against the local service seeded through
its real routes (signed webhooks, the admin API): what an operator does, page by page."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlparse

import pytest

from tests.browser.harness import CookieClient, Service, sign_in, summary_figures

pytestmark = pytest.mark.browser

SIGN_IN = "/console/sign-in"


def by_css(page: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(page.find_elements(By.CSS_SELECTOR, selector))


def one(page: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return page.find_element(By.CSS_SELECTOR, selector)


def wait_for(page: Any, condition: Callable[[Any], Any], what: str, timeout: float = 10) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # An element read while the next page replaces it goes stale: that is "not yet", not a failure.
    waiting = WebDriverWait(page, timeout, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(condition, message=f"waiting for {what}; at {page.current_url}")


def path_of(page: Any) -> str:
    return str(urlparse(page.current_url).path)


def signed_in(page: Any, console: Service) -> None:
    sign_in(page, console)
    wait_for(page, lambda p: path_of(p) == "/console", "the overview after signing in")


def text_of(element: Any) -> str:
    """The text even inside a closed <details> (WebDriver's .text is only what is visible)."""
    return " ".join(str(element.get_attribute("textContent")).split())


def shown_figures(page: Any) -> dict[str, str]:
    """Each figure's exact value (data-value); its text is the value said for people ($1,234.50)."""
    return {
        str(e.get_attribute("data-figure")): str(e.get_attribute("data-value")) for e in by_css(page, "[data-figure]")
    }


def test_an_operator_signs_in_and_the_overview_shows_the_figures_of_the_report(page: Any, console: Service) -> None:
    signed_in(page, console)
    assert text_of(one(page, '[data-testid="operator"]'))  # who is signed in is shown

    # The report can move while we look (a DM alert still draining costs a fee): read it on both
    # sides of the page and compare with a report that did not move.
    for _ in range(5):
        before = summary_figures(console.admin("/reports/summary"))
        page.get(console.url + "/console")
        shown = shown_figures(page)
        if before == summary_figures(console.admin("/reports/summary")):
            break
    assert shown == before
    said = {str(e.get_attribute("data-figure")): text_of(e) for e in by_css(page, "[data-figure]")}
    if "revenue-USD" in said:
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{2}", said["revenue-USD"]), said["revenue-USD"]
    assert re.fullmatch(r"\$\d[\d,]*\.\d{2}", said["x_fees_usd"]), said["x_fees_usd"]  # to the cent
    assert int(shown["followers"]) > 0
    assert int(shown["orders"]) > 0
    next_releases = by_css(page, '[data-testid="next-releases"] tbody tr')
    assert len(next_releases) == len(console.seeded.upcoming)


def test_each_chart_is_inline_svg_with_a_table_of_its_numbers(page: Any, console: Service) -> None:
    signed_in(page, console)
    charts = {c.get_attribute("data-chart"): c for c in by_css(page, "figure[data-chart]")}
    assert set(charts) >= {"followers", "sentiment", "revenue", "orders"}
    for name, chart in charts.items():
        svg = chart.find_element("tag name", "svg")
        assert svg.size["width"] > 100, f"{name}: the chart is not drawn"
        assert svg.size["height"] > 50, f"{name}: the chart is not drawn"
        marks = svg.find_elements("css selector", "rect, path, polyline, line, circle")
        assert marks, f"{name}: an empty chart"
        accessible_name = svg.get_attribute("aria-label") or text_of(svg.find_element("tag name", "title"))
        assert accessible_name, f"{name}: the chart has no accessible name"
        caption = text_of(chart.find_element("tag name", "figcaption"))
        assert caption, f"{name}: no caption"
        rows = chart.find_elements("css selector", "table tbody tr")
        assert rows, f"{name}: no table alternative"
        assert all(text_of(r) for r in rows), f"{name}: an empty row in the table alternative"

    # The followers chart's table says what the community counts say.
    community = console.admin("/community")
    cells = [
        [text_of(td) for td in r.find_elements("tag name", "td")]
        for r in charts["followers"].find_elements("css selector", "table tbody tr")
    ]
    assert sum(int(c[1]) for c in cells) == community["joined"]["30d"]
    assert sum(int(c[2]) for c in cells) == community["left"]["30d"]
    assert len({c[0] for c in cells}) > 3  # joins and leaves on several days


def fill(page: Any, field: str, value: str) -> None:
    element = one(page, f"#{field}")
    element.clear()
    element.send_keys(value)


def set_datetime_local(page: Any, field: str, value: str) -> None:
    # A datetime-local input takes keystrokes in the browser's locale format; set its value instead.
    page.execute_script("arguments[0].value = arguments[1];", one(page, f"#{field}"), value)


def test_a_deal_is_composed_fixed_after_a_bad_price_queued_and_cancelled(page: Any, console: Service) -> None:
    signed_in(page, console)
    code = f"BROWSER{random.randint(1000, 9999)}"
    title = f"Monitor arm {code.lower()}"
    release = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=15)
    page.get(console.url + "/console/deals/new")
    fill(page, "title", title)
    fill(page, "price", "twelve dollars")
    fill(page, "list_price", "49.00")
    fill(page, "currency", "USD")
    fill(page, "code", code)
    set_datetime_local(page, "release_at", release.strftime("%Y-%m-%dT%H:%M"))
    one(page, '[data-testid="save-button"]').click()

    # The form comes back with the price's message beside the price, and what was typed kept.
    error = wait_for(page, lambda p: by_css(p, "#price-error"), "the price's error")[0]
    assert error.is_displayed()
    assert error.text
    field = error.find_element("xpath", "./ancestor::div[contains(@class, 'field')][1]")
    assert field.find_element("css selector", "input").get_attribute("id") == "price"
    assert one(page, "#price").get_attribute("aria-invalid") == "true"
    assert [e.get_attribute("data-field") for e in by_css(page, ".field-error")] == ["price"]
    assert one(page, "#title").get_attribute("value") == title
    assert console.all_pages("/deals?status=scheduled")
    assert all(d["code"] != code for d in console.all_pages("/deals?status=scheduled"))

    fill(page, "price", "29.00")
    if not one(page, "#release_at").get_attribute("value"):
        set_datetime_local(page, "release_at", release.strftime("%Y-%m-%dT%H:%M"))
    one(page, '[data-testid="save-button"]').click()
    wait_for(
        page, lambda p: re.fullmatch(r"/console/deals/[\w-]+", path_of(p)) and "/new" not in path_of(p), "the deal"
    )
    deal_id = path_of(page).rsplit("/", 1)[1]
    deal = console.admin(f"/deals/{deal_id}")
    assert (deal["status"], deal["code"], deal["price"], deal["title"]) == ("scheduled", code, "29.00", title)
    assert deal["release_at"].startswith(release.strftime("%Y-%m-%dT%H:%M"))

    # In the queue, in release order, then cancelled with its confirmation.
    page.get(console.url + "/console/deals")
    rows = by_css(page, '[data-testid="deal-row"]')
    assert deal_id in [r.get_attribute("data-deal-id") for r in rows]
    times = [r.find_element("tag name", "time").get_attribute("datetime") for r in rows]
    assert times == sorted(times)
    row = one(page, f'tr[data-deal-id="{deal_id}"]')
    assert code in row.text
    assert row.find_element("css selector", "[data-status]").get_attribute("data-status") == ("scheduled")
    row.find_element("css selector", '[data-testid="cancel-link"]').click()
    wait_for(page, lambda p: by_css(p, '[data-testid="confirm-cancel"]'), "the cancel confirmation")
    assert console.admin(f"/deals/{deal_id}")["status"] == "scheduled"  # nothing happens before confirming
    one(page, '[data-testid="confirm-cancel"]').click()
    wait_for(page, lambda p: "/cancel" not in path_of(p), "leaving the confirmation")
    assert console.admin(f"/deals/{deal_id}")["status"] == "cancelled"
    page.get(console.url + "/console/deals")
    assert deal_id not in [r.get_attribute("data-deal-id") for r in by_css(page, '[data-testid="deal-row"]')]


def test_the_inbox_filters_by_sentiment_and_by_kind(page: Any, console: Service) -> None:
    from selenium.webdriver.support.ui import Select

    signed_in(page, console)
    page.get(console.url + "/console/inbox")
    everything = by_css(page, '[data-testid="feedback-item"]')
    assert len({e.get_attribute("data-sentiment") for e in everything}) > 1  # a mix before filtering

    Select(one(page, "#sentiment")).select_by_value("negative")
    one(page, '[data-testid="filter-button"]').click()
    wait_for(page, lambda p: "sentiment=negative" in p.current_url, "the filtered inbox")
    shown = by_css(page, '[data-testid="feedback-item"]')
    assert shown
    assert {e.get_attribute("data-sentiment") for e in shown} == {"negative"}
    negative = {f["id"] for f in console.all_pages("/feedback?sentiment=negative")}
    shown_ids = {e.get_attribute("data-feedback-id") for e in shown}
    assert shown_ids <= negative
    if not by_css(page, '[data-testid="next-page"]'):
        assert shown_ids == negative

    Select(one(page, "#sentiment")).select_by_value("")
    Select(one(page, "#kind")).select_by_value("dm")
    one(page, '[data-testid="filter-button"]').click()
    wait_for(page, lambda p: "kind=dm" in p.current_url, "the inbox filtered by kind")
    dms = by_css(page, '[data-testid="feedback-item"]')
    assert dms
    assert {e.get_attribute("data-kind") for e in dms} == {"dm"}


def test_likes_wait_for_no_answer_in_the_inbox_and_have_a_tab_of_their_own(page: Any, console: Service) -> None:
    signed_in(page, console)
    page.get(console.url + "/console/inbox")
    kinds = {e.get_attribute("data-kind") for e in by_css(page, '[data-testid="feedback-item"]')}
    assert kinds
    assert "like" not in kinds  # the seed likes every deal: none of them waits here
    one(page, '[data-testid="view-likes"]').click()
    wait_for(page, lambda p: "kind=like" in p.current_url, "the likes tab")
    likes = by_css(page, '[data-testid="feedback-item"]')
    assert likes
    assert {e.get_attribute("data-kind") for e in likes} == {"like"}
    assert one(page, '[data-testid="view-likes"]').get_attribute("aria-current") == "page"


def test_the_inbox_is_filtered_by_choosing_a_deal_by_its_title(page: Any, console: Service) -> None:
    from selenium.webdriver.support.ui import Select

    signed_in(page, console)
    page.get(console.url + "/console/inbox?state=all")
    deal = console.seeded.deals[0]
    choice = Select(one(page, "#deal_id"))
    offered = [o.text for o in choice.options]
    assert offered[0] == "any deal"
    assert len(offered) == len(console.seeded.deals) + 1  # every released deal, none typed by id
    choice.select_by_visible_text(f"{deal.title} · {deal.release_at.day} {deal.release_at:%b %Y}")
    one(page, '[data-testid="filter-button"]').click()
    wait_for(page, lambda p: f"deal_id={deal.id}" in p.current_url, "the inbox filtered by deal")
    shown = by_css(page, '[data-testid="feedback-item"]')
    assert shown
    assert {text_of(e.find_element("css selector", '[data-testid="deal-link"]')) for e in shown} == {deal.title}
    assert Select(one(page, "#deal_id")).first_selected_option.get_attribute("value") == deal.id


def test_the_listening_page_shows_share_of_voice_the_posts_heard_and_takes_a_rule(page: Any, console: Service) -> None:
    from selenium.webdriver.support.ui import Select

    signed_in(page, console)
    page.get(console.url + "/console/listening")
    chart = one(page, 'figure[data-chart="share-of-voice"]')
    assert chart.find_element("tag name", "svg").size["width"] > 100
    shown = {
        str(r.get_attribute("data-voice")): int(
            str(r.find_element("css selector", "td[data-value]").get_attribute("data-value"))
        )
        for r in chart.find_elements("css selector", "tr[data-voice]")
    }
    voices = console.admin("/listening/share-of-voice?days=30")["voices"]
    assert shown == {v["voice"]: v["total"] for v in voices}
    assert sum(shown.values()) > 0
    heard = console.all_pages("/listening/posts")
    listed = [e.get_attribute("data-post-id") for e in by_css(page, '[data-testid="heard-post"]')]
    assert listed == [p["id"] for p in heard][: len(listed)]
    assert listed
    brand_posts = {p["id"] for p in heard if "brand" in p["kinds"]}
    answerable = {
        e.get_attribute("data-post-id")
        for e in by_css(page, '[data-testid="heard-post"]')
        if e.find_elements("css selector", '[data-testid="answer-post"]')
    }
    assert answerable == brand_posts & set(listed)

    Select(one(page, "#filter-kind")).select_by_value("competitor")
    one(page, '[data-testid="filter-posts"]').click()
    wait_for(page, lambda p: "kind=competitor" in p.current_url, "the posts filtered by kind")
    competitor = {e.get_attribute("data-post-id") for e in by_css(page, '[data-testid="heard-post"]')}
    assert competitor
    assert competitor <= {p["id"] for p in heard if "competitor" in p["kinds"]}

    page.get(console.url + "/console/listening")
    fill(page, "name", "Fabrikam")
    Select(one(page, "#kind")).select_by_value("competitor")
    fill(page, "query", "Fabrikam lang:en")
    one(page, '[data-testid="add-rule"]').click()
    wait_for(page, lambda p: by_css(p, "tr[data-rule-id] code"), "the rules table")
    added = [r for r in by_css(page, "tr[data-rule-id]") if "Fabrikam" in text_of(r)]
    assert len(added) == 1
    assert "Fabrikam lang:en" in text_of(added[0])
    added[0].find_element("css selector", '[data-testid="remove-rule"]').click()  # leave the seeded rules as they were
    wait_for(page, lambda p: not [r for r in by_css(p, "tr[data-rule-id]") if "Fabrikam" in text_of(r)], "the removal")


def test_signing_out_ends_the_session_for_good(page: Any, console: Service) -> None:
    signed_in(page, console)
    cookies = page.get_cookies()
    assert cookies
    assert all(c.get("httpOnly") for c in cookies if c["name"].lower().startswith(("session", "outlet")))
    one(page, '[data-testid="sign-out"]').click()
    wait_for(page, lambda p: path_of(p) == SIGN_IN, "the sign-in page after signing out")
    page.get(console.url + "/console")
    assert path_of(page) == SIGN_IN

    # The old cookie, replayed, is refused too: the session ended on the server, not only in the browser.
    client = CookieClient(console.url)
    for cookie in cookies:
        client.jar.set_cookie(_cookie(cookie))
    answer = client.request("GET", "/console")
    assert answer.status in (302, 303)
    assert urlparse(answer.headers["Location"]).path == SIGN_IN


def _cookie(cookie: dict[str, Any]) -> Any:
    import http.cookiejar

    return http.cookiejar.Cookie(
        0, cookie["name"], cookie["value"], None, False, cookie["domain"], False, False,
        cookie.get("path", "/"), True, bool(cookie.get("secure")), None, False, None, None, {},
    )  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/console", "/console/deals", "/console/deals/new", "/console/inbox", "/console/community", "/console/alerts"],
)
def test_a_page_without_a_session_redirects_to_sign_in(page: Any, console: Service, path: str) -> None:
    page.get(console.url + path)
    assert path_of(page) == SIGN_IN
    assert one(page, '[data-testid="sign-in-form"]').is_displayed()


def text_sizes(page: Any, selector: str) -> list[float]:
    """The rendered height of each text in the charts, in CSS px (what the eye sees, scaling included)."""
    script = "return Array.from(document.querySelectorAll(arguments[0])).map(t => t.getBoundingClientRect().height);"
    return [float(h) for h in page.execute_script(script, selector) if h]


@pytest.mark.parametrize("width", [390, 1280])
def test_chart_labels_stay_legible_on_a_phone_and_bar_charts_stay_compact(
    page: Any, console: Service, width: int
) -> None:
    signed_in(page, console)
    page.set_window_size(width, 900)
    page.get(console.url + "/console")
    sizes = text_sizes(page, "svg.chart text")
    assert sizes
    assert min(sizes) >= 11, f"chart text {min(sizes)}px tall at {width}px"
    assert max(sizes) <= 24, f"chart text {max(sizes)}px tall at {width}px"
    orders = one(page, 'figure[data-chart="orders"] svg')
    rows = len(orders.find_elements("css selector", "rect"))
    assert orders.size["height"] <= 40 * rows, "the bars are not compact"
    label = orders.find_element("css selector", ".hbar-label").rect
    bar = orders.find_element("css selector", "rect").rect
    if width >= 900:  # each label left of its bar, the longest bar across most of the card
        assert label["x"] + label["width"] <= bar["x"]
        longest = max(r.rect["width"] for r in orders.find_elements("css selector", "rect"))
        assert longest > orders.size["width"] / 2
    else:  # the label above its bar
        assert label["y"] + label["height"] <= bar["y"] + 1


def test_every_revenue_chart_is_in_one_currency_and_shows_no_false_zero(page: Any, console: Service) -> None:
    signed_in(page, console)
    charts = by_css(page, 'figure[data-chart="revenue"]')
    assert charts
    currencies = [c.get_attribute("data-currency") for c in charts]
    assert len(set(currencies)) == len(currencies)
    for chart in charts:
        assert chart.get_attribute("data-currency") in text_of(chart.find_element("tag name", "figcaption"))
        values = [r.get_attribute("data-value") for r in chart.find_elements("css selector", "svg rect")]
        assert values
        assert all(float(v) > 0 for v in values), f"a deal with no revenue in {chart.get_attribute('data-currency')}"


def test_a_like_says_what_was_liked(page: Any, console: Service) -> None:
    signed_in(page, console)
    page.get(console.url + "/console/inbox?kind=like")
    likes = by_css(page, '[data-testid="feedback-item"]')
    assert likes  # the seed likes every deal
    for like in likes:
        said = text_of(like.find_element("css selector", ".feedback-text"))
        assert said.startswith("liked "), said
        assert "(no text)" not in said


def test_every_page_fits_a_390px_phone(page: Any, console: Service) -> None:
    signed_in(page, console)
    page.set_window_size(390, 844)
    deal = console.seeded.deals[0].id
    like = next(f["id"] for f in console.all_pages("/feedback?kind=like") if f["deal_id"])
    pages = (
        "",
        "/deals",
        "/deals/new",
        f"/deals/{deal}",
        "/inbox",
        "/inbox?kind=like",
        f"/inbox/{quote(like, safe='')}",
        "/community",
        "/alerts",
        "/listening",
        "/account",
    )
    for path in pages:
        page.get(f"{console.url}/console{path}")
        overflow = page.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 0, f"/console{path} is {overflow}px wider than a 390px phone"


def marked_current(css: str) -> Callable[[Any], Any]:
    return lambda p: one(p, css).get_attribute("aria-current")


def test_on_a_phone_every_page_is_one_tap_from_the_menu_which_marks_where_you_are(page: Any, console: Service) -> None:
    signed_in(page, console)
    page.set_window_size(390, 844)
    page.get(f"{console.url}/console")
    # The oldest open item comes first on the overview, and leads to its conversation
    waiting = by_css(page, '[data-testid="waiting-item"]')
    assert waiting, "the seeded month has feedback waiting for an answer"
    times = [str(e.get_attribute("datetime")) for e in by_css(page, '[data-testid="waiting"] time')]
    assert times == sorted(times)
    for key in ("deals", "inbox", "community", "alerts", "listening", "people", "overview"):
        link = f'[data-testid="nav-{key}"]'
        one(page, link).click()
        wait_for(page, marked_current(link), key)
        assert [e.get_attribute("data-testid") for e in by_css(page, '.nav [aria-current="page"]')] == [f"nav-{key}"]
    # The operator's own account (changing their password) is reachable on a phone too
    account = one(page, '[data-testid="operator"]')
    assert account.is_displayed()
    account.click()
    wait_for(page, lambda p: path_of(p) == "/console/account", "the account page")
    assert one(page, "#current_password").is_displayed()


# --- what a browser never does: post a form without its token (plain HTTP with a cookie jar) ---


def deal_form(code: str) -> dict[str, str]:
    release = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=30)
    return {
        "title": f"Laptop sleeve {code.lower()}",
        "price": "19.00",
        "list_price": "39.00",
        "currency": "USD",
        "code": code,
        "release_at": release.strftime("%Y-%m-%dT%H:%M"),
        "timezone": "UTC",
        "action": "save",
    }


def test_a_console_form_without_its_csrf_token_is_refused(console: Service) -> None:
    client = CookieClient(console.url)
    signed = client.sign_in(console)
    assert signed.status in (302, 303)
    assert urlparse(signed.headers["Location"]).path == "/console"
    token = client.csrf_token("/console/deals/new")
    code = f"NOTOKEN{random.randint(1000, 9999)}"

    assert client.request("POST", "/console/deals/new", deal_form(code)).status == 403
    assert (
        client.request("POST", "/console/deals/new", {**deal_form(code), "csrf_token": "x" * len(token)}).status == 403
    )
    assert client.request("POST", "/console/sign-out", {}).status == 403
    assert all(d["code"] != code for d in console.all_pages("/deals?status=scheduled"))  # nothing was created

    # The same session with its token is heard: a bad price is a 422 with the message by the field.
    answered = client.request("POST", "/console/deals/new", {**deal_form(code), "price": "-", "csrf_token": token})
    assert answered.status == 422
    assert 'id="price-error"' in answered.body
    assert client.request("GET", "/console").status == 200  # the refused sign-out left the session alone


def test_signing_in_without_the_forms_token_is_refused(console: Service) -> None:
    client = CookieClient(console.url)
    client.csrf_token(SIGN_IN)
    answer = client.request("POST", SIGN_IN, {"email": console.email, "password": console.password})
    assert answer.status == 403
    assert client.request("GET", "/console").status in (302, 303)
