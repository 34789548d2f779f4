"""The peer for the follow path: the same follow handled the common way, with Powertools'
idempotency utility (``idempotent_function`` on a ``DynamoDBPersistenceLayer`` with its own
table) wrapping a put of the follower and an update of the follower counter.

A duplicate comes twice: to the container that committed the follow (outlet remembers it: no
request) and to another one (a fresh memory: outlet's one refused transaction). The peer runs with
Powertools' defaults, as the usual pattern does: no local cache (``use_local_cache`` would spare
its same-container duplicate the request too).

Both run on the same in-process moto, in the same run, taking turns event by event (moto slows
as its tables grow, so neither gets the emptier table). Requests are counted with a botocore
``before-call`` hook on each side's client. Time is wall time per follow in this process, and
also without the time moto itself spends answering (what the code costs beside the round trips,
which on DynamoDB are network waits: outlet makes one per follow, the peer up to four).

moto 5.2.5 deep-copies every table a TransactWriteItems touches (outlet's one request per follow)
and applies every operation of a transaction whose condition fails before undoing them;
DynamoDB does neither. So the figures come twice: on moto as shipped, and on moto with
``localcloud.moto_fixes`` (the undo log of touched items that `make run` uses). The patch is
process-wide: run the fixed round last.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Row = Callable[[str, str, str, str], None]
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PEER_TABLE = "peer-community"
PEER_IDEMPOTENCY_TABLE = "peer-idempotency"


class Emulator:
    """Seconds moto spends answering requests in this process (its botocore stubber, timed)."""

    seconds = 0.0

    @classmethod
    @contextlib.contextmanager
    def timed(cls) -> Iterator[None]:
        from moto.core.botocore_stubber import BotocoreStubber

        answer = BotocoreStubber.__call__

        def timed_answer(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return answer(self, event_name, request, **kwargs)
            finally:
                cls.seconds += time.perf_counter() - start

        stubber: Any = BotocoreStubber  # Any: timing a method is the point here
        stubber.__call__ = timed_answer
        try:
            yield
        finally:
            stubber.__call__ = answer


@dataclass
class Side:
    """One way of handling a follow, and what it cost so far."""

    handle: Callable[[Any], Any]
    requests: int = 0
    seconds: float = 0.0
    in_moto: float = 0.0

    def count(self, **_: Any) -> None:
        self.requests += 1

    def run(self, change: Any) -> None:
        start, moto_before = time.perf_counter(), Emulator.seconds
        self.handle(change)
        self.seconds += time.perf_counter() - start
        self.in_moto += Emulator.seconds - moto_before

    def totals(self) -> tuple[int, float, float]:
        return self.requests, self.seconds, self.seconds - self.in_moto


class _LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _create_tables(ddb: Any) -> None:
    on_demand = {"BillingMode": "PAY_PER_REQUEST"}
    ddb.create_table(
        TableName=PEER_IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        **on_demand,
    )
    ddb.create_table(
        TableName=PEER_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        **on_demand,
    )


def powertools_follow(ddb: Any) -> Callable[[Any], Any]:
    """The usual pattern: the handler made idempotent on the event's id, then two plain writes."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=PEER_IDEMPOTENCY_TABLE, boto3_client=ddb)
    config = IdempotencyConfig(event_key_jmespath="event_id")
    context: Any = _LambdaContext()  # as in Lambda: records carry an in-progress expiry
    config.register_lambda_context(context)

    def record_follow(follow: dict[str, Any]) -> dict[str, Any]:
        ddb.put_item(
            TableName=PEER_TABLE,
            Item={
                "pk": {"S": f"follower#{follow['user_id']}"},
                "handle": {"S": follow["handle"]},
                "status": {"S": "following"},
                "followed_at": {"S": follow["occurred_at"]},
            },
        )
        ddb.update_item(
            TableName=PEER_TABLE,
            Key={"pk": {"S": "community#totals"}},
            UpdateExpression="ADD followers :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        return {"applied": True}

    idempotent: Any = idempotent_function(data_keyword_argument="follow", persistence_store=persistence, config=config)
    record_once = idempotent(record_follow)

    def handle(change: Any) -> Any:
        follow = {
            "event_id": change.event_id,
            "user_id": change.follower.id,
            "handle": change.follower.handle,
            "occurred_at": change.occurred_at.isoformat(),
        }
        return record_once(follow=follow)

    return handle


def bench_peer(row: Row, *, fixed_moto: bool, n: int = 200) -> None:
    from moto import mock_aws

    from localcloud import moto_fixes

    if fixed_moto:
        moto_fixes.install()
    moto = "moto + localcloud fixes" if fixed_moto else "moto 5.2.5 as shipped"

    from chalicelib.community import record_follow_change
    from chalicelib.store import Store
    from chalicelib.x.events import FollowChange, XUser
    from localcloud.provision import provision

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)  # the peer runs as in production

    def follow(user: int) -> FollowChange:
        at = START + timedelta(seconds=user)
        return FollowChange(
            kind="follow",
            event_id=f"follow-{user}",
            occurred_at=at,
            follower=XUser(id=str(70_000 + user), handle=f"u{user}"),
        )

    with Emulator.timed(), mock_aws():
        import boto3

        session: Any = boto3.session.Session(region_name="us-east-1")
        stack = provision(session.client, stage="local")
        outlet_client, peer_client = session.client("dynamodb"), session.client("dynamodb")
        _create_tables(peer_client)
        store = Store(stack.environment["TABLE_NAME"], outlet_client)
        # Another container: the same table through a Store of its own, remembering nothing yet.
        elsewhere = Store(stack.environment["TABLE_NAME"], outlet_client)
        on: dict[str, Store] = {"store": store}
        outlet = Side(lambda change: record_follow_change(on["store"], change))
        peer = Side(powertools_follow(peer_client))
        outlet_client.meta.events.register("before-call.*.*", outlet.count)
        peer_client.meta.events.register("before-call.*.*", peer.count)
        for side in (outlet, peer):  # one unmeasured follow each: first-call costs out of the way
            side.run(follow(-1))

        events = [follow(u) for u in range(n)]
        cases = {
            "new follower": store,
            "duplicate, same container (outlet remembers what it committed)": store,
            "duplicate, another container (a fresh memory: outlet asks the table)": elsewhere,
        }
        for case, container in cases.items():
            on["store"] = container
            before = {"outlet": outlet.totals(), "peer": peer.totals()}
            for event in events:
                outlet.run(event)
                peer.run(event)
            (o_requests, o_wall, o_own), (p_requests, p_wall, p_own) = (
                tuple((now - then) / n for now, then in zip(side.totals(), before[name], strict=True))
                for name, side in (("outlet", outlet), ("peer", peer))
            )
            row(
                f"follow vs Powertools idempotency peer: {case} ({moto})",
                f"outlet {o_requests:.2f} requests, {o_wall * 1000:.2f} ms ({o_own * 1000:.2f} ms outside moto)",
                f"peer {p_requests:.2f} requests, {p_wall * 1000:.2f} ms ({p_own * 1000:.2f} ms outside moto)",
                f"requests {o_requests / p_requests:.2f}x, time {o_wall / p_wall:.2f}x,"
                f" outside moto {o_own / p_own:.2f}x (target <= 0.6)",
            )
