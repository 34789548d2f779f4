"""The operator console through the API: operators and sign-in, sessions and their cookie, CSRF,
the sign-in throttle, every page with real data, and the deal forms recording who acted."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.console.sessions import SignInLimits, begin_sign_in, sign_in_succeeded
from chalicelib.store import Keys, Store
from tests.conftest import FakeClock
from tests.console_browser import (
    EMAIL,
    FORM,
    PASSWORD,
    Browser,
    create_operator,
    csrf_of,
    set_cookies,
    text,
)

# --- operators and sign-in --------------------------------------------------------------------


def test_operators_are_created_with_the_admin_token_only_and_emails_are_unique(
    api: Any, admin: dict[str, str], store: Store
) -> None:
    body = json.dumps({"name": "x", "email": EMAIL, "password": PASSWORD}).encode()
    assert api.http.post("/operators", body=body, headers={"Content-Type": "application/json"}).status_code == 401
    created = create_operator(api, admin)
    assert created.status_code == 201
    shown = json.loads(created.body)
    assert shown["email"] == EMAIL
    assert "password" not in created.body.decode()
    assert "password_hash" not in shown
    stored = store.get(Keys.operator(EMAIL))
    assert stored is not None
    assert stored["password_hash"].startswith("scrypt$32768$8$1$")
    assert PASSWORD not in stored["password_hash"]
    again = create_operator(api, admin, email="OPS@Example.com")
    assert again.status_code == 409
    short = create_operator(api, admin, email="b@example.com", password="short")
    assert short.status_code == 422
    assert set(json.loads(short.body)["error"]["fields"]) == {"password"}
    assert "short" not in short.body.decode()


def test_signing_in_sets_a_strict_http_only_session_cookie_and_leads_to_the_overview(
    api: Any, admin: dict[str, str]
) -> None:
    create_operator(api, admin)
    visitor = Browser(api)
    form = visitor.get("/console/sign-in")
    assert form.status_code == 200
    assert 'name="csrf_token"' in text(form)
    response = visitor.sign_in(email="Ops@Example.com")
    assert response.status_code == 303
    assert response.headers["Location"] == "/console"
    session_cookie = next(c for c in set_cookies(response) if c.startswith("outlet_session="))
    flags = [part.strip() for part in session_cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=43200"} <= set(flags)
    assert "Secure" not in flags  # the local stage is plain http; every other stage adds it
    overview = visitor.get("/console")
    assert overview.status_code == 200
    assert "Olivia Ops" in text(overview)
    assert ADMIN_TOKEN_NOT_IN(text(overview))


def ADMIN_TOKEN_NOT_IN(page: str) -> bool:  # noqa: N802 - reads as a sentence
    from tests.conftest import ADMIN_TOKEN

    return ADMIN_TOKEN not in page


def test_a_wrong_password_is_refused_with_the_form_again_and_no_session(api: Any, admin: dict[str, str]) -> None:
    create_operator(api, admin)
    visitor = Browser(api)
    response = visitor.sign_in(password="not the password at all")
    assert response.status_code == 401
    assert "do not match" in text(response)
    assert "outlet_session" not in visitor.jar
    assert visitor.get("/console").status_code == 303


def test_failed_sign_ins_are_limited_per_account_and_raise_one_alert(
    api: Any, admin: dict[str, str], store: Store
) -> None:
    create_operator(api, admin)
    visitor = Browser(api)
    codes = [visitor.sign_in(password=f"wrong password {n}").status_code for n in range(6)]
    assert codes == [401, 401, 401, 401, 401, 429]
    # Even the right password waits for the window to end: the throttle comes before the check.
    blocked = visitor.sign_in()
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in text(blocked)
    assert blocked.headers["Retry-After"] == "900"
    alerts = json.loads(api.http.get("/alerts", headers=admin).body)["items"]
    assert [a["kind"] for a in alerts] == ["sign_in_burst"]
    # Another operator from elsewhere is not locked out by someone guessing at this one.
    create_operator(api, admin, email="other@example.com")
    assert Browser(api).sign_in(email="other@example.com").status_code == 303


def test_failed_sign_ins_are_limited_per_source_address(api: Any, admin: dict[str, str]) -> None:
    visitor = Browser(api)
    codes = [visitor.sign_in(email=f"guess{n}@example.com", password="wrong password!").status_code for n in range(21)]
    assert codes[:20] == [401] * 20
    assert codes[20] == 429


def test_guesses_in_flight_together_count_against_the_limit_before_any_is_checked(
    store: Store, clock: FakeClock
) -> None:
    limits = SignInLimits(per_account=5, per_address=7)
    # Six guesses at one account arrive together (parallel Lambdas): none has failed yet, but each
    # is counted before its password is checked, so only five are ever checked.
    together = [begin_sign_in(store, "olivia@example.com", "203.0.113.9", clock(), limits) for _ in range(6)]
    assert [c["account"] if c else None for c in together] == [1, 2, 3, 4, 5, None]
    # A right password gives the address its count back; the address then fills with other accounts,
    # and an account refused because the address is full is not charged for it.
    sign_in_succeeded(store, "olivia@example.com", "203.0.113.9", clock(), limits)
    others = [begin_sign_in(store, f"guess{n}@example.com", "203.0.113.9", clock(), limits) for n in range(4)]
    assert [c["address"] if c else None for c in others] == [5, 6, 7, None]
    assert begin_sign_in(store, "guess3@example.com", "198.51.100.4", clock(), limits) == {"account": 1, "address": 1}


def test_without_a_session_every_console_page_redirects_to_sign_in(api: Any) -> None:
    from app import app

    for path, methods in app.routes.items():
        if not path.startswith("/console") or path in {"/console/sign-in", "/console/static/console.css"}:
            continue
        concrete = path.replace("{deal_id}", "d_1").replace("{user_id}", "42")
        for method in methods:
            if method == "POST":
                response = api.http.request(method, concrete, headers=FORM, body=b"csrf_token=x")
            else:
                response = api.http.request(method, concrete)
            assert response.status_code == 303, f"{method} {path}"
            assert response.headers["Location"] == "/console/sign-in", f"{method} {path}"


def test_a_forged_or_expired_cookie_is_no_session(browser: Browser, api: Any) -> None:
    cookie = browser.jar["outlet_session"]
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert api.http.get("/console", headers={"Cookie": f"outlet_session={forged}"}).status_code == 303
    session_id = cookie.rsplit(".", 1)[0]
    assert api.http.get("/console", headers={"Cookie": f"outlet_session={session_id}"}).status_code == 303


def test_sign_out_ends_the_session_on_the_server(browser: Browser, api: Any) -> None:
    kept = browser.jar["outlet_session"]
    response = browser.submit("/console", "/console/sign-out", {})
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/sign-in"
    assert "outlet_session=;" in next(c for c in set_cookies(response) if c.startswith("outlet_session"))
    # A copy of the old cookie is worthless: the server forgot the session.
    assert api.http.get("/console", headers={"Cookie": f"outlet_session={kept}"}).status_code == 303


def test_a_session_expires_after_its_idle_time(browser: Browser, store: Store) -> None:
    from chalicelib.console.sessions import IDLE_LIFETIME, read_session

    session_id = browser.jar["outlet_session"].rsplit(".", 1)[0]
    from chalicelib.store import utcnow

    now = utcnow()
    assert read_session(store, session_id, now) is not None
    assert read_session(store, session_id, now + IDLE_LIFETIME + timedelta(seconds=1)) is None


def test_a_session_read_never_loads_the_operators_password_hash(
    browser: Browser, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.console.sessions import read_session
    from chalicelib.store import utcnow

    # Given every item a session read gets, as it gets it
    seen: list[dict[str, Any]] = []
    get, batch_get = store.get, store.batch_get

    def recorded_get(key: Any, **options: Any) -> Any:
        item = get(key, **options)
        seen.extend([item] if item else [])
        return item

    def recorded_batch_get(keys: Any, **options: Any) -> Any:
        items = batch_get(keys, **options)
        seen.extend(items)
        return items

    monkeypatch.setattr(store, "get", recorded_get)
    monkeypatch.setattr(store, "batch_get", recorded_batch_get)
    session_id = browser.jar["outlet_session"].rsplit(".", 1)[0]
    # When the session is read, it is live, and nothing read carried the password's hash
    assert read_session(store, session_id, utcnow()) is not None
    assert len(seen) == 2
    assert not any("password_hash" in item for item in seen)


def test_an_operator_recreated_under_the_same_email_revives_no_old_session(
    browser: Browser, api: Any, admin: dict[str, str], store: Store
) -> None:
    # Given a signed-in operator whose account is deleted and created again with the same email
    store.delete(Keys.operator(EMAIL))
    assert create_operator(api, admin).status_code == 201
    # Then the old account's session signs nobody in (the new account's session_version is 0 too)
    assert browser.get("/console").status_code == 303


def test_a_post_without_the_sessions_csrf_token_is_refused(browser: Browser, api: Any, store: Store) -> None:
    no_token = browser.post("/console/deals/new", {"action": "save", **deal_form()})
    assert no_token.status_code == 403
    wrong = browser.post("/console/sign-out", {"csrf_token": "not-the-token"})
    assert wrong.status_code == 403
    assert browser.get("/console").status_code == 200  # still signed in
    # Another session's token is not this session's.
    other = Browser(api)
    other.sign_in()
    stolen = csrf_of(text(other.get("/console")))
    assert browser.post("/console/sign-out", {"csrf_token": stolen}).status_code == 403


def test_every_console_post_needs_the_sessions_csrf_token(browser: Browser) -> None:
    from app import app

    posts = [p for p, methods in app.routes.items() if p.startswith("/console/") and "POST" in methods]
    assert len(posts) >= 6  # sign-out, compose, edit, cancel, resume, the keywords: new ones join by themselves
    for path in posts:
        if path == "/console/sign-in":  # no session yet: its own signed token (the next test)
            continue
        concrete = path.replace("{deal_id}", "d_1").replace("{user_id}", "42")
        for fields in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
            assert browser.post(concrete, {"term": "outlet", **fields}).status_code == 403, (path, fields)
    assert browser.get("/console").status_code == 200  # still signed in: sign-out was refused too


def test_the_sign_in_form_needs_its_own_signed_token(api: Any, admin: dict[str, str]) -> None:
    create_operator(api, admin)
    visitor = Browser(api)
    page = text(visitor.get("/console/sign-in"))
    refused = visitor.post("/console/sign-in", {"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 403
    stranger = Browser(api)  # a token from a page served to someone else, without their cookie
    assert (
        stranger.post(
            "/console/sign-in", {"csrf_token": csrf_of(page), "email": EMAIL, "password": PASSWORD}
        ).status_code
        == 403
    )


def test_every_console_page_carries_the_security_headers(browser: Browser) -> None:
    for path in ("/console", "/console/sign-in", "/console/deals", "/console/inbox", "/console/alerts"):
        response = browser.get(path)
        headers = response.headers
        assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_the_dashboard_redirects_to_the_console(api: Any) -> None:
    response = api.http.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["Location"] == "console"


def test_the_stylesheet_is_served_from_the_console_itself(api: Any, browser: Browser) -> None:
    response = api.http.get("/console/static/console.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    page = text(browser.get("/console"))
    assert '<link rel="stylesheet" href="/console/static/console.css">' in page
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


# --- deals through the forms ------------------------------------------------------------------


def deal_form(**changes: str) -> dict[str, str]:
    from chalicelib.store import utcnow

    release = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "XPS 13 Refurbished",
        "price": "799",
        "list_price": "999",
        "currency": "USD",
        "code": "XPS13",
        "url": "https://www.dell.com/outlet",
        "quantity": "",
        "release_at": release,
        "timezone": "Europe/Paris",
        "expires_at": "",
        "text": "",
        **changes,
    }


def test_a_bad_price_re_renders_the_form_with_422_and_the_message_beside_the_field(browser: Browser) -> None:
    response = browser.submit(
        "/console/deals/new", "/console/deals/new", {"action": "save", **deal_form(price="12,50")}
    )
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'<input id="price" name="price"[^>]*value="12,50"', page)
    error = re.search(r'<p class="field-error" id="price-error" data-field="price">([^<]+)</p>', page)
    assert error
    assert "amount above 0" in error.group(1)
    assert 'value="XPS 13 Refurbished"' in page  # what was typed stays


def test_rules_across_fields_are_shown_beside_their_field(browser: Browser) -> None:
    response = browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", **deal_form(price="1200")})
    assert response.status_code == 422
    assert 'data-field="price">The price must be below the list price.' in text(response)
    zone = browser.submit(
        "/console/deals/new", "/console/deals/new", {"action": "save", **deal_form(timezone="Mars/Olympus")}
    )
    assert zone.status_code == 422
    assert 'data-field="timezone">Unknown time zone' in text(zone)


def test_preview_shows_the_exact_post_and_its_weighted_length_without_saving(
    browser: Browser, admin: dict[str, str], api: Any
) -> None:
    response = browser.submit("/console/deals/new", "/console/deals/new", {"action": "preview", **deal_form()})
    assert response.status_code == 200
    page = text(response)
    assert "XPS 13 Refurbished: $799 (was $999, 20% off) with code XPS13. https://www.dell.com/outlet" in page
    assert 'data-length="85"' in page
    assert "85 of 280 weighted characters" in page
    assert json.loads(api.http.get("/deals", headers=admin).body)["items"] == []


def test_a_deal_created_through_the_form_is_scheduled_in_the_forms_time_zone_by_its_operator(
    browser: Browser, api: Any, admin: dict[str, str]
) -> None:
    form = deal_form(release_at="2030-06-01T09:30", timezone="Europe/Paris", quantity="5")
    response = browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", **form})
    assert response.status_code == 303
    deal_id = response.headers["Location"].rsplit("/", 1)[-1]
    deal = json.loads(api.http.get(f"/deals/{deal_id}", headers=admin).body)
    assert deal["release_at"] == "2030-06-01T07:30:00.000000Z"  # 09:30 in Paris in summer
    assert deal["created_by"] == EMAIL
    assert deal["quantity"] == 5
    queue = text(browser.get("/console/deals"))
    assert f'data-deal-id="{deal_id}"' in queue
    page = text(browser.get(f"/console/deals/{deal_id}"))
    assert 'data-testid="created-by">ops@example.com' in page


def test_a_near_repeat_is_warned_of_in_the_preview_and_refused_on_save(browser: Browser) -> None:
    browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", **deal_form()})
    again = deal_form(code="XPS13B", title="XPS 13 Refurbished!")
    preview = browser.submit("/console/deals/new", "/console/deals/new", {"action": "preview", **again})
    assert 'data-testid="repeat-warning"' in text(preview)
    saved = browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", **again})
    assert saved.status_code == 409
    assert 'data-field="text">This post repeats or nearly repeats' in text(saved)


def test_a_scheduled_deal_is_edited_and_cancelled_through_forms_recording_who(
    browser: Browser, api: Any, admin: dict[str, str]
) -> None:
    created = browser.submit("/console/deals/new", "/console/deals/new", {"action": "save", **deal_form()})
    deal_id = created.headers["Location"].rsplit("/", 1)[-1]
    edit_page = text(browser.get(f"/console/deals/{deal_id}/edit"))
    assert 'value="XPS13"' in edit_page
    assert 'value="UTC"' in edit_page
    edited = browser.submit(
        f"/console/deals/{deal_id}/edit",
        f"/console/deals/{deal_id}/edit",
        {"action": "save", **deal_form(title="XPS 15 Refurbished", price="899", list_price="1199", timezone="UTC")},
    )
    assert edited.status_code == 303
    deal = json.loads(api.http.get(f"/deals/{deal_id}", headers=admin).body)
    assert (deal["title"], deal["price"], deal["updated_by"], deal["created_by"]) == (
        "XPS 15 Refurbished",
        "899.00",
        EMAIL,
        EMAIL,
    )
    confirm = browser.get(f"/console/deals/{deal_id}/cancel")
    assert confirm.status_code == 200
    assert "Yes, cancel the deal" in text(confirm)
    cancelled = browser.submit(f"/console/deals/{deal_id}/cancel", f"/console/deals/{deal_id}/cancel", {})
    assert cancelled.status_code == 303
    deal = json.loads(api.http.get(f"/deals/{deal_id}", headers=admin).body)
    assert (deal["status"], deal["cancelled_by"]) == ("cancelled", EMAIL)
    assert "Edit" not in text(browser.get(f"/console/deals/{deal_id}")).split("deal-facts")[0].split("<h1")[1]
    assert browser.get(f"/console/deals/{deal_id}/edit").status_code == 409
    activity = text(browser.get("/console/alerts"))
    assert activity.count(EMAIL) >= 3
    assert "deal cancelled" in activity


def test_an_unknown_deal_is_a_404_page(browser: Browser) -> None:
    response = browser.get("/console/deals/d_nope")
    assert response.status_code == 404
    assert "no deal d_nope" in text(response)


def test_a_successful_sign_in_forgives_the_accounts_earlier_typos(api: Any, admin: dict[str, str]) -> None:
    create_operator(api, admin)
    visitor = Browser(api)
    assert [visitor.sign_in(password=f"typo number {n}").status_code for n in range(4)] == [401] * 4
    assert visitor.sign_in().status_code == 303
    assert [Browser(api).sign_in(password=f"typo again {n}").status_code for n in range(4)] == [401] * 4
    assert Browser(api).sign_in().status_code == 303


def test_cookies_are_secure_outside_the_local_stage(cloud: Any) -> None:
    from chalice.test import Client

    from app import app

    # The dev stage's environment (STAGE=dev): secrets from the stack's Secrets Manager secret.
    with Client(app, stage_name="dev") as client:
        form = client.http.get("/console/sign-in")
    assert form.status_code == 200
    assert set_cookies(form)[0].endswith("; Secure")


def test_behind_the_api_stage_the_console_keeps_its_prefix() -> None:
    from chalice.app import Request

    from chalicelib.console.routes import _root

    def request(resource: str, seen: str, params: dict[str, str] | None = None) -> Request:
        context = {"resourcePath": resource, "path": seen, "httpMethod": "GET"}
        event = {
            "multiValueQueryStringParameters": None,
            "headers": {},
            "pathParameters": params,
            "requestContext": context,
            "body": None,
            "stageVariables": None,
        }
        return Request(event)

    assert _root(request("/console/deals/{deal_id}", "/api/console/deals/d_1", {"deal_id": "d_1"})) == "/api/console"
    assert _root(request("/console", "/console")) == "/console"
    assert _root(request("/console/inbox", "/console/inbox")) == "/console"


def test_a_form_posted_without_a_button_saves_like_the_schedule_button(
    browser: Browser, api: Any, admin: dict[str, str]
) -> None:
    # A script posting the form's fields (no submit button's name) schedules the deal.
    release = "2031-01-15T10:00:00Z"  # a full ISO 8601 time is taken as it is
    response = browser.submit("/console/deals/new", "/console/deals/new", deal_form(release_at=release, timezone=""))
    assert response.status_code == 303
    deal_id = response.headers["Location"].rsplit("/", 1)[-1]
    deal = json.loads(api.http.get(f"/deals/{deal_id}", headers=admin).body)
    assert (deal["status"], deal["release_at"]) == ("scheduled", "2031-01-15T10:00:00.000000Z")


def test_the_patterns_page_shows_every_component(browser: Browser) -> None:
    page = text(browser.get("/console/patterns"))
    components = ('class="figure"', 'class="field-error"', "<svg", 'data-testid="feedback-item"', "notice-bad")
    for component in (*components, 'data-testid="waiting"'):
        assert component in page, component


# --- changing a password ----------------------------------------------------------------------


NEW_PASSWORD = "a brand new passphrase here"


def change(browser: Browser, current: str = PASSWORD, new: str = NEW_PASSWORD, again: str | None = None) -> Any:
    fields = {"current_password": current, "new_password": new, "repeat_password": new if again is None else again}
    return browser.submit("/console/account", "/console/account", fields)


def test_changing_the_password_ends_the_operators_other_sessions_and_rotates_this_one(
    browser: Browser, api: Any
) -> None:
    # Given the operator signed in twice (a laptop and a phone), and a copy of this session's cookie
    phone = Browser(api)
    assert phone.sign_in().status_code == 303
    before = browser.jar["outlet_session"]
    # When they change their password here
    response = change(browser)
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/account?changed=1"
    # Then this browser goes on under a new session id, the phone and the old cookie are signed out
    assert browser.jar["outlet_session"] != before
    shown = browser.get("/console/account?changed=1")
    assert shown.status_code == 200
    assert "Your password is changed" in text(shown)
    assert phone.get("/console").status_code == 303
    assert api.http.get("/console", headers={"Cookie": f"outlet_session={before}"}).status_code == 303
    # And only the new password signs in
    assert Browser(api).sign_in().status_code == 401
    assert Browser(api).sign_in(password=NEW_PASSWORD).status_code == 303


def test_a_link_to_the_changed_notice_claims_nothing_for_a_session_that_changed_nothing(browser: Browser) -> None:
    shown = browser.get("/console/account?changed=1")
    assert shown.status_code == 200
    assert "Your password is changed" not in text(shown)
    assert "signed out" not in text(shown)


def test_a_password_changed_by_the_admin_path_ends_every_session(browser: Browser, store: Store) -> None:
    from chalicelib.operators import set_password

    set_password(store, EMAIL, NEW_PASSWORD)
    assert browser.get("/console").status_code == 303


def test_setting_the_password_an_operator_has_ends_no_session(browser: Browser, store: Store) -> None:
    # `make run` with restored state sets the local operator's password again: the same one
    from chalicelib.operators import set_password

    set_password(store, EMAIL, PASSWORD)
    assert browser.get("/console").status_code == 200


def test_the_loser_of_two_racing_password_changes_is_told_so_and_not_counted_as_a_guess(
    browser: Browser, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import operators
    from chalicelib.operators import hash_password

    # Given another change of the password that commits between this one's check and its write
    # (to the same password, newly salted, so each attempt here still types the right one)
    checked = operators.verify_password

    def raced(password: str, stored: str) -> bool:
        right = checked(password, stored)
        store.update(Keys.operator(EMAIL), set={"password_hash": hash_password(PASSWORD)})
        return right

    monkeypatch.setattr(operators, "verify_password", raced)
    # When this browser changes it (again and again, more than the guesses allowed)
    answers = [change(browser) for _ in range(6)]
    # Then it is told the password just changed, never that it typed a wrong one, nor throttled
    assert [a.status_code for a in answers] == [409] * 6
    assert "changed elsewhere just now" in text(answers[0])
    assert "not your current password" not in text(answers[0])


def test_a_wrong_or_unrepeated_password_change_says_what_to_fix_and_changes_nothing(browser: Browser, api: Any) -> None:
    wrong = change(browser, current="not my password at all")
    assert wrong.status_code == 401
    assert "not your current password" in text(wrong)
    differ = change(browser, again="something else entirely")
    assert differ.status_code == 422
    assert "differ" in text(differ)
    short = change(browser, new="short")
    assert short.status_code == 422
    assert 'id="new_password-error"' in text(short)
    assert browser.get("/console").status_code == 200  # still signed in
    assert Browser(api).sign_in().status_code == 303  # the old password still works


def test_guessing_the_current_password_is_throttled_like_sign_in(browser: Browser) -> None:
    codes = [change(browser, current=f"wrong password {n}").status_code for n in range(6)]
    assert codes[:4] == [401] * 4
    assert 429 in codes
    throttled = change(browser)
    assert "Too many wrong passwords" in text(throttled)
    assert throttled.headers["Retry-After"] == "900"
