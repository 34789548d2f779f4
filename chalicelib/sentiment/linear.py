"""The trained tweet classifier, scored in pure Python: a linear model over the hashed features of
``text.features`` and VADER's four scores, read once per container from ``model.bin.gz``.

The model is stored relative to neutral (softmax reads only differences between the classes'
scores): for negative and positive, one signed byte per hash slot with a scale, VADER's weights and
a bias, the bias already shifted by the offsets that maximised macro-averaged recall on val
(training/train_sentiment.py). ``compound`` is P(positive) - P(negative).
"""

from __future__ import annotations

import functools
import gzip
import html
import json
import math
from array import array
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib.sentiment import NOISE, Label, Sentiment, vader_analyzer
from chalicelib.sentiment.text import BITS, BUCKETS, features

MODEL_PATH = Path(__file__).resolve().parent / "model.bin.gz"
MAGIC = b"outlet-sentiment 1\n"
CLASSES: tuple[Label, Label] = ("negative", "positive")  # neutral scores 0


def vader_features(text: str) -> tuple[float, float, float, float]:
    """VADER's compound, positive, neutral and negative shares, as the model reads them."""
    cleaned = NOISE.sub(" ", html.unescape(text)).strip()
    if not cleaned:
        return (0.0, 0.0, 0.0, 0.0)
    found = vader_analyzer().polarity_scores(cleaned)
    return (float(found["compound"]), float(found["pos"]), float(found["neu"]), float(found["neg"]))


@dataclass(frozen=True)
class LinearModel:
    weights: tuple[array[int], array[int]]  # int8 per hash slot, negative then positive
    scale: tuple[float, float]
    vader: tuple[tuple[float, ...], tuple[float, ...]]
    bias: tuple[float, float]

    def scores(self, text: str) -> tuple[float, float]:
        """The negative and positive scores against neutral's 0."""
        negative_weight, positive_weight = self.weights[0].__getitem__, self.weights[1].__getitem__
        negative = positive = 0.0
        for family in features(text):
            negative += family.value * sum(map(negative_weight, family.slots))
            positive += family.value * sum(map(positive_weight, family.slots))
        vader = vader_features(text)
        return (
            negative * self.scale[0] + sum(v * w for v, w in zip(vader, self.vader[0], strict=True)) + self.bias[0],
            positive * self.scale[1] + sum(v * w for v, w in zip(vader, self.vader[1], strict=True)) + self.bias[1],
        )

    def score(self, text: str) -> Sentiment:
        negative, positive = self.scores(text)
        # The first highest wins, in the order negative, neutral, positive (as numpy's argmax).
        label: Label = "negative" if negative >= max(0.0, positive) else "neutral" if positive <= 0.0 else "positive"
        top = max(negative, 0.0, positive)
        exp_negative, exp_neutral, exp_positive = (math.exp(s - top) for s in (negative, 0.0, positive))
        compound = (exp_positive - exp_negative) / (exp_negative + exp_neutral + exp_positive)
        return Sentiment(label, Decimal(str(round(compound, 4))))


def write_model(path: Path, model: dict[str, Any]) -> None:
    """Training's side of the format: the header (JSON) on one line, then the int8 weights."""
    header = {key: model[key] for key in ("scale", "vader", "bias")} | {"bits": BITS}
    body = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
    body += b"".join(model["weights"][label] for label in CLASSES)
    path.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))  # mtime 0: the same bytes each run


@functools.cache
def load_model(path: Path = MODEL_PATH) -> LinearModel:
    body = gzip.decompress(path.read_bytes())
    if not body.startswith(MAGIC):
        raise ValueError(f"{path} is not an outlet sentiment model")
    line_end = body.index(b"\n", len(MAGIC))
    header = json.loads(body[len(MAGIC) : line_end])
    if header["bits"] != BITS:
        raise ValueError(f"{path} hashes into 2**{header['bits']} slots; text.py into 2**{BITS}")
    weights = body[line_end + 1 :]
    negative, positive = array("b"), array("b")
    negative.frombytes(weights[:BUCKETS])
    positive.frombytes(weights[BUCKETS : 2 * BUCKETS])
    return LinearModel(
        weights=(negative, positive),
        scale=(header["scale"]["negative"], header["scale"]["positive"]),
        vader=(tuple(header["vader"]["negative"]), tuple(header["vader"]["positive"])),
        bias=(header["bias"]["negative"], header["bias"]["positive"]),
    )


class LinearClassifier:
    """The trained model (the default); its file is read at the first score, once per container."""

    def score(self, text: str) -> Sentiment:
        if not any(ch.isalnum() or not ch.isascii() for ch in text):
            return Sentiment("neutral", Decimal("0"))  # blank or punctuation only: the bias alone leans negative
        # A lone surrogate cannot be hashed as UTF-8 bytes; X's JSON can carry one.
        return load_model().score(text.encode("utf-8", "replace").decode("utf-8"))
