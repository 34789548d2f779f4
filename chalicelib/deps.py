"""Wiring: names each real dependency once, builds it on first use and keeps it per container.

Configuration is read on every call (cheap), so a changed environment is always seen; the
expensive things (AWS clients, the store, the secret) are cached against what they depend on.

Light on purpose: importing this module loads no chalicelib capability, no pydantic and no botocore
(X's CRC check imports it). Each function imports what it builds; the types are for mypy only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import aws
from chalicelib.config import ConfigurationError, Runtime, Secrets, SecretsProvider, load_runtime, load_settings

if TYPE_CHECKING:
    from chalicelib.answers import AnswerPolicy
    from chalicelib.delivery import DeliveryMessage, Handler
    from chalicelib.direct_messages import DmBudget, DmPolicy
    from chalicelib.feedback import SpikePolicy
    from chalicelib.fees import FeeSchedule
    from chalicelib.publishing import Publisher
    from chalicelib.releases import ReleasePolicy
    from chalicelib.sentiment import Classifier, Sentiment
    from chalicelib.settings import Settings
    from chalicelib.store import Store
    from chalicelib.welcome import WelcomePolicy


def _fetch_secret(arn: str) -> str:
    """The secret's JSON: from the Parameters and Secrets extension when the stack attached it (no
    SDK on a cold CRC), else, or if it cannot answer, from Secrets Manager through the SDK."""
    from chalicelib import secrets_extension as extension

    try:
        port = extension.extension_port(os.environ)
        if port is not None:
            return extension.secret_string(arn, port, os.environ.get("AWS_SESSION_TOKEN", ""))
    except extension.ExtensionUnavailable as unavailable:
        from chalicelib.observability import logger

        logger.warning("secrets extension unavailable, asking Secrets Manager", reason=str(unavailable))
    return aws.secretsmanager().get_secret_value(SecretId=arn)["SecretString"]


_secrets = SecretsProvider(_fetch_secret)


def settings() -> Settings:
    return load_settings()


def runtime() -> Runtime:
    """The stage, the secret's ARN, the log level, the table and the brand's X account, without the
    settings model (no pydantic): what X's CRC check and a follow need."""
    return load_runtime()


def secrets() -> Secrets:
    return _secrets.get(runtime())


def admin_token() -> str:
    return secrets().admin_token.get_secret_value()


def session_key() -> bytes:
    """The console's cookie-signing key: the secret's ``session_signing_key``, or else one derived
    from the admin token (HMAC with a fixed label, so the token itself never signs anything)."""
    found = secrets()
    own = found.session_signing_key.get_secret_value()
    if own:
        return own.encode()
    label = b"outlet console session signing key v1"
    return hmac.new(found.admin_token.get_secret_value().encode(), label, hashlib.sha256).digest()


def store() -> Store:
    return _store(runtime().table_name)  # without the settings model: a follow needs only this


@functools.cache
def _store(table_name: str) -> Store:
    from chalicelib.store import Store

    return Store(table_name, aws.dynamodb())


def new_container() -> None:
    """Forget the stores built so far, and with them what they remember (chalicelib.community's
    committed follows), as a new container would: for tests, whose every cloud is a fresh table
    under the same name."""
    _store.cache_clear()


def publisher() -> Publisher:
    from chalicelib.publishing import LazyPublisher, OutboxPublisher

    if settings().publisher == "outbox":
        return OutboxPublisher(store())
    return LazyPublisher(_x_publisher)


def _x_publisher() -> Publisher:
    from chalicelib.x.publisher import XPublisher  # tweepy and requests load only where X is used

    current = settings()
    if not current.x_account_id:
        raise ConfigurationError("X_ACCOUNT_ID is not set")
    found = secrets()
    credentials = (found.x_consumer_key, found.x_consumer_secret, found.x_access_token, found.x_access_token_secret)
    return XPublisher(_x_client(*(c.get_secret_value() for c in credentials)), current.x_account_id)


@functools.cache
def _x_client(consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str) -> Any:
    from chalicelib.x.publisher import x_client

    return x_client(consumer_key, consumer_secret, access_token, access_token_secret)


def dm_budget() -> DmBudget:
    from chalicelib.direct_messages import DmBudget

    current = settings()
    return DmBudget(per_15_minutes=current.dm_budget_per_15_minutes, per_day=current.dm_budget_per_day)


def time_left(context: Any) -> Callable[[], float]:
    """Seconds this invocation has left, from Lambda's context (without one: 30 s from now)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        deadline = time.monotonic() + 30
        return lambda: deadline - time.monotonic()
    return lambda: float(remaining()) / 1000


def dm_policy() -> DmPolicy:
    from chalicelib.direct_messages import DmPolicy

    return DmPolicy(budget=dm_budget(), fees=fee_schedule())


def delivery_handlers() -> dict[str, Handler]:
    """The queue's handlers: DMs join the table's queues (chalicelib.dm_queue), the drain sends them."""
    from chalicelib.deal_alerts import fan_out_handler, legacy_alert_handler
    from chalicelib.direct_messages import intake_handler
    from chalicelib.store import utcnow

    table = store()
    return {
        "dm": intake_handler(table, utcnow),
        "deal_alerts": fan_out_handler(table, enqueue_deliveries, utcnow),
        "deal_alert": legacy_alert_handler(table, utcnow),
    }


def enqueue_deliveries(messages: Sequence[DeliveryMessage]) -> None:
    from chalicelib.delivery import enqueue

    queue_url = settings().delivery_queue_url
    if not queue_url:
        raise ConfigurationError("DELIVERY_QUEUE_URL is not set")
    enqueue(aws.sqs(), queue_url, messages)


def fee_schedule() -> FeeSchedule:
    from chalicelib.fees import FeeSchedule

    current = settings()
    return FeeSchedule(
        post=current.x_fee_post_usd,
        post_with_url=current.x_fee_post_with_url_usd,
        dm=current.x_fee_dm_usd,
        monthly_budget=current.x_monthly_budget_usd,
    )


def release_policy() -> ReleasePolicy:
    from chalicelib.releases import ReleasePolicy

    current = settings()
    return ReleasePolicy(
        min_gap=timedelta(minutes=current.min_release_gap_minutes),
        lease=timedelta(seconds=current.release_lease_seconds),
        max_attempts=current.release_max_attempts,
        fees=fee_schedule(),
    )


def queue_deal_alerts(deal_id: str) -> None:
    from chalicelib.delivery import DeliveryMessage

    enqueue_deliveries([DeliveryMessage(kind="deal_alerts", id=f"fanout-{deal_id}", payload={"deal_id": deal_id})])


def spike_policy() -> SpikePolicy:
    from chalicelib.feedback import SpikePolicy

    current = settings()
    return SpikePolicy(
        window=timedelta(minutes=current.spike_window_minutes),
        negative_share=current.spike_negative_share,
        min_items=current.spike_min_items,
    )


def notify_alert(alert: dict[str, Any]) -> None:
    """Operators hear of an alert on the SNS topic (infra/template.json); without one, only the log.
    At least once: a repeat carries the same ``alert_id`` attribute for subscribers to drop it by."""
    topic = settings().alerts_topic_arn
    if topic:
        aws.client("sns").publish(
            TopicArn=topic,
            Subject=f"outlet: {alert['kind']}",
            Message=json.dumps(alert),
            MessageAttributes={"alert_id": {"DataType": "String", "StringValue": str(alert["id"])}},
        )


def classifier() -> Classifier:
    """The service's classifier (``chalicelib.sentiment.default_classifier``), loaded on the first
    text it scores: a delivery with nothing to score (a follow) never loads a model."""
    return _LazyClassifier()


class _LazyClassifier:
    def score(self, text: str) -> Sentiment:
        from chalicelib.sentiment import default_classifier

        return default_classifier().score(text)


def welcome_policy() -> WelcomePolicy:
    from chalicelib.welcome import WelcomePolicy

    current = settings()
    return WelcomePolicy(
        interval=timedelta(hours=current.welcome_interval_hours),
        settle=timedelta(minutes=current.welcome_settle_minutes),
        dm_text=current.welcome_dm_text if current.welcome_dm_enabled else None,
        dm_budget=current.welcome_dm_budget,
        fees=fee_schedule(),
    )


def answer_policy() -> AnswerPolicy:
    from chalicelib.answers import AnswerPolicy

    return AnswerPolicy(fees=fee_schedule(), dm_budget=dm_budget())


def answer_alert_after() -> timedelta:
    return timedelta(minutes=settings().answer_alert_minutes)


# --- listening (chalicelib.listening): X's recent search and filtered-stream rules ---


def listening_policy() -> Any:
    from chalicelib.listening.search import SearchPolicy

    current = settings()
    return SearchPolicy(
        requests_per_run=current.listening_requests_per_run,
        monthly_reads=current.listening_monthly_reads,
        read_fee=current.x_fee_read_usd,
        fees=fee_schedule(),
    )


def searcher() -> Any:
    """X's recent search with the account's user context; locally (the outbox publisher) a search
    that finds nothing, so `make run` never calls X."""
    from chalicelib.x.search import XRecentSearch

    if settings().publisher == "outbox":
        return NothingFound()
    found = secrets()
    credentials = (found.x_consumer_key, found.x_consumer_secret, found.x_access_token, found.x_access_token_secret)
    return XRecentSearch(_x_client(*(c.get_secret_value() for c in credentials)))


class NothingFound:
    def recent(self, rule_id: str, query: str, **_: Any) -> Any:
        from chalicelib.x.stream import SearchPage

        return SearchPage(posts=[], result_count=0, newest_id=None, next_token=None)


def rule_sync() -> Any:
    """Where listening rules are synced: X's filtered-stream rules with the app's bearer token
    (publisher ``x``), else kept locally (chalicelib.listening.rules.LocalRuleSync)."""
    from chalicelib.listening.rules import LocalRuleSync

    if settings().publisher == "outbox":
        return LocalRuleSync()
    found = secrets()
    return _stream_rules(found.x_consumer_key.get_secret_value(), found.x_consumer_secret.get_secret_value())


@functools.cache
def _stream_rules(consumer_key: str, consumer_secret: str) -> Any:
    from chalicelib.x.search import XStreamRules

    return XStreamRules(consumer_key, consumer_secret)
