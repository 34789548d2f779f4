"""The console's forms: reading a posted form, and the deal form's fields in the shape of
``POST /deals`` (a browser's ``datetime-local`` read in the form's time zone), with each
field's problem said in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from chalicelib.deals import DealFields

MAX_FORM_BYTES = 64 * 1024
DEAL_FIELDS = (
    "title",
    "price",
    "list_price",
    "currency",
    "code",
    "url",
    "quantity",
    "release_at",
    "expires_at",
    "text",
)
TIMES = ("release_at", "expires_at")

PLAIN = {
    "title": "Give the deal a title of at most 120 characters.",
    "price": "Enter the price as an amount above 0 with at most two decimals, like 799 or 19.99.",
    "list_price": "Enter the list price as an amount above 0 with at most two decimals, like 999.",
    "currency": "Use a three-letter currency code, like USD or EUR.",
    "code": "Use 3 to 32 letters, digits, - or _, starting with a letter or a digit.",
    "url": "Enter a full web address starting with https:// (or leave it empty).",
    "quantity": "Enter a whole number of units, 1 or more (or leave it empty for no limit).",
    "release_at": "Pick a date and time, like 2026-12-01 09:00.",
    "expires_at": "Pick a date and time after the release (or leave it empty).",
    "text": "Keep the text under 4000 characters (or leave it empty for the standard post).",
    "dm_subscribers": "Tick the box or leave it empty.",
}
RULES = {
    "must be in the future": "The release time has passed: pick a time in the future.",
    "must be below list_price": "The price must be below the list price.",
    "must be after release_at": "The deal must end after it is released.",
    "in use": "A live deal already uses this code: pick another.",
}


def read_form(raw: bytes | str | None) -> dict[str, str]:
    """A urlencoded body as the first value of each field (a bigger body is refused by the caller)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else (raw or "")
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


def plain(field: str, message: str) -> str:
    """A rule's message as an operator reads it."""
    return RULES.get(message, message[:1].upper() + message[1:] if message else PLAIN.get(field, "Check this field."))


def read_time(value: str, zone: ZoneInfo | None) -> datetime | None:
    """A full ISO 8601 time as it is, or a ``datetime-local`` value in ``zone``; None if neither."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone) if zone is not None else None


def time_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name and "\x00" not in name and len(name) <= 64 else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def deal_fields(form: Mapping[str, str]) -> tuple[DealFields | None, dict[str, str]]:
    """The deal the form describes, or the fields' problems in plain words."""
    errors: dict[str, str] = {}
    zone_name = form.get("timezone", "").strip() or "UTC"
    zone = ZoneInfo("UTC") if zone_name == "UTC" else time_zone(zone_name)
    if zone is None:
        errors["timezone"] = "Unknown time zone: use a name like UTC, Europe/Paris or America/New_York."
    data: dict[str, Any] = {}
    for name in DEAL_FIELDS:
        value = form.get(name, "").strip()
        if not value:
            continue
        if name in TIMES:
            moment = read_time(value, zone)
            if moment is None:
                errors.setdefault(name, PLAIN[name])
                continue
            data[name] = moment.astimezone(UTC)
        else:
            data[name] = value
    data["dm_subscribers"] = form.get("dm_subscribers", "") in {"on", "true", "1", "yes"}
    try:
        fields = DealFields.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "title"
            errors.setdefault(name, "This field is required." if error["type"] == "missing" else PLAIN.get(name, ""))
        return None, errors
    return (fields, {}) if not errors else (None, errors)


def form_values(form: Mapping[str, str]) -> dict[str, str]:
    """What the operator typed, to put back in the form when it is shown again."""
    values = {name: form.get(name, "") for name in (*DEAL_FIELDS, "timezone")}
    values["timezone"] = values["timezone"] or "UTC"
    values["dm_subscribers"] = "on" if form.get("dm_subscribers") else ""
    return values


def deal_values(deal: Mapping[str, Any]) -> dict[str, str]:
    """A stored deal in the form's shape, its times as ``datetime-local`` values in UTC."""
    values = {name: "" if deal.get(name) is None else str(deal[name]) for name in DEAL_FIELDS}
    for name in TIMES:
        if deal.get(name):
            values[name] = datetime.fromisoformat(str(deal[name])).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    values["timezone"] = "UTC"
    values["dm_subscribers"] = "on" if deal.get("dm_subscribers") else ""
    return values
