"""AWS clients, botocore's (boto3 would add nothing the store uses and ~30 ms to a cold start: see
``store/conditions.py``), built on first use and kept for the life of the container, never at import.

Endpoints come from botocore's own ``AWS_ENDPOINT_URL`` handling, which is how ``make run``
points the app at its embedded moto server without any local special case here.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient


@functools.cache
def _client(service: str, region: str | None, endpoint: str | None) -> Any:
    # deferred: a cold start that never touches AWS (the CRC check) skips botocore
    from botocore.config import Config
    from botocore.session import get_session

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        tcp_keepalive=True,
    )
    # A session of its own, as boto3 makes one per Session: credentials resolved for this key.
    return get_session().create_client(service, region_name=region, config=config)


def client(service: str) -> Any:
    # The endpoint and region are part of the cache key so a process that moves between
    # environments (the test suite does) never talks to a stale one.
    return _client(
        service,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        os.environ.get("AWS_ENDPOINT_URL"),
    )


def dynamodb() -> DynamoDBClient:
    result: DynamoDBClient = client("dynamodb")
    return result


def sqs() -> SQSClient:
    result: SQSClient = client("sqs")
    return result


def secretsmanager() -> SecretsManagerClient:
    result: SecretsManagerClient = client("secretsmanager")
    return result
