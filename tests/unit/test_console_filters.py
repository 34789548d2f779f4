"""How the console says values to people: money in each currency's own decimals with thousands
separated, times and days in words, likes as what was liked, and the fee ratio."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chalicelib.console import filters
from chalicelib.money import decimals, format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("107286.00", "USD", "$107,286.00"),
        ("24680", "EUR", "€24,680.00"),
        ("1234.5", "KWD", "KWD 1,234.500"),
        ("1200", "JPY", "¥1,200"),
        ("1234567.5", "CHF", "CHF 1,234,567.50"),
        ("3.315", "USD", "$3.32"),  # half up, to the cent
        ("0.004", "USD", "$0.00"),
        ("-12.5", "GBP", "-£12.50"),
        ("999.999", "BHD", "BHD 999.999"),
    ],
)
def test_money_is_formatted_per_currency(amount: str, currency: str, shown: str) -> None:
    assert format_amount(Decimal(amount), currency) == shown


def test_each_currency_knows_its_decimals() -> None:
    assert [decimals(c) for c in ("USD", "EUR", "JPY", "KRW", "KWD", "TND")] == [2, 2, 0, 0, 3, 3]


def test_the_filters_take_strings_as_the_api_gives_them() -> None:
    assert filters.amount("24680.00", "EUR") == "€24,680.00"
    assert filters.amount("not a number", "EUR") == "not a number"
    assert filters.money({"USD": "1299.00", "EUR": "450.00"}) == "$1,299.00 · €450.00"
    assert filters.money({}) == "-"
    assert filters.exact_money({"USD": "499.00"}) == "499.00 USD"


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("2026-11-11T13:23:00.000000Z", "11 Nov 2026, 13:23 UTC"),
        ("2026-11-27T10:00:00+00:00", "27 Nov 2026, 10:00 UTC"),
        ("2026-11-27T11:00:00+01:00", "27 Nov 2026, 10:00 UTC"),  # said in UTC
        (datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "2 Jan 2026, 03:04 UTC"),
        ("", "-"),
        (None, "-"),
        ("soon", "soon"),
    ],
)
def test_times_are_said_in_words(stamp: object, shown: str) -> None:
    assert filters.when(stamp) == shown


def test_a_day_is_said_in_words() -> None:
    assert filters.day("2026-08-29") == "29 Aug 2026"
    assert filters.day("2026-08-29T10:00:00Z") == "29 Aug 2026"


def test_iso_times_inside_an_alerts_message_are_said_in_words() -> None:
    message = "7 of the last 11 were negative in the 60 minutes to 2026-11-11T13:23:00.000000Z."
    assert filters.times_in(message) == "7 of the last 11 were negative in the 60 minutes to 11 Nov 2026, 13:23 UTC."
    assert filters.times_in("Deal 2026-11 is held: $3.30 over budget") == "Deal 2026-11 is held: $3.30 over budget"


def test_the_fee_ratio_is_usd_revenue_per_fee_dollar() -> None:
    assert filters.revenue_per_fee_dollar("107286.00", "3.315") == "revenue per fee dollar: $32,364"
    assert filters.revenue_per_fee_dollar("50.00", "0.60") == "revenue per fee dollar: $83.33"
    assert filters.revenue_per_fee_dollar(None, "3.315") is None  # no USD revenue: nothing to divide
    assert filters.revenue_per_fee_dollar("100.00", "0") is None


def test_a_like_says_what_was_liked() -> None:
    titles = {"d1": "Latitude 9450 2-in-1"}
    assert filters.what_was_liked({"kind": "like", "deal_id": "d1"}, titles) == "liked Latitude 9450 2-in-1"
    assert filters.what_was_liked({"kind": "like", "deal_id": None}, titles) == "liked a post"
    assert filters.what_was_liked({"kind": "like", "deal_id": "gone"}, None) == "liked a post"
