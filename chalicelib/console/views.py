"""The console's views: each gathers plain values from chalicelib/ and hands them to its template.
A view takes the ``Visit`` (who asks, the store, the time, the form) and returns the response."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from chalice.app import Response

from chalicelib.alerts import list_alerts
from chalicelib.answers import STATES
from chalicelib.channel import HELD, channel_state, resume_publishing
from chalicelib.community import STATUSES as FOLLOWER_STATUSES
from chalicelib.community import community_summary, list_followers
from chalicelib.console import charts, filters, forms, series
from chalicelib.console.render import page, redirect
from chalicelib.console.sessions import Session
from chalicelib.deals import (
    SCHEDULED,
    STATUSES,
    DealFields,
    cancel_deal,
    check_rules,
    create_deal,
    get_deal,
    list_deals,
    public_deal,
    repeat_of,
    update_deal,
)
from chalicelib.errors import ApiError
from chalicelib.feedback import ANSWERABLE, KINDS, LABELS, deal_rollup, list_feedback
from chalicelib.listening.rules import all_rules
from chalicelib.posts import MAX_WEIGHTED_LENGTH
from chalicelib.reports import channel_summary, deal_row
from chalicelib.store import InvalidCursor, Item, Keys, Page, Store, without_keys
from chalicelib.subscribers import list_subscribers

PAGE_SIZE = 25
FILL_ROUNDS = 4  # a filtered listing reads at most this many pages to fill one
READ_UP_TO = 500  # feedback items a filtered page reads at most (5 queries) to fill itself
WAITING_SHOWN = 5  # the items waiting longest, on the overview and atop the inbox


@dataclass
class Visit:
    """One request to the console, as the views need it."""

    store: Store
    now: datetime
    root: str  # the console's URL path ("/console", or "/api/console" behind a stage prefix)
    session: Session | None = None
    form: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    link_base: str | None = None
    posted: bool = False  # a POST: a form was sent

    @property
    def by(self) -> str:
        return self.session.email if self.session else "unknown"

    def url(self, path: str = "") -> str:
        return f"{self.root}{path}"

    def show(self, template: str, status: int = 200, **context: Any) -> Response:
        return page(template, status, root=self.root, session=self.session, now=self.now, **context)


# --- overview ---------------------------------------------------------------------------------


def overview(visit: Visit) -> Response:
    store, today = visit.store, visit.now.date()
    summary = channel_summary(store, visit.now)
    followers = series.follower_days(store, today, 90)
    feeling = series.sentiment_days(store, today, 30)
    rows = summary["deals"][:12]
    orders = [(str(r["title"]), int(r["orders"])) for r in rows]
    return visit.show(
        "overview.html",
        summary=summary,
        fees_per_revenue=filters.revenue_per_fee_dollar(summary["revenue"].get("USD"), summary["x_fees_usd"]),
        channel=channel_state(store),
        alerts=list_alerts(store, limit=3, cursor=None).items,
        upcoming=series.next_releases(store, limit=5).items,
        waiting=series.longest_waiting(store, limit=WAITING_SHOWN),
        followers=followers,
        followers_chart=charts.joins_and_leaves(followers),
        feeling=feeling,
        feeling_chart=charts.sentiment_per_day(feeling),
        deal_rows=rows,
        revenue_charts=revenue_charts(rows, summary["revenue"]),
        orders_chart=charts.horizontal_bars("Orders per deal", orders, css="bar-orders"),
    )


def revenue_charts(rows: list[Item], revenue: dict[str, str]) -> list[tuple[str, str]]:
    """One revenue chart per currency sold in, largest first, each with only the deals sold in it:
    amounts in different currencies are not added up or converted, and no deal shows a false 0."""
    currencies = sorted((c for c in revenue if Decimal(revenue[c]) > 0), key=lambda c: -Decimal(revenue[c]))
    made = []
    for currency in currencies:
        sold = [(str(r["title"]), Decimal(r["revenue"][currency])) for r in rows if r["revenue"].get(currency)]
        shown = functools.partial(filters.amount, currency=currency)
        made.append((currency, charts.horizontal_bars(f"Revenue per deal in {currency}", sold, shown=shown)))
    return made


# --- deals ------------------------------------------------------------------------------------


def deals(visit: Visit) -> Response:
    status = visit.query.get("status") or SCHEDULED
    if status not in STATUSES:
        status = SCHEDULED
    cursor = visit.query.get("cursor") or None
    try:
        if status == SCHEDULED:  # the queue: soonest release first
            found = series.next_releases(visit.store, limit=PAGE_SIZE, cursor=cursor)
        else:
            found = list_deals(visit.store, status=status, limit=PAGE_SIZE, cursor=cursor)
    except (InvalidCursor, ApiError):
        found = Page(items=[], next=None)
    return visit.show("deals.html", current=status, statuses=STATUSES, deals=found.items, next=found.next)


def _compose(visit: Visit, deal: Item | None) -> Response:
    """The compose and edit form: Preview shows the exact post; Save creates or edits."""
    values = forms.form_values(visit.form)
    template = "deal_form.html"
    context: dict[str, Any] = {"deal": deal, "values": values, "max_length": MAX_WEIGHTED_LENGTH}
    fields, errors = forms.deal_fields(visit.form)
    if fields is None:
        return visit.show(template, 422, errors=errors, preview=None, **context)
    try:
        text, length = check_rules(fields, visit.now, visit.link_base)
    except ApiError as exc:
        return visit.show(template, exc.status, errors=_plain(exc), preview=None, **context)
    repeat = repeat_of(visit.store, text, deal["id"] if deal else None)
    preview = {"text": text, "length": length, "repeat": repeat}
    if visit.form.get("action") == "preview":  # any other submit (or none, from a script) saves
        return visit.show(template, errors={}, preview=preview, **context)
    try:
        saved = _save(visit, fields, deal)
    except ApiError as exc:
        return visit.show(template, exc.status, errors=_plain(exc), preview=preview, **context)
    return redirect(visit.url(f"/deals/{saved['id']}"))


def _save(visit: Visit, fields: DealFields, deal: Item | None) -> Item:
    if deal is None:
        saved = create_deal(visit.store, fields, visit.now, link_base=visit.link_base, by=visit.by)
        series.record_action(visit.store, by=visit.by, action="deal created", subject=saved["id"], at=visit.now)
        return saved
    changes = fields.model_dump(mode="json")
    saved = update_deal(visit.store, str(deal["id"]), changes, visit.now, link_base=visit.link_base, by=visit.by)
    series.record_action(visit.store, by=visit.by, action="deal edited", subject=saved["id"], at=visit.now)
    return saved


def _plain(exc: ApiError) -> dict[str, str]:
    errors = {name: forms.plain(name, str(message)) for name, message in exc.fields.items()}
    if "text" in errors and str(exc.fields["text"]).startswith("repeats"):
        errors["text"] = f"This post repeats or nearly repeats an earlier one: {exc.message.split(': ', 1)[-1]}"
    return errors or {"form": exc.message}


def new_deal(visit: Visit) -> Response:
    if not visit.posted:
        values = forms.form_values({"currency": "USD"})
        return visit.show(
            "deal_form.html", deal=None, values=values, errors={}, preview=None, max_length=MAX_WEIGHTED_LENGTH
        )
    return _compose(visit, None)


def edit_deal(visit: Visit, deal_id: str) -> Response:
    deal = public_deal(get_deal(visit.store, deal_id))
    if deal["status"] != SCHEDULED:
        return visit.show(
            "error.html", 409, message=f"This deal is {deal['status']}: only scheduled deals can be edited."
        )
    if not visit.posted:
        values = forms.deal_values(deal)
        return visit.show(
            "deal_form.html", deal=deal, values=values, errors={}, preview=None, max_length=MAX_WEIGHTED_LENGTH
        )
    return _compose(visit, deal)


def deal_page(visit: Visit, deal_id: str) -> Response:
    deal = get_deal(visit.store, deal_id)
    feedback = list_feedback(visit.store, deal_id=deal_id, limit=50, cursor=None, read_up_to=READ_UP_TO)
    rollup = deal_rollup(visit.store, deal_id)
    return visit.show(
        "deal.html",
        deal=public_deal(deal),
        row=deal_row(visit.store, deal, rollup),
        rollup=rollup,
        feedback=feedback.items,
        more_feedback=feedback.next,
    )


def cancel(visit: Visit, deal_id: str) -> Response:
    """GET asks to confirm (the confirmation page); POST, from that page's form, cancels."""
    deal = public_deal(get_deal(visit.store, deal_id))
    if not visit.posted:
        return visit.show("deal_cancel.html", deal=deal, error=None)
    try:
        cancel_deal(visit.store, deal_id, visit.now, by=visit.by)
    except ApiError as exc:
        return visit.show("deal_cancel.html", exc.status, deal=deal, error=exc.message)
    series.record_action(visit.store, by=visit.by, action="deal cancelled", subject=deal_id, at=visit.now)
    return redirect(visit.url(f"/deals/{deal_id}"))


# --- inbox and community (people: chalicelib/console/people.py) ------------------------------------


INBOX_VIEWS = {  # the inbox's tabs: their label, and the query that opens each
    "open": ("Needs an answer", ""),
    "answered": ("Answered", "?state=answered"),
    "dismissed": ("Dismissed", "?state=dismissed"),
    "likes": ("Likes", "?kind=like"),
    "all": ("All feedback", "?state=all"),
}
DEAL_CHOICES = 50  # the deals released last, offered by title in the inbox's deal filter


def inbox(visit: Visit) -> Response:
    view = _inbox_view(visit.query)
    wanted, errors = _inbox_filters(visit.query, view)
    found = Page(items=[], next=None)  # a filter with a mistake in it lists nothing, not everything
    try:
        if not errors:
            found = list_feedback(
                visit.store, **wanted, limit=PAGE_SIZE, cursor=visit.query.get("cursor") or None, read_up_to=READ_UP_TO
            )
    except (InvalidCursor, ApiError):
        pass
    items, cursor = found.items, found.next
    filters = {
        name: visit.query.get(name, "") for name in ("kind", "sentiment", "deal_id", "keyword", "since", "until")
    }
    filters |= {"state": "all", "kind": "like"} if view == "likes" else {"state": view}
    keywords = [str(rule["name"]) for rule in all_rules(visit.store)]  # at most MAX_RULES
    filtered = any(value for name, value in filters.items() if name != "state") or view != "open"
    first_visit = not filtered and not visit.query.get("cursor")
    return visit.show(
        "inbox.html",
        422 if errors else 200,
        waiting=series.longest_waiting(visit.store, limit=WAITING_SHOWN) if first_visit else None,
        view=view,
        views=INBOX_VIEWS,
        filtered=filtered,
        items=items,
        deal_titles=deal_titles(visit.store, items),
        deals=deal_choices(visit.store, filters["deal_id"]),
        next=cursor,
        filters=filters,
        errors=errors,
        kinds=KINDS if view == "all" else ANSWERABLE,
        labels=LABELS,
        keywords=keywords,
    )


def _inbox_view(query: dict[str, str]) -> str:
    """Which tab: what needs an answer unless asked. Likes are a tab of their own, whatever state
    a like was stored with: a like never needs an answer."""
    if query.get("kind") == "like":
        return "likes"
    state = query.get("state") or "open"
    return state if state in INBOX_VIEWS and state != "likes" else "open"


def _inbox_filters(query: dict[str, str], view: str) -> tuple[dict[str, Any], dict[str, str]]:
    wanted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if view == "open":
        wanted |= {"state": view, "kinds": ANSWERABLE}
    elif view in STATES:
        wanted["state"] = view
    for name, allowed in (("kind", KINDS), ("sentiment", LABELS)):
        value = query.get(name, "")
        if value and value not in allowed:
            errors[name] = f"Pick one of {', '.join(allowed)}."
        elif value:
            wanted[name] = value
    for name in ("deal_id", "keyword"):
        value = query.get(name, "").strip()
        if len(value) > 64:
            errors[name] = "At most 64 characters."
        elif value:
            wanted[name] = value
    for name, at in (("since", time.min), ("until", time.max)):
        value = query.get(name, "")
        if not value:
            continue
        try:
            wanted[name] = datetime.combine(date.fromisoformat(value), at, tzinfo=UTC)
        except ValueError:
            errors[name] = "Pick a date, like 2026-11-01."
    return wanted, errors


def deal_choices(store: Store, chosen: str, *, offered: int = DEAL_CHOICES) -> list[tuple[str, str]]:
    """The deal filter's options, ``(id, "Title · 27 Nov 2026")``, newest release first; a deal
    chosen by a link but older than the ones offered is offered too, first."""
    chosen = chosen.strip()
    deals = series.recent_deals(store, limit=offered)
    if chosen and len(chosen) <= 64 and all(str(d["id"]) != chosen for d in deals):
        found = store.get(Keys.deal(chosen))
        deals.insert(0, found or {"id": chosen, "title": f"deal {chosen}"})
    return [(str(d["id"]), _deal_label(d)) for d in deals]


def _deal_label(deal: Item) -> str:
    released = deal.get("release_at")  # titles repeat when a deal runs again: the day tells them apart
    return f"{deal['title']} · {filters.day(released)}" if released else str(deal["title"])


def deal_titles(store: Store, items: list[Item]) -> dict[str, str]:
    """The titles of the deals a page of feedback answers, in one batch read."""
    ids = {str(i["deal_id"]) for i in items if i.get("deal_id")}
    return {str(d["id"]): str(d["title"]) for d in store.batch_get(Keys.deal(i) for i in ids)} if ids else {}


def _filled(fetch: Any, cursor: str | None) -> tuple[list[Item], str | None]:
    """Up to a page of items from a filtered listing, reading at most FILL_ROUNDS pages."""
    items: list[Item] = []
    for _ in range(FILL_ROUNDS):
        try:
            found = fetch(cursor)
        except (InvalidCursor, ApiError):
            return items, None
        items.extend(found.items)
        cursor = found.next
        if cursor is None or len(items) >= PAGE_SIZE:
            break
    return items, cursor


def community(visit: Visit) -> Response:
    store = visit.store
    handle = visit.query.get("handle", "").strip()[:32]
    status = visit.query.get("status") or "following"
    status = status if status in FOLLOWER_STATUSES else "following"
    cursor = visit.query.get("cursor") or None
    try:
        if handle:
            found = series.followers_by_handle(store, handle, limit=PAGE_SIZE, cursor=cursor)
        else:
            found = list_followers(store, status=status, limit=PAGE_SIZE, cursor=cursor)
    except InvalidCursor:
        found = Page(items=[], next=None)
    days = series.follower_days(store, visit.now.date(), 90)
    subscribers = list_subscribers(store, limit=PAGE_SIZE, cursor=None)
    return visit.show(
        "community.html",
        summary=community_summary(store, visit.now),
        days=days,
        chart=charts.joins_and_leaves(days),
        followers=found.items,
        next=found.next,
        handle=handle,
        current=status,
        statuses=FOLLOWER_STATUSES,
        subscribers=[without_keys(s) for s in subscribers.items],
        more_subscribers=subscribers.next is not None,
    )


# --- alerts and listening ---------------------------------------------------------------------


def alerts(visit: Visit) -> Response:
    try:
        found = list_alerts(visit.store, limit=PAGE_SIZE, cursor=visit.query.get("cursor") or None)
    except InvalidCursor:
        found = Page(items=[], next=None)
    return visit.show(
        "alerts.html",
        alerts=found.items,
        next=found.next,
        channel=channel_state(visit.store),
        held=HELD,
        activity=series.list_activity(visit.store),
    )


def resume(visit: Visit) -> Response:
    resume_publishing(visit.store, visit.now, by=visit.by)
    series.record_action(visit.store, by=visit.by, action="publishing resumed", subject="channel", at=visit.now)
    return redirect(visit.url("/alerts"))


def patterns(visit: Visit) -> Response:
    """Every component in one place (Datasette's patterns page): made-up values, no reads."""
    days = [series.FollowerDay(f"2026-11-{d:02d}", d % 7, d % 3) for d in range(1, 31)]
    sample = {"id": "post:1", "kind": "reply", "author_id": "1", "author_handle": "someone", "keywords": ["XPS"]}
    feedback = [
        {
            **sample,
            "id": f"post:{n}",
            "text": text,
            "created_at": "2026-11-26T12:00:00.000000Z",
            "deal_id": None,
            "sentiment": {"label": label, "compound": 0.0},
        }
        for n, (label, text) in enumerate(
            [("positive", "Love this deal"), ("neutral", "When is the next one?"), ("negative", "Sold out already?")]
        )
    ]
    return visit.show(
        "patterns.html",
        statuses=STATUSES,
        labels=LABELS,
        days=days,
        followers_chart=charts.joins_and_leaves(days),
        bars_chart=charts.horizontal_bars("Orders per deal", [("XPS 13", 12), ("Latitude 7440", 7)]),
        revenue_chart=revenue_charts(
            [{"title": "XPS 13", "revenue": {"USD": "12999.00"}}, {"title": "Latitude", "revenue": {"EUR": "450.00"}}],
            {"USD": "12999.00", "EUR": "450.00"},
        )[0][1],
        feedback=feedback,
        waiting=series.Waiting([{**item, "waiting_since": item["created_at"]} for item in feedback[:2]], more=True),
        nothing_waiting=series.Waiting([], more=False),
    )
