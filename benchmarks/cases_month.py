"""A simulated month of cases on the fake clock (tests/sim), then the month's case report.

    .venv/bin/python -m benchmarks.cases_month [--days 30] [--postgres URL] [--json]

Bookings, complaints of every category and severity, requests for a person, an emergency a week,
managers answering (some late: breaches), refunds across the National Day week, satisfaction answers
— all through the Backend facades, on a throw-away SQLite database with the demo roster unless
--postgres is given. Prints the table `frontdesk report cases` prints, and how long the month took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--postgres", help="a PostgreSQL URL (an empty database) instead of a temp SQLite file")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args()

    from bot.cli.report import render
    from tests.sim import START, Month, month_backend

    with tempfile.TemporaryDirectory() as tmp:
        be, clock = month_backend(tmp, args.postgres)
        t = time.perf_counter()
        did = Month(be, clock, days=args.days).run()
        took = time.perf_counter() - t
        report = be.case_report(START, START + timedelta(days=args.days))
        be.db.dispose()
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render(report))
    print(f"\n{args.days} simulated days: {did.bookings} bookings, {len(did.cases)} cases, {len(did.refunds)} refunds "
          f"in {took:.1f} s")


if __name__ == "__main__":
    main()
