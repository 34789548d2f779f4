"""Console sessions, CSRF tokens and the sign-in throttle.

A session is a random id in a signed cookie (HttpOnly, SameSite=Strict, Secure outside ``local``,
scoped to the console's path); the table keeps only the id's SHA-256, with the operator, the
session's CSRF token (the synchroniser token every form carries) and two expiries: 12 hours
after sign-in, or 2 hours after the last request. Signing out deletes the item, so the cookie is
dead even if someone kept a copy. Before a session exists, the sign-in form is protected by a
signed double-submit cookie. Failed sign-ins are counted per account and per source address in
15-minute windows (items with a TTL); past the limit sign-in answers 429 and an alert is raised.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from boto3.dynamodb.conditions import Attr

from chalicelib.alerts import Notify, raise_alert
from chalicelib.store import ConditionFailed, Item, Keys, Store, iso

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


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(store: Store, operator: Item, now: datetime) -> tuple[Session, str]:
    """A new session for ``operator``; returns it and the session id (the cookie's value, unsigned)."""
    session_id = secrets.token_urlsafe(32)
    session = Session(
        digest=_digest(session_id),
        operator_id=str(operator["id"]),
        email=str(operator["email"]),
        name=str(operator["name"]),
        csrf_token=secrets.token_urlsafe(32),
    )
    expires = now + ABSOLUTE_LIFETIME
    store.put(
        {
            **Keys.session(session.digest),
            "operator_id": session.operator_id,
            "email": session.email,
            "name": session.name,
            "csrf_token": session.csrf_token,
            "created_at": iso(now),
            "last_seen_at": iso(now),
            "expires_at": iso(expires),
            "ttl": int(expires.timestamp()),
        }
    )
    return session, session_id


def read_session(store: Store, session_id: str | None, now: datetime) -> Session | None:
    """The live session behind a (verified) session id: not signed out, not past either expiry."""
    if not session_id:
        return None
    digest = _digest(session_id)
    item = store.get(Keys.session(digest), consistent=True)
    if item is None:
        return None
    last_seen = datetime.fromisoformat(str(item["last_seen_at"]))
    if now >= datetime.fromisoformat(str(item["expires_at"])) or now >= last_seen + IDLE_LIFETIME:
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


def sign_in_blocked(store: Store, email: str, address: str, now: datetime, limits: SignInLimits) -> bool:
    """True when the account or the address used up its failures in this window."""
    window = iso(_window(now, limits))
    keys = [
        (Keys.sign_in_failures(scope, subject, window), _limit(scope, limits))
        for scope, subject in _subjects(email, address)
    ]
    limit_of = {key["PK"]: limit for key, limit in keys}
    found = store.batch_get(key for key, _ in keys)
    return any(int(item.get("failures", 0)) >= limit_of[str(item["PK"])] for item in found)


def record_failed_sign_in(
    store: Store, email: str, address: str, now: datetime, limits: SignInLimits, notify: Notify | None = None
) -> None:
    """Count a failure; the one that reaches a limit raises an alert (once per subject and window)."""
    start = _window(now, limits)
    expires = int((start + limits.window + timedelta(minutes=1)).timestamp())
    for scope, subject in _subjects(email, address):
        counted = store.update(
            Keys.sign_in_failures(scope, subject, iso(start)), add={"failures": 1}, set={"ttl": expires}
        )
        if int(counted["failures"]) == _limit(scope, limits):
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


def clear_failures(store: Store, email: str, now: datetime, limits: SignInLimits) -> None:
    """A successful sign-in forgives the account's earlier typos (not the address's)."""
    scope, subject = _subjects(email, "")[0]
    store.delete(Keys.sign_in_failures(scope, subject, iso(_window(now, limits))))
