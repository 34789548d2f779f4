"""Structured JSON logs (Powertools Logger) with one correlation id per request or event.

Nothing here logs a body, a header value or a secret: callers log ids, counts and outcomes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="outlet")


def bind_correlation_id(candidates: Mapping[str, Any] | None = None, *names: str) -> str:
    """Use the first id the caller or AWS gave us, else a new one, for every log line that follows."""
    correlation_id = ""
    for name in names:
        value = (candidates or {}).get(name)
        if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
            correlation_id = value
            break
    correlation_id = correlation_id or str(uuid.uuid4())
    logger.set_correlation_id(correlation_id)
    return correlation_id


def set_level(level: str) -> None:
    try:
        logger.setLevel(level.upper())
    except ValueError:
        logger.setLevel("INFO")


def event_middleware(log_level: Callable[[], str]) -> Callable[[Any, Callable[[Any], Any]], Any]:
    """The 'all' middleware: log level from settings, and the Lambda request id as correlation id
    for scheduled and queue events (HTTP requests bind their own in chalicelib.http)."""

    def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
        set_level(log_level())
        context = getattr(event, "context", None)
        request_id = getattr(context, "aws_request_id", None)
        if request_id is not None:
            bind_correlation_id({"id": request_id}, "id")
        return get_response(event)

    return middleware
