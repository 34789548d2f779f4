"""What every key is made of: the key attributes and indexes, ISO times that sort, stable shards."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Item = dict[str, Any]
Key = dict[str, str]

KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
TTL_ATTRIBUTE = "ttl"  # epoch seconds; must match TimeToLiveSpecification in infra/template.json
GSI1 = "GSI1"
GSI2 = "GSI2"
INDEX_KEYS = {GSI1: ("GSI1PK", "GSI1SK"), GSI2: ("GSI2PK", "GSI2SK")}


def iso(moment: datetime) -> str:
    """Sortable ISO-8601 in UTC, microsecond precision, ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: outlet keeps aware UTC times only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shard_of(natural_id: str, shards: int) -> int:
    """A stable shard for an id: every write for one follower or one event lands in the same one.
    (A cryptographic hash, because CRC32 of ids that differ in a digit or two clusters on a few shards.)"""
    return int.from_bytes(hashlib.blake2b(natural_id.encode(), digest_size=4).digest(), "big") % shards


def without_keys(item: Mapping[str, Any]) -> Item:
    return {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES and k != TTL_ATTRIBUTE}
