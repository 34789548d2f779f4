"""Hot items: a viral moment's follows and replies arrive together, and every one of them moves the
same counters. Sharded counters and jittered retries keep them all (no 409 for X to redeliver).

moto never cancels a transaction for a conflict, so these tests run on ``ContendedDynamo``: moto
behind a lock (its transactions are not thread-safe), with DynamoDB's rule added on top: a
transaction holds its items for 10 ms, and any other transaction touching one of them meanwhile is
cancelled with ``TransactionConflict``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.community import community_summary
from chalicelib.inbox import receive_x_delivery
from chalicelib.reports import channel_summary
from chalicelib.sentiment import VaderClassifier
from chalicelib.store import Keys, Store, TransactionConflict
from tests.conftest import FakeClock, aws_client
from tests.factories import CONSUMER_SECRET, aaa_follow, signed_headers, x_reply
from tests.fakes import ContendedDynamo

ACCOUNT = "1111111"
REPLIED_TO = "1114259648326987776"  # the for_user_id of the captured reply
THREADS, PER_THREAD = 8, 25  # 200 deliveries, 8 at a time, back to back: see the rate printed below


@pytest.fixture
def contended(store: Store) -> ContendedDynamo:
    return ContendedDynamo(aws_client("dynamodb"), hold=0.02)


@pytest.fixture
def hot_store(store: Store, contended: ContendedDynamo, clock: FakeClock) -> Store:
    client: Any = contended  # a boto3 client to the store
    return Store(store.table_name, client, clock=clock, monotonic=contended.monotonic)


def deliver(store: Store, payload: dict[str, Any], clock: FakeClock, account: str = ACCOUNT) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    return receive_x_delivery(
        store,
        body=body,
        signature=signed_headers(body)["x-twitter-webhooks-signature"],
        consumer_secret=CONSUMER_SECRET,
        account_id=account,
        now=clock(),
        enqueue=lambda messages: None,
        classifier=VaderClassifier(),
    )


def together(work: Callable[[int, int], None]) -> tuple[list[BaseException], float]:
    """``work(thread, n)`` for PER_THREAD n on each of THREADS threads, all at once; the failures
    and the rate achieved (calls per second)."""
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(thread: int) -> None:
        start.wait()
        for n in range(PER_THREAD):
            try:
                work(thread, n)
            except Exception as exc:
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures, THREADS * PER_THREAD / (time.monotonic() - began)


def test_a_viral_moment_of_follows_is_all_counted_without_a_409(
    hot_store: Store, contended: ContendedDynamo, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """8 threads each deliver 25 signed follow webhooks back to back through ``receive_x_delivery``:
    200 new followers, 8 deliveries at a time, as fast as moto takes them (10-20 follows/s on the
    2 shared cores here; 9-21/s measured), every transaction holding its items 20 ms plus moto's
    own time. About half the follows meet a conflict at least once (44-120 per run); none is lost
    and none answers 409."""
    millis = int(clock().timestamp() * 1000)

    def follow(thread: int, n: int) -> None:
        user = f"{thread + 1}{n:06d}"
        assert deliver(hot_store, aaa_follow(ACCOUNT, user, millis + n), clock)["applied"] == 1

    failures, rate = together(follow)
    with capsys.disabled():
        print(f"\n{THREADS} x {PER_THREAD} follows: {rate:.0f}/s, {contended.conflicts} conflicts retried")

    assert failures == []  # no Conflict (409), nothing else
    summary = community_summary(hot_store, clock())
    assert (summary["followers"], summary["ever_followed"], summary["joined"]["today"]) == (200, 200, 200)
    assert contended.conflicts > 0  # the moment was contended: the retries, not luck, kept every follow


def test_a_viral_moment_of_replies_is_all_counted_without_a_409(
    hot_store: Store, contended: ContendedDynamo, clock: FakeClock
) -> None:
    """The same rate of replies (8 threads x 25): each moves the feedback totals and a time bucket."""

    def reply(thread: int, n: int) -> None:
        post_id, author = f"19{thread}{n:016d}", f"{thread + 1}{n:04d}"
        payload = x_reply(post_id, "Great deal, love it", "1", account=REPLIED_TO, author=author)
        assert deliver(hot_store, payload, clock, account=REPLIED_TO)["applied"] == 1

    failures, _ = together(reply)

    assert failures == []
    assert channel_summary(hot_store, clock())["sentiment"]["positive"] == 200


def test_one_unsharded_item_under_the_same_load_meets_conflicts_that_only_retries_absorb(
    hot_store: Store, contended: ContendedDynamo
) -> None:
    """The model bites: 8 writers on one item, without retries, see TransactionConflict."""
    key = Keys.community_totals(0)

    def add(thread: int, n: int) -> None:
        hot_store.transact([hot_store.op_update(key, add={"followers": 1})])

    failures, _ = together(add)
    assert failures
    assert all(isinstance(f, TransactionConflict) for f in failures)
    assert int((hot_store.get(key) or {})["followers"]) == THREADS * PER_THREAD - len(failures)
