"""Reading X's JSON by hand: each value checked for the type we use, and a refusal that names
where in the body it went wrong (``follow_events.0.source.id``).

Why by hand and not pydantic models: a webhook is often the first request of a new container, and
building the ~46 payload model classes cost a cold follow ~140 ms, plus ~34 ms to import pydantic
(``python -X importtime``, issue 17): more than the DynamoDB client it needs. Fields X adds that we
do not read are ignored, as before; a field we read must have its type (an id is a string: a
number is refused, as pydantic refused it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from chalicelib.x.model import MalformedPayload, aware

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_BOOLS = {
    **dict.fromkeys(("true", "1", "yes", "on", "t", "y"), True),
    **dict.fromkeys(("false", "0", "no", "off", "f", "n"), False),
}


def refused(where: str, problem: str) -> MalformedPayload:
    return MalformedPayload(f"unexpected webhook body at {where or 'the top'}: {problem}")


def optional_text(value: Any, where: str) -> str | None:
    """A string or nothing (a missing field or a null)."""
    if value is None or isinstance(value, str):
        return value
    raise refused(where, "should be a string")


class Fields:
    """One JSON object of a payload, and where it sits in the body."""

    __slots__ = ("data", "where")

    def __init__(self, data: Any, where: str = "") -> None:
        if not isinstance(data, dict):
            raise refused(where, "should be an object")
        self.data: dict[str, Any] = data
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _required(self, key: str) -> Any:
        if key not in self.data:
            raise refused(self.at(key), "field required")
        return self.data[key]

    def text(self, key: str, default: str | None = None) -> str:
        """A string; a missing one is ``default`` (or refused without one). A null is refused."""
        value = self.data.get(key, default) if default is not None else self._required(key)
        if isinstance(value, str):
            return value
        raise refused(self.at(key), "should be a string")

    def optional_text(self, key: str) -> str | None:
        return optional_text(self.data.get(key), self.at(key))

    def text_or_number(self, key: str) -> str | None:
        """An id v1.1 objects send as a number or a string (``id``, ``timestamp_ms``), as a string.
        Missing or null: None."""
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise refused(self.at(key), "should be a string or a whole number")

    def flag(self, key: str) -> bool:
        """A boolean (missing: false); JSON's true and false, and the spellings pydantic took."""
        value = self.data.get(key, False)
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in _BOOLS:
            return _BOOLS[value.lower()]
        raise refused(self.at(key), "should be a boolean")

    def moment(self, key: str) -> datetime:
        """An RFC 3339 date-time with its offset (``2026-08-12T18:00:00.000Z``), as aware UTC; as
        pydantic did, a number (or a numeric string) is Unix time, in seconds or, above 2e10, ms."""
        value = self._required(key)
        wrong = refused(self.at(key), "should be an RFC 3339 date-time")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise wrong
        try:
            if isinstance(value, str) and not _NUMBER.fullmatch(value):
                return aware(datetime.fromisoformat(value))
            seconds = float(value)
            return datetime.fromtimestamp(seconds / 1000 if abs(seconds) > 2e10 else seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise wrong from None

    def obj(self, key: str) -> Fields:
        return Fields(self._required(key), self.at(key))

    def optional_obj(self, key: str) -> Fields | None:
        value = self.data.get(key)
        return None if value is None else Fields(value, self.at(key))

    def raw(self, key: str) -> dict[str, Any]:
        """An object we look into loosely (missing: empty); a null or another type is refused."""
        value = self.data.get(key, {})
        if isinstance(value, dict):
            return value
        raise refused(self.at(key), "should be an object")

    def optional_raw(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None or isinstance(value, dict):
            return value
        raise refused(self.at(key), "should be an object")

    def objects(self, key: str) -> list[Fields]:
        """A list of objects (missing: empty), each with its place (``follow_events.0``)."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise refused(self.at(key), "should be a list")
        where = self.at(key)
        return [Fields(item, f"{where}.{n}") for n, item in enumerate(value)]
