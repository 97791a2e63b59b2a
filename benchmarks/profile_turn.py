"""Where a chat turn's time goes: the 7-turn booking in-process, under cProfile, with SQL counted.

    .venv/bin/python -m benchmarks.profile_turn [--rounds 20] [--postgres URL] [--out turn.prof] [--top 30]
    .venv/bin/python -m snakeviz turn.prof        # or: python -m pstats turn.prof

Builds the whole front desk in this process (bot.bootstrap.build on a throw-away data folder, the demo
roster, the trained NLU model of models/), then runs the booking dialog of benchmarks/turns.py (zh and en
alternating, a new sender per round, a message_id on every message, confirm included: a booking,
matching and an offer) through ``app.desk.handle`` — the turn without HTTP. It prints:

- CPU and wall milliseconds per turn (no profiler attached; the CPU is this process's only, so on
  PostgreSQL the server's own work shows as wall minus CPU), and SQL statements per turn as sent by
  SQLAlchemy (a ``before_cursor_execute`` listener on the app's engine);
- the same per kind of turn (greeting, request, hours, address, phone, notes, confirm), so the costly
  step stands out;
- the top ``--top`` functions by cumulative time of a second, profiled pass; ``--out`` keeps the .prof.

A turn runs on the loop's thread with its database work inline (dialogs/threads.py), as in a server, so
cProfile, which sees only the thread it was enabled in, sees all of it.

``--postgres URL`` names a PostgreSQL server (any database on it): a fresh database is created there for
the run. Default: SQLite in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.turns import DIALOG, DIALOG_EN

KINDS = ["greeting", "request", "hours", "address", "phone", "notes", "confirm"]


def fresh_database(server_url: str) -> str:
    return postgres.fresh_database(server_url, "prof")


class Counter:
    """SQL statements sent on the engine (every cursor execute, including BEGIN-less autobegin work)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.n += 1


def build_app(tmp: Path, db_url: str | None) -> Any:
    from cryptography.fernet import Fernet

    from backend.services import staff
    from bot.bootstrap import build
    from config import load_settings

    settings = load_settings(data_dir=tmp, data_key=Fernet.generate_key().decode())
    app = build(settings, db_url=db_url)
    rows = [staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(staff.demo_rows(), 1)]
    app.backend.import_staff(rows)
    return app


async def booking(app: Any, sender: str, zh: bool, per_kind: dict[str, list[tuple[float, float, int]]] | None,
                  sql: Counter) -> None:
    from dialogs.messages import IncomingMessage

    for j, text in enumerate(DIALOG if zh else DIALOG_EN):
        c, w, n = time.process_time(), time.perf_counter(), sql.n
        await app.desk.handle(IncomingMessage("rest", sender, text, message_id=f"{sender}-{j}"))
        if per_kind is not None:
            per_kind[KINDS[j]].append(((time.process_time() - c) * 1000, (time.perf_counter() - w) * 1000,
                                       sql.n - n))


async def main_async(args: argparse.Namespace) -> None:
    url = fresh_database(args.postgres) if args.postgres else None
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp), url)
        sql = Counter(app.backend.db.engine)
        for i in range(args.warmup):  # caches, the NLU's first parses, the pool's connections
            await booking(app, f"warm{i}", i % 2 == 0, None, sql)
        per_kind: dict[str, list[tuple[float, float, int]]] = {k: [] for k in KINDS}
        for i in range(args.rounds):
            await booking(app, f"m{i}", i % 2 == 0, per_kind, sql)
        prof = cProfile.Profile(time.thread_time)  # CPU, not wall: a wait for PostgreSQL is not the app's work
        prof.enable()
        for i in range(args.rounds):
            await booking(app, f"p{i}", i % 2 == 0, None, sql)
        prof.disable()
        app.backend.db.engine.dispose()

    turns = [t for k in KINDS for t in per_kind[k]]
    print(f"database: {'PostgreSQL' if url else 'SQLite'}; {args.rounds} bookings × 7 turns measured "
          f"after {args.warmup} warm-up bookings; turns on one thread")
    print(f"{'turn':<10}{'n':>5}{'CPU ms':>9}{'wall ms':>9}{'p90 wall':>10}{'SQL':>6}")
    for name, xs in [*((k, per_kind[k]) for k in KINDS), ("all", turns)]:
        walls = sorted(x[1] for x in xs)
        print(f"{name:<10}{len(xs):>5}{statistics.mean(x[0] for x in xs):>9.2f}{statistics.mean(walls):>9.2f}"
              f"{walls[int(len(walls) * 0.9)]:>10.2f}{statistics.mean(x[2] for x in xs):>6.1f}")
    if args.out:
        prof.dump_stats(args.out)
        print(f"profile written to {args.out} (snakeviz {args.out}, or python -m pstats {args.out})")
    print(f"\ntop {args.top} by cumulative CPU time (profiled pass, {args.rounds * 7} turns):")
    pstats.Stats(prof).strip_dirs().sort_stats("cumulative").print_stats(args.top)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20, help="bookings measured (and as many profiled)")
    ap.add_argument("--warmup", type=int, default=3, help="bookings before measuring")
    ap.add_argument("--postgres", help="postgresql://… of a server: a fresh database is created on it")
    ap.add_argument("--out", help="write the cProfile data here (.prof)")
    ap.add_argument("--top", type=int, default=30, help="functions listed by cumulative time")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
