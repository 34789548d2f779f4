"""The trained sentiment model (the default): its normalisation, its lazy load, and that the
pure-Python scorer predicts exactly what training measured on every val tweet."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.config import ConfigurationError
from chalicelib.sentiment import VaderClassifier, default_classifier
from chalicelib.sentiment.linear import MODEL_PATH, LinearClassifier, load_model
from chalicelib.sentiment.text import features, normalise, tokens

PROJECT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("sentiment_val_expected.json")
DATA = Path(os.environ.get("SENTIMENT_DATA", PROJECT.parent / "shared" / "data" / "sentiment"))
model = LinearClassifier()


def read_val() -> list[tuple[str, str]]:
    path = DATA / "val.tsv"
    if not path.exists():
        pytest.skip(f"no {path}: set SENTIMENT_DATA to the folder holding val.tsv")
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(label, text) for label, text in (row.split("\t")[:2] for row in rows)]


def macro_recall(truth: list[str], predicted: list[str]) -> float:
    labels = ("negative", "neutral", "positive")
    hits = [sum(p == t for t, p in zip(truth, predicted, strict=True) if t == label) for label in labels]
    return sum(h / truth.count(label) for h, label in zip(hits, labels, strict=True)) / len(labels)


def test_the_default_is_the_trained_model_and_vader_stays_selectable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTIMENT_MODEL", raising=False)
    assert isinstance(default_classifier(), LinearClassifier)
    monkeypatch.setenv("SENTIMENT_MODEL", "linear")
    assert isinstance(default_classifier(), LinearClassifier)
    monkeypatch.setenv("SENTIMENT_MODEL", " Vader ")
    assert isinstance(default_classifier(), VaderClassifier)


def test_an_unknown_sentiment_model_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_MODEL", "bert")
    with pytest.raises(ConfigurationError, match="SENTIMENT_MODEL must be one of linear, vader, not 'bert'"):
        default_classifier()


def test_the_model_and_vader_load_at_the_first_score_not_at_import() -> None:
    probe = (
        "import sys\n"
        "def loaded(): return [m for m in ('vaderSentiment', 'chalicelib.sentiment.linear') if m in sys.modules]\n"
        "import chalicelib.sentiment as s\n"
        "print(loaded())\n"
        "classifier = s.default_classifier()\n"
        "from chalicelib.sentiment.linear import load_model\n"
        "print(load_model.cache_info().currsize, 'vaderSentiment' in sys.modules)\n"
        "classifier.score('first post')\n"
        "print(load_model.cache_info().currsize, 'vaderSentiment' in sys.modules)\n"
    )
    env = {**os.environ, "SENTIMENT_MODEL": ""}
    found = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", probe], cwd=PROJECT, env=env, capture_output=True, text=True, check=False
    )
    assert found.stdout.splitlines() == ["[]", "0 False", "1 True"], found.stderr


def test_the_model_file_is_read_once_per_container() -> None:
    model.score("first")
    model.score("second")
    assert load_model.cache_info().currsize == 1
    assert load_model() is load_model()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this deal, just ordered two! Thank you!", "positive"),
        ("This laptop is terrible and your support is even worse. Never again.", "negative"),
        ("The XPS 13 ships on Tuesday from the Austin warehouse.", "neutral"),
        ("worst customer service ever 😡", "negative"),
        ("😍😍😍 best day ever", "positive"),
        ("so happy with my new monitor :)", "positive"),
        ("my order never arrived and nobody answers :(", "negative"),
    ],
)
def test_posts_with_a_plain_feeling_get_that_label(text: str, label: str) -> None:
    assert model.score(text).label == label


def test_compound_is_a_signed_confidence_that_agrees_with_the_label() -> None:
    for text in ("I love it", "I hate it", "The store opens at 9", "not good", "not bad"):
        found = model.score(text)
        assert Decimal(-1) <= found.compound <= Decimal(1)
        if found.label != "neutral":
            assert (found.compound > 0) == (found.label == "positive"), text
    assert model.score("I love it so much, best deal ever!").compound > model.score("it is ok I guess").compound


def test_normalisation_makes_mentions_links_entities_and_emphasis_uniform() -> None:
    assert normalise("@DellOutlet Sooooo GOOD!!!! https://t.co/AbC &amp; www.dell.com :)") == (
        "@user soo good!! http & http <smile>"
    )
    assert normalise("at 9:30 &gt;&gt; 👍🏽") == "at 0:0 >> 👍"  # a time is no emoticon; skin tones fold
    assert features("@Alice love it https://x.co/1") == features("@user love it http")


def test_negation_marks_words_until_the_clause_ends() -> None:
    assert tokens(normalise("I don't like it, but fine")) == ["i", "don't", "NEG_like", "NEG_it", ",", "but", "fine"]
    assert tokens(normalise("isn\u2019t good. dont care")) == ["isn't", "NEG_good", ".", "dont", "NEG_care"]
    assert tokens(normalise("I want this, it went well")) == ["i", "want", "this", ",", "it", "went", "well"]
    assert tokens(normalise("#NotHappy today")) == ["#nothappy", "nothappy", "today"]


def test_the_model_file_is_small() -> None:
    assert MODEL_PATH.stat().st_size < 1_500_000


def test_the_scorer_predicts_what_training_measured_on_every_val_tweet() -> None:
    # Given what training's matrix arithmetic predicted for val with the model file written
    val = read_val()
    expected = json.loads(EXPECTED.read_text())
    assert expected["model_sha256"] == hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest(), (
        "the model file changed: run `make train-sentiment`, which writes both"
    )
    # When the pure-Python scorer reads every val tweet
    found = [model.score(text) for _, text in val]
    # Then it gives the same label to every one, and the same compound to four places
    assert "".join(f.label[0] for f in found) == expected["labels"]
    assert max(abs(float(f.compound) - e) for f, e in zip(found, expected["compound"], strict=True)) <= 0.00006


def test_the_trained_model_beats_vader_on_val_by_seven_points() -> None:
    val = read_val()
    truth = [label for label, _ in val]
    trained = macro_recall(truth, [model.score(text).label for _, text in val])
    vader = macro_recall(truth, [VaderClassifier().score(text).label for _, text in val])
    assert trained >= vader + 0.07, (trained, vader)


@pytest.mark.parametrize("text", ["", " ", "\n\t", ".", "?!", "..."])
def test_text_without_words_is_neutral_not_the_bias(text: str) -> None:
    # (the bias alone leans negative: blank feedback must not feed a negative spike)
    assert LinearClassifier().score(text) == LinearClassifier().score("") == VaderClassifier().score("")


def test_a_lone_surrogate_from_a_json_payload_is_scored_not_raised() -> None:
    assert LinearClassifier().score("love this deal \ud800").label == "positive"
