"""Structured JSON logs (Powertools Logger) with one correlation id per request or event.

The Powertools Logger is built on the first line logged, not at import: a request that logs
nothing (X's CRC check, health) never loads Powertools. The correlation id and the level are kept
here until then. Nothing here logs a body, a header value or a secret: callers log ids, counts
and outcomes.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "outlet"


class _Stdout:
    """stdout as it is when a line is written (as ``print`` does), so a logger built late writes
    where the process writes now."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class LazyLogger:
    """Powertools' Logger, built on the first line logged. The methods callers use forward to it."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._built: Logger | None = None
        self._lock = threading.Lock()
        self._level = "INFO"
        self._correlation_id: str | None = None

    @property
    def powertools(self) -> Logger:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    from aws_lambda_powertools import Logger

                    built = Logger(service=self._service, level=self._level, stream=cast(IO[str], _Stdout()))
                    built.set_correlation_id(self._correlation_id)
                    self._built = built
        return self._built

    def set_correlation_id(self, value: str | None) -> None:
        self._correlation_id = value
        if self._built is not None:
            self._built.set_correlation_id(value)

    def setLevel(self, level: str) -> None:  # noqa: N802 - the logging module's name for it
        self._level = level
        if self._built is not None:
            self._built.setLevel(level)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.powertools.debug(msg, *args, stacklevel=3, **kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.powertools.info(msg, *args, stacklevel=3, **kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.powertools.warning(msg, *args, stacklevel=3, **kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.powertools.error(msg, *args, stacklevel=3, **kwargs)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.powertools.exception(msg, *args, stacklevel=3, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else Powertools' Logger offers (append_keys, critical...) builds it and is its own.
        if name.startswith("_"):  # never for this object's own state (copy, pickle, half-built)
            raise AttributeError(name)
        return getattr(self.powertools, name)


logger = LazyLogger(SERVICE)


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
    """The level by its name (``DEBUG``, ``info``...); a name logging does not know is INFO."""
    name = level.upper()
    logger.setLevel(name if name in logging.getLevelNamesMapping() else "INFO")


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
