"""Configuration: one settings model read from the environment at call time, and the secrets.

Secrets come from AWS Secrets Manager in the cloud (the secret's ARN in ``SECRET_ARN``) and from
plain environment variables only in the ``local`` stage.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

Stage = Literal["local", "dev", "prod"]


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured: an operator must fix it; no caller input can cause it."""


class Settings(BaseModel):
    """Everything outlet reads from its environment. Built per call: cheap, and always current."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Stage = "local"
    table_name: str = "outlet-local"
    delivery_queue_url: str | None = None
    secret_arn: str | None = None
    x_account_id: str = ""
    publisher: Literal["outbox", "x"] = "outbox"
    log_level: str = "INFO"
    min_release_gap_minutes: float = Field(default=60, ge=0)  # fractions allowed: local demos use seconds
    release_lease_seconds: int = Field(default=120, ge=31)  # longer than the function timeout (30 s)
    release_max_attempts: int = Field(default=3, ge=1, le=10)
    x_fee_post_usd: Decimal = Decimal("0.015")
    x_fee_post_with_url_usd: Decimal = Decimal("0.20")
    x_fee_dm_usd: Decimal = Decimal("0.015")
    x_monthly_budget_usd: Decimal | None = None
    alerts_topic_arn: str | None = None
    spike_window_minutes: int = Field(default=60, ge=5)
    spike_negative_share: Decimal = Field(default=Decimal("0.40"), gt=0, le=1)
    spike_min_items: int = Field(default=10, ge=1)
    dm_budget_per_15_minutes: int = Field(default=15, ge=1)
    dm_budget_per_day: int = Field(default=1440, ge=1)
    welcome_interval_hours: int = Field(default=168, ge=1)
    welcome_settle_minutes: int = Field(default=10, ge=0)
    welcome_dm_enabled: bool = False
    welcome_dm_text: str = Field(default="Thanks for following! Reply DEALS to get our deals by DM.", min_length=1)
    welcome_dm_budget: int = Field(default=100, ge=0)
    # When set (the API's public base URL), deal posts carry <base>/r/<code>, which counts clicks.
    short_link_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")
    answer_alert_minutes: int = Field(default=120, ge=1)  # an item waiting longer raises one alert
    count_test_orders: bool | None = None  # Shopify test orders; counted by default only locally
    # Listening's recent search (chalicelib.listening.search): requests per run, posts read a month.
    listening_requests_per_run: int = Field(default=10, ge=1, le=100)
    listening_monthly_reads: int = Field(default=10_000, ge=0)
    x_fee_read_usd: Decimal = Decimal("0.005")

    @property
    def counts_test_orders(self) -> bool:
        return self.stage == "local" if self.count_test_orders is None else self.count_test_orders


_ENV_NAMES = {name: name.upper() for name in Settings.model_fields}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values = {field: env[var] for field, var in _ENV_NAMES.items() if env.get(var, "") != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid environment: {exc}") from exc


class Secrets(BaseModel):
    """The credentials outlet holds. ``SecretStr`` keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    admin_token: SecretStr
    x_consumer_key: SecretStr = SecretStr("")
    x_consumer_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    x_access_token_secret: SecretStr = SecretStr("")
    shopify_webhook_secret: SecretStr = SecretStr("")
    # Signs the console's cookies. Optional: without it a key is derived from admin_token.
    session_signing_key: SecretStr = SecretStr("")


def secrets_from_environ(environ: Mapping[str, str]) -> Secrets:
    """The local stage's secrets: the same names as the cloud secret's keys, upper-cased."""
    values = {name: environ[name.upper()] for name in Secrets.model_fields if environ.get(name.upper())}
    if "admin_token" not in values:
        raise ConfigurationError("ADMIN_TOKEN is not set")
    return Secrets.model_validate(values)


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

    def get(self, settings: Settings, environ: Mapping[str, str] | None = None) -> Secrets:
        if settings.stage == "local":
            return secrets_from_environ(os.environ if environ is None else environ)
        if not settings.secret_arn:
            raise ConfigurationError("SECRET_ARN is not set")
        arn = settings.secret_arn
        with self._lock:
            hit = self._cached.get(arn)
            if hit is not None and self._clock() - hit[0] < self._max_age:
                return hit[1]
        secrets = _parse_secret(self._fetch(arn))
        with self._lock:
            self._cached[arn] = (self._clock(), secrets)
        return secrets


def _parse_secret(secret_string: str) -> Secrets:
    try:
        data: Any = json.loads(secret_string)
        return Secrets.model_validate(data)
    except (ValueError, ValidationError):
        # `from None`: pydantic's error would carry the secret's content into the traceback.
        raise ConfigurationError("the secret is not a JSON object with an admin_token") from None
