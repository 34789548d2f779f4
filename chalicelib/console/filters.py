"""How the console shows values to people: pure functions, registered as Jinja2 filters.

The exact values stay in the markup (``data-value``, ``<time datetime>``); these only make the
text a marketer reads: ``27 Nov 2026, 10:00 UTC``, ``$107,286.00``, ``liked Latitude 9450``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.money import format_amount

_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def when(stamp: Any) -> str:
    """``27 Nov 2026, 10:00 UTC`` from a stored ISO time (or a datetime); ``-`` when there is none."""
    if not stamp:
        return "-"
    try:
        moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def day(stamp: Any) -> str:
    """``29 Aug 2026`` from ``2026-08-29`` (or a longer ISO time)."""
    try:
        found = date.fromisoformat(str(stamp)[:10])
    except ValueError:
        return str(stamp)
    return f"{found.day} {found:%b %Y}"


def times_in(text: Any) -> str:
    """A message with every ISO time in it said as :func:`when` says it (alerts stored that way)."""
    return _ISO_TIME.sub(lambda match: when(match.group(0)), str(text or ""))


def amount(value: Any, currency: str) -> str:
    """``$1,234.50`` for one amount; what is not a number is shown as it is."""
    try:
        return format_amount(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError):
        return str(value)


def money(by_currency: Any) -> str:
    """``$1,299.00 · €450.00`` from ``{"USD": "1299.00", "EUR": "450.00"}``; ``-`` when empty."""
    return " · ".join(amount(value, currency) for currency, value in dict(by_currency or {}).items()) or "-"


def exact_money(by_currency: Any) -> str:
    """``1299.00 USD, 450.00 EUR``: the exact amounts, for a ``data-value``."""
    return ", ".join(f"{value} {currency}" for currency, value in dict(by_currency or {}).items()) or "-"


def revenue_per_fee_dollar(revenue_usd: Any, fees_usd: Any) -> str | None:
    """``revenue per fee dollar: $32,364`` (USD revenue only: fees are paid in USD; nothing is
    converted), or None when there is no USD revenue or no fee to divide by."""
    revenue, fees = Decimal(str(revenue_usd or 0)), Decimal(str(fees_usd or 0))
    if revenue <= 0 or fees <= 0:
        return None
    ratio = revenue / fees
    shown = format_amount(ratio.quantize(Decimal(1)), "USD")[:-3] if ratio >= 100 else format_amount(ratio, "USD")
    return f"revenue per fee dollar: {shown}"


def what_was_liked(item: Any, titles: Any) -> str:
    """What a like without text says: ``liked Latitude 9450`` (the deal), else ``liked a post``."""
    deal_id = item.get("deal_id")
    title = dict(titles or {}).get(deal_id) if deal_id else None
    return f"liked {title}" if title else "liked a post"
