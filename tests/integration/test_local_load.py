"""`make run` under concurrent senders: the load bench's driver at a small size, with its checks
and none of its timings (those are `make bench`'s)."""

from __future__ import annotations

from pathlib import Path

from bench.load import run_load
from localcloud.run import STOP_DEADLINE_SECONDS


def test_make_run_stays_exact_under_concurrent_duplicated_x_and_shopify_deliveries(tmp_path: Path) -> None:
    # Given `make run`, a released deal, and 4 senders of 150 signed X deliveries each (both
    # envelopes, follows and unfollows, a quarter of them duplicates, shuffled) plus 40 orders for
    # the deal's code, each delivered 1 to 4 times
    result = run_load(tmp_path, senders=4, x_deliveries=4 * 150, orders=40)
    # Then nothing failed, and the community and the sales, as the next start restores them,
    # equal a replay of the distinct events; SIGTERM straight after the load stopped it (the
    # bound is a hang check, not a timing)
    assert result.server_errors == 0, result.summary()
    assert set(result.statuses) == {200}, result.summary()
    assert (result.lost, result.extra, result.mismatches) == (0, 0, []), result.summary()
    assert result.figures["orders"] == 40
    assert result.stop_seconds < STOP_DEADLINE_SECONDS
