"""Shared fixtures: an in-process moto cloud provisioned from infra/template.json, the store on it,
and a Chalice test client whose environment points at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.provision import Stack, provision
from tests.factories import SHOPIFY_SECRET

ADMIN_TOKEN = "test-admin-token-0123456789"
REGION = "us-east-1"


class FakeClock:
    """An aware-UTC clock that tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def aws_client(service: str) -> Any:
    session: Any = boto3.session.Session(region_name=REGION)  # Any: the stubs want literal names
    return session.client(service)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach real AWS: fake credentials, a fixed region, no endpoint override."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """moto with the template's resources, and the app's environment pointing at them."""
    from chalicelib import deps

    deps.new_container()  # the app's Store (and its memory) belongs to the previous test's table
    with mock_aws():
        stack = provision(aws_client, stage="local")
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("STAGE", "local")
        monkeypatch.setenv("ADMIN_TOKEN", ADMIN_TOKEN)
        monkeypatch.setenv("X_CONSUMER_SECRET", "test-consumer-secret")
        monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRET", SHOPIFY_SECRET)
        monkeypatch.setenv("X_ACCOUNT_ID", "1111111")
        yield stack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(cloud: Stack, clock: FakeClock) -> Any:
    from chalicelib.store import Store

    return Store(cloud.environment["TABLE_NAME"], aws_client("dynamodb"), clock=clock)


@pytest.fixture
def api(cloud: Stack) -> Iterator[Any]:
    from app import app
    from localcloud.gateway import Client

    with Client(app, stage_name="local") as client:
        yield client


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def browser(api: Any, admin: dict[str, str]) -> Any:
    """The console through the API's client, as an operator signed in (tests/browser/ has its own
    ``browser``: a real chromium)."""
    from tests.console_browser import signed_in_browser

    return signed_in_browser(api, admin)
