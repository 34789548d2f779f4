"""Tracked links: ``GET /r/{code}`` sends a click on to the deal's store URL with UTM parameters
and counts it. Nothing about the person is kept (no IP, no user agent): only a count per deal.
Link-preview crawlers (X fetches every posted link to draw its card) are counted apart, so
``clicks`` are people."""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from botocore.exceptions import ClientError

from chalicelib.deals import CODE_PATTERN
from chalicelib.errors import NotFound
from chalicelib.observability import logger
from chalicelib.store import Item, Keys, Store, StoreError

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
_CRAWLER = re.compile(r"bot\b|crawler|spider|facebookexternalhit|whatsapp|embedly|preview", re.IGNORECASE)


def latest_release(store: Store, code: str) -> Item | None:
    """The latest release of a deal whose post carried ``code`` (``deal_id``, ``url``, ``post_id``),
    live or ended; None if none went out yet, so a guessed code never reveals an upcoming deal."""
    if not CODE_PATTERN.match(code):
        return None
    found = store.query(Keys.code(code), sk_prefix=Keys.CODE_RELEASED, newest_first=True, limit=1).items
    return found[0] if found else None


def tracked_url(release: Item) -> str:
    """The deal's URL with the channel's UTM parameters, replacing any UTM it had, keeping the rest."""
    parts = urlsplit(str(release["url"]))
    kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in UTM]
    utm = {"utm_source": "x", "utm_medium": "social", "utm_campaign": str(release["deal_id"])}
    if release.get("post_id"):
        utm["utm_content"] = str(release["post_id"])
    return urlunsplit(parts._replace(query=urlencode([*kept, *utm.items()])))


def is_crawler(user_agent: str | None) -> bool:
    return bool(user_agent and _CRAWLER.search(user_agent))


def follow_link(store: Store, code: str, user_agent: str | None) -> str:
    """Count one click on ``code``'s deal and in the channel's total (an atomic ADD each; a Lambda
    that dies between them leaves the total one short) and return where to send it."""
    release = latest_release(store, code)
    if release is None:
        raise NotFound(f"no deal went out with the code {code!r}")
    if not release.get("url"):
        raise NotFound(f"the deal with the code {code!r} has no link")
    counter = "crawler_clicks" if is_crawler(user_agent) else "clicks"
    try:
        store.update(Keys.deal_clicks(str(release["deal_id"])), add={counter: 1})
        store.update(Keys.clicks_totals(random.randrange(Keys.CLICK_SHARDS)), add={counter: 1})  # noqa: S311
    except (StoreError, ClientError) as exc:  # a throttled count must not cost the visitor the page
        logger.warning("click not counted", extra={"deal_id": release["deal_id"], "error": type(exc).__name__})
    return tracked_url(release)
