"""Alerts are recorded once and told to operators once; a notifier that fails loses nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.alerts import publish_pending_alerts, raise_alert
from chalicelib.channel import record_revocation
from chalicelib.store import Keys, Store
from chalicelib.x.events import Revocation


def test_a_revocation_is_told_to_operators_once(store: Store) -> None:
    told: list[dict[str, Any]] = []
    revocation = Revocation(event_id="rev-1", occurred_at=datetime(2026, 11, 26, 12, tzinfo=UTC), user_id="1111111")
    assert record_revocation(store, revocation, notify=told.append)
    record_revocation(store, revocation, notify=told.append)  # X delivers it again
    assert [(a["id"], a["kind"]) for a in told] == [("revoked-rev-1", "authorization_revoked")]


def test_an_alert_whose_notice_fails_is_still_recorded(store: Store) -> None:
    def broken(alert: dict[str, Any]) -> None:
        raise ConnectionError("SNS is unreachable")

    raised = raise_alert(store, alert_id="a-1", kind="test", message="m", raised_at=datetime.now(UTC), notify=broken)
    assert raised
    assert store.get(Keys.alert("a-1")) is not None


def test_an_alert_the_topic_did_not_take_is_published_by_the_next_run_once(store: Store) -> None:
    told: list[dict[str, Any]] = []
    failing = [True]

    def topic(alert: dict[str, Any]) -> None:
        if failing[0]:
            raise ConnectionError("SNS is unreachable")
        told.append(alert)

    raise_alert(store, alert_id="a-1", kind="test", message="m", raised_at=datetime.now(UTC), notify=topic)
    assert told == []
    failing[0] = False
    assert publish_pending_alerts(store, topic) == 1
    assert publish_pending_alerts(store, topic) == 0  # published: no longer pending
    assert [a["id"] for a in told] == ["a-1"]


def test_an_alert_raised_without_a_notifier_waits_for_the_schedule(store: Store) -> None:
    raise_alert(store, alert_id="a-2", kind="test", message="m", raised_at=datetime.now(UTC))
    told: list[dict[str, Any]] = []
    assert publish_pending_alerts(store, told.append) == 1
    assert [a["id"] for a in told] == ["a-2"]


def test_alerts_reach_the_topic_with_their_id_for_subscribers_to_drop_repeats(
    cloud: Any, store: Store, monkeypatch: Any
) -> None:
    # Given the stack's topic with a queue subscribed, as an operator's endpoint would be
    from chalicelib import deps
    from tests.conftest import aws_client

    sns, sqs = aws_client("sns"), aws_client("sqs")
    topic = sns.create_topic(Name="outlet-local-alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="operator")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", topic)
    # When an alert is raised, and (a crash before its outbox entry went) published again
    raise_alert(store, alert_id="a-3", kind="test", message="m", raised_at=datetime.now(UTC), notify=deps.notify_alert)
    deps.notify_alert({"id": "a-3", "kind": "test", "message": "m", "raised_at": "2026-11-26T12:00:00Z"})
    # Then both copies carry the alert's id, so the subscriber keeps one
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [b["MessageAttributes"]["alert_id"]["Value"] for b in bodies] == ["a-3", "a-3"]
    assert publish_pending_alerts(store, deps.notify_alert) == 0
