"""What the trained classifier reads of a post: one normalisation and one feature hashing, used
both by training (training/train_sentiment.py) and by scoring, so the two can never drift apart.

Mentions become ``@user`` and links ``http`` (as TweetEval ships its tweets), HTML entities are
decoded, curly apostrophes made straight, elongations shortened ("soooo" -> "soo"), emoticons
named, emoji kept as tokens, case folded. Words after a negation are marked until the next
punctuation ("not good" reads as "not NEG_good"). Features are hashed (CRC-32, the same in every
process) into ``BUCKETS`` slots: word unigrams and bigrams, and byte 2-5-grams within words, each
family weighted 1/sqrt(its size) so a long post does not outvote a short one.
"""

from __future__ import annotations

import html
import math
import re
import zlib
from typing import NamedTuple

BITS = 18
BUCKETS = 1 << BITS
_MASK = BUCKETS - 1
# A family's CRC seed: the same bytes hash elsewhere as a word, a bigram or a byte gram.
WORD, BIGRAM, CHARS = 0x57, 0x42, 0x43
CHAR_SIZES = (2, 3, 4, 5)

_MENTION = re.compile(r"@\w{1,15}")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMOTICONS = (
    (re.compile(r"(?<!\S)(?:[:=;8]-?[)\]}dDpP3*]+|\(+-?[:=;]|\^_*\^)(?!\w)"), " <smile> "),
    (re.compile(r"(?<!\S)(?:[:=;]'?-?[(\[{/\\|]+|[)\]]+-?[:=]|D-?[:=])(?!\w)"), " <sad> "),
    (re.compile(r"<3+"), " <heart> "),
)
_SKIN_AND_JOINERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_REPEATED_MARK = re.compile(r"([!?.])\1+")
_DIGITS = re.compile(r"\d+")
_TOKEN = re.compile(r"<\w+>|@user|#?[\w']+|[!?.]+|[^\w\s]")
_NEGATION = re.compile(
    r"(?:not|no|never|nothing|nobody|none|nor|neither|nowhere|cannot|without|\w+n't"
    r"|(?:do|does|did|ca|wo|is|are|was|were|have|has|had|could|should|would|ai|must|need)nt)$"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_CLAUSE_END = re.compile(r"[!?.,:;]+$")
_NEGATABLE_WORD = re.compile(r"[\w']+$")


def normalise(text: str) -> str:
    """The post as the model reads it: one line, lower case, mentions, links, entities and emoticons
    made uniform."""
    text = html.unescape(text).translate(_APOSTROPHES)
    text = _MENTION.sub("@user", text)
    text = _LINK.sub(" http ", text)
    for pattern, name in _EMOTICONS:
        text = pattern.sub(name, text)
    text = _SKIN_AND_JOINERS.sub("", text)
    text = _ELONGATED.sub(r"\1\1", text)
    text = _REPEATED_MARK.sub(r"\1\1", text)
    text = _DIGITS.sub("0", text)
    return " ".join(text.lower().split())


def tokens(normalised: str) -> list[str]:
    """Words, hashtags (also as the bare word), emoji and punctuation runs, with negation marked."""
    found: list[str] = []
    negated = False
    for raw in _TOKEN.findall(normalised):
        if _CLAUSE_END.match(raw):
            negated = False
            found.append(raw)
            continue
        token = raw
        if raw.startswith("#") and len(raw) > 1:
            found.append(raw)
            token = raw[1:]
        if negated and _NEGATABLE_WORD.match(token):
            found.append("NEG_" + token)
        else:
            found.append(token)
        if _NEGATION.match(token):
            negated = True
    return found


class Family(NamedTuple):
    """One family of a post's features: the slots its grams hash to (a slot twice when two grams
    collide), each worth ``value``, 1/sqrt(the number of distinct grams)."""

    value: float
    slots: list[int]


def _family(seed: int, grams: set[bytes]) -> Family:
    if not grams:
        return Family(0.0, [])
    return Family(1.0 / math.sqrt(len(grams)), [zlib.crc32(gram, seed) & _MASK for gram in grams])


def features(text: str) -> tuple[Family, Family, Family]:
    """The hashed features of one post: words, word bigrams, and the byte 2-5-grams of each
    distinct word padded with spaces (an emoji's bytes as a word's letters)."""
    words = tokens(normalise(text))
    encoded = [word.encode("utf-8") for word in words]
    bigrams = {a + b" " + b for a, b in zip([b"<s>", *encoded], [*encoded, b"</s>"], strict=True)}
    grams: set[bytes] = set()
    for word in set(encoded):
        padded = b" " + word + b" "
        for size in CHAR_SIZES:
            grams.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return _family(WORD, set(encoded)), _family(BIGRAM, bigrams), _family(CHARS, grams)
