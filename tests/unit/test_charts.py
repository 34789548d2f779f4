"""The console's charts on their numbers: axis tops, bar lengths proportional to values, every
bar carrying its value, and markup that parses as SVG with nothing that a strict CSP blocks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from chalicelib.console import charts
from chalicelib.console.series import FollowerDay, SentimentDay

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - markup these tests just made


def rects(svg: str) -> list[ET.Element]:
    return list(parse(svg).iter(f"{SVG}rect"))


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (180, 200), (201, 500), (Decimal("1234.50"), 2000)],
)
def test_the_axis_top_is_the_next_one_two_or_five(value: int | Decimal, top: int) -> None:
    assert charts.nice_ceiling(value) == top


def test_join_and_leave_bars_are_proportional_around_the_middle_line() -> None:
    days = [FollowerDay("2026-11-01", 4, 0), FollowerDay("2026-11-02", 2, 1), FollowerDay("2026-11-03", 0, 5)]
    bars = charts.joins_and_leaves_bars(days)
    half = (charts.HEIGHT - charts.TOP - charts.BOTTOM) / 2  # the axis runs to 5 each way
    middle = charts.TOP + half
    joins = [b for b in bars if b.css == "bar-join"]
    leaves = [b for b in bars if b.css == "bar-leave"]
    assert [b.value for b in joins] == [4, 2, 0]
    assert [b.height for b in joins] == [round(half * 4 / 5, 2), round(half * 2 / 5, 2), 0.0]
    assert all(round(b.y + b.height, 2) == middle for b in joins)  # joins stand on the line
    assert [b.height for b in leaves] == [0.0, round(half / 5, 2), round(half, 2)]
    assert all(b.y == middle for b in leaves)  # leaves hang from it
    assert joins[0].x < joins[1].x < joins[2].x


def test_the_follower_chart_carries_every_value_and_its_axis() -> None:
    days = [FollowerDay(f"2026-11-{d:02d}", d, d % 3) for d in range(1, 31)]
    svg = charts.joins_and_leaves(days)
    found = rects(svg)
    assert len(found) == 60
    assert [int(r.get("data-value", "")) for r in found if r.get("class") == "bar-join"] == list(range(1, 31))
    texts = [t.text for t in parse(svg).iter(f"{SVG}text")]
    assert "+50" in texts  # the top of the axis for a largest value of 30
    assert texts[-2:] == ["2026-11-01", "2026-11-30"]
    assert "style=" not in svg  # colours come from the stylesheet: the CSP allows no inline style


def test_sentiment_columns_stack_to_their_day_total() -> None:
    days = [SentimentDay("2026-11-01", 3, 1, 1), SentimentDay("2026-11-02", 0, 0, 10)]
    bars = charts.sentiment_bars(days)
    span = charts.HEIGHT - charts.TOP - charts.BOTTOM  # the axis runs to 10
    first = [b for b in bars if b.label.startswith("2026-11-01")]
    assert [b.css for b in first] == ["bar-negative", "bar-neutral", "bar-positive"]
    assert round(sum(b.height for b in first), 2) == round(span * 5 / 10, 2)
    assert first[0].y + first[0].height == charts.HEIGHT - charts.BOTTOM  # the stack starts at the baseline
    assert first[1].y + first[1].height == pytest.approx(first[0].y)  # and each piece sits on the last
    assert [b.height for b in bars if b.label.startswith("2026-11-02")] == [round(span, 2), 0.0, 0.0]


def test_horizontal_bars_scale_to_the_largest_value_and_escape_labels() -> None:
    svg = charts.horizontal_bars("Revenue", [("<b>XPS</b>", Decimal("1500.00")), ("Latitude", Decimal("750.00"))])
    widths = {r.get("data-label"): float(r.get("width", "0")) for r in rects(svg)}
    assert widths["<b>XPS</b>"] == pytest.approx(2 * widths["Latitude"])
    assert "<b>" not in svg
    assert "&lt;b&gt;XPS&lt;/b&gt;" in svg


def test_an_empty_series_says_so() -> None:
    for svg in (charts.joins_and_leaves([]), charts.sentiment_per_day([]), charts.horizontal_bars("Orders", [])):
        assert "No data yet" in svg
        assert rects(svg) == []
