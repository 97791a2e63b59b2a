"""The generalisation set (benchmarks/data/generalisation/) is never trained on: no training example may be a
copy or a light edit of one of its messages, or the benchmark would measure memory, not understanding."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.nlu_generalisation import LANGUAGES, load_set
from dialogs.nlu.data import load
from dialogs.nlu.normalize import normalize

ROOT = Path(__file__).resolve().parents[2]
# Trigram overlap above which two messages are the same message lightly edited; short phrases ("好的",
# "thanks") are everyone's words and may appear in both.
NEAR = 0.6
MIN_CHARS = 8
# Examples that predate the set and that its writers happened to phrase alike; frozen at 58 lines.
COINCIDENCES = ROOT / "benchmarks" / "data" / "generalisation" / "coincidences.txt"
FROZEN = 58


def _coincidences() -> set[str]:
    lines = COINCIDENCES.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def _key(text: str) -> str:
    return "".join(c for c in normalize(text).text if c.isalnum())


def _grams(key: str) -> set[str]:
    return {key[i:i + 3] for i in range(len(key) - 2)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class Held(list[tuple[str, set[str]]]):
    """The held-out messages' keys; its repr names none, so a failing run never shows the set to whoever
    writes training data (pytest prints a failing test's arguments)."""

    def __repr__(self) -> str:
        return f"<{len(self)} held-out messages>"


@pytest.fixture(scope="module")
def held() -> Held:
    return Held((k, _grams(k)) for item in load_set() if len(k := _key(item.text)) >= MIN_CHARS)


def test_the_set_covers_every_language_and_intent() -> None:
    items = load_set()
    training = set(load(ROOT / "nlu_data").intents)
    assert {i.lang for i in items} == set(LANGUAGES)
    assert len(items) >= 400
    assert {i.intent for i in items} == training  # every intent, and no label the model does not know


def test_no_training_example_copies_a_generalisation_message(held: Held) -> None:
    close = []
    allowed = _coincidences()
    assert len(allowed) <= FROZEN, "coincidences.txt is frozen: write a different training example instead"
    for ex in load(ROOT / "nlu_data").examples:
        key = _key(ex.text)
        if len(key) < MIN_CHARS or ex.text in allowed:
            continue
        grams = _grams(key)
        overlap = max((1.0 if key == hkey else _jaccard(grams, hgrams) for hkey, hgrams in held), default=0.0)
        if overlap >= NEAR:
            close.append(f"{ex.text!r} ({overlap:.2f})")
    # Only the training side is named: rewrite that example in other words, without looking at the set.
    assert not close, "training examples too close to the generalisation set:\n" + "\n".join(close)
