"""The console's routes, as one Chalice blueprint (app.py registers it in one line).

Each route reads the request into a ``Visit`` and calls one view. Every page needs a live session
(else 303 to sign-in); every POST needs the session's CSRF token (else 403). ``chalicelib.http``
leaves these routes to this module: the admin token is never asked for, nor shown, here.

Each route imports the console's modules in its body (as app.py does): registering the blueprint
at import must not load jinja2, pydantic or boto3 for the routes that are not the console's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from chalice.app import Blueprint, Request, Response

from chalicelib import deps
from chalicelib.errors import ApiError

if TYPE_CHECKING:
    from chalicelib.console import views

console = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]


def _request() -> Request:
    request = console.current_request
    if request is None:  # pragma: no cover - only outside an HTTP invocation
        raise RuntimeError("no current request")
    return request


def _root(request: Request) -> str:
    """The console's path as the browser sees it: behind API Gateway's stage it is /api/console."""
    concrete = str(request.context.get("resourcePath", ""))
    for name, value in (request.uri_params or {}).items():
        concrete = concrete.replace(f"{{{name}}}", value)
    seen = str(request.context.get("path") or concrete)
    prefix = seen[: -len(concrete)] if concrete and seen.endswith(concrete) else ""
    return f"{prefix.rstrip('/')}/console"


def _secure() -> bool:
    return deps.settings().stage != "local"


def _address(request: Request) -> str:
    return str((request.context.get("identity") or {}).get("sourceIp") or "unknown")


def _visit(request: Request) -> views.Visit:
    from chalicelib.console import sessions, views
    from chalicelib.console.forms import MAX_FORM_BYTES, read_form
    from chalicelib.store import utcnow

    raw = request.raw_body or b""
    if len(raw) > MAX_FORM_BYTES:
        raw = b""
    key = deps.session_key()
    store = deps.store()
    now = utcnow()
    session_id = sessions.unsign(key, sessions.read_cookie(request.headers.get("cookie"), sessions.SESSION_COOKIE))
    return views.Visit(
        store=store,
        now=now,
        root=_root(request),
        session=sessions.read_session(store, session_id, now),
        form=read_form(raw) if request.method == "POST" else {},
        query=dict(request.query_params or {}),
        link_base=deps.settings().short_link_base_url,
        posted=request.method == "POST",
    )


def _guarded(view: Callable[[views.Visit], Response]) -> Response:
    """A page behind the session: sign-in first; a POST must carry the session's CSRF token."""
    from chalicelib.console import sessions
    from chalicelib.console.render import redirect

    request = _request()
    visit = _visit(request)
    if visit.session is None:
        return redirect(visit.url("/sign-in"))
    if request.method == "POST" and not sessions.same_token(visit.form.get("csrf_token"), visit.session.csrf_token):
        return visit.show(
            "error.html",
            403,
            message="This form is out of date or came from another site: go back, reload the page and try again.",
        )
    try:
        return view(visit)
    except ApiError as exc:
        return visit.show("error.html", exc.status, message=exc.message)


@console.route("/console/static/console.css")
def console_css() -> Response:
    from chalicelib.console.render import stylesheet

    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/css; charset=utf-8",
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=stylesheet(), status_code=200, headers=headers)


@console.route("/console/sign-in", methods=["GET"])
def sign_in_form() -> Response:
    from chalicelib.console.render import redirect

    visit = _visit(_request())
    if visit.session is not None:
        return redirect(visit.url())
    return _sign_in_page(visit, 200, error=None)


def _sign_in_page(visit: views.Visit, status: int, error: str | None, email: str = "") -> Response:
    from chalicelib.console import sessions
    from chalicelib.console.render import page

    nonce = sessions.new_nonce()
    signed = sessions.sign(deps.session_key(), nonce)
    max_age = int(sessions.SIGN_IN_FORM_LIFETIME.total_seconds())
    set_cookie = sessions.cookie(sessions.SIGN_IN_COOKIE, signed, path=visit.root, max_age=max_age, secure=_secure())
    return page(
        "sign_in.html",
        status,
        headers={"Set-Cookie": set_cookie},
        root=visit.root,
        session=None,
        csrf_token=nonce,
        error=error,
        email=email,
    )


@console.route("/console/sign-in", methods=["POST"], content_types=FORM)
def sign_in() -> Response:
    from chalicelib.console import sessions
    from chalicelib.console.render import page, redirect

    limits = sessions.SignInLimits()
    request = _request()
    visit = _visit(request)
    key = deps.session_key()
    expected = sessions.unsign(key, sessions.read_cookie(request.headers.get("cookie"), sessions.SIGN_IN_COOKIE))
    if not sessions.same_token(visit.form.get("csrf_token"), expected):
        return page(
            "error.html",
            403,
            root=visit.root,
            session=None,
            message="The sign-in form expired or came from another site: reload it and try again.",
        )
    email = visit.form.get("email", "").strip().lower()[:254]
    password = visit.form.get("password", "")
    address = _address(request)
    counts = sessions.begin_sign_in(visit.store, email, address, visit.now, limits)
    if counts is None:
        minutes = int(limits.window.total_seconds() // 60)
        return page(
            "error.html",
            429,
            headers={"Retry-After": str(minutes * 60)},
            root=visit.root,
            session=None,
            message=f"Too many failed sign-ins. Wait {minutes} minutes, then try again.",
        )
    from chalicelib.operators import check_credentials

    operator = check_credentials(visit.store, email, password)
    if operator is None:
        sessions.record_failed_sign_in(visit.store, email, address, counts, visit.now, limits, notify=deps.notify_alert)
        return _sign_in_page(visit, 401, error="That email and password do not match an operator.", email=email)
    sessions.sign_in_succeeded(visit.store, email, address, visit.now, limits)
    _, session_id = sessions.start_session(visit.store, operator, visit.now)
    max_age = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
    cookies = [
        sessions.cookie(
            sessions.SESSION_COOKIE, sessions.sign(key, session_id), path=visit.root, max_age=max_age, secure=_secure()
        ),
        sessions.cookie(sessions.SIGN_IN_COOKIE, "", path=visit.root, max_age=0, secure=_secure()),
    ]
    return redirect(visit.url(), headers={"Set-Cookie": cookies})


@console.route("/console/sign-out", methods=["POST"], content_types=FORM)
def sign_out() -> Response:
    from chalicelib.console import sessions
    from chalicelib.console.render import redirect

    def end(visit: views.Visit) -> Response:
        if visit.session is not None:
            sessions.end_session(visit.store, visit.session)
        gone = sessions.cookie(sessions.SESSION_COOKIE, "", path=visit.root, max_age=0, secure=_secure())
        return redirect(visit.url("/sign-in"), headers={"Set-Cookie": gone})

    return _guarded(end)


@console.route("/console/account", methods=["GET"])
def account() -> Response:
    from chalicelib.console import account

    return _guarded(lambda visit: account.account(visit, _address(_request()), _secure()))


@console.route("/console/account", methods=["POST"], content_types=FORM)
def change_password() -> Response:
    from chalicelib.console import account

    return _guarded(lambda visit: account.account(visit, _address(_request()), _secure()))


@console.route("/console")
def overview() -> Response:
    from chalicelib.console import views

    return _guarded(views.overview)


@console.route("/console/deals")
def deals() -> Response:
    from chalicelib.console import views

    return _guarded(views.deals)


@console.route("/console/deals/new", methods=["GET"])
def compose() -> Response:
    from chalicelib.console import views

    return _guarded(views.new_deal)


@console.route("/console/deals/new", methods=["POST"], content_types=FORM)
def compose_post() -> Response:
    from chalicelib.console import views

    return _guarded(views.new_deal)


@console.route("/console/deals/{deal_id}")
def deal(deal_id: str) -> Response:
    from chalicelib.console import views

    return _guarded(lambda visit: views.deal_page(visit, deal_id))


@console.route("/console/deals/{deal_id}/edit", methods=["GET"])
def edit_deal(deal_id: str) -> Response:
    from chalicelib.console import views

    return _guarded(lambda visit: views.edit_deal(visit, deal_id))


@console.route("/console/deals/{deal_id}/edit", methods=["POST"], content_types=FORM)
def edit_deal_post(deal_id: str) -> Response:
    from chalicelib.console import views

    return _guarded(lambda visit: views.edit_deal(visit, deal_id))


@console.route("/console/deals/{deal_id}/cancel", methods=["GET"])
def cancel_deal(deal_id: str) -> Response:
    from chalicelib.console import views

    return _guarded(lambda visit: views.cancel(visit, deal_id))


@console.route("/console/deals/{deal_id}/cancel", methods=["POST"], content_types=FORM)
def cancel_deal_post(deal_id: str) -> Response:
    from chalicelib.console import views

    return _guarded(lambda visit: views.cancel(visit, deal_id))


@console.route("/console/inbox")
def inbox() -> Response:
    from chalicelib.console import views

    return _guarded(views.inbox)


@console.route("/console/inbox/{feedback_id}")
def conversation(feedback_id: str) -> Response:
    from chalicelib.console import answering

    return _guarded(lambda visit: answering.thread(visit, unquote(feedback_id)))


@console.route("/console/inbox/{feedback_id}/answer", methods=["POST"], content_types=FORM)
def answer(feedback_id: str) -> Response:
    from chalicelib.console import answering

    return _guarded(lambda visit: answering.answer(visit, unquote(feedback_id)))


@console.route("/console/inbox/{feedback_id}/dismiss", methods=["POST"], content_types=FORM)
def dismiss(feedback_id: str) -> Response:
    from chalicelib.console import answering

    return _guarded(lambda visit: answering.dismiss_item(visit, unquote(feedback_id)))


@console.route("/console/saved-replies", methods=["GET"])
def saved_replies() -> Response:
    from chalicelib.console import answering

    return _guarded(answering.saved_replies)


@console.route("/console/saved-replies", methods=["POST"], content_types=FORM)
def add_saved_reply() -> Response:
    from chalicelib.console import answering

    return _guarded(answering.add_saved)


@console.route("/console/saved-replies/remove", methods=["POST"], content_types=FORM)
def remove_saved_reply() -> Response:
    from chalicelib.console import answering

    return _guarded(answering.remove_saved)


@console.route("/console/response-times")
def response_times() -> Response:
    from chalicelib.console import answering

    return _guarded(answering.response_times)


@console.route("/console/community")
def community() -> Response:
    from chalicelib.console import views

    return _guarded(views.community)


@console.route("/console/people")
def people_search() -> Response:
    from chalicelib.console import people

    return _guarded(people.people)


@console.route("/console/people/{user_id}")
def person(user_id: str) -> Response:
    from chalicelib.console import people

    return _guarded(lambda visit: people.person(visit, unquote(user_id)))


@console.route("/console/people/{user_id}/erase", methods=["POST"], content_types=FORM)
def erase_person(user_id: str) -> Response:
    from chalicelib.console import people

    return _guarded(lambda visit: people.erase(visit, unquote(user_id)))


@console.route("/console/patterns")
def patterns() -> Response:
    from chalicelib.console import views

    return _guarded(views.patterns)


@console.route("/console/alerts")
def alerts() -> Response:
    from chalicelib.console import views

    return _guarded(views.alerts)


@console.route("/console/alerts/resume", methods=["POST"], content_types=FORM)
def resume() -> Response:
    from chalicelib.console import views

    return _guarded(views.resume)


@console.route("/console/listening")
def listening() -> Response:
    from chalicelib.console import listening

    return _guarded(listening.page)


@console.route("/console/listening/rules", methods=["POST"], content_types=FORM)
def add_listening_rule() -> Response:
    from chalicelib.console import listening

    return _guarded(listening.add)


@console.route("/console/listening/rules/remove", methods=["POST"], content_types=FORM)
def remove_listening_rule() -> Response:
    from chalicelib.console import listening

    return _guarded(listening.remove)


@console.route("/console/listening/posts/{post_id}/answer", methods=["POST"], content_types=FORM)
def answer_listening_post(post_id: str) -> Response:
    from chalicelib.console import listening

    return _guarded(lambda visit: listening.answer(visit, unquote(post_id)))
