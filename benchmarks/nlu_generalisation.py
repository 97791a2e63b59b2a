"""Intent accuracy of the trained model on utterances that are not in nlu_data/.

    .venv/bin/python -m benchmarks.nlu_generalisation

``benchmarks/data/dev.yml`` was used while tuning the lexicons; ``heldout.yml`` was written
afterwards and never tuned on, so it is the honest figure. A fallback counts as wrong.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from config import load_settings
from dialogs.nlu import load_nlu
from dialogs.nlu.data import load
from dialogs.nlu.model import TRAIN_NOW

DATA = Path(__file__).parent / "data"
COMPLAINTS = ("complain", "ask_case_status", "ask_refund_status")


def main() -> None:
    nlu = load_nlu(load_settings())
    print(f"{'set':<10}{'utterances':>11}{'accuracy':>10}{'fallbacks':>10}")
    misses: list[str] = []
    family: dict[str, list[bool]] = {}
    for name in ("dev", "heldout"):
        data = load(DATA / f"{name}.yml")
        right, fallbacks = 0, 0
        for ex in data.examples:
            got = nlu.parse(ex.text, now=TRAIN_NOW)["intent"]["name"]
            right += got == ex.intent
            fallbacks += got == "nlu_fallback"
            if ex.intent in COMPLAINTS:
                family.setdefault(name, []).append(got == ex.intent)
            if got != ex.intent and name == "heldout":
                misses.append(f"  {ex.intent:<20} → {got:<20} {ex.text}")
        print(f"{name:<10}{len(data.examples):>11}{right / len(data.examples):>10.3f}{fallbacks:>10}")
    for name, hits in family.items():
        print(f"  {'complaints and case/refund status':<36}{len(hits):>4}{sum(hits) / len(hits):>10.3f}  ({name})")
    if misses:
        print("\nheld-out misses:")
        print("\n".join(misses))
    counts = Counter(e.intent for e in load(DATA / "heldout.yml").examples)
    print(f"\nheld-out intents: {len(counts)}, smallest class {min(counts.values())} utterances")


if __name__ == "__main__":
    main()
