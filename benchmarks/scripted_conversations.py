"""The scripted-conversation suite (tests/scripted/*.yml) outside pytest, with its success rate.

    .venv/bin/python -m benchmarks.scripted_conversations [--theme booking] [--skip-pending]
                                                          [--model PATH] [--verbose] [--json]

Every conversation runs through the REST channel on one front desk (SQLite, the demo roster, the fake
clock at Wednesday 2026-11-18 10:30 Asia/Shanghai), put back to its seeded state before each one — the
runner the pytest suite uses (tests/scripted/runner.py). A conversation passes when every expectation of
every turn holds (replies and storage). Prints per theme: conversations, turns, passed and the success
rate, for the conversations in force and, separately, for those marked ``pending`` (behaviour other work
is bringing; they do not count in the rate). The first failure of each failed conversation is listed.
Exits 1 when a conversation in force fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def _rate(passed: int, total: int) -> str:
    return "-" if not total else f"{passed / total * 100:.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theme", action="append", help="only these themes (file names without .yml)")
    ap.add_argument("--skip-pending", action="store_true", help="do not run the conversations marked pending")
    ap.add_argument("--model", type=Path, help="a trained NLU model (default: the configured one, trained if stale)")
    ap.add_argument("--verbose", action="store_true", help="print every turn and its replies")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    from tests.e2e.conftest import buttons, text
    from tests.scripted.runner import build_app, load_all, load_setups, run_conversation

    convs = [c for c in load_all() if not args.theme or c.theme in args.theme]
    if args.skip_pending:
        convs = [c for c in convs if not c.pending]
    setups = load_setups()

    def trace(where: str, turn: dict[str, Any], replies: list[dict[str, Any]]) -> None:
        action = next(f"{k}: {turn[k]}" for k in ("say", "press", "inbox", "tick", "tick_to") if k in turn)
        print(f"   [{where}] {turn.get('as', 'client')} {action}")
        for r in replies:
            print("      >", (r.get("text") or "").replace("\n", " | ")[:300], [b["title"] for b in buttons([r])])

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        app, snapshot = build_app(Path(tmp), model=args.model)
        built = time.perf_counter() - t0
        results = []
        t0 = time.perf_counter()
        try:
            for c in convs:
                snapshot.restore()
                if args.verbose:
                    print(f"== {c.id}" + (f" (pending: {c.pending})" if c.pending else ""))
                results.append(asyncio.run(run_conversation(app, c, setups, trace=trace if args.verbose else None)))
        finally:
            app.backend.db.dispose()
        took = time.perf_counter() - t0
    _ = text  # the trace's helpers come from the e2e client

    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"live": [0, 0, 0], "pending": [0, 0, 0]})
    for r in results:
        row = table[r.conversation.theme]["pending" if r.conversation.pending else "live"]
        row[0] += 1
        row[1] += r.turns
        row[2] += r.passed
    total = {k: [sum(t[k][i] for t in table.values()) for i in range(3)] for k in ("live", "pending")}
    failed = [r for r in results if not r.passed]
    if args.json:
        print(json.dumps({"themes": table, "total": total, "seconds": round(took, 1),
                          "failures": {r.conversation.id: r.failures[0] for r in failed}},
                         ensure_ascii=False, indent=2))
    else:
        print(f"Scripted conversations (tests/scripted): {len(results)} run in {took:.1f} s "
              f"({took / max(1, len(results)):.2f} s each; front desk built in {built:.1f} s)\n")
        print(f"{'theme':<16}{'convs':>7}{'turns':>7}{'passed':>8}{'success':>10}   "
              f"{'pending':>8}{'turns':>7}{'passing':>8}")
        for theme in sorted(table):
            lv, pd = table[theme]["live"], table[theme]["pending"]
            print(f"{theme:<16}{lv[0]:>7}{lv[1]:>7}{lv[2]:>8}{_rate(lv[2], lv[0]):>10}   "
                  f"{pd[0]:>8}{pd[1]:>7}{pd[2]:>8}")
        lv, pd = total["live"], total["pending"]
        print(f"{'all':<16}{lv[0]:>7}{lv[1]:>7}{lv[2]:>8}{_rate(lv[2], lv[0]):>10}   {pd[0]:>8}{pd[1]:>7}{pd[2]:>8}")
        if failed:
            print("\nFailed (first problem of each):")
            for r in failed:
                print(f"  {'[pending] ' if r.conversation.pending else ''}{r.failures[0][:400]}")
    sys.exit(1 if any(not r.conversation.pending for r in failed) else 0)


if __name__ == "__main__":
    main()
