"""Compare intent classifier designs with stratified k-fold cross-validation on nlu_data/.

    .venv/bin/python -m benchmarks.nlu_classifiers [--folds 5]

Prints accuracy, macro-F1 and training time per design; the winner is ``classifier.DEFAULT``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sklearn.metrics import f1_score

from config import load_settings
from dialogs.nlu import classifier
from dialogs.nlu.data import load
from dialogs.nlu.evaluate import cross_validate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--data", type=Path, default=None)
    args = ap.parse_args()
    settings = load_settings()
    data = load(args.data or settings.path(settings.nlu.data_dir))
    print(f"{len(data.examples)} examples, {len(data.intents)} intents, {args.folds}-fold stratified CV\n")
    print(f"{'design':<16}{'accuracy':>10}{'macro-F1':>10}{'seconds':>9}  description")
    for name, build in classifier.DESIGNS.items():
        t0 = time.perf_counter()
        preds = cross_validate(data, args.folds, name, progress=False)
        secs = time.perf_counter() - t0
        y = [p.example.intent for p in preds]
        yhat = [p.intent for p in preds]
        acc = sum(a == b for a, b in zip(y, yhat, strict=True)) / len(y)
        f1 = f1_score(y, yhat, average="macro")
        mark = " *" if name == classifier.DEFAULT else ""
        doc = (build.__doc__ or "").strip().splitlines()[0]
        print(f"{name + mark:<16}{acc:>10.4f}{f1:>10.4f}{secs:>9.1f}  {doc}")
    print("\n* = the design `frontdesk nlu train` uses")


if __name__ == "__main__":
    main()
