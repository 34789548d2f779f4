"""Settings from the environment at call time; secrets from the environment only locally, else from
Secrets Manager, read once per container."""

from __future__ import annotations

import dataclasses
import json

import pytest

from chalicelib.config import ConfigurationError, SecretsProvider, load_runtime, load_settings

CLOUD_SECRET = json.dumps(
    {"admin_token": "cloud-token", "x_consumer_secret": "cs", "shopify_webhook_secret": "ss", "unused": "x"}
)


class CountingFetch:
    def __init__(self, value: str = CLOUD_SECRET) -> None:
        self.value = value
        self.calls = 0

    def __call__(self, arn: str) -> str:
        self.calls += 1
        return self.value


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = load_settings({"STAGE": "prod", "TABLE_NAME": "outlet-prod", "X_ACCOUNT_ID": "42", "OTHER": "x"})
    assert (settings.stage, settings.table_name, settings.x_account_id) == ("prod", "outlet-prod", "42")
    assert settings.publisher == "outbox"
    assert settings.min_release_gap_minutes == 60


def test_a_bad_setting_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="min_release_gap_minutes"):
        load_settings({"MIN_RELEASE_GAP_MINUTES": "soon"})
    with pytest.raises(ConfigurationError, match="stage"):
        load_settings({"STAGE": "staging"})


def test_the_local_stage_reads_secrets_from_the_environment_and_never_from_aws() -> None:
    fetch = CountingFetch()
    provider = SecretsProvider(fetch)
    settings = load_settings({"STAGE": "local"})
    secrets = provider.get(settings, {"ADMIN_TOKEN": "local-token", "X_CONSUMER_SECRET": "c"})
    assert secrets.admin_token.get_secret_value() == "local-token"
    assert secrets.x_consumer_secret.get_secret_value() == "c"
    assert fetch.calls == 0


def test_the_local_stage_without_an_admin_token_is_misconfigured() -> None:
    with pytest.raises(ConfigurationError, match="ADMIN_TOKEN"):
        SecretsProvider(CountingFetch()).get(load_settings({"STAGE": "local"}), {})


def test_cloud_stages_ignore_secret_environment_variables() -> None:
    provider = SecretsProvider(CountingFetch())
    settings = load_settings({"STAGE": "prod", "SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s"})
    secrets = provider.get(settings, {"ADMIN_TOKEN": "from-plain-env"})
    assert secrets.admin_token.get_secret_value() == "cloud-token"


def test_the_cloud_secret_is_fetched_once_per_container_until_it_ages_out() -> None:
    fetch = CountingFetch()
    now = [1000.0]
    provider = SecretsProvider(fetch, max_age=300, clock=lambda: now[0])
    settings = load_settings({"STAGE": "dev", "SECRET_ARN": "arn:s"})
    for _ in range(5):
        provider.get(settings)
    assert fetch.calls == 1
    now[0] += 301
    provider.get(settings)
    assert fetch.calls == 2


def test_a_malformed_secret_is_reported_without_its_content() -> None:
    provider = SecretsProvider(CountingFetch('{"x_consumer_secret": "hunter2"}'))
    with pytest.raises(ConfigurationError) as raised:
        provider.get(load_settings({"STAGE": "dev", "SECRET_ARN": "arn:s"}))
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_cloud_stages_need_the_secret_arn() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_ARN"):
        SecretsProvider(CountingFetch()).get(load_settings({"STAGE": "dev"}))


def test_secrets_never_show_in_a_repr() -> None:
    secrets = SecretsProvider(CountingFetch()).get(load_settings({"STAGE": "dev", "SECRET_ARN": "arn:s"}))
    assert "cloud-token" not in repr(secrets)
    assert "cloud-token" not in str(secrets) + str(dataclasses.asdict(secrets))
    assert "cloud-token" not in f"{secrets.admin_token} {secrets.admin_token!r}"


def test_a_secret_whose_values_are_not_strings_is_refused() -> None:
    provider = SecretsProvider(CountingFetch('{"admin_token": "t", "x_consumer_secret": 42}'))
    with pytest.raises(ConfigurationError, match="x_consumer_secret"):
        provider.get(load_settings({"STAGE": "dev", "SECRET_ARN": "arn:s"}))


def test_the_light_runtime_settings_agree_with_the_settings_model() -> None:
    env = {"STAGE": "prod", "SECRET_ARN": "arn:s", "LOG_LEVEL": "DEBUG", "TABLE_NAME": "t", "X_ACCOUNT_ID": "42"}
    for environ in (env, {}, {"STAGE": "", "SECRET_ARN": "", "TABLE_NAME": "", "X_ACCOUNT_ID": ""}):
        runtime, settings = load_runtime(environ), load_settings(environ)
        light = (runtime.stage, runtime.secret_arn, runtime.log_level, runtime.table_name, runtime.x_account_id)
        assert light == (
            settings.stage,
            settings.secret_arn,
            settings.log_level,
            settings.table_name,
            settings.x_account_id,
        )
    assert load_runtime({}) == load_runtime({"STAGE": "", "SECRET_ARN": ""})
    with pytest.raises(ConfigurationError, match="stage"):
        load_runtime({"STAGE": "staging"})
