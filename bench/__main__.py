"""`make bench`: prints a table of figures, each with the floor it is measured against in the same
run. Figures are ratios, never pass/fail: a regression shows as a ratio that grew."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.dms import bench_dms
from bench.listening import bench_listening
from bench.peer_idempotency import bench_peer
from bench.sentiment import bench_sentiment

PROJECT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-only-webhook-secret"  # noqa: S105 - signs payloads made up in this process
ROWS: list[tuple[str, str, str, str]] = []
COLD_PAIRS = 9  # fresh processes per cold-start case, alternated with their floors


def row(name: str, value: str, floor: str, ratio: str) -> None:
    ROWS.append((name, value, floor, ratio))


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_cold() -> None:
    """Fresh processes as new Lambda containers (bench/cold.py), each case taking turns with its
    floors: X's CRC against ``import boto3`` (and ``import chalice``), a first follow against
    ``import boto3`` plus the one DynamoDB transaction a follow makes, and the CRC as the cloud
    runs it (the secret from Secrets Manager: boto3 loads)."""
    from bench.cold import (
        IMPORT_BOTO3,
        IMPORT_CHALICE,
        ExtensionStandIn,
        alternated,
        alternated_in,
        answered,
        client_for,
        invoke_script,
        lambda_task,
        median_ms,
        median_ratio,
        moto_endpoint,
        rest_event,
        signed_follow,
        transaction_script,
    )

    local = {**os.environ, "ADMIN_TOKEN": "bench", "X_CONSUMER_SECRET": BENCH_SECRET, "STAGE": "local"}
    crc = invoke_script(rest_event("GET", "/webhooks/x", query={"crc_token": "Y2hhbGxlbmdl"}))
    answered(crc, local)
    cases = {"crc": lambda i: crc, "boto3": lambda i: IMPORT_BOTO3, "chalice": lambda i: IMPORT_CHALICE}
    seen = alternated(cases, local, pairs=COLD_PAIRS)
    row(
        f"CRC, cold container: a fresh process imports app, answers one CRC (median of {COLD_PAIRS} pairs;"
        " until answered, and until the process exited)",
        f"{median_ms(seen, 'crc'):.0f} ms ({median_ms(seen, 'crc', exited=True):.0f} ms)",
        f"import boto3 {median_ms(seen, 'boto3'):.0f} ms ({median_ms(seen, 'boto3', exited=True):.0f} ms);"
        f" import chalice {median_ms(seen, 'chalice'):.0f} ms",
        f"{median_ratio(seen, 'crc', 'boto3'):.2f}x import boto3 (target <= 1.0;"
        f" exited {median_ratio(seen, 'crc', 'boto3', exited=True):.2f}x);"
        f" {median_ratio(seen, 'crc', 'chalice'):.2f}x import chalice",
    )

    with moto_endpoint() as aws:
        env = {**local, **aws, "X_ACCOUNT_ID": "2244994945"}
        table = aws["TABLE_NAME"]
        cases = {
            "follow": lambda i: invoke_script(
                signed_follow(env["X_ACCOUNT_ID"], str(9_000_000 + i), 1_764 * 10**9 + i, BENCH_SECRET)
            ),
            # A follow's one transaction: the follower, two counters, its handle entry and the entry's pointer.
            "floor": lambda i: transaction_script(table, str(i), items=5),
            # The same with the framework the shape fixes: what no Chalice app can go below.
            "framed": lambda i: f"{IMPORT_CHALICE}\n{transaction_script(table, f'c{i}', items=5)}",
            "boto3": lambda i: IMPORT_BOTO3,
        }
        answered(cases["follow"](-2), env)
        seen = alternated(cases, env, pairs=COLD_PAIRS)
        row(
            "follow webhook, cold container: import app, one signed follow (moto server;"
            " until answered, and until the process exited)",
            f"{median_ms(seen, 'follow'):.0f} ms ({median_ms(seen, 'follow', exited=True):.0f} ms)",
            f"import boto3 + client + 1 transaction {median_ms(seen, 'floor'):.0f} ms"
            f" ({median_ms(seen, 'floor', exited=True):.0f} ms; import boto3 alone {median_ms(seen, 'boto3'):.0f} ms)",
            f"{median_ratio(seen, 'follow', 'floor'):.2f}x (target <= 1.0;"
            f" exited {median_ratio(seen, 'follow', 'floor', exited=True):.2f}x)",
        )
        row(
            "follow webhook, cold container, beside the same floor with Chalice imported first",
            f"{median_ms(seen, 'follow'):.0f} ms ({median_ms(seen, 'follow', exited=True):.0f} ms)",
            f"import chalice + import boto3 + client + 1 transaction {median_ms(seen, 'framed'):.0f} ms"
            f" ({median_ms(seen, 'framed', exited=True):.0f} ms)",
            f"{median_ratio(seen, 'follow', 'framed'):.2f}x"
            f" (exited {median_ratio(seen, 'follow', 'framed', exited=True):.2f}x)",
        )

        # Lambda runs the zip from a read-only /var/task: what Python compiles there is never cached.
        with tempfile.TemporaryDirectory() as where:
            task = lambda_task(Path(where))

            def follow(i: int, tree: Path) -> str:
                event = signed_follow(env["X_ACCOUNT_ID"], str(9_500_000 + i), 1_765 * 10**9 + i, BENCH_SECRET)
                return task.script(tree, invoke_script(event))

            cases = {
                "follow": lambda i: follow(i, task.shipped),
                "follow, uncompiled": lambda i: follow(100_000 + i, task.uncompiled),
                "crc": lambda i: task.script(task.shipped, crc),
                "crc, uncompiled": lambda i: task.script(task.uncompiled, crc),
                "floor": lambda i: transaction_script(table, f"z{i}", items=5),
                "boto3": lambda i: IMPORT_BOTO3,
            }
            for name in ("follow", "follow, uncompiled", "crc", "crc, uncompiled"):
                answered(cases[name](-2), env)
            seen = alternated(cases, env, pairs=COLD_PAIRS)
        row(
            "follow webhook, cold Lambda container: the deployment zip unpacked read-only beside the runtime's boto3",
            f"{median_ms(seen, 'follow'):.0f} ms",
            f"the same zip without its bytecode {median_ms(seen, 'follow, uncompiled'):.0f} ms;"
            f" import boto3 + client + 1 transaction {median_ms(seen, 'floor'):.0f} ms",
            f"{median_ratio(seen, 'follow', 'follow, uncompiled'):.2f}x the zip without bytecode;"
            f" {median_ratio(seen, 'follow', 'floor'):.2f}x the floor",
        )
        row(
            "CRC, cold Lambda container: the deployment zip unpacked read-only",
            f"{median_ms(seen, 'crc'):.0f} ms",
            f"the same zip without its bytecode {median_ms(seen, 'crc, uncompiled'):.0f} ms;"
            f" import boto3 {median_ms(seen, 'boto3'):.0f} ms",
            f"{median_ratio(seen, 'crc', 'crc, uncompiled'):.2f}x the zip without bytecode;"
            f" {median_ratio(seen, 'crc', 'boto3'):.2f}x import boto3 (target <= 1.0)",
        )

        # The cloud stages read the secret from Secrets Manager: the first CRC of a container pays
        # for botocore, a client and one GetSecretValue, unless the stack attaches the Parameters and
        # Secrets extension (a local HTTP call; a stand-in here); later ones answer from memory.
        secret = json.dumps({"admin_token": "bench", "x_consumer_secret": BENCH_SECRET})
        client_for(aws, "secretsmanager").put_secret_value(SecretId=aws["SECRET_ARN"], SecretString=secret)
        cloud = {**env, "STAGE": "dev", "AWS_SESSION_TOKEN": "bench-session"}
        manager = client_for(aws, "secretsmanager")

        def fetch(arn: str) -> str:
            secret_string: str = manager.get_secret_value(SecretId=arn)["SecretString"]
            return secret_string

        # Each round a new extension: its first request asks Secrets Manager (moto), as the real one does.
        extensions = [ExtensionStandIn({}, "bench-session", fetch=fetch) for _ in range(COLD_PAIRS + 2)]
        with contextlib.ExitStack() as running:
            for extension in extensions:
                running.enter_context(extension)
            answered(crc, cloud)
            ports = [{**cloud, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(e.port)} for e in extensions]
            answered(crc, ports[-1])
            cases = {"sdk": lambda i: crc, "extension": lambda i: crc, "boto3": lambda i: IMPORT_BOTO3}
            envs = {"sdk": lambda i: cloud, "extension": lambda i: ports[i], "boto3": lambda i: cloud}
            seen = alternated_in(cases, envs, pairs=COLD_PAIRS)
        row(
            "CRC, cold container in a cloud stage: the secret from Secrets Manager through the SDK (moto server)",
            f"{median_ms(seen, 'sdk'):.0f} ms ({median_ms(seen, 'sdk', exited=True):.0f} ms)",
            f"import boto3 {median_ms(seen, 'boto3'):.0f} ms ({median_ms(seen, 'boto3', exited=True):.0f} ms)",
            f"{median_ratio(seen, 'sdk', 'boto3'):.2f}x import boto3 (a client and 1 GetSecretValue; warm: none)",
        )
        row(
            "CRC, cold container in a cloud stage: the secret through the Parameters and Secrets extension"
            " (a stand-in on localhost, asking moto on its first request; the extension's own start-up not played)",
            f"{median_ms(seen, 'extension'):.0f} ms ({median_ms(seen, 'extension', exited=True):.0f} ms)",
            f"import boto3 {median_ms(seen, 'boto3'):.0f} ms",
            f"{median_ratio(seen, 'extension', 'boto3'):.2f}x import boto3 (target <= 1.0);"
            f" {median_ratio(seen, 'extension', 'sdk'):.2f}x through the SDK",
        )


def bench_crc() -> None:
    env = {**os.environ, "ADMIN_TOKEN": "bench", "X_CONSUMER_SECRET": "bench-secret", "STAGE": "local"}
    os.environ.update(env)
    from chalice.test import Client

    import app
    from chalicelib.x.webhooks import crc_response

    with Client(app.app, stage_name="local") as client:
        warm = median_seconds(lambda: client.http.get("/webhooks/x?crc_token=abc"), 300)
    floor = median_seconds(lambda: crc_response("bench-secret", "abc"), 3000)
    row(
        "CRC, warm container (through the app)",
        f"{warm * 1e6:.0f} us",
        f"bare HMAC {floor * 1e6:.1f} us",
        f"{warm / floor:.0f}x, no AWS call",
    )


def bench_follow() -> None:
    from moto import mock_aws

    from chalicelib.community import record_follow_change
    from chalicelib.store import Store
    from chalicelib.x.events import FollowChange, XUser
    from localcloud.provision import provision

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    base = datetime(2026, 11, 1, tzinfo=UTC)

    def change(user: int, kind: str, minutes: int) -> FollowChange:
        at = base + timedelta(minutes=minutes)
        return FollowChange(
            kind=kind,  # type: ignore[arg-type]
            event_id=f"{kind}-{user}-{minutes}",
            occurred_at=at,
            follower=XUser(id=str(user), handle=f"u{user}"),
        )

    with mock_aws():
        import boto3

        session: Any = boto3.session.Session(region_name="us-east-1")
        stack = provision(session.client, stage="local")
        ddb = session.client("dynamodb")
        store = Store(stack.environment["TABLE_NAME"], ddb)
        n = 100
        cases: dict[str, list[FollowChange]] = {
            "new follower": [change(u, "follow", 0) for u in range(n)],
            "duplicate delivery": [change(u, "follow", 0) for u in range(n)],
            "in-order unfollow": [change(u, "unfollow", 10) for u in range(n)],
            "returning follower": [change(u, "follow", 20) for u in range(n)],
            "late (out-of-order) unfollow": [change(u, "unfollow", 15) for u in range(n)],
        }

        def bare_transaction() -> None:
            # The floor: the same shape of request (three items) with no logic around it.
            ops = [
                {
                    "Update": {
                        "TableName": store.table_name,
                        "Key": {"PK": {"S": f"FLOOR#{i}"}, "SK": {"S": "x"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                for i in range(3)
            ]
            ddb.transact_write_items(TransactItems=ops)

        for name, events in cases.items():
            before = store.requests
            start = time.perf_counter()
            for event in events:
                record_follow_change(store, event)
            per_event = (time.perf_counter() - start) / len(events)
            requests = (store.requests - before) / len(events)
            floor = median_seconds(bare_transaction, 30)  # moto's transactions slow as the table grows
            row(
                f"follow webhook: {name}",
                f"{requests:.2f} requests, {per_event * 1000:.1f} ms",
                f"bare 3-item transaction {floor * 1000:.1f} ms",
                f"{per_event / floor:.2f}x (moto)",
            )


def bench_orders() -> None:
    """DynamoDB requests per Shopify order and per tracked-link click, against the floor an
    exactly-once credit needs: one read of the order and one transaction."""
    from moto import mock_aws

    from chalicelib.deals import DealFields, create_deal
    from chalicelib.links import follow_link
    from chalicelib.publishing import OutboxPublisher
    from chalicelib.releases import ReleasePolicy, release_due_deals
    from chalicelib.sales import receive_order_delivery
    from chalicelib.shopify.webhooks import sign
    from chalicelib.store import Store
    from localcloud.provision import provision

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    fixture = json.loads((PROJECT / "tests/events/shopify/shopify_order_create.json").read_text())
    with mock_aws():
        import boto3

        session: Any = boto3.session.Session(region_name="us-east-1")
        stack = provision(session.client, stage="local")
        store = Store(stack.environment["TABLE_NAME"], session.client("dynamodb"), clock=lambda: now)
        fields = {"title": "Latitude 7450", "price": "999", "list_price": "1299", "currency": "USD"}
        deal = {
            **fields,
            "code": "BENCH",
            "url": "https://shop.example/l7450",
            "release_at": now + timedelta(minutes=1),
        }
        create_deal(store, DealFields.model_validate(deal), now)
        later = now + timedelta(minutes=2)
        release_due_deals(store, OutboxPublisher(store, lambda: later), ReleasePolicy(min_gap=timedelta(0)), later)

        def deliver(order_id: int, webhook_id: str, topic: str = "orders/create") -> None:
            order = {
                **fixture,
                "id": order_id,
                "test": False,
                "created_at": later.isoformat(),
                "discount_codes": [{"code": "BENCH"}],
            }
            body = json.dumps(order).encode()
            receive_order_delivery(
                store,
                body=body,
                hmac_header=sign(BENCH_SECRET, body),
                secret=BENCH_SECRET,
                topic=topic,
                webhook_id=webhook_id,
                now=later,
                count_test_orders=False,
            )

        n = 50
        # Each case with the fewest requests it could take: what must be read, plus one write.
        cases: list[tuple[str, Callable[[int], Any], int, str]] = [
            ("new order (one deal)", lambda i: deliver(i, f"w-{i}"), 3, "read order + find deal + 1 transaction"),
            ("redelivery (same webhook id)", lambda i: deliver(i, f"w-{i}"), 1, "1 read"),
            ("same order, another webhook", lambda i: deliver(i, f"other-{i}"), 1, "1 read"),
            ("cancellation", lambda i: deliver(i, f"c-{i}", "orders/cancelled"), 2, "read order + 1 transaction"),
            ("tracked-link click", lambda i: follow_link(store, "BENCH", "Mozilla/5.0"), 2, "find the deal + one ADD"),
        ]
        for name, case, floor, floor_name in cases:
            before = store.requests
            for i in range(n):
                case(i)
            requests = (store.requests - before) / n
            row(
                f"attribution: {name}",
                f"{requests:.2f} requests",
                f"{floor_name} = {floor}",
                f"{requests / floor:.2f}x",
            )


def bench_load() -> None:
    """`make run` under 8 concurrent senders (bench/load.py): throughput, latency, memory, exactness."""
    import tempfile

    from bench.load import run_load

    senders, x_deliveries, orders = 8, 8 * 1000, 500
    with tempfile.TemporaryDirectory() as directory:
        result = run_load(Path(directory), senders=senders, x_deliveries=x_deliveries, orders=orders)
    row(
        f"load: {senders} senders x {x_deliveries // senders:,} X deliveries + {orders} orders x 1-4, `make run`",
        f"{result.deliveries:,} in {result.seconds:.0f} s: {result.throughput:.0f}/s wall,"
        f" {result.per_cpu_second:.0f}/s per server CPU second; p50 {result.percentile(0.5) * 1000:.0f} ms,"
        f" p99 {result.percentile(0.99) * 1000:.0f} ms",
        "target 200/s on 2 cores",
        f"{result.per_cpu_second / 200:.2f}x per CPU second, {result.throughput / 200:.2f}x wall",
    )
    growth = (result.peak_rss - result.baseline_rss) / 2**20
    row(
        "load: server memory (RSS)",
        f"{result.baseline_rss / 2**20:.0f} MB before, peak {result.peak_rss / 2**20:.0f} MB (+{growth:.0f} MB)",
        "target growth < 50 MB",
        f"{growth / 50:.2f}x of the budget",
    )
    row(
        "load: SIGTERM right after the load, until exited",
        f"{result.stop_seconds:.1f} s (the data saved, then the process exits)",
        "target: a couple of seconds",
        f"{result.stop_seconds / 2:.2f}x of 2 s",
    )
    exact = result.server_errors == 0 and not (result.lost or result.extra or result.mismatches)
    row(
        "load: exactness after a restart (followers, counters, orders, revenue)",
        f"{result.lost} lost, {result.extra} extra, {result.server_errors} >= 500,"
        f" {result.retries} 409/429 redelivered",
        "a replay of the distinct events",
        "exact" if exact else f"NOT EXACT: {', '.join(result.mismatches) or result.statuses}",
    )


def bench_peer_rounds() -> None:
    """bench/peer_idempotency.py: the follow beside Powertools' idempotency, on moto as shipped,
    then with localcloud's fixes (which patch moto for the rest of the process: so, last)."""
    bench_peer(row, fixed_moto=False, n=50)
    bench_peer(row, fixed_moto=True)


# In the order they run; `python -m bench cold peer` runs only those groups.
GROUPS: dict[str, Callable[[], None]] = {
    "load": bench_load,
    "cold": bench_cold,
    "crc": bench_crc,
    "follow": bench_follow,
    "orders": bench_orders,
    "dms": lambda: bench_dms(row),  # bench/dms.py: DMs waiting, sent, and the fan-out
    "listening": lambda: bench_listening(row),  # bench/listening.py: posts heard by stream and search, X reads
    "sentiment": lambda: bench_sentiment(row),  # bench/sentiment.py: the model vs VADER
    "peer": bench_peer_rounds,
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in GROUPS]
    if unknown:
        print(f"unknown bench group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    for name, bench in GROUPS.items():
        if not argv or name in argv:
            bench()
    widths = [max(len(r[i]) for r in [*ROWS, ("figure", "value", "floor / peer", "ratio")]) for i in range(4)]
    header = ("figure", "value", "floor / peer", "ratio")
    for line in [header, tuple("-" * w for w in widths), *ROWS]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
