"""Post text: X's weighted length, and the rule that the account never publishes a text twice,
nor one that nearly repeats a recent post."""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import re
import sys
import types
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chalicelib.store import GSI1, AlreadyExists, Keys, Store, iso

NEAR_DUPLICATE_RATIO = 0.9  # token similarity at or above which two posts say the same thing
RECENT_POSTS = 200  # how many recent texts a new one is compared with
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_TOKEN = re.compile(r"[\w$€£¥%@#]+", re.UNICODE)

MAX_WEIGHTED_LENGTH = 280


def weighted_length(text: str) -> int:
    """Length as X counts it (URLs 23, CJK and emoji 2, after NFC), via twitter-text's rules."""
    _provide_pkg_resources()
    from twitter_text import parse_tweet  # lazy: its regexes cost ~0.2 s, paid only when posting

    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def _provide_pkg_resources() -> None:
    """twitter-text reads its emoji list with ``pkg_resources.resource_string`` (setuptools), which a
    Lambda Python runtime need not have (3.12's has none): where it is missing, a stand-in with
    that one function, reading the file the same way, takes its place."""
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        return
    stand_in = types.ModuleType("pkg_resources")

    def resource_string(module: str, name: str) -> bytes:  # a file beside the module, as setuptools reads it
        return Path(str(sys.modules[module].__file__)).with_name(name).read_bytes()

    stand_in.resource_string = resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in


def fingerprint(text: str) -> str:
    """Texts that differ only in case, spacing or Unicode form are the same text to X."""
    normalized = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()
    return hashlib.sha256(normalized.encode()).hexdigest()


def claim_text(store: Store, text: str, *, post_key: str, at: datetime) -> bool:
    """Reserve ``text`` for the post ``post_key``. False if another post already used it; a retry
    of the same post finds its own claim and may go on."""
    try:
        digest = fingerprint(text)
        store.put_new(
            {
                **Keys.published_text(digest),
                **Keys.published_text_index(at, digest),
                "text": text,
                "post_key": post_key,
                "claimed_at": iso(at),
            }
        )
    except AlreadyExists as exc:
        return bool(exc.item and exc.item.get("post_key") == post_key)
    return True


@dataclass(frozen=True)
class EarlierPost:
    text: str
    post_key: str


def tokens(text: str) -> list[str]:
    """Words, numbers and prices, case-folded; any link is one token (links are shortened anyway)."""
    normalized = _URL.sub(" http ", unicodedata.normalize("NFKC", text)).casefold()
    return _TOKEN.findall(normalized)


def repeats(text: str, earlier: str) -> bool:
    if fingerprint(text) == fingerprint(earlier):
        return True
    mine, theirs = tokens(text), tokens(earlier)
    return difflib.SequenceMatcher(a=mine, b=theirs, autojunk=False).ratio() >= NEAR_DUPLICATE_RATIO


def recent_posts(store: Store, limit: int = RECENT_POSTS) -> list[EarlierPost]:
    page = store.query(Keys.PUBLISHED_TEXTS, index=GSI1, newest_first=True, limit=limit)
    return [EarlierPost(str(i["text"]), str(i["post_key"])) for i in page.items if i.get("text")]


def find_repeat(text: str, earlier: Iterable[EarlierPost], *, own_key: str | None = None) -> EarlierPost | None:
    """The first earlier post that ``text`` repeats or nearly repeats (other than its own)."""
    return next((post for post in earlier if post.post_key != own_key and repeats(text, post.text)), None)
