"""The console's listening page: the rules (add, remove), share of voice as a chart with its
table, the terms rising this week, and the posts heard, filtered by rule, kind and sentiment.

A post about the brand (a brand rule heard it) can be answered: the "Answer" button makes it a
feedback item (a mention, counted as feedback from then on) on the operator's explicit action,
and opens its thread in the inbox, where the usual answering flow (chalicelib.answers) replies
once per key."""

from __future__ import annotations

from typing import Any

from chalice.app import Response
from pydantic import ValidationError

from chalicelib import deps
from chalicelib.console import charts, series
from chalicelib.console.render import redirect
from chalicelib.console.views import PAGE_SIZE, Visit, _filled
from chalicelib.errors import ApiError
from chalicelib.listening.posts import list_posts, take_into_inbox
from chalicelib.listening.reports import LABELS, most_engaged, rising_terms, share_of_voice
from chalicelib.listening.rules import KINDS, RuleFields, add_rule, all_rules, remove_rule

SHARE_DAYS = 30
FORM_FIELDS = ("name", "kind", "query")


def page(visit: Visit, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    store = visit.store
    rules = all_rules(store)  # every rule (at most MAX_RULES): each is a filter the page accepts
    names = {str(r["id"]): str(r["name"]) for r in rules}
    wanted, filter_errors = _filters(visit.query, names)
    items, cursor = _filled(
        lambda cursor: list_posts(store, **wanted, limit=PAGE_SIZE, cursor=cursor), visit.query.get("cursor") or None
    )
    voice = share_of_voice(store, visit.now.date(), SHARE_DAYS)
    bars = [(str(v["voice"]), int(v["total"])) for v in voice["voices"]]
    values = {name: visit.form.get(name, "") for name in FORM_FIELDS} if visit.posted else {"kind": "brand"}
    all_errors = {**filter_errors, **(errors or {})}
    return visit.show(
        "listening.html",
        422 if filter_errors and status == 200 else status,
        rules=rules,
        rule_names=names,
        errors=all_errors,
        values=values,
        kinds=KINDS,
        labels=LABELS,
        filters={name: visit.query.get(name, "") for name in ("rule", "kind", "sentiment")},
        posts=items,
        next=cursor,
        voice=voice,
        voice_chart=charts.horizontal_bars(f"Posts heard, last {SHARE_DAYS} days: the brand and each competitor", bars),
        share_days=SHARE_DAYS,
        trends=rising_terms(store, visit.now, limit=15),
        top=most_engaged(store, wanted["rule"], visit.now) if wanted.get("rule") else [],
    )


def _filters(query: dict[str, str], rules: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    wanted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, allowed in (("rule", tuple(rules)), ("kind", KINDS), ("sentiment", LABELS)):
        value = query.get(name, "")
        if value and value not in allowed:
            errors[name] = "Pick one from the list."
        elif value:
            wanted[name] = value
    return ({} if errors else wanted), errors


def add(visit: Visit) -> Response:
    try:
        fields = RuleFields.model_validate({name: visit.form.get(name, "") for name in FORM_FIELDS})
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "query"
            errors.setdefault(name, _plain(name, str(error["msg"])))
        return page(visit, errors, 422)
    try:
        created = add_rule(visit.store, fields, visit.now, deps.rule_sync(), by=visit.by)
    except ApiError as exc:
        return page(visit, {"query": exc.message}, exc.status)
    series.record_action(visit.store, by=visit.by, action="listening rule added", subject=created["name"], at=visit.now)
    return redirect(visit.url("/listening"))


def _plain(name: str, message: str) -> str:
    if name == "name":
        return "Give the rule a name of 1 to 64 characters."
    if name == "kind":
        return f"Pick {', '.join(KINDS)}."
    said = message.removeprefix("Value error, ")
    return f"{said[:1].upper()}{said[1:]}."


def remove(visit: Visit) -> Response:
    rule_id = visit.form.get("rule_id", "")[:64]
    try:
        remove_rule(visit.store, rule_id, deps.rule_sync())
    except ApiError:
        return page(visit, {"remove": "That rule is not there any more."}, 404)
    series.record_action(visit.store, by=visit.by, action="listening rule removed", subject=rule_id, at=visit.now)
    return redirect(visit.url("/listening"))


def answer(visit: Visit, post_id: str) -> Response:
    """Makes a post about the brand a feedback item, then opens its thread to answer it."""
    from chalicelib.console.answering import thread_url

    try:
        feedback_id = take_into_inbox(visit.store, post_id[:32], deps.classifier())
    except ApiError as exc:
        return visit.show("error.html", exc.status, message=exc.message)
    series.record_action(
        visit.store, by=visit.by, action="listening post taken to the inbox", subject=post_id, at=visit.now
    )
    return redirect(thread_url(visit, feedback_id))
