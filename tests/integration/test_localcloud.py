"""The local cloud: the template provisions moto, timers fire schedules, pollers feed queue handlers
and a message that keeps failing ends in the dead-letter queue."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Chalice, Rate

from chalicelib.delivery import DeliveryMessage
from localcloud.provision import Stack, consumers, load_template
from localcloud.run import LocalCloud, schedule_period
from tests.conftest import ADMIN_TOKEN, aws_client

PROJECT = Path(__file__).resolve().parents[2]


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


client = aws_client


def test_the_template_provisions_the_table_queues_and_secret(cloud: Stack) -> None:
    ddb = client("dynamodb")
    table = ddb.describe_table(TableName=cloud.environment["TABLE_NAME"])["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["GSI1", "GSI2"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=cloud.environment["TABLE_NAME"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=cloud.environment["DELIVERY_QUEUE_URL"], AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == cloud.attributes["DeliveryDeadLetterQueue"]["Arn"]
    assert redrive["maxReceiveCount"] == 5
    secret = json.loads(
        client("secretsmanager").get_secret_value(SecretId=cloud.environment["SECRET_ARN"])["SecretString"]
    )
    assert len(secret["admin_token"]) == 40
    assert set(secret) >= {"x_consumer_secret", "shopify_webhook_secret"}


def test_the_template_wires_the_delivery_queue_to_its_consumer() -> None:
    assert consumers(load_template()) == {"DeliverMessages": "DeliveryQueue"}


def test_schedule_periods_follow_the_cloud_expression() -> None:
    assert schedule_period(Rate(1, unit=Rate.MINUTES)) == 60
    assert schedule_period(Rate(2, unit=Rate.HOURS)) == 7200
    assert schedule_period("cron(0 9 * * ? *)") == 60


def test_a_timer_fires_a_scheduled_function_every_tick() -> None:
    test_app = Chalice(app_name="tick")
    fired: list[str] = []

    @test_app.schedule(Rate(1, unit=Rate.HOURS))
    def hourly(event: Any) -> None:
        fired.append(event.to_dict()["detail-type"])

    cloud = LocalCloud(SimpleNamespace(app=test_app), queue_urls={}, tick_seconds=0.05, clients=client)  # type: ignore[arg-type]
    cloud.start()
    try:
        assert eventually(lambda: len(fired) >= 3, timeout=5)
    finally:
        cloud.stop()
    assert set(fired) == {"Scheduled Event"}


def test_a_queued_dm_reaches_its_handler_and_a_failing_one_ends_in_the_dlq(cloud: Stack, api: Any) -> None:
    import app as app_module

    sqs = client("sqs")
    queue = cloud.environment["DELIVERY_QUEUE_URL"]
    dlq = cloud.refs["DeliveryDeadLetterQueue"]
    local = LocalCloud(app_module, queue_urls={"deliver_messages": queue}, tick_seconds=0.0, clients=client)
    local.start()
    try:
        good = DeliveryMessage(kind="dm", id="welcome-1", payload={"to": "2244994945", "text": "Welcome!"})
        sqs.send_message(QueueUrl=queue, MessageBody=good.model_dump_json())
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "fax", "id": "poison-1"}))

        assert eventually(lambda: len(outbox(api)) == 1)
        assert outbox(api)[0]["text"] == "Welcome!"

        def in_dlq() -> list[dict[str, Any]]:
            messages: list[dict[str, Any]] = sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            return messages

        assert eventually(lambda: len(in_dlq()) == 1, timeout=20)
        (dead,) = in_dlq()
        assert json.loads(dead["Body"])["id"] == "poison-1"
    finally:
        local.stop()


def outbox(api: Any, oldest_first: bool = False) -> list[dict[str, Any]]:
    response = api.http.get("/outbox", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    items: list[dict[str, Any]] = json.loads(response.body)["items"]
    return list(reversed(items)) if oldest_first else items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_make_run_serves_health_and_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_TICK_SECONDS": "1", "ADMIN_TOKEN": "smoke-token"}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud.run"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)  # a hung start must fail the test, not stall CI
    watchdog.start()
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{port}" in text
        assert "ADMIN_TOKEN=smoke-token" in text
        assert "X_CONSUMER_SECRET=" in text
        assert "SHOPIFY_WEBHOOK_SECRET=" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, process.stdout.read()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_welcome_schedule_fires_on_the_local_tick_and_posts(
    cloud: Stack, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as app_module
    from tests.factories import aaa_follow, signed_headers

    monkeypatch.setenv("X_ACCOUNT_ID", "39131334141")
    monkeypatch.setenv("WELCOME_SETTLE_MINUTES", "0")
    body = json.dumps(aaa_follow("39131334141", "435353535", int(time.time() * 1000) - 60_000, handle="dealhunter"))
    assert api.http.post("/webhooks/x", body=body.encode(), headers=signed_headers(body.encode())).status_code == 200

    local = LocalCloud(
        app_module,
        queue_urls={"deliver_messages": cloud.environment["DELIVERY_QUEUE_URL"]},
        tick_seconds=0.2,
        clients=client,
    )
    local.start()
    try:
        assert eventually(lambda: len(outbox(api)) == 1, timeout=10)
        assert outbox(api)[0]["text"] == "Welcome to our newest follower this week! @dealhunter"
        time.sleep(0.5)  # more ticks: the interval keeps it to one post
        assert len(outbox(api)) == 1
        assert local.runs["welcome"] >= 3
    finally:
        local.stop()


def test_three_deals_due_together_go_out_one_per_gap_on_the_local_cloud(
    cloud: Stack, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import app as app_module

    gap_seconds = 1.2
    monkeypatch.setenv("MIN_RELEASE_GAP_MINUTES", str(gap_seconds / 60))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    # Far enough ahead that the three creates finish before it, even on a loaded machine.
    release_at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)).isoformat()
    ids = []
    for n in range(3):
        deal = {
            "title": f"Inspiron {n}",
            "price": "399",
            "list_price": "549",
            "currency": "USD",
            "code": f"INS{n}",
            "release_at": release_at,
        }
        response = api.http.post("/deals", body=json.dumps(deal).encode(), headers=admin)
        assert response.status_code == 201, response.body
        ids.append(json.loads(response.body)["id"])

    local = LocalCloud(
        app_module,
        queue_urls={"deliver_messages": cloud.environment["DELIVERY_QUEUE_URL"]},
        tick_seconds=0.1,
        clients=client,
    )
    local.start()
    try:
        assert eventually(lambda: len(outbox(api)) == 3, timeout=20)
        time.sleep(gap_seconds)
    finally:
        local.stop()
    posted = outbox(api, oldest_first=True)
    assert len(posted) == 3
    assert sorted(p["deal_id"] for p in posted) == sorted(ids)
    times = [dt.datetime.fromisoformat(p["created_at"]) for p in posted]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    # Claims are a full gap apart; the posts follow their claims within milliseconds.
    assert all(g >= gap_seconds - 0.1 for g in gaps), gaps
    assert local.runs["release_deals"] > 10  # it ran often; the gap, not the timer, paced the posts
