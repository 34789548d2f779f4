"""Console sessions, CSRF tokens and the sign-in throttle.

A session is a random id in a signed cookie (HttpOnly, SameSite=Strict, Secure outside ``local``,
scoped to the console's path); the table keeps only the id's SHA-256, with the operator, the
session's CSRF token (the synchroniser token every form carries) and two expiries: 12 hours
after sign-in, or 2 hours after the last request. Signing out deletes the item, so the cookie is
dead even if someone kept a copy. A session also carries its operator's ``session_version``, and
lives only while the account has the same one: changing a password ends every other session.
Before a session exists, the sign-in form is protected by a signed double-submit cookie. Sign-ins
are counted as failures per account and per source address in 15-minute windows (items with a
TTL) before the password is checked, and a success takes its count back; past the limit sign-in
answers 429 and an alert is raised.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from chalicelib.alerts import Notify, raise_alert
from chalicelib.store import ConditionFailed, Item, Key, Keys, Store, iso
from chalicelib.store.conditions import Attr

SESSION_COOKIE = "outlet_session"
SIGN_IN_COOKIE = "outlet_sign_in"  # the pre-session CSRF nonce for the sign-in form
ABSOLUTE_LIFETIME = timedelta(hours=12)
IDLE_LIFETIME = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen is written at most this often, not on every page
SIGN_IN_FORM_LIFETIME = timedelta(hours=1)


# --- signed values ----------------------------------------------------------------------------


def _mac(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, value: str) -> str:
    return f"{value}.{_mac(key, value)}"


def unsign(key: bytes, signed: str | None) -> str | None:
    """The value, if ``signed`` carries this key's MAC for it (compared in constant time)."""
    if not signed or "." not in signed or len(signed) > 200:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(mac.encode(), _mac(key, value).encode()) else None


def same_token(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def read_cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def cookie(name: str, value: str, *, path: str, max_age: int, secure: bool) -> str:
    """A Set-Cookie value: never readable by script, never sent by another site."""
    flags = f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return f"{flags}; Secure" if secure else flags


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    digest: str
    operator_id: str
    email: str
    name: str
    csrf_token: str
    # Started by a change of password (which signed out every other session): the account page
    # says so to this session, never to someone who only followed a link to it.
    after_password_change: bool = False


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(
    store: Store, operator: Item, now: datetime, *, after_password_change: bool = False
) -> tuple[Session, str]:
    """A new session for ``operator``; returns it and the session id (the cookie's value, unsigned)."""
    session_id = secrets.token_urlsafe(32)
    session = Session(
        digest=_digest(session_id),
        operator_id=str(operator["id"]),
        email=str(operator["email"]),
        name=str(operator["name"]),
        csrf_token=secrets.token_urlsafe(32),
        after_password_change=after_password_change,
    )
    expires = now + ABSOLUTE_LIFETIME
    store.put(
        {
            **Keys.session(session.digest),
            "operator_id": session.operator_id,
            "email": session.email,
            "name": session.name,
            "csrf_token": session.csrf_token,
            "session_version": int(operator.get("session_version", 0)),
            "after_password_change": after_password_change,
            "created_at": iso(now),
            "last_seen_at": iso(now),
            "expires_at": iso(expires),
            "ttl": int(expires.timestamp()),
        }
    )
    return session, session_id


def read_session(store: Store, session_id: str | None, now: datetime) -> Session | None:
    """The live session behind a (verified) session id: not signed out, not past either expiry,
    of the very operator account it was started for (not one recreated under its email), at that
    account's ``session_version``. Two consistent reads: the session, then of its operator only
    the id and the version (the operator's key is the email the session holds)."""
    if not session_id:
        return None
    digest = _digest(session_id)
    item = store.get(Keys.session(digest), consistent=True)
    if item is None:
        return None
    last_seen = datetime.fromisoformat(str(item["last_seen_at"]))
    if now >= datetime.fromisoformat(str(item["expires_at"])) or now >= last_seen + IDLE_LIFETIME:
        return None
    found = store.batch_get([Keys.operator(str(item["email"]))], consistent=True, fields=("id", "session_version"))
    operator = found[0] if found else None
    if (
        operator is None
        or str(operator.get("id")) != str(item["operator_id"])
        or int(operator.get("session_version", 0)) != int(item.get("session_version", 0))
    ):
        store.delete(Keys.session(digest))  # its password changed (or the account is gone): over for good
        return None
    if now - last_seen >= TOUCH_EVERY:
        try:  # only while it still exists: a touch must not bring a signed-out session back
            store.update(Keys.session(digest), set={"last_seen_at": iso(now)}, condition=Attr("PK").exists())
        except ConditionFailed:
            return None
    return Session(
        digest=digest,
        operator_id=str(item["operator_id"]),
        email=str(item["email"]),
        name=str(item["name"]),
        csrf_token=str(item["csrf_token"]),
        after_password_change=bool(item.get("after_password_change")),
    )


def end_session(store: Store, session: Session) -> None:
    store.delete(Keys.session(session.digest))


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


# --- the sign-in throttle ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignInLimits:
    per_account: int = 5
    per_address: int = 20  # an office behind one address has several operators
    window: timedelta = timedelta(minutes=15)


def _window(now: datetime, limits: SignInLimits) -> datetime:
    seconds = int(limits.window.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)


def _subjects(email: str, address: str) -> list[tuple[str, str]]:
    # The email is hashed: the table need not keep every address someone typed.
    return [("account", hashlib.sha256(email.casefold().encode()).hexdigest()[:32]), ("address", address)]


def _limit(scope: str, limits: SignInLimits) -> int:
    return limits.per_account if scope == "account" else limits.per_address


def begin_sign_in(store: Store, email: str, address: str, now: datetime, limits: SignInLimits) -> dict[str, int] | None:
    """Count this attempt as a failure before the password is checked: each scope's count with it,
    or None (nothing counted) when the account or the address used up its failures in this window.
    Counting first means parallel guesses cannot all pass a check made before any of them was
    counted: at most the limit's worth are ever checked. A success takes its count back."""
    start = _window(now, limits)
    expires = int((start + limits.window + timedelta(minutes=1)).timestamp())
    counts: dict[str, int] = {}
    counted: list[Key] = []
    for scope, subject in _subjects(email, address):
        key = Keys.sign_in_failures(scope, subject, iso(start))
        room = Attr("failures").not_exists() | Attr("failures").lt(_limit(scope, limits))
        try:
            item = store.update(key, add={"failures": 1}, set={"ttl": expires}, condition=room)
        except ConditionFailed:
            for earlier in counted:  # the account's count, when the address is the one that is full
                store.update(earlier, add={"failures": -1})
            return None
        counted.append(key)
        counts[scope] = int(item["failures"])
    return counts


def record_failed_sign_in(
    store: Store,
    email: str,
    address: str,
    counts: dict[str, int],
    now: datetime,
    limits: SignInLimits,
    notify: Notify | None = None,
) -> None:
    """The attempt failed (``begin_sign_in`` counted it): the one that reached a limit raises an
    alert, once per subject and window."""
    start = _window(now, limits)
    for scope, subject in _subjects(email, address):
        if counts.get(scope, 0) != _limit(scope, limits):
            continue
        what = "one account" if scope == "account" else f"the address {address}"
        raise_alert(
            store,
            alert_id=f"sign-in-burst-{scope}-{hashlib.sha256(subject.encode()).hexdigest()[:16]}-{iso(start)}",
            kind="sign_in_burst",
            message=f"{_limit(scope, limits)} failed console sign-ins for {what} within "
            f"{int(limits.window.total_seconds() // 60)} minutes; further attempts are refused until "
            "the window ends.",
            raised_at=now,
            notify=notify,
            scope=scope,
        )


def sign_in_succeeded(store: Store, email: str, address: str, now: datetime, limits: SignInLimits) -> None:
    """A successful sign-in was no failure: the address gets its count back, and the account's
    earlier typos are forgiven."""
    (_, account), (_, source) = _subjects(email, address)
    window = iso(_window(now, limits))
    with contextlib.suppress(ConditionFailed):  # only a count that is there: never a negative one
        store.update(
            Keys.sign_in_failures("address", source, window), add={"failures": -1}, condition=Attr("failures").gt(0)
        )
    store.delete(Keys.sign_in_failures("account", account, window))
