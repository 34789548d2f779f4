"""The one DynamoDB table: ``keys`` owns every key shape, ``table`` every read and write."""

from chalicelib.store.keys import (
    GSI1,
    GSI2,
    KEY_ATTRIBUTES,
    TTL_ATTRIBUTE,
    Item,
    Key,
    Keys,
    iso,
    shard_of,
    utcnow,
    without_keys,
)
from chalicelib.store.table import (
    AlreadyExists,
    BatchIncomplete,
    ConditionFailed,
    InvalidCursor,
    Page,
    Store,
    StoreError,
    TransactionConflict,
    summed,
)

__all__ = [
    "GSI1",
    "GSI2",
    "KEY_ATTRIBUTES",
    "TTL_ATTRIBUTE",
    "AlreadyExists",
    "BatchIncomplete",
    "ConditionFailed",
    "InvalidCursor",
    "Item",
    "Key",
    "Keys",
    "Page",
    "Store",
    "StoreError",
    "TransactionConflict",
    "iso",
    "shard_of",
    "summed",
    "utcnow",
    "without_keys",
]
