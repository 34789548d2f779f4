"""VADER (``SENTIMENT_MODEL=vader``) on short social texts: clear feelings, neutral facts, negation,
emphasis and emoji. The trained default model: test_sentiment_model.py."""

from __future__ import annotations

import pytest

from chalicelib.sentiment import VaderClassifier, default_classifier, label_of

vader = VaderClassifier()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Love this deal, just ordered two!", "positive"),
        ("This laptop is terrible and support is worse", "negative"),
        ("Ordered the XPS 13 yesterday", "neutral"),
        ("not bad at all", "positive"),  # negation flips "bad"
        ("not good", "negative"),
        ("worst customer service ever 😡", "negative"),
        ("😍😍😍", "positive"),  # emoji carry feeling
        ("@DellOutlet https://t.co/AbCdEf", "neutral"),  # a mention and a link say nothing
    ],
)
def test_short_social_texts_get_the_expected_label(text: str, label: str) -> None:
    assert vader.score(text).label == label


def test_emphasis_makes_a_feeling_stronger() -> None:
    calm = vader.score("This deal is great").compound
    assert vader.score("This deal is GREAT!!!").compound > calm > 0


def test_mentions_are_not_read_as_words() -> None:
    # "@GreatDeals" would otherwise read as "great".
    assert vader.score("@GreatDeals when is the next one?").label == "neutral"


def test_labels_follow_the_plus_minus_0_05_convention() -> None:
    assert (label_of(0.05), label_of(0.0499), label_of(-0.0499), label_of(-0.05)) == (
        "positive",
        "neutral",
        "neutral",
        "negative",
    )


def test_sentiment_model_vader_selects_vader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_MODEL", "VADER")
    assert isinstance(default_classifier(), VaderClassifier)
    assert default_classifier().score("Love this deal!").label == "positive"
