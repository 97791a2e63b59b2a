"""A simulated month of call-back surveys on the fake clock (tests/sim/surveys.py), then the month's report.

    .venv/bin/python -m benchmarks.surveys_month [--days 30] [--postgres URL] [--json] [--repeat 20]

Visits booked, checked in and finished (some automatically, some never started), surveys sent after the
delay and out of quiet hours, answered by a seeded share of clients (some after the reminder, some
changing their mind), follow-ups called back (some late) — all through the Backend facades, on a
throw-away SQLite database with the demo roster unless --postgres is given. Prints the table
`frontdesk report surveys` prints, how long the month took and how long the report query took.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import timedelta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--postgres", help="a PostgreSQL URL (an empty database) instead of a temp SQLite file")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--repeat", type=int, default=20, help="times the report query is timed (default 20)")
    args = ap.parse_args()

    from backend.services import survey_reports
    from bot.cli.report import render_surveys
    from tests.sim import START, month_backend
    from tests.sim.surveys import SurveyMonth

    with tempfile.TemporaryDirectory() as tmp:
        be, clock = month_backend(tmp, args.postgres)
        t = time.perf_counter()
        sd = SurveyMonth(be, clock, days=args.days).run()
        took = time.perf_counter() - t
        end = START + timedelta(days=args.days)
        timings = []
        for _ in range(max(1, args.repeat)):  # the query a manager waits for, read-only like the CLI's
            t = time.perf_counter()
            with be.db.read() as s:
                report = survey_reports.survey_report(be.ctx, s, START, end)
            timings.append((time.perf_counter() - t) * 1000)
        be.db.dispose()
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render_surveys(report))
    print(f"\n{args.days} simulated days: {sd.booked} visits booked, {len(sd.visits)} finished, "
          f"{report['surveys']['answered']} surveys answered in {took:.1f} s")
    print(f"report query ({len(timings)} runs): median {statistics.median(timings):.1f} ms, "
          f"max {max(timings):.1f} ms")


if __name__ == "__main__":
    main()
