"""Charts as inline SVG, made on the server from plain series: no script, nothing fetched.

Each function turns numbers into markup and nothing else; every bar carries its value in
``data-value`` and the page shows the same numbers in a table beside the chart. Colours come from
the stylesheet's classes (the CSP allows no inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from chalicelib.console.series import FollowerDay, SentimentDay

# Drawn in CSS pixels across the container's width (no viewBox: nothing is scaled, so the text stays
# at the stylesheet's size on a phone and on a wide screen): heights in px, horizontal positions in
# percent of the chart's width.
HEIGHT = 220
TOP, BOTTOM = 12, 24  # px: room for the top label and the dates under the baseline
LEFT, RIGHT = 8.0, 1.0  # percent: room for the axis labels at the left
Number = int | Decimal
Shown = Callable[[Number], str]


def nice_ceiling(value: Number) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): the axis top."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def length(value: Number, top: Number, span: float) -> float:
    """How long a bar for ``value`` is on an axis from 0 to ``top`` drawn ``span`` units long."""
    return round(float(value) / float(top) * span, 2) if top else 0.0


def short_day(day: str) -> str:
    """``29 Aug`` from ``2026-08-29``: an axis label."""
    found = date.fromisoformat(day[:10])
    return f"{found.day} {found:%b}"


@dataclass(frozen=True)
class Bar:
    """One bar: ``x`` and ``width`` in percent of the chart's width, ``y`` and ``height`` in px."""

    css: str
    label: str
    value: Number
    x: float
    y: float
    width: float
    height: float
    shown: str = ""  # the value as people read it (the title); data-value keeps it exact

    def svg(self) -> str:
        return (
            f'<rect class="{self.css}" x="{self.x}%" y="{self.y}" width="{self.width}%" height="{self.height}" '
            f'data-label="{escape(self.label)}" data-value="{self.value}">'
            f"<title>{escape(self.label)}: {escape(self.shown or str(self.value))}</title></rect>"
        )


def _frame(title: str, body: Sequence[str], height: int = HEIGHT, css: str = "chart") -> str:
    return (
        f'<svg class="{css}" width="100%" height="{height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float | str, y: float, text: str, anchor: str = "start", css: str = "axis") -> str:
    where = f"{x}%" if isinstance(x, float) else x
    return f'<text class="{css}" x="{where}" y="{y}" text-anchor="{anchor}">{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, css: str = "baseline") -> str:
    return f'<line class="{css}" x1="{x1}%" y1="{y1}" x2="{x2}%" y2="{y2}"/>'


def _columns(count: int) -> tuple[float, float]:
    """Each day's column: its step and its bar's width, in percent."""
    step = (100 - LEFT - RIGHT) / count
    return step, round(step * 0.8, 3)


def joins_and_leaves_bars(days: Sequence[FollowerDay]) -> list[Bar]:
    """Joins rise above the middle line and leaves fall below it, one column per day."""
    if not days:
        return []
    top = nice_ceiling(max(max(d.joined, d.left) for d in days))
    half = (HEIGHT - TOP - BOTTOM) / 2
    middle = TOP + half
    step, width = _columns(len(days))
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x = round(LEFT + i * step + step * 0.1, 3)
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
        _line(LEFT, middle, 100 - RIGHT, middle),
        _text(0.0, TOP + 10, f"+{top}"),
        _text(0.0, middle + 4, "0"),
        _text(0.0, HEIGHT - BOTTOM, f"-{top}"),
        _text(LEFT, HEIGHT - 6, short_day(days[0].day)),
        _text(100 - RIGHT, HEIGHT - 6, short_day(days[-1].day), "end"),
    ]
    return _frame(title, body)


SENTIMENT_ORDER = ("negative", "neutral", "positive")  # stacked from the baseline up


def sentiment_bars(days: Sequence[SentimentDay]) -> list[Bar]:
    if not days:
        return []
    top = nice_ceiling(max(d.positive + d.neutral + d.negative for d in days))
    span = HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    step, width = _columns(len(days))
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x = round(LEFT + i * step + step * 0.1, 3)
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
        _line(LEFT, HEIGHT - BOTTOM, 100 - RIGHT, HEIGHT - BOTTOM),
        _text(0.0, TOP + 10, str(top)),
        _text(0.0, HEIGHT - BOTTOM, "0"),
        _text(LEFT, HEIGHT - 6, short_day(days[0].day)),
        _text(100 - RIGHT, HEIGHT - 6, short_day(days[-1].day), "end"),
    ]
    return _frame(title, body)


ROW = 38  # px per horizontal bar: its label above it on a phone, beside it on a wide screen (CSS)
BAR = 12
SPAN = 62.0  # percent of the width the longest bar takes: room for the label column and the value
LABEL_CHARS = 34


def horizontal_bars(title: str, rows: Sequence[tuple[str, Number]], css: str = "bar-value", shown: Shown = str) -> str:
    """One bar per row (a deal's revenue or orders), longest for the largest value; ``shown`` says a
    value as people read it (``$1,299.00``) while ``data-value`` keeps it exact."""
    if not rows:
        return _frame(title, [_text(0.0, 20, "No data yet")], height=32, css="chart hbars")
    top = max(value for _, value in rows)  # no axis is drawn: the longest bar takes the whole span
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        bar = Bar(css, label, value, 0.0, 18, length(value, top, SPAN), BAR, shown(value))
        body.append(
            f'<g class="hbar-row" transform="translate(0,{TOP // 3 + i * ROW})">'
            + _text(0.0, 13, short, css="hbar-label")
            + f'<g class="hbar-track">{bar.svg()}'
            + f'<text class="hbar-value" x="{bar.width}%" dx="6" y="{18 + BAR - 1}">{escape(bar.shown)}</text></g></g>'
        )
    return _frame(title, body, height=TOP // 3 + ROW * len(rows), css="chart hbars")
