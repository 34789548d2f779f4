"""`make demo`'s clock: the seeder moves the server's ``utcnow`` through a file, only forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.store import utcnow
from localcloud.demo import DemoClock, install_server_clock


def close(a: datetime, b: datetime) -> bool:
    return abs(a - b) < timedelta(seconds=5)


def test_the_server_clock_follows_the_seeders_moves_and_returns_to_real_time(tmp_path: Path) -> None:
    clock = DemoClock(tmp_path / "clock")
    undo = install_server_clock(clock.path)
    try:
        assert close(utcnow(), datetime.now(UTC))  # no file yet: real time
        month_ago = datetime.now(UTC) - timedelta(days=30)
        clock.move_to(month_ago)
        assert close(utcnow(), month_ago)
        assert utcnow().tzinfo is not None
        clock.move_to(month_ago + timedelta(days=2))
        assert close(utcnow(), month_ago + timedelta(days=2))
        clock.move_to(month_ago + timedelta(days=1))  # never backwards
        assert close(utcnow(), month_ago + timedelta(days=2))
        clock.release()
        assert close(utcnow(), datetime.now(UTC))
    finally:
        undo()
    clock.move_to(datetime.now(UTC) + timedelta(days=3))
    assert close(utcnow(), datetime.now(UTC))  # uninstalled: the file no longer matters
