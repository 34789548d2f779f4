"""`make screenshots`: the console of `make demo`'s month, in headless chromium, as PNGs in docs/.

Seeds a fresh local service exactly as `make demo` does (a month through the real routes), signs
in through the form and saves the overview at 1280 px (desktop) and 390 px (phone) wide.
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
            for name, path, width in SHOTS:
                browser.driver.get(service.url + path)
                browser.full_page_screenshot(out / name, width)
                print(f"  {out / name}")
        finally:
            browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
