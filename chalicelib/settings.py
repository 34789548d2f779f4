"""The settings model: everything outlet reads from its environment, validated by pydantic.

Loaded by ``chalicelib.config.load_settings`` on first use: the light routes (the CRC, health)
read the few values they need through ``chalicelib.config.load_runtime`` and never import pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.config import DEFAULT_STAGE, ConfigurationError, Stage


class Settings(BaseModel):
    """Everything outlet reads from its environment. Built per call: cheap, and always current."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Stage = DEFAULT_STAGE
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


def read_settings(env: Mapping[str, str]) -> Settings:
    values = {field: env[var] for field, var in _ENV_NAMES.items() if env.get(var, "") != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid environment: {exc}") from exc
