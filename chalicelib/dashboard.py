"""``GET /dashboard``: the channel on one HTML page, for an operator: the report's figures, each
deal's row, the latest alerts and feedback. Rendered on the server from the same functions the
JSON routes use; every value is escaped; no script, so a strict CSP costs nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from chalicelib.alerts import list_alerts
from chalicelib.feedback import list_feedback
from chalicelib.reports import channel_summary
from chalicelib.store import Store

NONE = "-"
CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:75rem}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
.figures{display:flex;flex-wrap:wrap;gap:1rem}.figure{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem}
.figure b{display:block;font-size:1.3rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
.negative{color:#a40000}.positive{color:#1d6b2b}.muted{color:#777}
"""


def render_dashboard(store: Store, now: datetime) -> str:
    summary = channel_summary(store, now)
    alerts = list_alerts(store, limit=10, cursor=None).items
    feedback = list_feedback(store, limit=10, cursor=None).items
    figures = [
        ("Followers", summary["followers"]),
        ("Net growth, 30 days", summary["growth"]["net"]["30d"]),
        ("Deals released", summary["deals_released"]),
        ("Orders", summary["orders"]),
        ("Units", summary["units"]),
        ("Revenue", _money(summary["revenue"])),
        ("Clicks", summary["clicks"]),
        ("Orders per click", summary["conversion"] or NONE),
        (
            "Sentiment (positive / neutral / negative)",
            "{positive} / {neutral} / {negative}".format(**summary["sentiment"]),
        ),
        ("X fees", f"${summary['x_fees_usd']}"),
    ]
    deals = _table(
        ("Deal", "Code", "Status", "Released", "Clicks", "Orders", "Units", "Revenue", "Per click", "X fees"),
        (
            (
                row["title"],
                row["code"],
                row["status"],
                _when(row["released_at"]),
                row["clicks"],
                row["orders"],
                row["units"],
                _money(row["revenue"]),
                row["conversion"] or NONE,
                f"${row['x_fees_usd']}",
            )
            for row in summary["deals"]
        ),
    )
    latest_alerts = _table(
        ("Raised", "Kind", "Message"), ((_when(a["raised_at"]), a["kind"], a["message"]) for a in alerts)
    )
    latest_feedback = _table(
        ("When", "Kind", "Who", "Text", "Sentiment", "Deal"),
        (
            (
                _when(f["created_at"]),
                f["kind"],
                f"@{f['author_handle']}" if f["author_handle"] else NONE,
                f["text"] or "",
                (f["sentiment"]["label"], f["sentiment"]["label"]),
                f["deal_id"] or NONE,
            )
            for f in feedback
        ),
    )
    cards = "".join(
        f'<div class="figure">{escape(str(name))}<b>{escape(str(value))}</b></div>' for name, value in figures
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>outlet</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head><body>'
        f'<h1>outlet</h1><p class="muted">As of {escape(_when(now.isoformat()))} UTC</p>'
        f'<div class="figures">{cards}</div>'
        f"<h2>Deals</h2>{deals}<h2>Latest alerts</h2>{latest_alerts}<h2>Latest feedback</h2>{latest_feedback}"
        "</body></html>"
    )


def _table(headers: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if body
        else '<p class="muted">None yet.</p>'
    )


def _cell(value: Any) -> str:
    if isinstance(value, tuple):  # (text, css class)
        text, css = value
        return f'<td class="{escape(str(css))}">{escape(str(text))}</td>'
    return f"<td>{escape(str(value))}</td>"


def _money(by_currency: Mapping[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in by_currency.items()) or NONE


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else NONE
