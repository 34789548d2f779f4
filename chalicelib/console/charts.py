"""Charts as inline SVG, made on the server from plain series: no script, nothing fetched.

Each function turns numbers into markup and nothing else; every bar carries its value in
``data-value`` and the page shows the same numbers in a table beside the chart. Colours come from
the stylesheet's classes (the CSP allows no inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from chalicelib.console.series import FollowerDay, SentimentDay

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 24  # room for the axis labels
Number = int | Decimal


def nice_ceiling(value: Number) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): the axis top."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def length(value: Number, top: Number, span: float) -> float:
    """How long a bar for ``value`` is on an axis from 0 to ``top`` drawn ``span`` units long."""
    return round(float(value) / float(top) * span, 2) if top else 0.0


@dataclass(frozen=True)
class Bar:
    css: str
    label: str
    value: Number
    x: float
    y: float
    width: float
    height: float

    def svg(self) -> str:
        return (
            f'<rect class="{self.css}" x="{self.x}" y="{self.y}" width="{self.width}" height="{self.height}" '
            f'data-label="{escape(self.label)}" data-value="{self.value}">'
            f"<title>{escape(self.label)}: {self.value}</title></rect>"
        )


def _frame(title: str, body: Sequence[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text class="axis" x="{x}" y="{y}" text-anchor="{anchor}">{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, css: str = "baseline") -> str:
    return f'<line class="{css}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>'


def joins_and_leaves_bars(days: Sequence[FollowerDay]) -> list[Bar]:
    """Joins rise above the middle line and leaves fall below it, one column per day."""
    if not days:
        return []
    top = nice_ceiling(max(max(d.joined, d.left) for d in days))
    half = (HEIGHT - TOP - BOTTOM) / 2
    middle = TOP + half
    step = (WIDTH - LEFT - RIGHT) / len(days)
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x = round(LEFT + i * step + step * 0.1, 2)
        width = round(step * 0.8, 2)
        up, down = length(d.joined, top, half), length(d.left, top, half)
        bars.append(Bar("bar-join", f"{d.day} joined", d.joined, x, round(middle - up, 2), width, up))
        bars.append(Bar("bar-leave", f"{d.day} left", d.left, x, round(middle, 2), width, down))
    return bars


def joins_and_leaves(days: Sequence[FollowerDay]) -> str:
    title = "Followers joining (up) and leaving (down) per day"
    if not days:
        return _frame(title, [_text(LEFT, HEIGHT / 2, "No data yet")])
    top = nice_ceiling(max(max(d.joined, d.left) for d in days))
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    body = [bar.svg() for bar in joins_and_leaves_bars(days)]
    body += [
        _line(LEFT, middle, WIDTH - RIGHT, middle),
        _text(LEFT - 6, TOP + 10, f"+{top}", "end"),
        _text(LEFT - 6, middle + 4, "0", "end"),
        _text(LEFT - 6, HEIGHT - BOTTOM, f"-{top}", "end"),
        _text(LEFT, HEIGHT - 6, days[0].day),
        _text(WIDTH - RIGHT, HEIGHT - 6, days[-1].day, "end"),
    ]
    return _frame(title, body)


SENTIMENT_ORDER = ("negative", "neutral", "positive")  # stacked from the baseline up


def sentiment_bars(days: Sequence[SentimentDay]) -> list[Bar]:
    if not days:
        return []
    top = nice_ceiling(max(d.positive + d.neutral + d.negative for d in days))
    span = HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / len(days)
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x, width = round(LEFT + i * step + step * 0.1, 2), round(step * 0.8, 2)
        floor = float(base)
        for label in SENTIMENT_ORDER:
            value = int(getattr(d, label))
            tall = length(value, top, span)
            floor -= tall
            bars.append(Bar(f"bar-{label}", f"{d.day} {label}", value, x, round(floor, 2), width, tall))
    return bars


def sentiment_per_day(days: Sequence[SentimentDay]) -> str:
    title = "Feedback per day by sentiment (negative, neutral, positive from the bottom)"
    if not days:
        return _frame(title, [_text(LEFT, HEIGHT / 2, "No data yet")])
    top = nice_ceiling(max(d.positive + d.neutral + d.negative for d in days))
    body = [bar.svg() for bar in sentiment_bars(days)]
    body += [
        _line(LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM),
        _text(LEFT - 6, TOP + 10, str(top), "end"),
        _text(LEFT - 6, HEIGHT - BOTTOM, "0", "end"),
        _text(LEFT, HEIGHT - 6, days[0].day),
        _text(WIDTH - RIGHT, HEIGHT - 6, days[-1].day, "end"),
    ]
    return _frame(title, body)


ROW = 48  # one horizontal bar's row: its label above, the bar below, so long names fit on a phone
BAR = 16
VALUE_ROOM = 110  # room right of the longest bar for its value


def horizontal_bars(title: str, rows: Sequence[tuple[str, Number]], css: str = "bar-value") -> str:
    """One bar per row (a deal's revenue or orders), longest for the largest value."""
    if not rows:
        return _frame(title, [_text(LEFT, 20, "No data yet")], height=32)
    height = TOP + ROW * len(rows)
    top = nice_ceiling(max(value for _, value in rows))
    span = WIDTH - RIGHT - VALUE_ROOM
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = TOP + i * ROW
        short = label if len(label) <= 48 else label[:47] + "…"
        body.append(_text(0, y + 20, short))
        bar = Bar(css, label, value, 0, y + 26, length(value, top, span), BAR)
        body.append(bar.svg())
        body.append(_text(bar.width + 6, y + 26 + BAR - 2, str(value)))
    return _frame(title, body, height=height)
