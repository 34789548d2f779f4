"""The console's answering pages: one feedback item's thread (the deal post, their message, our
answers) with the answer form, saved replies, and how fast the brand answers.

The answer form carries its own idempotency key, made when the form renders, so a double-click
(or a resubmitted POST) answers once: the second request finds the first's claim and shows the
thread. Inserting a saved reply needs no script: a GET form re-renders the page with its text."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from chalice.app import Response

from chalicelib import deps
from chalicelib.answers import (
    MAX_DM_LENGTH,
    AnswerBusy,
    answer_feedback,
    answers_of,
    dismiss,
    recently_sent,
)
from chalicelib.console import series
from chalicelib.console.render import redirect
from chalicelib.console.views import Visit
from chalicelib.errors import ApiError
from chalicelib.feedback import public_feedback
from chalicelib.posts import MAX_WEIGHTED_LENGTH
from chalicelib.response_times import response_time_summary
from chalicelib.saved_replies import (
    SavedReplyFields,
    add_saved_reply,
    get_saved_reply,
    list_saved_replies,
    remove_saved_reply,
)
from chalicelib.store import Item, Keys

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # what ``secrets.token_urlsafe`` made for the form
REPEAT_WARNING = "You sent this exact text lately: X refuses a post identical to a recent one. Change it a little."


def thread_url(visit: Visit, feedback_id: str) -> str:
    from urllib.parse import quote

    return visit.url(f"/inbox/{quote(feedback_id, safe='')}")


def thread(
    visit: Visit, feedback_id: str, *, text: str | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    stored = visit.store.get(Keys.feedback(feedback_id))
    if stored is None:
        return visit.show("error.html", 404, message="No such feedback item.")
    item = public_feedback(stored)
    deal = visit.store.get(Keys.deal(str(stored["deal_id"]))) if stored.get("deal_id") else None
    saved = list_saved_replies(visit.store).items
    chosen = get_saved_reply(visit.store, visit.query.get("saved", "")[:64])
    draft = text if text is not None else (str(chosen["text"]) if chosen else "")
    kind = "dm" if item["kind"] == "dm" else "reply"
    warning = REPEAT_WARNING if kind == "reply" and draft and recently_sent(visit.store, draft) else None
    return visit.show(
        "thread.html",
        status,
        item=item,
        deal=deal,
        deal_titles={str(deal["id"]): str(deal["title"])} if deal else {},
        answers=answers_of(visit.store, feedback_id),
        reopened_by=stored.get("reopened_by"),
        answerable=item["kind"] != "like" and bool(item["author_id"]),
        answer_kind=kind,
        limit=MAX_DM_LENGTH if kind == "dm" else MAX_WEIGHTED_LENGTH,
        draft=draft,
        warning=warning,
        errors=errors or {},
        saved=saved,
        chosen=chosen["id"] if chosen else "",
        idempotency_key=secrets.token_urlsafe(18),  # this rendering's answer: a second click repeats it
        thread_url=thread_url(visit, feedback_id),
    )


def answer(visit: Visit, feedback_id: str) -> Response:
    text = visit.form.get("text", "")
    key = visit.form.get("idempotency_key", "")
    if not _KEY.match(key):
        stale = {"text": "This form is out of date: send it again."}
        return thread(visit, feedback_id, text=text, errors=stale, status=400)
    again = visit.form.get("again") == "yes"
    claimed = visit.store.get(Keys.answer(feedback_id, key), consistent=True)
    if claimed is None and visit.form.get("kind") == "reply" and recently_sent(visit.store, text):
        return thread(visit, feedback_id, text=text, errors={"text": REPEAT_WARNING}, status=422)
    try:
        answer_feedback(
            visit.store,
            deps.publisher(),
            deps.answer_policy(),
            feedback_id,
            text=text,
            by=visit.by,
            key=key,
            now=visit.now,
            again=again,
        )
    except AnswerBusy:
        return redirect(thread_url(visit, feedback_id))  # the other click's answer is on its way
    except ApiError as exc:
        message = next(iter(exc.fields.values()), exc.message) if exc.status == 422 else exc.message
        return thread(visit, feedback_id, text=text, errors={"text": str(message)}, status=exc.status)
    series.record_action(visit.store, by=visit.by, action="answered", subject=feedback_id, at=visit.now)
    return redirect(thread_url(visit, feedback_id))


def dismiss_item(visit: Visit, feedback_id: str) -> Response:
    try:
        dismiss(visit.store, feedback_id, by=visit.by, now=visit.now)
    except ApiError as exc:
        return thread(visit, feedback_id, errors={"text": exc.message}, status=exc.status)
    series.record_action(visit.store, by=visit.by, action="dismissed", subject=feedback_id, at=visit.now)
    return redirect(visit.url("/inbox"))


def saved_replies(visit: Visit, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return visit.show(
        "saved_replies.html",
        status,
        saved=list_saved_replies(visit.store).items,
        values={"name": visit.form.get("name", ""), "text": visit.form.get("text", "")},
        errors=errors or {},
    )


def add_saved(visit: Visit) -> Response:
    from pydantic import ValidationError

    try:
        fields = SavedReplyFields.model_validate(
            {"name": visit.form.get("name", ""), "text": visit.form.get("text", "")}
        )
    except ValidationError as exc:
        names = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        errors = {}
        if "name" in names:
            errors["name"] = "Give it a name of 1 to 80 characters."
        if "text" in names:
            errors["text"] = f"Write 1 to {MAX_DM_LENGTH} characters."
        return saved_replies(visit, errors, 422)
    add_saved_reply(visit.store, fields, visit.now, by=visit.by)
    series.record_action(visit.store, by=visit.by, action="saved reply added", subject=fields.name, at=visit.now)
    return redirect(visit.url("/saved-replies"))


def remove_saved(visit: Visit) -> Response:
    reply_id = visit.form.get("id", "")[:64]
    try:
        remove_saved_reply(visit.store, reply_id)
    except ApiError:
        return saved_replies(visit, {"remove": "That saved reply is gone already."}, 404)
    series.record_action(visit.store, by=visit.by, action="saved reply removed", subject=reply_id, at=visit.now)
    return redirect(visit.url("/saved-replies"))


def response_times(visit: Visit) -> Response:
    threshold = deps.answer_alert_after()
    summary: Item = response_time_summary(visit.store, visit.now, threshold=threshold)
    return visit.show("response_times.html", summary=summary, threshold_minutes=int(threshold / timedelta(minutes=1)))
