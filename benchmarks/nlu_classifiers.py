"""Compare intent classifier designs: stratified k-fold cross-validation on nlu_data/ and accuracy on the
generalisation set (benchmarks/data/generalisation/, never trained on), plus parse time.

    .venv/bin/python -m benchmarks.nlu_classifiers [--folds 5] [--designs a,b]

Prints, per design, CV accuracy and macro-F1, generalisation accuracy (overall, per language, lowest
intent) and parse p99; the design that generalises best within the 2 ms budget is ``classifier.DEFAULT``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sklearn.metrics import f1_score

from benchmarks.nlu_generalisation import LANGUAGES, _survey_context, evaluate, load_set
from config import load_settings
from dialogs.nlu import classifier
from dialogs.nlu.data import load
from dialogs.nlu.evaluate import cross_validate
from dialogs.nlu.model import NLU, TRAIN_NOW, train


def _p99_ms(nlu: NLU, texts: list[str]) -> float:
    times = []
    for text in texts:
        t = time.perf_counter()
        nlu.parse(text, now=TRAIN_NOW)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--designs", default=",".join(classifier.DESIGNS))
    args = ap.parse_args()
    settings = load_settings()
    data = load(args.data or settings.path(settings.nlu.data_dir))
    items, survey = load_set(), _survey_context()
    print(f"{len(data.examples)} examples, {len(data.intents)} intents, {args.folds}-fold stratified CV; "
          f"generalisation set of {len(items)} messages\n")
    langs = "".join(f"{'gen ' + lg:>12}" for lg in LANGUAGES)
    print(f"{'design':<16}{'CV acc':>8}{'CV F1':>8}{'gen acc':>9}{langs}{'lowest intent':>24}{'p99 ms':>8}"
          "  description")
    for name in args.designs.split(","):
        build = classifier.DESIGNS[name]
        preds = cross_validate(data, args.folds, name, progress=False)
        y = [p.example.intent for p in preds]
        yhat = [p.intent for p in preds]
        acc = sum(a == b for a, b in zip(y, yhat, strict=True)) / len(y)
        f1 = f1_score(y, yhat, average="macro")
        art = train(data, name)
        nlu = NLU(art["pipeline"], art["services"], terms=art["terms"])
        rep = evaluate(nlu, items, survey)
        per_lang = "".join(f"{rep.overall(lang=lg).rate:>12.3f}" for lg in LANGUAGES)
        intents = sorted({i for i, _ in rep.intent})
        low_rate, low = min((rep.overall(intent=i).rate, i) for i in intents)
        p99 = _p99_ms(nlu, [i.text for i in items])
        mark = " *" if name == classifier.DEFAULT else ""
        doc = (build.__doc__ or "").strip().splitlines()[0]
        print(f"{name + mark:<16}{acc:>8.4f}{f1:>8.4f}{rep.overall().rate:>9.3f}{per_lang}"
              f"{f'{low} {low_rate:.2f}':>24}{p99:>8.2f}  {doc}")
    print("\n* = the design `frontdesk nlu train` uses")


if __name__ == "__main__":
    main()
