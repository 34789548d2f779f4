"""Pages of a listing and their cursors.

A cursor is opaque to callers but comes back from them, so reading one is parsing untrusted
input: bounded in size before it is decoded, and every way it can be odd is an InvalidCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.store.errors import InvalidCursor
from chalicelib.store.keys import Item

MAX_CURSOR_LENGTH = 4096  # a key is at most 2 KB + 1 KB per index; a real cursor is far shorter
MAX_KEY_VALUE_LENGTH = 2048  # DynamoDB's limit for a partition key (a sort key's is 1024)
_CURSOR_CHARACTERS = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next: str | None


def pack_cursor(data: Any) -> str:
    """``data`` (JSON-able) as an opaque URL-safe cursor."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def unpack_cursor(cursor: str) -> Any:
    """What ``pack_cursor`` packed; anything else a caller sends is an InvalidCursor, never a crash."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR_CHARACTERS.fullmatch(cursor):
        raise InvalidCursor("the cursor is not one this service issued")
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise InvalidCursor("the cursor is not one this service issued") from None


def encode_cursor(key: Mapping[str, Any]) -> str:
    """The cursor of the page after the one that ended at ``key`` (DynamoDB's LastEvaluatedKey)."""
    return pack_cursor({k: (int(v) if isinstance(v, Decimal) else v) for k, v in key.items()})


def decode_cursor(cursor: str, partition: str, pk_name: str, sk_name: str) -> dict[str, Any]:
    """The start key of a page of ``partition``: exactly the key attributes DynamoDB returns for
    that query (the table's, plus the index's for an index query), each a short string."""
    key = unpack_cursor(cursor)
    wanted = {"PK", "SK", pk_name, sk_name}
    if (
        not isinstance(key, dict)
        or set(key) != wanted
        or key.get(pk_name) != partition
        or not all(isinstance(v, str) and 0 < len(v) <= MAX_KEY_VALUE_LENGTH for v in key.values())
    ):
        raise InvalidCursor("the cursor does not belong to this listing")
    return key
