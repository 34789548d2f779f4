"""Operators: the people who run the channel from the console. One account per email
(case-insensitive), the password kept only as a salted scrypt hash.

scrypt is memory-hard: N=2**15, r=8, p=1 takes 32 MiB and about 0.1 s per guess on one core, so a
stolen table is slow to attack on GPUs; the parameters are stored with each hash, so raising
them later leaves older hashes readable. Verification compares in constant time and costs the
same for an unknown email, so timing does not tell which emails have accounts.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.errors import Conflict
from chalicelib.store import AlreadyExists, ConditionFailed, Item, Keys, Store, iso
from chalicelib.store.conditions import Attr

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024  # twice the 32 MiB the parameters need (128 * N * r bytes)
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD, MAX_PASSWORD = 12, 256  # long passphrases welcome; the cap bounds the hashing work
_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,63}$"


class OperatorFields(BaseModel):
    """``POST /operators``: who the operator is and the password they will sign in with."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    email: str = Field(max_length=254, pattern=_EMAIL)
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$key`` (base64): the parameters travel with the hash."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, expected)


@functools.cache
def _decoy_hash() -> str:
    """Checked against when the email has no account, so a miss costs what a hit costs."""
    return hash_password(secrets.token_urlsafe(16))


def new_operator_id() -> str:
    return f"op_{secrets.token_hex(6)}"


def create_operator(store: Store, fields: OperatorFields, now: datetime) -> Item:
    operator_id = new_operator_id()
    item: Item = {
        **Keys.operator(fields.email),
        **Keys.operator_index(now, operator_id),
        "id": operator_id,
        "name": fields.name,
        "email": fields.email,
        "password_hash": hash_password(fields.password),
        "created_at": iso(now),
    }
    try:
        store.put_new(item)
    except AlreadyExists:
        raise Conflict(f"an operator with the email {fields.email} exists", fields={"email": "taken"}) from None
    return public_operator(item)


def set_password(store: Store, email: str, password: str) -> None:
    """Replace an operator's password (``make run`` resets the local operator's to the one it prints),
    ending every session they have: a session lives only while its ``session_version`` is the
    account's. The password they have already changes nothing (a restart keeps its sessions)."""
    operator = find_operator(store, email)
    if operator is not None and verify_password(password, str(operator.get("password_hash", ""))):
        return
    store.update(Keys.operator(email), set={"password_hash": hash_password(password)}, add={"session_version": 1})


class PasswordChangedMeanwhile(Exception):
    """The current password was right, but another change of it committed first."""


class NewPassword(BaseModel):
    """The console's change of password: the current one, and the new one typed twice."""

    model_config = ConfigDict(extra="ignore")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    repeat_password: str = Field(max_length=MAX_PASSWORD)


def change_password(store: Store, email: str, change: NewPassword) -> int | None:
    """The operator's password becomes the new one if the current one is right: returns the new
    session version (sessions of any other version are over), or None when the current password
    is wrong. The update is conditional on the hash that was checked, so two changes racing each
    other cannot both pass on the old password: the loser gets ``PasswordChangedMeanwhile``."""
    operator = find_operator(store, email)
    stored = str(operator["password_hash"]) if operator else _decoy_hash()
    if not verify_password(change.current_password, stored) or operator is None:
        return None
    try:
        item = store.update(
            Keys.operator(email),
            set={"password_hash": hash_password(change.new_password)},
            add={"session_version": 1},
            condition=Attr("password_hash").eq(stored),
        )
    except ConditionFailed:
        raise PasswordChangedMeanwhile(email) from None
    return int(item["session_version"])


def find_operator(store: Store, email: str) -> Item | None:
    return store.get(Keys.operator(email), consistent=True)


def check_credentials(store: Store, email: str, password: str) -> Item | None:
    """The operator whose email and password these are, or None; the same work either way."""
    if not email or len(email) > 254 or not 0 < len(password) <= MAX_PASSWORD:
        verify_password(password[:MAX_PASSWORD], _decoy_hash())
        return None
    operator = find_operator(store, email)
    stored = str(operator["password_hash"]) if operator else _decoy_hash()
    matches = verify_password(password, stored)
    if not operator or not matches:
        return None
    # The version read with the hash just checked: a password changed after this read ends the
    # session this sign-in starts, even when the two race.
    return {**public_operator(operator), "session_version": session_version(operator)}


def session_version(operator: Item) -> int:
    """Which sessions of this operator are live: the ones started since the last password change."""
    return int(operator.get("session_version", 0))


def public_operator(item: Item) -> dict[str, Any]:
    return {name: item[name] for name in ("id", "name", "email", "created_at")}
