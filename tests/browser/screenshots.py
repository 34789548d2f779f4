"""`make screenshots`: the console of `make demo`'s month, in headless chromium, as PNGs in docs/.

Seeds a fresh local service exactly as `make demo` does (a month through the real routes), signs
in through the form and saves the overview at 1280 px (desktop) and 390 px (phone) wide, the
inbox, the listening page and the page of the person who said the most recent thing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from localcloud.demo import MONTH, PROJECT_DIR
from tests.browser.harness import Browser, browser_missing, seeded_service, sign_in

SHOTS = (
    ("console-overview.png", "/console", 1280),
    ("console-overview-mobile.png", "/console", 390),
    ("console-inbox.png", "/console/inbox", 1280),
    ("console-listening.png", "/console/listening", 1280),
)


def main(out: Path = PROJECT_DIR / "docs") -> int:
    missing = browser_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    print("seeding a month (a minute or two) ...", flush=True)
    with seeded_service(MONTH) as service:
        if not service.email:
            print("this build has no console (POST /operators)", file=sys.stderr)
            return 1
        browser = Browser()
        try:
            sign_in(browser.driver, service)
            latest = service.admin("/feedback?limit=1")["items"]
            person = [("console-person.png", f"/console/people/{latest[0]['author_id']}", 1280)] if latest else []
            for name, path, width in [*SHOTS, *person]:
                browser.driver.get(service.url + path)
                browser.full_page_screenshot(out / name, width)
                print(f"  {out / name}")
        finally:
            browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
