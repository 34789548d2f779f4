"""The console's people pages: one person (``/console/people/{user_id}``), the search by handle
(``/console/people``), and erasing a person on X's word. The data comes from chalicelib.people;
this module only says it in words a marketer reads, state first."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.console import series
from chalicelib.console.filters import when
from chalicelib.console.render import redirect
from chalicelib.console.views import Visit
from chalicelib.errors import ApiError
from chalicelib.people import MAX_HANDLE, check_user_id, erase_person, find_people, person_page
from chalicelib.store import InvalidCursor, Page

SEARCH_SIZE = 25


def person(visit: Visit, user_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    check_user_id(user_id)  # a 400 page before any read
    try:
        found = person_page(
            visit.store,
            user_id,
            feedback_cursor=visit.query.get("cursor") or None,
            answers_cursor=visit.query.get("answers_cursor") or None,
        )
    except InvalidCursor:  # a stale or foreign link: the first pages
        found = person_page(visit.store, user_id)
    return visit.show(
        "person.html",
        status,
        person=found,
        summary=summary(found),
        deal_titles={d["deal_id"]: d["title"] for d in found["deals"] if d["title"]},
        errors=errors or {},
    )


def summary(found: dict[str, Any]) -> list[str]:
    """The person's state in a few plain sentences, before any detail."""
    said = []
    if found["erased_at"]:
        said.append(f"Their texts were erased on {when(found['erased_at'])} (X compliance).")
    if found["following"]:
        said.append(f"Follows the brand since {when(found['followed_at'])}.")
    elif found["left_at"]:
        said.append(f"Stopped following the brand on {when(found['left_at'])}.")
    else:
        said.append("Does not follow the brand, and never did as far as outlet knows.")
    subscription = found["subscription"]
    if subscription["state"] == "subscribed":
        said.append(f"Gets deal DMs: opted in on {when(subscription['subscribed_at'])}.")
    elif subscription["state"] == "unsubscribed":
        said.append(f"Opted out of deal DMs on {when(subscription['unsubscribed_at'])}.")
    else:
        said.append("Never opted in to deal DMs.")
    feedback = found["feedback"]
    if feedback:
        labels = [item["sentiment"]["label"] for item in feedback]
        mix = ", ".join(
            f"{labels.count(name)} {name}" for name in ("positive", "neutral", "negative") if name in labels
        )
        waiting = sum(1 for item in feedback if item["state"] == "open" and item["kind"] != "like")
        count = f"{len(feedback)} piece{'s' if len(feedback) != 1 else ''} of feedback"
        sent = f"Sent at least {count}; the latest: {mix}." if found["feedback_next"] else f"Sent {count}: {mix}."
        waits = {0: "None waits for an answer.", 1: "1 waits for an answer."}.get(
            waiting, f"{waiting} wait for an answer."
        )
        said.append(f"{sent} {waits}")
    else:
        said.append("No feedback from them.")
    answers = found["answers"]
    if answers:
        latest = answers[0]
        times = f"{len(answers)}{'+' if found['answers_next'] else ''}"
        plural = "s" if len(answers) != 1 else ""
        said.append(f"Answered {times} time{plural}, last by {latest['by']} on {when(latest['at'])}.")
    return said


def people(visit: Visit) -> Response:
    """The search: people whose handle starts with what was typed (followers, and people known only
    from their feedback); a number typed is offered as an X user id."""
    typed = visit.query.get("handle", "").strip()
    errors: dict[str, str] = {}
    found = Page(items=[], next=None)
    if typed:
        try:
            found = find_people(visit.store, typed, limit=SEARCH_SIZE, cursor=visit.query.get("cursor") or None)
        except InvalidCursor:
            found = Page(items=[], next=None)
        except ApiError:
            errors["handle"] = f"Type the start of a handle, at most {MAX_HANDLE} characters."
    bare = typed.lstrip("@")
    return visit.show(
        "people.html",
        422 if errors else 200,
        handle=typed[: MAX_HANDLE + 1],
        people=found.items,
        next=found.next,
        user_id=bare if bare.isdigit() and len(bare) <= 20 else None,
        errors=errors,
    )


def erase(visit: Visit, user_id: str) -> Response:
    """Erase a person's texts (POST, from the person page's form, which asks to confirm)."""
    check_user_id(user_id)
    if visit.form.get("confirm") != "yes":
        return person(visit, user_id, {"confirm": "Tick the box to confirm: this cannot be undone."}, 422)
    done = erase_person(visit.store, user_id, now=visit.now)
    series.record_action(
        visit.store,
        by=visit.by,
        action="person erased",
        subject=user_id,
        at=visit.now,
        feedback_erased=done.feedback_erased,
        done=done.done,
    )
    return redirect(visit.url(f"/people/{user_id}"))
