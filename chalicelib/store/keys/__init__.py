"""Every key shape in the one table. Nothing outside this package spells a ``PK`` or an ``SK``.

Entities live in their own partition (``FOLLOWER#<id>``, ``OUTBOX#<id>`` ...); listings by time
or status go through ``GSI1`` (``GSI1PK`` a listing, ``GSI1SK`` an ISO time). ``GSI2`` is sparse:
only deals that can still end (an end time or a quantity) carry its keys, until they end.

One module a capability holds its shapes (``deals``, ``messaging``, ``feedback`` ...); ``Keys``
gathers them, so callers write ``Keys.deal(...)`` whichever module spells it. ``parts`` holds
what every key is made of.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.store.keys.answers import AnswerKeys
from chalicelib.store.keys.channel import ChannelKeys
from chalicelib.store.keys.community import CommunityKeys
from chalicelib.store.keys.console import ConsoleKeys
from chalicelib.store.keys.deals import DealKeys
from chalicelib.store.keys.feedback import FeedbackKeys
from chalicelib.store.keys.listening import ListeningKeys
from chalicelib.store.keys.messaging import MessagingKeys
from chalicelib.store.keys.parts import (
    GSI1,
    GSI2,
    INDEX_KEYS,
    KEY_ATTRIBUTES,
    TTL_ATTRIBUTE,
    Item,
    Key,
    iso,
    shard_of,
    without_keys,
)
from chalicelib.store.keys.people import PeopleKeys
from chalicelib.store.keys.sales import SalesKeys

__all__ = [
    "GSI1",
    "GSI2",
    "INDEX_KEYS",
    "KEY_ATTRIBUTES",
    "TTL_ATTRIBUTE",
    "Item",
    "Key",
    "Keys",
    "iso",
    "shard_of",
    "utcnow",
    "without_keys",
]


class Keys(
    ChannelKeys,
    CommunityKeys,
    DealKeys,
    SalesKeys,
    MessagingKeys,
    FeedbackKeys,
    AnswerKeys,
    PeopleKeys,
    ListeningKeys,
    ConsoleKeys,
):
    """Every key shape in the table. Add new entities to their capability's module, nowhere else."""


# No two families define the same name (tests/unit/test_keys.py), so the order above decides nothing.
KEY_FAMILIES: tuple[type, ...] = Keys.__mro__[1:-1]


def utcnow() -> datetime:
    # Here, not in ``parts``: the local demo's clock (localcloud/demo.py) swaps this module's ``datetime``.
    return datetime.now(UTC)
