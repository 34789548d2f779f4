"""Sentiment figures for `make bench`: the trained model (the default) beside VADER, measured in the
same run on TweetEval's validation tweets (``SENTIMENT_DATA``, default ../shared/data/sentiment):
macro-averaged and per-class recall, model size, load time in a fresh interpreter, time per text.
Needs only the runtime package (the pure-Python scorer), not the training tools."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

Row = Callable[[str, str, str, str], None]
PROJECT = Path(__file__).resolve().parent.parent
LABELS = ("negative", "neutral", "positive")
FIRST_SCORE = """
import time
start = time.perf_counter()
from chalicelib.sentiment import default_classifier
default_classifier().score("first post of a new container")
print(time.perf_counter() - start)
"""


def data_folder() -> Path:
    return Path(os.environ.get("SENTIMENT_DATA", PROJECT.parent / "shared" / "data" / "sentiment"))


def recall_by_class(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    return {
        label: sum(p == label for t, p in zip(truth, predicted, strict=True) if t == label) / truth.count(label)
        for label in LABELS
    }


def cpu_seconds(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def fresh_process_seconds(code: str, env: dict[str, str], runs: int = 5) -> float:
    """Median of what ``code`` prints (seconds), each run in a new interpreter, as a cold Lambda."""
    from bench.cold import run_fresh

    return statistics.median(float(run_fresh(code, env)[1]) for _ in range(runs))


def bench_sentiment(row: Row) -> None:
    val = data_folder() / "val.tsv"
    if not val.exists():
        row("sentiment: skipped", f"no {val}", "set SENTIMENT_DATA to the folder with val.tsv", "-")
        return
    from vaderSentiment import vaderSentiment

    from chalicelib.sentiment import VaderClassifier
    from chalicelib.sentiment.linear import MODEL_PATH, LinearClassifier, load_model

    rows = [line.split("\t")[:2] for line in val.read_text(encoding="utf-8").splitlines()[1:]]
    truth, texts = [label for label, _ in rows], [text for _, text in rows]
    found: dict[str, dict[str, float]] = {}
    per_text: dict[str, float] = {}
    for name, classifier in (("trained", LinearClassifier()), ("VADER", VaderClassifier())):
        classifier.score("warm up: load the model")
        start = time.process_time()  # CPU time: the figure a busy machine does not inflate
        predicted = [classifier.score(text).label for text in texts]
        per_text[name] = (time.process_time() - start) / len(texts)
        found[name] = recall_by_class(truth, predicted)
    trained, vader = (statistics.mean(found[name].values()) * 100 for name in ("trained", "VADER"))
    row(
        f"sentiment: val macro recall ({len(texts):,} TweetEval tweets)",
        f"trained {trained:.1f}",
        f"VADER {vader:.1f}",
        f"{trained - vader:+.1f} points (target +7)",
    )
    for label in LABELS:
        mine, theirs = found["trained"][label] * 100, found["VADER"][label] * 100
        row(
            f"sentiment: val recall, {label}",
            f"trained {mine:.1f}",
            f"VADER {theirs:.1f}",
            f"{mine - theirs:+.1f} points",
        )
    lexicons = Path(vaderSentiment.__file__).parent
    lexicon_bytes = sum(p.stat().st_size for p in lexicons.glob("*.txt"))
    model_bytes = MODEL_PATH.stat().st_size
    row(
        "sentiment: model file (gzipped; it also reads VADER's lexicons)",
        f"{model_bytes / 1000:.0f} KB",
        f"VADER's lexicons {lexicon_bytes / 1000:.0f} KB",
        f"{model_bytes / lexicon_bytes:.2f}x (budget 1,500 KB)",
    )
    load_trained = min(cpu_seconds(load_model.__wrapped__) for _ in range(20))  # uncached: reads the file
    load_vader = min(cpu_seconds(vaderSentiment.SentimentIntensityAnalyzer) for _ in range(20))
    row(
        "sentiment: model load, CPU (the trained model also loads VADER)",
        f"trained {load_trained * 1000:.1f} ms",
        f"VADER {load_vader * 1000:.1f} ms",
        f"{load_trained / load_vader:.2f}x, once per container",
    )
    # Import, load and score once in a new interpreter, as in a cold container.
    cold_trained, cold_vader = (
        fresh_process_seconds(FIRST_SCORE, {**os.environ, "SENTIMENT_MODEL": model}) for model in ("linear", "vader")
    )
    row(
        "sentiment: first score in a new interpreter (import + load + score)",
        f"trained {cold_trained * 1000:.0f} ms",
        f"VADER {cold_vader * 1000:.0f} ms",
        f"{cold_trained / cold_vader:.1f}x",
    )
    row(
        "sentiment: CPU time per text, warm (val tweets)",
        f"trained {per_text['trained'] * 1e6:.0f} us",
        f"VADER {per_text['VADER'] * 1e6:.0f} us",
        f"{per_text['trained'] / per_text['VADER']:.1f}x (budget 1,000 us)",
    )


if __name__ == "__main__":  # only these figures: python -m bench.sentiment
    bench_sentiment(lambda *cells: print("  ".join(cells)))
