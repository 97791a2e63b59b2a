"""Training, the model artifact, and the parser the dialogue engine calls.

``NLU.load(path)`` once, then ``nlu.parse(text, now=..., lang=...)`` from any thread: parsing
reads the fitted model and compiled patterns and writes only to caches of pure functions (two threads
racing store the same value), so it needs no lock.
"""

from __future__ import annotations

import logging
import pickle
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.nlu import classifier, fuzzy, multi, recurrence
from dialogs.nlu.data import TrainingData
from dialogs.nlu.entities import ServiceTypeMatcher, find, to_original, with_placeholders
from dialogs.nlu.fast import FastLinear
from dialogs.nlu.normalize import Normalized, chinese_script, normalize
from dialogs.nlu.terms import TermMatcher, find_terms, matchers

log = logging.getLogger(__name__)
FORMAT = 1
FALLBACK = "nlu_fallback"
CLASSIFY_CHARS = 300
EMOJI_ONLY = 0.6  # the confidence a message of emoji alone needs


class ModelError(RuntimeError):
    """The model file is missing, unreadable or from another version."""


def training_texts(data: TrainingData, services: ServiceTypeMatcher, now: datetime) -> list[str]:
    out = []
    for ex in data.examples:
        norm = normalize(ex.text)
        out.append(with_placeholders(norm.text, find(norm.text, now, services)))
    return out


# A fixed reference time for featurising training data, so training does not depend on the clock.
TRAIN_NOW = datetime(2026, 1, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def train(data: TrainingData, design: str = classifier.DEFAULT) -> dict[str, Any]:
    services = ServiceTypeMatcher(data)
    pipeline = classifier.DESIGNS[design](data.lookups)
    pipeline.fit(training_texts(data, services, TRAIN_NOW), [e.intent for e in data.examples])
    return {"format": FORMAT, "fingerprint": data.fingerprint(), "design": design,
            "pipeline": pipeline, "services": services, "terms": matchers(data)}


def save(artifact: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(pickle.dumps(artifact, protocol=5))
    tmp.replace(path)  # atomic: a crash mid-write never leaves a broken model behind


def read_artifact(path: Path) -> dict[str, Any]:
    try:
        # The model is our own artifact, written by `frontdesk nlu train`; never load one from elsewhere.
        artifact = pickle.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ModelError(f"no NLU model at {path}: run `frontdesk nlu train` first") from exc
    except Exception as exc:
        raise ModelError(f"cannot read NLU model {path}: {exc}") from exc
    if not isinstance(artifact, dict) or artifact.get("format") != FORMAT:
        raise ModelError(f"{path} is not a model of this version: run `frontdesk nlu train`")
    return artifact


_CJK = re.compile("[\u4e00-\u9fff]")
_LATIN = re.compile("[A-Za-z]")  # str.isascii() and str.isalpha()


def detect_language(text: str, original: str | None = None) -> str:
    """ "zh", "zh-Hant", "en" or "und" for normalised ``text``. Normalising turns Traditional into
    Simplified, so the script is read from the client's ``original`` text when given."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk and cjk * 3 >= latin:
        return (chinese_script(original) or "zh") if original else "zh"
    return "en" if latin else "zh" if cjk else "und"


@dataclass
class NLU:
    pipeline: Any
    services: ServiceTypeMatcher
    threshold: float = 0.35
    timezone: str = "Asia/Shanghai"
    max_chars: int = 2000
    fingerprint: str = ""
    terms: tuple[TermMatcher, ...] = ()  # complaint_category, remedy (models before them have none)

    @classmethod
    def load(cls, path: Path, threshold: float = 0.35, timezone: str = "Asia/Shanghai",
             max_chars: int = 2000) -> NLU:
        a = read_artifact(path)
        return cls(a["pipeline"], a["services"], threshold, timezone, max_chars, a["fingerprint"],
                   tuple(a.get("terms", ())))

    def __post_init__(self) -> None:
        # read once: every parse (and each of its clauses, dialogs/nlu/multi.py) pairs the probabilities with it
        self._intents = [str(c) for c in self.pipeline.classes_]
        self._fast: FastLinear | None = None
        try:
            self._fast = FastLinear(self.pipeline)
        except (KeyError, AttributeError, ValueError):
            self._fast = None  # another design: use the pipeline as it is

    def warm(self) -> None:
        """Everything a first parse loads lazily (pypinyin's tables for typos), loaded before a served
        process takes its first message, so no client waits for it."""
        fuzzy.preload()
        self.parse("在吗 想约保jie")

    @property
    def intents(self) -> list[str]:
        return self._intents

    def _probs(self, text: str) -> Any:
        if self._fast is not None:
            return self._fast.predict_proba(text)
        return self.pipeline.predict_proba([text])[0]

    def _now(self, now: datetime | None) -> datetime:
        tz = ZoneInfo(self.timezone)
        if now is None:
            return datetime.now(tz)
        return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)

    def parse(self, text: Any, now: datetime | None = None, lang: str | None = None) -> dict[str, Any]:
        """Rasa's parse format for one message. Never raises: input no extractor foresaw is logged
        and answered as a fallback, so a client's odd message can never break a conversation."""
        try:
            if isinstance(text, bytes | bytearray):
                text = bytes(text).decode("utf-8", errors="replace")
            text = "" if text is None else str(text)
        except Exception:  # an object whose __str__ fails
            text = ""
        try:
            return self.parse_text(text, now, lang)
        except Exception:
            log.exception("NLU failed on a message of %d characters; answering with a fallback", len(text))
            return {"text": text, "intent": {"name": FALLBACK, "confidence": 0.0}, "intent_ranking": [],
                    "entities": [], "language": lang or "und"}

    def parse_text(self, text: str, now: datetime | None = None, lang: str | None = None) -> dict[str, Any]:
        """``parse`` without the safety net (the property tests call this one, to see any error)."""
        norm = normalize(text[: self.max_chars])
        if len(norm.text) > self.max_chars:  # emoji spelt out as words can lengthen the text
            cut = norm.text[: self.max_chars].rstrip()
            norm = Normalized(norm.original, cut, norm.index[: len(cut)])
        result: dict[str, Any] = {"text": text, "intent": {"name": FALLBACK, "confidence": 0.0},
                                  "intent_ranking": [], "entities": [],
                                  "language": lang or detect_language(norm.text, norm.original)}
        if not any(c.isalnum() for c in norm.text):
            return result  # empty, white space, only emoji or junk: nothing to understand
        found = find(norm.text, self._now(now), self.services)
        # The intent of a chat message is in its first sentences; classifying a bounded prefix keeps
        # a 2,000-character paste as fast as a short message (entities still cover the whole text).
        probs = self._probs(with_placeholders(norm.text, found)[:CLASSIFY_CHARS]).tolist()
        ranking = sorted(zip(self.intents, probs, strict=True), key=lambda x: -x[1])[:5]
        result["intent_ranking"] = [{"name": n, "confidence": round(float(p), 4)} for n, p in ranking]
        top_name, top_p = ranking[0]
        # A reaction alone (😊😊😊) is understood only when it is clear (👍 is yes): emoji carry a word each
        # (dialogs/nlu/normalize.py), which is little to go on.
        threshold = self.threshold if any(c.isalnum() for c in norm.original) else max(self.threshold, EMOJI_ONLY)
        if top_p < threshold:
            fallback = {"name": FALLBACK, "confidence": threshold}
            result["intent"] = fallback
            result["intent_ranking"] = [fallback, *result["intent_ranking"]]
        else:
            result["intent"] = {"name": top_name, "confidence": round(float(top_p), 4)}
        terms = [{**e, "extractor": "TermExtractor"} for e in to_original(norm, find_terms(norm.text, self.terms))]
        result["entities"] = sorted([*to_original(norm, found), *terms], key=lambda e: e["start"])
        # Several requests in one message: the main one first, the other as ``also`` (dialogs/nlu/multi.py)
        result = multi.annotate(result, norm, found, self._probs, self.intents)
        result = recurrence.annotate(result, norm, self._now(now))  # repeat visits (dialogs/nlu/recurrence.py)
        return result
