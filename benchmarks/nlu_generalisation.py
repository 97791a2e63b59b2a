"""How well the trained NLU understands messages it was never trained on.

    .venv/bin/python -m benchmarks.nlu_generalisation [--misses] [--json]

``benchmarks/data/generalisation/{zh,zh-Hant,en}.yml`` is the generalisation set: messages written fresh
(WeChat-style Simplified Chinese, Traditional Chinese with Cantonese, native and non-native English) by
writers who never saw ``nlu_data/``. It is never trained on: a failure is fixed by adding *different*
examples of the same kind to ``nlu_data/`` (a test keeps the two apart). ``dev.yml`` and ``heldout.yml``
are the older, smaller sets of the first round, reported for comparison.

Intent accuracy is read the way the dialogue reads a message: where the set marks a message as an answer
to an open survey question (``context: survey``), the engine's context hook for surveys decides, as it
does in a conversation ("4 4 5" right after "服务态度您打几分？" is an answer, whatever the classifier
read). A fallback counts as wrong. Entities: the three survey scores (``scores``), the new day and clock
time of a change (``to_date``, ``to_time``), and the second intent of a message with two (``also``) where
the dialogue can act on both (dialogs/nlu/multi.py), and how often a second intent is made up.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import yamlfile
from dialogs.nlu import multi
from dialogs.nlu.model import NLU, TRAIN_NOW
from dialogs.nlu.scores import DIMENSIONS, parse_scores

DATA = Path(__file__).parent / "data"
GENERALISATION = DATA / "generalisation"
LANGUAGES = ("zh", "zh-Hant", "en")
SURVEY_ANSWER = "answer_survey"  # what the engine's survey context turns a message into
FEEDBACK = ("give_feedback", SURVEY_ANSWER)


@dataclass(frozen=True)
class Item:
    text: str
    intent: str
    lang: str
    context: str | None = None
    asked: str | None = None
    scores: dict[str, int] | None = None
    to_date: str | None = None
    to_time: str | None = None
    also: str | None = None


def load_set(folder: Path = GENERALISATION) -> list[Item]:
    items = []
    for lang in LANGUAGES:
        path = folder / f"{lang}.yml"
        if not path.exists():
            print(f"warning: {path} is missing; the figures below leave {lang} out")
            continue
        for raw in yamlfile.read(path) or []:
            items.append(Item(text=str(raw["text"]), intent=str(raw["intent"]), lang=lang,
                              context=raw.get("context"), asked=raw.get("asked"), scores=raw.get("scores"),
                              to_date=raw.get("to_date"), to_time=raw.get("to_time"), also=raw.get("also")))
    return items


def _survey_context() -> tuple[Any, set[str]]:
    """The engine's own hook for an open survey question (dialogs/domain.d/surveys.yml context_intents)."""
    from dialogs.domain import Domain
    from dialogs.engine import ContextIntent

    domain = Domain.load()
    for raw in domain.raw.get("context_intents") or ():
        if raw["intent"] == SURVEY_ANSWER:
            c = ContextIntent(raw)
            return c.recognizer(), c.keep
    raise LookupError("no survey context in the domain")


def read_intent(nlu: NLU, item: Item, parse: dict[str, Any], survey: tuple[Any, set[str]] | None) -> str:
    got = str(parse["intent"]["name"])
    if item.context == "survey" and survey is not None:
        recognizer, keep = survey
        slots = {"survey_step": item.asked or "attitude"}
        if got not in keep and recognizer(item.text, got, slots, None):
            return SURVEY_ANSWER
    return got


def read_scores(item: Item) -> dict[str, int]:
    asked = item.asked if item.context == "survey" else None
    s = parse_scores(item.text, asked)
    out = {d: int(v) for d, v in s.scores.items()}
    if s.overall is not None and not out:  # "打5分" as feedback: the client's one score for the visit
        out = {d: int(s.overall) for d in DIMENSIONS}
    return out


def read_change(parse: dict[str, Any]) -> tuple[str | None, str | None]:
    """The new day (the last time entity with a date) and the clock time (the last one with an hour)."""
    day = clock = None
    for e in parse["entities"]:
        if e["entity"] != "time" or not isinstance(e.get("value"), str):
            continue
        if (e.get("additional_info") or {}).get("has_date", True):
            day = e["value"][:10]
        if e.get("grain") in ("hour", "minute"):
            clock = e["value"][11:16]
    return day, clock


@dataclass
class Tally:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else float("nan")


@dataclass
class Report:
    intent: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    entity: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[str] = field(default_factory=list)

    def overall(self, lang: str | None = None, intent: str | None = None) -> Tally:
        t = Tally()
        for (i, lg), v in self.intent.items():
            if (lang is None or lg == lang) and (intent is None or i == intent):
                t.right += v.right
                t.total += v.total
        return t


def evaluate(nlu: NLU, items: list[Item], survey: tuple[Any, set[str]] | None = None) -> Report:
    rep = Report()
    for item in items:
        parse = nlu.parse(item.text, now=TRAIN_NOW)
        got = read_intent(nlu, item, parse, survey)
        ok = got == item.intent or (item.intent in FEEDBACK and got in FEEDBACK)
        rep.intent[(item.intent, item.lang)].add(ok)
        if not ok:
            rep.misses.append(f"  {item.lang:<8}{item.intent:<20} → {got:<20} {item.text}")
        if item.scores:
            found = read_scores(item)
            rep.entity["survey scores"].add(found == item.scores)
            if found != item.scores:
                rep.misses.append(f"  {item.lang:<8}{'scores':<20} → {json.dumps(found):<20} {item.text}")
        if item.to_date or item.to_time:
            day, clock = read_change(parse)
            if item.to_date:
                rep.entity["change: new day"].add(day == item.to_date)
            if item.to_time:
                rep.entity["change: new time"].add(clock == item.to_time)
            if (item.to_date and day != item.to_date) or (item.to_time and clock != item.to_time):
                rep.misses.append(f"  {item.lang:<8}{'change':<20} → {day} {clock!s:<9} {item.text}")
        also = (parse.get("also") or {}).get("name")
        if item.also and item.also in multi.OFFERED and item.intent in multi.MAIN:
            # a second request the dialogue acts on (dialogs/nlu/multi.py); thanks or a greeting beside a
            # request, or a rating beside a booking, are not offered as requests of their own
            rep.entity["second intent found"].add(also == item.also)
            if also != item.also:
                rep.misses.append(f"  {item.lang:<8}{'also ' + item.also:<20} → {also!s:<20} {item.text}")
        elif not item.also:
            rep.entity["no second intent made up"].add(also is None)
            if also is not None:
                rep.misses.append(f"  {item.lang:<8}{'no also':<20} → {also!s:<20} {item.text}")
    return rep


def print_report(rep: Report) -> None:
    intents = sorted({i for i, _ in rep.intent})
    head = "".join(f"{lg:>14}" for lg in LANGUAGES)
    print(f"{'intent':<22}{head}{'all':>14}")
    for intent in intents:
        cells = []
        for lg in LANGUAGES:
            t = rep.intent.get((intent, lg))
            cells.append(f"{t.rate:>8.2f} ({t.total:>3})" if t and t.total else f"{'—':>14}")
        t = rep.overall(intent=intent)
        print(f"{intent:<22}{''.join(cells)}{t.rate:>8.2f} ({t.total:>3})")
    cells = "".join(f"{rep.overall(lang=lg).rate:>8.3f} ({rep.overall(lang=lg).total:>3})" for lg in LANGUAGES)
    t = rep.overall()
    print(f"{'ALL':<22}{cells}{t.rate:>8.3f} ({t.total:>3})")
    worst = min(((rep.overall(intent=i).rate, i) for i in intents), default=(float("nan"), ""))
    print(f"\nlowest intent: {worst[1]} {worst[0]:.2f}")
    print(f"\n{'entity':<22}{'right':>8}{'total':>8}{'accuracy':>10}")
    for name, t in sorted(rep.entity.items()):
        print(f"{name:<22}{t.right:>8}{t.total:>8}{t.rate:>10.3f}")


def legacy_sets(nlu: NLU) -> None:
    from dialogs.nlu.data import load

    print(f"\n{'older set':<22}{'utterances':>11}{'accuracy':>10}")
    for name in ("dev", "heldout"):
        data = load(DATA / f"{name}.yml")
        right = sum(nlu.parse(e.text, now=TRAIN_NOW)["intent"]["name"] == e.intent for e in data.examples)
        print(f"{name:<22}{len(data.examples):>11}{right / len(data.examples):>10.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--misses", action="store_true", help="list every message read wrongly")
    ap.add_argument("--model", type=Path, help="a model file other than the configured one")
    args = ap.parse_args()
    from config import load_settings
    from dialogs.nlu import load_nlu

    nlu = NLU.load(args.model) if args.model else load_nlu(load_settings())
    rep = evaluate(nlu, load_set(), _survey_context())
    print_report(rep)
    legacy_sets(nlu)
    if args.misses and rep.misses:
        print("\nmisses:")
        print("\n".join(rep.misses))


if __name__ == "__main__":
    main()
