"""Post text: X's weighted length, and the rule that the account never publishes a text twice."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from chalicelib.store import AlreadyExists, Keys, Store, iso

MAX_WEIGHTED_LENGTH = 280


def weighted_length(text: str) -> int:
    """Length as X counts it (URLs 23, CJK and emoji 2, after NFC), via twitter-text's rules."""
    from twitter_text import parse_tweet  # lazy: its regexes cost ~0.2 s, paid only when posting

    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def fingerprint(text: str) -> str:
    """Texts that differ only in case, spacing or Unicode form are the same text to X."""
    normalized = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()
    return hashlib.sha256(normalized.encode()).hexdigest()


def claim_text(store: Store, text: str, *, post_key: str, at: datetime) -> bool:
    """Reserve ``text`` for the post ``post_key``. False if another post already used it; a retry
    of the same post finds its own claim and may go on."""
    try:
        store.put_new({**Keys.published_text(fingerprint(text)), "post_key": post_key, "claimed_at": iso(at)})
    except AlreadyExists as exc:
        return bool(exc.item and exc.item.get("post_key") == post_key)
    return True
