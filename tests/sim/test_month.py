"""A simulated month (tests/sim): the case report says what the simulation did, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.clock import FakeClock
from backend.orm import Notification, Refund
from backend.services import reports
from bot.cli.report import render
from tests.backend.conftest import demo_backend
from tests.sim import DAYS, START, TZ, Month, expected

pytestmark = pytest.mark.slow


def test_a_month_of_cases_and_refunds_adds_up(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock(START)
    be = demo_backend(db_url, tmp_path, clock=clock)
    try:
        sim = Month(be, clock)
        did = sim.run()
        end = START + timedelta(days=DAYS)
        assert clock.now() == end
        r = be.case_report(START, end)
        with be.db.read() as s:
            sup = be.staff_by_code("SUP01")
            assert sup is not None
            breach_alerts = {n.params.get("case_id") for n in s.scalars(select(Notification).where(
                Notification.person_kind == "manager", Notification.person_id == sup.id,
                Notification.template == "case_alert")) if n.params.get("reason") == "breach"}
            holiday = s.get(Refund, did.holiday_refund)
            assert holiday is not None
            holiday_due, holiday_paid = holiday.due_at, holiday.paid_at
    finally:
        be.db.dispose()
    x = expected(did, end)

    # The simulation did what a month looks like.
    assert did.bookings >= 50 and did.completed >= 45, (did.bookings, did.completed, did.skipped)
    assert set(did.categories) == {"damage", "quality", "lateness", "attitude", "safety", "billing", "other"}
    assert set(did.severities) == {"high", "normal", "low"}
    assert did.emergencies == 4 and x["late"] >= 6 and x["refunds"] >= 5 and did.reworks >= 1
    assert x["no"] >= 3 and x["rejected"] >= 1 and x["refunds_late"] >= 1

    # Cases by kind, category and severity.
    c = r["cases"]
    assert c["total"] == x["total"] and c["by_kind"] == x["by_kind"]
    assert c["by_category"] == dict(sorted(did.categories.items()))
    assert c["by_severity"] == dict(sorted((+did.severities).items()))

    # First responses: those answered late are exactly the breaches, and the supervisor heard of each.
    fr = r["first_response"]
    assert (fr["within_deadline"], fr["late"], fr["missed"], fr["pending"]) == (
        x["within"], x["late"], x["missed"], x["pending"])
    assert fr["share_within_deadline"] == round(x["within"] / (x["within"] + x["late"] + x["missed"]), 4)
    assert {k: fr[k] for k in ("count", "mean_hours", "median_hours", "p90_hours")} == reports.durations(
        x["first_hours"])
    assert r["close"] == reports.durations(x["close_hours"])
    assert r["breaches"]["count"] == len(x["breached"]) and x["breached"] <= breach_alerts
    assert r["breaches"]["by_kind"].get("emergency") == 1  # the one called back after 8 minutes
    complaints = reports.durations(x["complaint_first_hours"])["mean_hours"]
    assert r["handling"] == {"target_mean_hours": 3.0, "actual_mean_hours": complaints, "met": complaints <= 3.0}

    # Emergencies: alerted at once and again every 3 minutes until someone had it.
    assert len(did.emergency_alerts) == 4 and all(n >= 2 for n in did.emergency_alerts.values())

    # Resolved, disputes, satisfaction, what is still open.
    assert (r["resolved"]["closed"], r["resolved"]["resolved"]) == (x["closed"], x["resolved"])
    assert (r["disputes"]["closed"], r["disputes"]["resolved"]) == (x["disputes_closed"], x["disputes_resolved"])
    assert r["disputes"]["met"] == (x["disputes_resolved"] / x["disputes_closed"] >= 0.9)
    assert (r["satisfaction"]["yes"], r["satisfaction"]["no"], r["satisfaction"]["unanswered"]) == (
        x["yes"], x["no"], x["unanswered"])
    assert r["open"]["count"] == x["open"]

    # Refunds within 3 working days, and one across the National Day week: requested on 09-30, due at
    # the end of Saturday 10-10 (a swapped working day), paid on 10-09: in time.
    rf = r["refunds"]
    assert (rf["requested"], rf["completed_in_time"], rf["late"], rf["pending"]) == (
        x["refunds"], x["refunds_in_time"], x["refunds_late"], x["refunds_pending"])
    assert rf["by_status"].get("rejected", 0) == x["rejected"]
    assert rf["share_in_time"] == round(x["refunds_in_time"] / (x["refunds_in_time"] + x["refunds_late"]), 4)
    assert rf["refunded_cents"] == did.refunded_cents and rf["compensated_cents"] == did.compensated_cents
    assert rf["compensations"] == did.compensations
    assert holiday_due.astimezone(TZ).date().isoformat() == "2026-10-11"  # midnight after 10-10
    assert holiday_paid is not None and holiday_paid <= holiday_due

    text = json.dumps(r, ensure_ascii=False)  # for tools, and nothing personal in it
    assert "1381234" not in text and "客户" not in text and "投诉" not in text
    table = render(r)
    assert f"Breaches:                 {len(x['breached'])} " in table
    assert f"{rf['completed_in_time']} paid within 3 working days" in table
