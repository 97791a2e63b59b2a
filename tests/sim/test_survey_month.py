"""A simulated month of call-back surveys (tests/sim/surveys.py): the survey report says what the simulation
did, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.clock import FakeClock
from backend.orm import Booking, Notification
from backend.services import reports, survey_reports
from bot.cli.report import render_surveys
from tests.backend.conftest import demo_backend
from tests.sim import START
from tests.sim.surveys import SurveyMonth, expected_surveys, roster_ratings

pytestmark = pytest.mark.slow

DAYS = 30


def test_a_month_of_surveys_adds_up(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock(START)
    be = demo_backend(db_url, tmp_path, clock=clock)
    try:
        sim = SurveyMonth(be, clock, days=DAYS)
        sd = sim.run()
        end = START + timedelta(days=DAYS)
        assert clock.now() == end
        with be.db.read() as s:
            r = survey_reports.survey_report(be.ctx, s, START, end)
            unfinished = s.scalar(select(func.count()).select_from(Booking).where(Booking.finished_at.is_(None),
                                                                                 Booking.status == "confirmed"))
            reminders = s.scalar(select(func.count()).select_from(Notification).where(
                Notification.template == "survey_reminder"))
            quiet = [n.created_at for n in s.scalars(select(Notification).where(
                Notification.template.in_(("survey", "survey_reminder"))))]
        roster = roster_ratings(be)
        policy = be.ctx.surveys
    finally:
        be.db.dispose()
    x = expected_surveys(sd, policy, end, roster)

    # The simulation did what a month looks like, and saw every survey go out when it should.
    assert sd.mismatches == []
    assert x["finished"] >= 70 and x["auto"] >= 5 and sd.no_show >= 4 and unfinished >= sd.no_show
    assert x["answered"] >= 50 and x["expired"] >= 5 and x["below"] >= 5 and sd.reanswered >= 1
    assert x["followups"]["in_time"] >= 2 and x["followups"]["late"] >= 1
    assert x["followups"]["missed"] + x["followups"]["pending"] >= 1
    assert not any(policy.in_quiet(t, be.ctx.tz) for t in quiet)  # nothing sent or reminded at night

    # Visits and surveys.
    v, s = r["visits"], r["surveys"]
    assert (v["finished"], v["by_finished_by"].get("auto", 0), v["surveyed"], v["waiting_to_send"],
            v["not_surveyed"]) == (x["finished"], x["auto"], x["sent"], x["waiting"], 0)
    assert (s["sent"], s["answered"], s["expired"], s["awaiting"], s["reminded"]) == (
        x["sent"], x["answered"], x["expired"], x["awaiting"], x["reminded"])
    assert reminders == x["reminded"]
    assert s["answer_hours"] == reports.durations(x["answer_hours"])

    # Coverage, means, below 4.0 and the follow-ups, against the targets.
    assert r["coverage"]["answered"] == x["answered"] and r["coverage"]["closed"] == x["closed"]
    assert r["coverage"]["share"] == x["coverage"] and r["coverage"]["met"] == (x["coverage"] >= 0.9)
    assert {d: r["means"][d] for d in ("attitude", "skill", "result", "overall")} == x["means"]
    assert r["means"]["met"] == (x["means"]["overall"] >= 4.5)
    b = r["below"]
    assert b["count"] == x["below"] and b["share"] == round(x["below"] / x["answered"], 4)
    f = x["followups"]
    assert (b["followed_up_in_time"], b["late"], b["missed"], b["pending"], b["no_case"]) == (
        f["in_time"], f["late"], f["missed"], f["pending"], 0)
    assert b["met"] is False  # some were called back late

    # Per housekeeper: her visits, answers, means and the running rating matching now uses.
    got = {h["id"]: {k: h[k] for k in ("visits", "answered", "coverage", "attitude", "skill", "result", "overall",
                                       "below", "rating", "survey_count")} for h in r["housekeepers"]}
    assert got == x["housekeepers"]
    assert len(got) >= 3

    # The table and the JSON hold no client data.
    table = render_surveys(r)
    assert f"{x['answered']} of {x['closed']} closed surveys answered" in table
    text = table + json.dumps(r, ensure_ascii=False)
    assert "客户" not in text and "建国路" not in text and "细心" not in text
