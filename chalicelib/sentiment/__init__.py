"""Sentiment of short social text, behind one interface: a classifier trained on labelled tweets
(``linear``, the default: chalicelib/sentiment/linear.py, trained by `make train-sentiment`) or
VADER (``SENTIMENT_MODEL=vader``). Importing this package loads neither model: each loads at its
first score, once per container.

VADER is made for posts: it reads emoji, capitals, exclamation marks and negation. Mentions and
links say nothing about feeling, so they are removed before it scores.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

Label = Literal["positive", "neutral", "negative"]
THRESHOLD = 0.05  # VADER's own convention for the compound score
NOISE = re.compile(r"(?:@\w{1,15}|https?://\S+)")


@dataclass(frozen=True)
class Sentiment:
    label: Label
    compound: Decimal  # in [-1, 1], four places: DynamoDB takes no floats

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "compound": float(self.compound)}


class Classifier(Protocol):
    def score(self, text: str) -> Sentiment: ...


def label_of(compound: float) -> Label:
    if compound >= THRESHOLD:
        return "positive"
    if compound <= -THRESHOLD:
        return "negative"
    return "neutral"


@functools.cache
def vader_analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # reads its lexicon: once

    return SentimentIntensityAnalyzer()


class VaderClassifier:
    def score(self, text: str) -> Sentiment:
        cleaned = NOISE.sub(" ", text).strip()
        compound = float(vader_analyzer().polarity_scores(cleaned)["compound"]) if cleaned else 0.0
        return Sentiment(label_of(compound), Decimal(str(round(compound, 4))))


MODELS = ("linear", "vader")
DEFAULT_MODEL = "linear"


def default_classifier() -> Classifier:
    """The classifier the service uses (CONTRACT): ``SENTIMENT_MODEL`` names it, the trained model
    by default. Read at call time; one instance per model and container."""
    name = os.environ.get("SENTIMENT_MODEL", "").strip().lower() or DEFAULT_MODEL
    if name not in MODELS:
        from chalicelib.config import ConfigurationError

        raise ConfigurationError(f"SENTIMENT_MODEL must be one of {', '.join(MODELS)}, not {name!r}")
    return _classifier(name)


@functools.cache
def _classifier(name: str) -> Classifier:
    if name == "vader":
        return VaderClassifier()
    from chalicelib.sentiment.linear import LinearClassifier

    return LinearClassifier()
