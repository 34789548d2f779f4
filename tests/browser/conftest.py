"""Browser tests: a real headless chromium against `make demo`'s server, seeded small.

They run wherever Debian's chromium and chromium-driver are installed; elsewhere they are skipped
with a loud reason in the summary, unless OUTLET_REQUIRE_BROWSER=1 (CI), where a missing browser
fails them. Run them alone with `make browser` (or `pytest -m browser`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.demo import SMALL
from tests.browser.harness import Browser, Service, browser_missing, browser_required, seeded_service

_SKIPPED: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless chromium (tests/browser)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED:
        terminalreporter.write_sep("!", _SKIPPED[0], red=True, bold=True)


@pytest.fixture(scope="session")
def chromium() -> None:
    """Chromium and its driver are here, or the test is skipped (failed in CI) saying so."""
    reason = browser_missing()
    if reason is None:
        return
    if browser_required():
        pytest.fail(reason + " [OUTLET_REQUIRE_BROWSER is set]", pytrace=False)
    if not _SKIPPED:
        _SKIPPED.append(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def service() -> Iterator[Service]:
    """One seeded service for the whole session (a week: 40 followers, 3 deals, a spike)."""
    with seeded_service(SMALL) as running:
        yield running


@pytest.fixture
def console(service: Service) -> Service:
    """The seeded service, with its operator; a build without the console fails here."""
    if not service.email:
        pytest.fail("this build has no console: POST /operators is missing", pytrace=False)
    return service


@pytest.fixture(scope="session")
def browser(chromium: None) -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.quit()


@pytest.fixture
def page(browser: Browser, console: Service) -> Any:
    """The driver, signed out, at a desktop width."""
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.resize(1280, 900)
    return browser.driver
