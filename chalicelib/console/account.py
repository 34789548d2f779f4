"""The operator's own account: changing their password. The current password is asked for and
throttled like a sign-in; a change ends every other session of the operator, and this one goes on
under a new session id (a cookie copied before the change is worth nothing after it)."""

from __future__ import annotations

from chalice.app import Response
from pydantic import ValidationError

from chalicelib import deps
from chalicelib.console import sessions
from chalicelib.console.render import redirect
from chalicelib.console.views import Visit
from chalicelib.operators import MAX_PASSWORD, MIN_PASSWORD, NewPassword, PasswordChangedMeanwhile, change_password

PLAIN = {
    "current_password": "Type the password you signed in with.",
    "new_password": f"Choose a new password of {MIN_PASSWORD} to {MAX_PASSWORD} characters: a few words will do.",
    "repeat_password": "Type the new password again.",
}


def account(visit: Visit, address: str, secure: bool) -> Response:
    if not visit.posted:
        # The notice only to the session the change started (a link with ?changed=1 proves nothing).
        after_change = visit.session is not None and visit.session.after_password_change
        return _page(visit, 200, changed=visit.query.get("changed") == "1" and after_change)
    errors: dict[str, str] = {}
    try:
        change = NewPassword.model_validate(visit.form)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "new_password"
            errors.setdefault(name, PLAIN.get(name, "Check this field."))
        return _page(visit, 422, errors=errors)
    if change.repeat_password != change.new_password:
        return _page(visit, 422, errors={"repeat_password": "The two new passwords differ: type the same one twice."})
    if change.new_password == change.current_password:
        return _page(visit, 422, errors={"new_password": "The new password is the one you have now: choose another."})
    session = visit.session
    if session is None:  # pragma: no cover - _guarded lets no visit without a session through
        return redirect(visit.url("/sign-in"))
    email, limits = session.email, sessions.SignInLimits()
    counts = sessions.begin_sign_in(visit.store, email, address, visit.now, limits)
    if counts is None:
        minutes = int(limits.window.total_seconds() // 60)
        return visit.show(
            "error.html",
            429,
            message=f"Too many wrong passwords. Wait {minutes} minutes, then try again.",
            headers={"Retry-After": str(minutes * 60)},
        )
    try:
        version = change_password(visit.store, email, change)
    except PasswordChangedMeanwhile:  # the current password was right: not a wrong guess
        sessions.sign_in_succeeded(visit.store, email, address, visit.now, limits)
        message = "Your password was changed elsewhere just now: sign in again with the new one."
        return _page(visit, 409, errors={"current_password": message})
    if version is None:
        sessions.record_failed_sign_in(visit.store, email, address, counts, visit.now, limits, notify=deps.notify_alert)
        return _page(visit, 401, errors={"current_password": "That is not your current password: try again."})
    sessions.sign_in_succeeded(visit.store, email, address, visit.now, limits)
    # This browser goes on, under a new id: the old one (and every other session) is over.
    sessions.end_session(visit.store, session)
    operator = {"id": session.operator_id, "email": email, "name": session.name, "session_version": version}
    _, session_id = sessions.start_session(visit.store, operator, visit.now, after_password_change=True)
    max_age = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
    signed = sessions.sign(deps.session_key(), session_id)
    cookie = sessions.cookie(sessions.SESSION_COOKIE, signed, path=visit.root, max_age=max_age, secure=secure)
    return redirect(visit.url("/account?changed=1"), headers={"Set-Cookie": cookie})


def _page(visit: Visit, status: int, errors: dict[str, str] | None = None, changed: bool = False) -> Response:
    return visit.show("account.html", status, errors=errors or {}, changed=changed, min_password=MIN_PASSWORD)
