"""The listening routes' query strings, read strictly: a filter that cannot be what it names is
a 400 that says which, never an empty list that looks like silence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import BadRequest
from chalicelib.listening.posts import list_posts
from chalicelib.listening.reports import LABELS, MAX_DAYS
from chalicelib.listening.rules import KINDS

__all__ = ["PostFilter", "days_param", "list_posts"]


class PostFilter:
    """``GET /listening/posts``'s filters: ``rule`` (a rule id), ``kind``, ``sentiment``, ``since``
    (ISO 8601 with an offset or Z)."""

    @staticmethod
    def read(params: dict[str, str]) -> dict[str, Any]:
        wanted: dict[str, Any] = {}
        errors: dict[str, str] = {}
        rule = params.get("rule", "")
        if rule:
            if len(rule) > 64 or not rule.isascii() or not rule.replace("-", "").replace("_", "").isalnum():
                errors["rule"] = "a rule id, as GET /listening/rules lists them"
            else:
                wanted["rule"] = rule
        for name, allowed in (("kind", KINDS), ("sentiment", LABELS)):
            value = params.get(name, "")
            if value and value not in allowed:
                errors[name] = f"one of {', '.join(allowed)}"
            elif value:
                wanted[name] = value
        since = params.get("since", "")
        if since:
            try:
                moment = datetime.fromisoformat(since.replace("Z", "+00:00")) if len(since) <= 40 else None
            except ValueError:
                moment = None
            try:
                wanted["since"] = moment.astimezone(UTC) if moment and moment.tzinfo else None
            except OverflowError:  # year 1 or 9999 with an offset: no UTC time to compare
                wanted["since"] = None
            if wanted["since"] is None:
                del wanted["since"]
                errors["since"] = "an ISO 8601 time with an offset or Z, like 2026-11-01T00:00:00Z"
        if errors:
            raise BadRequest("the listening filters are not valid", fields=errors)
        return wanted


def days_param(params: dict[str, str], *, default: int) -> int:
    raw = params.get("days", "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= MAX_DAYS:  # isdigit() takes "²"
        raise BadRequest(f"days must be 1 to {MAX_DAYS}", fields={"days": f"a whole number from 1 to {MAX_DAYS}"})
    return int(raw)
