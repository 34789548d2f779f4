"""The one DynamoDB table: ``keys`` owns every key shape, ``table``'s Store every read and write
(its ``errors``, ``expressions``, ``conditions``, ``wire`` and ``cursors`` beside it), on botocore
alone: nothing here imports boto3."""

from chalicelib.store.cursors import Page, pack_cursor, unpack_cursor
from chalicelib.store.errors import (
    AlreadyExists,
    BatchIncomplete,
    ConditionFailed,
    InvalidCursor,
    StoreError,
    TransactionConflict,
)
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
from chalicelib.store.table import Store, summed

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
    "pack_cursor",
    "shard_of",
    "summed",
    "unpack_cursor",
    "utcnow",
    "without_keys",
]
