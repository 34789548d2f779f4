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
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Chalice, Rate

from bench.load import LocalServer, free_port, release_deal
from chalicelib.delivery import DeliveryMessage
from localcloud.provision import Stack, consumers, load_template
from localcloud.run import STOP_DEADLINE_SECONDS, LocalCloud, port_is_free, schedule_period
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
    local = LocalCloud(app_module, queue_urls={"deliver_messages": queue}, tick_seconds=0.2, clients=client)
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


def start(state_dir: Path, **kwargs: Any) -> LocalServer:
    return LocalServer.start(state_dir, env={"LOCAL_TICK_SECONDS": "1", **kwargs.pop("env", {})}, **kwargs)


def test_make_run_serves_health_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    # Given `make run` (make execs the server, so make waits on it) with a token from the environment
    server = start(tmp_path, env={"ADMIN_TOKEN": "smoke-token"}, via_make=True)
    try:
        text = server.text()
        assert f"export BASE_URL=http://127.0.0.1:{server.port}" in text
        assert "export ADMIN_TOKEN=smoke-token" in text
        assert {"X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET", "X_ACCOUNT_ID", "PORT"} <= set(server.settings)
        reply = server.request("GET", "/health")
        assert (reply.status, reply.json()) == (200, {"status": "ok"})
    finally:
        # When Ctrl-C reaches the job (make and the server): the server saves and exits, then make
        # ends as make does on Ctrl-C (by the signal). The bound is a hang check, not a timing.
        code, seconds = server.stop(signal.SIGINT)
    assert code == -signal.SIGINT, server.text()
    assert seconds < STOP_DEADLINE_SECONDS
    assert f"saved {tmp_path}/state.json" in server.text()
    assert port_is_free(server.port)


def follow_body(account: str, user: str) -> bytes:
    from tests.factories import aaa_follow

    return json.dumps(aaa_follow(account, user, int(time.time() * 1000) - 60_000, handle=f"fan{user}")).encode()


def test_make_run_finds_its_data_again_after_sigint_and_sigterm_and_fresh_starts_empty(tmp_path: Path) -> None:
    from tests.factories import shopify_headers, shopify_order, signed_headers, x_reply

    # Given a first run with generated secrets: a follower, a released deal, an order with its
    # code, and a reply as feedback
    server = start(tmp_path, env={"MIN_RELEASE_GAP_MINUTES": "0"})
    settings = dict(server.settings)
    try:
        account, x_secret = settings["X_ACCOUNT_ID"], settings["X_CONSUMER_SECRET"]
        follow = follow_body(account, "435353535")
        assert server.request("POST", "/webhooks/x", follow, signed_headers(follow, x_secret)).status == 200
        deal_id = release_deal(server, "KEEP7420")
        order = json.dumps(shopify_order(820982911946154508, codes=("KEEP7420",), total="449.00")).encode()
        headers = shopify_headers(order, webhook_id="w-1", secret=settings["SHOPIFY_WEBHOOK_SECRET"])
        assert server.request("POST", "/webhooks/shopify/orders", order, headers).json()["outcome"] == "credited"
        mention = {**x_reply("9001", "@brand love it", "1", account=account, author="777"), "for_user_id": account}
        reply = json.dumps(mention).encode()
        assert server.request("POST", "/webhooks/x", reply, signed_headers(reply, x_secret)).status == 200
        before = snapshot(server)
    finally:
        code, _ = server.stop(signal.SIGINT)
    assert code == 0, server.text()
    assert before["followers"] == ["435353535"]
    assert (before["deal"], before["orders"], before["revenue"]) == ("released", 1, {"USD": "449.00"})
    assert before["feedback"] == ["@brand love it"]

    # When it starts again without secrets in the environment, and again after SIGTERM
    for stop_with in (signal.SIGTERM, signal.SIGINT):
        server = start(tmp_path)
        try:
            # Then it prints the same secrets (signed webhooks keep working) and finds everything
            assert server.settings == {**settings, "PORT": str(server.port), "BASE_URL": server.settings["BASE_URL"]}
            assert "restored" in server.text()
            assert snapshot(server, deal_id) == before
            again = server.request("POST", "/webhooks/x", follow, signed_headers(follow, settings["X_CONSUMER_SECRET"]))
            assert again.json()["duplicates"] == 1  # the same delivery again: known, nothing counted twice
        finally:
            code, _ = server.stop(stop_with)
        assert code == 0, server.text()

    # And FRESH=1 starts empty, keeping the last state beside the new one
    server = start(tmp_path, env={"OUTLET_FRESH": "1"})
    try:
        assert server.get("/community")["followers"] == 0
        assert server.settings["ADMIN_TOKEN"] != settings["ADMIN_TOKEN"]
    finally:
        server.stop(signal.SIGTERM)
    assert (tmp_path / "state.json.previous").exists()


def snapshot(server: LocalServer, deal_id: str | None = None) -> dict[str, Any]:
    report = server.get("/reports/summary")
    deals = server.get("/deals")["items"]
    return {
        "followers": [f["user_id"] for f in server.pages("/community/followers")],
        "deal": server.get(f"/deals/{deal_id or deals[0]['id']}")["status"],
        "orders": report["orders"],
        "revenue": report["revenue"],
        "feedback": [f["text"] for f in server.get("/feedback")["items"]],
    }


def test_a_second_make_run_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "localcloud.run"],
            cwd=PROJECT,
            env={**os.environ, "PORT": str(port), "OUTLET_STATE_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"outlet: port {port} is already in use (another `make run`?); stop it or set PORT"
    ]


def test_a_damaged_state_file_is_refused_in_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"format": "outlet-local-state", "version": 1, "tables": {"t": [')
    result = subprocess.run(
        [sys.executable, "-m", "localcloud.run"],
        cwd=PROJECT,
        env={**os.environ, "PORT": str(free_port()), "OUTLET_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"outlet: {tmp_path}/state.json is not valid JSON")
    assert line.endswith("move it away, or start empty with `make run FRESH=1`")
    assert (tmp_path / "state.json").read_text().endswith('"tables": {"t": [')


def test_killing_make_stops_the_server_and_frees_the_port(tmp_path: Path) -> None:
    # Given `make run` serving (make's child is the server itself)
    server = start(tmp_path, via_make=True)
    # When make is killed outright
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    # Then the server stops too (it was told when its parent died), saving on the way out
    assert eventually(lambda: port_is_free(server.port), timeout=STOP_DEADLINE_SECONDS), server.text()
    assert eventually(lambda: "saved" in server.text(), timeout=STOP_DEADLINE_SECONDS), server.text()


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
    # The gap is kept between claims (a post follows its claim as fast as the machine allows, so
    # the posts' own times on a loaded machine say less): each claim a full gap after the last.
    from chalicelib.deals import get_deal
    from chalicelib.store import Store

    store = Store(cloud.environment["TABLE_NAME"], client("dynamodb"))
    claims = sorted(dt.datetime.fromisoformat(get_deal(store, deal_id)["claimed_at"]) for deal_id in ids)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(claims)]
    assert all(g >= gap_seconds - 0.01 for g in gaps), gaps
    assert local.runs["release_deals"] > 10  # it ran often; the gap, not the timer, paced the posts
