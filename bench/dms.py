"""DM figures for `make bench`: what waiting alerts cost per 15-minute window (against the budget,
not the number waiting), what a DM sent costs, and what the fan-out into the queue costs.

Every AWS request the app makes is counted with a botocore ``before-call`` hook on the moto-backed
clients (DynamoDB and SQS). X is a stand-in that makes no AWS request, as the X publisher in the
cloud makes none either."""

from __future__ import annotations

import contextlib
import os
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

Row = Callable[[str, str, str, str], None]
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class _X:
    """X as the drain sees it: every DM goes out; nothing is stored anywhere we count."""

    def __init__(self) -> None:
        self.sent = 0

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Any:
        from chalicelib.publishing import Published

        self.sent += 1
        return Published(id=f"dm-{self.sent}", created_at=START)

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Any:
        return None

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Any:
        raise NotImplementedError

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Any:
        raise NotImplementedError

    def find_post(self, text: str, *, key: str) -> Any:
        return None


@contextlib.contextmanager
def _one_table_copy_per_transaction() -> Iterator[None]:
    """moto deep-copies the whole table once per operation of a transaction, for its rollback (a
    hundred copies for a 100-operation one). One copy per transaction rolls back just the same and
    lets the bench hold 10,000 waiting alerts. It changes moto's time, never what the app asks."""
    import copy

    from moto.dynamodb import models

    real = getattr(models, "copy")  # noqa: B009 - the module moto imported, swapped during a call

    def deepcopy_per_call(transact: Callable[..., Any]) -> Callable[..., Any]:
        def call(backend: Any, transact_items: Any) -> Any:
            copies: dict[int, Any] = {}

            def once(obj: Any, memo: Any = None) -> Any:
                if id(obj) not in copies:
                    copies[id(obj)] = copy.deepcopy(obj)
                return copies[id(obj)]

            setattr(models, "copy", types.SimpleNamespace(deepcopy=once))  # noqa: B010
            try:
                return transact(backend, transact_items)
            finally:
                setattr(models, "copy", real)  # noqa: B010

        return call

    original = models.DynamoDBBackend.transact_write_items
    models.DynamoDBBackend.transact_write_items = deepcopy_per_call(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


class _Cloud:
    """moto with the template's resources, every request the app makes counted."""

    def __init__(self, session: Any) -> None:
        from chalicelib.store import Store
        from localcloud.provision import provision

        self.now = START
        stack = provision(session.client, stage="local")
        self.ddb, self.sqs = session.client("dynamodb"), session.client("sqs")
        self.queue = stack.environment["DELIVERY_QUEUE_URL"]
        self.store = Store(stack.environment["TABLE_NAME"], self.ddb, clock=lambda: self.now)
        self.requests = 0
        for client in (self.ddb, self.sqs):
            client.meta.events.register("before-call.*.*", self._count)

    def _count(self, **_: Any) -> None:
        self.requests += 1

    def subscribers(self, n: int) -> None:
        from chalicelib.store import Keys

        self.store.batch_put(
            {
                **Keys.subscriber(str(u)),
                **Keys.subscriber_index(START - timedelta(days=1, seconds=-u), str(u)),
                "user_id": str(u),
                "status": "subscribed",
            }
            for u in range(1, n + 1)
        )
        self.store.put({**Keys.deal("d1"), "id": "d1", "status": "released", "post_text": "Deal"})


def _fan_out(subscribers: int) -> tuple[float, float]:
    """Requests per 100 subscribers to queue a deal's alerts, and the seconds moto took."""
    from moto import mock_aws

    from chalicelib.deal_alerts import fan_out
    from chalicelib.delivery import enqueue

    with mock_aws(), _one_table_copy_per_transaction():
        import boto3

        cloud = _Cloud(boto3.session.Session(region_name="us-east-1"))
        cloud.subscribers(subscribers)
        continuing: list[Any] = []

        def enqueue_and_follow(messages: Any) -> None:
            enqueue(cloud.sqs, cloud.queue, messages)  # the event source would deliver it: the loop plays that
            continuing.extend(messages)

        before, started = cloud.requests, time.perf_counter()
        fan_out(cloud.store, enqueue_and_follow, "d1", START)
        while continuing:
            continuing.pop()
            fan_out(cloud.store, enqueue_and_follow, "d1", START)
        return (cloud.requests - before) / subscribers * 100, time.perf_counter() - started


def _waiting(waiting: int) -> dict[str, float]:
    """``waiting`` alerts queued for one deal (written as the fan-out writes them), then two
    15-minute windows of the drain, run every minute."""
    from moto import mock_aws

    from chalicelib.deal_alerts import ACTIVE
    from chalicelib.direct_messages import DmPolicy, drain_dms
    from chalicelib.dm_queue import entry
    from chalicelib.store import Keys

    with mock_aws(), _one_table_copy_per_transaction():
        import boto3

        cloud = _Cloud(boto3.session.Session(region_name="us-east-1"))
        cloud.subscribers(waiting)
        cloud.store.batch_put(
            entry("d1", f"{u:08d}", key=f"alert-d1-{u}", to=str(u), now=START, alert_of="d1")
            for u in range(1, waiting + 1)
        )
        cloud.store.put(
            {
                **Keys.dm_campaign("d1"),
                **Keys.dm_campaign_index(START, "d1"),
                "deal_id": "d1",
                "status": ACTIVE,
                "queued": waiting,
                "taken": 0,
                "fanned_out": True,
            }
        )
        cloud.store.put({**Keys.dm_totals(), "waiting": waiting})
        x = _X()
        windows: list[tuple[int, int, int]] = []  # (requests, of which runs that sent nothing, DMs sent)
        for _ in range(2):
            before, sent_before, idle = cloud.requests, x.sent, 0
            for _ in range(15):  # the schedule fires every minute
                run_before = cloud.requests
                report = drain_dms(cloud.store, x, DmPolicy(), lambda: cloud.now, lambda: 30.0)
                if not report.sent:
                    idle += cloud.requests - run_before
                cloud.now += timedelta(minutes=1)
            windows.append((cloud.requests - before, idle, x.sent - sent_before))
        left = int(cloud.store.get(Keys.dm_totals())["waiting"])  # type: ignore[index]
        if left != waiting - x.sent:
            raise RuntimeError(f"{left} DMs waiting, expected {waiting - x.sent}")
    requests = sum(w[0] for w in windows) / len(windows)
    idle_requests = sum(w[1] for w in windows) / len(windows)
    sent = sum(w[2] for w in windows) / len(windows)
    return {
        "window": requests,
        "idle_run": idle_requests / 14,
        "sent": sent,
        "per_dm": (requests - idle_requests) / sent,
    }


def bench_dms(row: Row) -> None:
    import logging

    from chalicelib.deal_alerts import FAN_OUT_PAGE

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.getLogger("outlet").setLevel(logging.WARNING)  # one line per DM sent
    sizes = [int(n) for n in os.environ.get("BENCH_DM_WAITING", "1000,10000").split(",")]
    figures = {n: _waiting(n) for n in sizes}
    floor = 15 * 1 + 15 * 2  # a run reads at least whether it may send; a DM takes a claim and a record
    for n, f in figures.items():
        row(
            f"DMs waiting ({n:,}): AWS requests per 15-min window",
            f"{f['window']:.0f} ({f['sent']:.0f} DMs sent; a run with the window spent: {f['idle_run']:.0f})",
            f"15 runs x 1 read + 15 DMs x 2 writes = {floor}; old design >= {n:,} (each waiting DM retried)",
            f"{f['window'] / floor:.2f}x",
        )
    smallest, largest = figures[sizes[0]], figures[sizes[-1]]
    row(
        f"DMs waiting: window requests at {sizes[-1]:,} / at {sizes[0]:,}",
        f"{largest['window']:.0f} / {smallest['window']:.0f}",
        "no term in the waiting count: 100,000 waiting costs the same (extrapolated, not run on moto)",
        f"{largest['window'] / smallest['window']:.2f}x",
    )
    row(
        "DM sent (claim, send, record)",
        f"{largest['per_dm']:.2f} requests",
        "claim transaction + record transaction = 2",
        f"{largest['per_dm'] / 2:.2f}x (the rest: queue page, look-ups, campaign, per run)",
    )
    fan_n = int(os.environ.get("BENCH_DM_FAN_OUT", "2000"))
    per100, seconds = _fan_out(fan_n)
    fan_floor = 2 * -(-fan_n // FAN_OUT_PAGE) / fan_n * 100
    row(
        f"deal alert fan-out into the DM queue ({fan_n:,} subscribers)",
        f"{per100:.2f} requests / 100, {seconds:.1f} s",
        f"a page read + a transaction per {FAN_OUT_PAGE} = {fan_floor:.2f} / 100",
        f"{per100 / fan_floor:.2f}x (before: 10.60 / 100, all to SQS)",
    )
