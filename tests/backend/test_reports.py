"""The case report on rows written directly: every figure against what the rows say (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.api import Backend
from backend.orm import CaseEvent, Client, Escalation, Refund
from backend.services import reports
from tests.backend.conftest import demo_backend

H = timedelta(hours=1)
D = timedelta(days=1)


def test_percentiles_and_durations() -> None:
    assert reports.p90([5.0]) == 5.0
    assert reports.p90([float(i) for i in range(1, 11)]) == 9.0  # nearest rank: 9 of 10 at or below
    assert reports.p90([float(i) for i in range(1, 12)]) == 10.0
    assert reports.durations([]) == {"count": 0, "mean_hours": None, "median_hours": None, "p90_hours": None}
    assert reports.durations([1.0, 2.0, 6.0]) == {"count": 3, "mean_hours": 3.0, "median_hours": 2.0,
                                                  "p90_hours": 6.0}


def test_targets_come_from_the_policy_file(tmp_path: Path) -> None:
    from config.settings import ROOT

    assert reports.load_targets(ROOT / "config" / "cases.yaml") == reports.Targets(3.0, 0.9, 1.0)
    f = tmp_path / "cases.yaml"
    f.write_text("targets:\n  first_response_mean: 90m\n  disputes_resolved: 0.95\n", encoding="utf-8")
    assert reports.load_targets(f) == reports.Targets(1.5, 0.95, 1.0)
    assert reports.load_targets(tmp_path / "none.yaml") == reports.Targets()
    f.write_text("targets:\n  disputes_resolved: 90\n", encoding="utf-8")
    with pytest.raises(ValueError, match="between 0 and 1"):
        reports.load_targets(f)
    f.write_text("targets:\n  first_response: 3h\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown keys first_response"):
        reports.load_targets(f)


@pytest.fixture
def backend(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    b = demo_backend(db_url, tmp_path)
    yield b
    b.db.dispose()


def case(t0: datetime, kind: str = "complaint", *, category: str | None = None, severity: str = "normal",
         due: timedelta = 24 * H, answered: timedelta | None = None, closed: timedelta | None = None,
         outcome: str | None = None, satisfied: bool | None = None, breached: timedelta | None = None,
         client_id: int | None = None) -> Escalation:
    return Escalation(kind=kind, client_id=client_id, category=category, severity=severity, created_at=t0,
                      status="closed" if closed is not None else ("answered" if answered is not None else "open"),
                      first_response_due_at=t0 + due,
                      first_response_at=None if answered is None else t0 + answered,
                      closed_at=None if closed is None else t0 + closed, outcome=outcome, satisfied=satisfied,
                      breached_at=None if breached is None else t0 + breached, detail={"text": "秘密的话"})


def refund(t0: datetime, client_id: int, *, kind: str = "refund", status: str = "requested", cents: int = 10000,
           paid: timedelta | None = None, due: timedelta = 3 * D) -> Refund:
    return Refund(kind=kind, client_id=client_id, amount_cents=cents, status=status, requested_at=t0,
                  requested_by="manager:1", approve_due_at=t0 + D, due_at=t0 + due,
                  paid_at=None if paid is None else t0 + paid, reason="划痕")


def test_report_figures_match_the_rows(backend: Backend) -> None:
    now = backend.now
    with backend.db.uow() as s:
        client = Client(name="王芳", phone="13800001234")
        s.add(client)
        s.flush()
        s.add_all([
            # answered in 2 h, closed in 5 h with a rework, satisfied
            case(now - 10 * D, category="quality", answered=2 * H, closed=5 * H, outcome="rework", satisfied=True),
            # high: due in 1 h, answered after 3 h (late, breached), closed after 30 h, not satisfied
            case(now - 9 * D, category="damage", severity="high", due=H, answered=3 * H, breached=H, closed=30 * H,
                 outcome="refund", satisfied=False),
            # answered in 1 h, closed as rejected: not resolved
            case(now - 8 * D, category="attitude", answered=H, closed=4 * H, outcome="rejected"),
            # a request for a person: answered in 10 minutes, closed in an hour, no satisfaction answer
            case(now - 7 * D, "human_requested", due=timedelta(minutes=30), answered=timedelta(minutes=10),
                 closed=H, outcome="resolved"),
            # high, 2 h old, never answered: missed and breached, open
            case(now - 2 * H, category="safety", severity="high", due=H, breached=H),
            # 1 h old, due in 23 h: pending, open
            case(now - H, category="lateness"),
            # opened before the period: only in "open now" (the oldest)
            case(now - 40 * D, category="billing"),
        ])
        s.add_all([
            refund(now - 9 * D, client.id, status="paid", paid=2 * D, cents=12000),  # in time
            refund(now - 8 * D, client.id, status="paid", paid=4 * D, cents=5000),  # late
            refund(now - D, client.id),  # still within its time
            refund(now - 6 * D, client.id, status="rejected"),  # left out
            refund(now - 10 * D, client.id, status="approved"),  # unpaid past its due time: late
            refund(now - 5 * D, client.id, kind="compensation", status="paid", paid=H, cents=5000),
            refund(now - 35 * D, client.id, status="paid", paid=D),  # before the period
        ])

    with backend.db.read() as s:
        r = reports.case_report(backend.ctx, s, now - 30 * D, now)

    assert r["cases"]["total"] == 6
    assert r["cases"]["by_kind"] == {"complaint": 5, "human_requested": 1}
    assert r["cases"]["by_category"] == {"attitude": 1, "damage": 1, "lateness": 1, "quality": 1, "safety": 1}
    assert r["cases"]["by_severity"] == {"high": 2, "normal": 4}
    assert r["cases"]["by_kind_severity"]["complaint"] == {"high": 2, "normal": 3}

    fr = r["first_response"]
    assert (fr["within_deadline"], fr["late"], fr["missed"], fr["pending"]) == (3, 1, 1, 1)
    assert fr["share_within_deadline"] == 0.6
    assert fr["count"] == 4 and fr["median_hours"] == 1.5 and fr["p90_hours"] == 3.0
    assert fr["mean_hours"] == round((2 + 3 + 1 + 1 / 6) / 4, 2)
    assert r["first_response_by_kind"]["human_requested"]["mean_hours"] == round(1 / 6, 2)
    assert r["handling"] == {"target_mean_hours": 3.0, "actual_mean_hours": 2.0, "met": True}
    with backend.db.read() as s:
        strict = reports.case_report(backend.ctx, s, now - 30 * D, now, targets=reports.Targets(1.5, 0.3, 0.3))
    assert strict["handling"]["met"] is False and strict["disputes"]["met"] is True
    assert strict["refunds"]["met"] is True and r["refunds"]["met"] is False

    assert r["close"] == {"count": 4, "mean_hours": 10.0, "median_hours": 4.5, "p90_hours": 30.0}
    assert r["resolved"]["closed"] == 4 and r["resolved"]["resolved"] == 2 and r["resolved"]["share"] == 0.5
    assert r["resolved"]["outcomes"] == {"rework": 1, "refund": 1, "rejected": 1, "resolved": 1}
    d = r["disputes"]
    assert (d["closed"], d["resolved"], d["share"], d["target_share"], d["met"]) == (3, 1, 0.3333, 0.9, False)

    assert r["breaches"] == {"count": 2, "by_kind": {"complaint": 2}, "events": 2, "acknowledged": 0}
    assert r["satisfaction"] == {"yes": 1, "no": 1, "share_yes": 0.5, "unanswered": 2}

    rf = r["refunds"]
    assert rf["requested"] == 5
    assert rf["by_status"] == {"paid": 2, "requested": 1, "rejected": 1, "approved": 1}
    assert (rf["completed_in_time"], rf["late"], rf["pending"], rf["share_in_time"]) == (1, 2, 1, 0.3333)
    assert rf["refunded_cents"] == 17000
    assert rf["compensations"] == 1 and rf["compensated_cents"] == 5000

    o = r["open"]
    assert o["count"] == 3 and o["by_kind"] == {"complaint": 3} and o["breached"] == 1
    assert o["oldest"]["kind"] == "complaint" and o["oldest"]["age_hours"] == 960.0

    # For tools, and nothing personal in it.
    text = json.dumps(r, ensure_ascii=False)
    for secret in ("王芳", "13800001234", "秘密", "划痕"):
        assert secret not in text


def test_a_reopened_case_is_measured_by_its_first_round(backend: Backend) -> None:
    """"Not satisfied" resets the clock columns for the new round; the timeline keeps the first one.
    Case a: "no", then answered and closed again, then "yes"; case b: "no", reopened and open."""
    now = backend.now
    t0, t1 = now - 5 * D, now - 4 * D
    with backend.db.uow() as s:
        # late first answer (breach at 1 h, answered at 3 h), reopened, answered again and closed again
        a = case(t0, severity="high", due=14 * H, answered=11 * H, closed=12 * H, outcome="resolved",
                 satisfied=True)
        # answered in 1 h, closed, "no" → reopened: open again, its new round not answered yet
        b = case(t1, due=9 * H, satisfied=False)
        s.add_all([a, b])
        s.flush()
        s.add_all([CaseEvent(case_id=a.id, at=t0 + H, actor="system", kind="breach"),
                   CaseEvent(case_id=a.id, at=t0 + 3 * H, actor="system", kind="first_response"),
                   CaseEvent(case_id=a.id, at=t0 + 10 * H, actor="client:1", kind="reopened"),
                   CaseEvent(case_id=a.id, at=t0 + 11 * H, actor="system", kind="first_response"),
                   CaseEvent(case_id=a.id, at=t0 + 13 * H, actor="client:1", kind="satisfied"),
                   CaseEvent(case_id=b.id, at=t1 + H, actor="system", kind="first_response"),
                   CaseEvent(case_id=b.id, at=t1 + 5 * H, actor="client:1", kind="reopened")])
    with backend.db.read() as s:
        r = reports.case_report(backend.ctx, s, now - 30 * D, now)
    fr = r["first_response"]
    assert (fr["within_deadline"], fr["late"], fr["missed"], fr["pending"]) == (1, 1, 0, 0)
    assert fr["mean_hours"] == 2.0  # 3 h and 1 h: the first rounds
    assert r["breaches"]["count"] == 1 and r["breaches"]["events"] == 1
    assert r["resolved"] == {"closed": 1, "resolved": 1, "share": 1.0, "outcomes": {"resolved": 1}}
    assert r["satisfaction"] == {"yes": 1, "no": 2, "share_yes": 0.3333, "unanswered": 0}
    assert r["open"]["count"] == 1 and r["open"]["oldest"]["id"] == b.id


def test_period_is_start_inclusive_end_exclusive_and_empty_is_none(backend: Backend) -> None:
    now = backend.now
    start, end = now - 2 * D, now - D
    with backend.db.uow() as s:
        s.add_all([case(start, answered=H), case(end, answered=H), case(start - timedelta(seconds=1))])
    with backend.db.read() as s:
        r = reports.case_report(backend.ctx, s, start, end)
        empty = reports.case_report(backend.ctx, s, now + D, now + 2 * D)
    assert r["cases"]["total"] == 1 and r["first_response"]["within_deadline"] == 1
    assert r["open"]["count"] == 2  # opened before the end, not closed; the one at `end` is after it
    assert empty["cases"]["total"] == 0 and empty["first_response"]["share_within_deadline"] is None
    assert empty["handling"]["met"] is None and empty["disputes"]["met"] is None
    assert empty["refunds"]["share_in_time"] is None and empty["open"]["count"] == 3


def test_cli_prints_the_table_and_json(backend: Backend, db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app, report  # noqa: F401  (registers `report`)
    from tests.conftest import TEST_KEY

    now = backend.now
    with backend.db.uow() as s:
        s.add_all([case(now - 3 * D, category="quality", answered=2 * H, closed=6 * H, outcome="rework"),
                   case(now - 50 * D, category="billing", answered=30 * H, breached=24 * H)])
    for name, value in {"FRONTDESK_DATA_DIR": str(tmp_path / "data"), "FRONTDESK_DATA_KEY": TEST_KEY,
                        "FRONTDESK_KEY_FILE": str(tmp_path / "keys" / "data.key"), "DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["report", "cases", *args])
        assert result.exit_code == 0, result.output
        return result.output

    # The CLI runs on the system clock: pin the period to the rows' days.
    day = (now - 3 * D).astimezone(backend.ctx.tz).date().isoformat()
    table = run("--from", day, "--to", day)
    assert "complaint" in table and "Time to close:            mean 6.00 h" in table
    assert "target 3.00 h, actual 2.00 h (met)" in table and "Breaches:                 0" in table
    assert "paid within 3 working days" in table
    data = json.loads(run("--from", day, "--to", day, "--json"))
    assert data["cases"]["total"] == 1 and data["close"]["mean_hours"] == 6.0
    assert data["period"]["start"].startswith(day)
    older = json.loads(run("--from", "2026-09-01", "--to", "2026-10-31", "--json"))
    assert older["cases"]["total"] == 1 and older["breaches"]["count"] == 1
    bad = runner.invoke(app, ["report", "cases", "--from", "01/11/2026"])
    assert bad.exit_code == 1 and "--from must be a date" in bad.output
    backwards = runner.invoke(app, ["report", "cases", "--from", "2026-11-02", "--to", "2026-11-01"])
    assert backwards.exit_code == 1 and "--from is after --to" in backwards.output
    empty = runner.invoke(app, ["report", "cases"], env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert empty.exit_code == 1 and "frontdesk db upgrade" in empty.output
