"""The X publisher is built on first use: a stage still being set up (no account id, no X
credentials yet) runs its schedules without errors until there is something to publish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import deps
from chalicelib.config import ConfigurationError
from chalicelib.releases import release_due_deals


def test_schedules_with_nothing_to_publish_need_no_x_configuration(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER", "x")
    monkeypatch.setenv("X_ACCOUNT_ID", "")
    publisher = deps.publisher()
    report = release_due_deals(deps.store(), publisher, deps.release_policy(), datetime.now(UTC))
    assert report.released == []
    with pytest.raises(ConfigurationError, match="X_ACCOUNT_ID"):
        publisher.post("A deal", key="deal-1")  # the misconfiguration shows where it matters
