"""Configuration read from the environment at call time, and the secrets.

Light on purpose (no pydantic here): X's CRC check, the health probe and a follow read only the
stage, the secret's ARN, the log level, the table and the brand's X account (``load_runtime``).
Everything else is the pydantic settings model in ``chalicelib.settings``, which ``load_settings``
imports on first use.

Secrets come from AWS Secrets Manager in the cloud (the secret's ARN in ``SECRET_ARN``) and from
plain environment variables only in the ``local`` stage.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:
    from chalicelib.settings import Settings

Stage = Literal["local", "dev", "prod"]
STAGES: tuple[Stage, ...] = get_args(Stage)
DEFAULT_STAGE: Stage = "local"


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured: an operator must fix it; no caller input can cause it."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting, validated (pydantic, imported here on first use). Built per call: cheap, and
    always current."""
    from chalicelib.settings import read_settings

    return read_settings(os.environ if environ is None else environ)


class Where(Protocol):
    """Where the secrets live: what ``SecretsProvider`` needs of the settings."""

    @property
    def stage(self) -> Stage: ...
    @property
    def secret_arn(self) -> str | None: ...


@dataclass(frozen=True)
class Runtime:
    """The settings a light route needs, read without the settings model (and without pydantic)."""

    stage: Stage
    secret_arn: str | None
    log_level: str
    table_name: str = "outlet-local"
    x_account_id: str = ""


def load_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    env = os.environ if environ is None else environ
    stage = env.get("STAGE") or DEFAULT_STAGE
    if stage not in STAGES:
        raise ConfigurationError(f"invalid environment: stage must be one of {', '.join(STAGES)}, not {stage!r}")
    return Runtime(
        stage=stage,
        secret_arn=env.get("SECRET_ARN") or None,
        log_level=env.get("LOG_LEVEL") or "INFO",
        table_name=env.get("TABLE_NAME") or "outlet-local",
        x_account_id=env.get("X_ACCOUNT_ID") or "",
    )


class Secret:
    """A credential that never shows in a repr, a str or a log line (like pydantic's SecretStr)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_EMPTY = Secret("")


@dataclass(frozen=True)
class Secrets:
    """The credentials outlet holds, each a ``Secret``."""

    admin_token: Secret
    x_consumer_key: Secret = _EMPTY
    x_consumer_secret: Secret = _EMPTY
    x_access_token: Secret = _EMPTY
    x_access_token_secret: Secret = _EMPTY
    shopify_webhook_secret: Secret = _EMPTY
    # Signs the console's cookies. Optional: without it a key is derived from admin_token.
    session_signing_key: Secret = _EMPTY


SECRET_NAMES = tuple(f.name for f in fields(Secrets))


def secrets_from_environ(environ: Mapping[str, str]) -> Secrets:
    """The local stage's secrets: the same names as the cloud secret's keys, upper-cased."""
    values = {name: Secret(environ[name.upper()]) for name in SECRET_NAMES if environ.get(name.upper())}
    if "admin_token" not in values:
        raise ConfigurationError("ADMIN_TOKEN is not set")
    return Secrets(**values)


class SecretsProvider:
    """Reads the secret once per container and keeps it for ``max_age`` seconds.

    A warm container answers from memory, so X's CRC check needs no AWS call; the age limit lets
    a rotated secret reach running containers without a redeploy.
    """

    def __init__(
        self,
        fetch_secret_string: Callable[[str], str],
        max_age: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch_secret_string
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, Secrets]] = {}

    def get(self, where: Where, environ: Mapping[str, str] | None = None) -> Secrets:
        if where.stage == "local":
            return secrets_from_environ(os.environ if environ is None else environ)
        if not where.secret_arn:
            raise ConfigurationError("SECRET_ARN is not set")
        arn = where.secret_arn
        with self._lock:
            hit = self._cached.get(arn)
            if hit is not None and self._clock() - hit[0] < self._max_age:
                return hit[1]
        secrets = parse_secret(self._fetch(arn))
        with self._lock:
            self._cached[arn] = (self._clock(), secrets)
        return secrets


def parse_secret(secret_string: str) -> Secrets:
    """The cloud secret: a JSON object with a string ``admin_token`` and, optionally, the other
    names as strings; other keys are ignored. The error never carries the secret's content."""
    try:
        data: Any = json.loads(secret_string)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("admin_token"), str):
        raise ConfigurationError("the secret is not a JSON object with an admin_token") from None
    wrong = [name for name in SECRET_NAMES if name in data and not isinstance(data[name], str)]
    if wrong:
        raise ConfigurationError(f"the secret's {', '.join(wrong)} must be strings") from None
    return Secrets(**{name: Secret(data[name]) for name in SECRET_NAMES if name in data})
