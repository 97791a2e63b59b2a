"""The survey report on rows written directly: every figure against what the rows say (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.api import Backend
from backend.orm import Booking, Client, Escalation, Housekeeper, Survey
from backend.services import ratings, survey_reports

H = timedelta(hours=1)
D = timedelta(days=1)


def visit(s: Any, client: Client, hk: Housekeeper, finished: datetime, by: str = "housekeeper") -> Booking:
    b = Booking(client_id=client.id, service="cleaning", starts_at=finished - 3 * H, ends_at=finished,
                hours=3, status="completed", housekeeper_id=hk.id, finished_at=finished, finished_by=by,
                address="朝阳区建国路1号")
    s.add(b)
    s.flush()
    return b


def survey(s: Any, b: Booking, status: str, scores: tuple[int, int, int] | None = None, *,
           source: str = "survey", sent: timedelta | None = 2 * H, answered: timedelta | None = None,
           closes: timedelta = 74 * H, case: Escalation | None = None) -> Survey:
    assert b.finished_at is not None
    t0 = b.finished_at
    row = Survey(booking_id=b.id, occurrence=1, client_id=b.client_id, housekeeper_id=b.housekeeper_id,
                 status=status, source=source, send_at=t0 + 2 * H, sent_at=None if sent is None else t0 + sent,
                 closes_at=None if sent is None else t0 + closes,
                 reminded_at=t0 + 26 * H if status == "reminded" else None,
                 answered_at=None if answered is None else t0 + answered, comment="阿姨很细心，家里地址别说出去",
                 followup_case_id=None if case is None else case.id)
    if scores:
        row.attitude, row.skill, row.result = scores
    s.add(row)
    s.flush()
    return row


def followup(s: Any, b: Booking, opened: datetime, answered: timedelta | None) -> Escalation:
    c = Escalation(kind="followup", client_id=b.client_id, booking_id=b.id, created_at=opened,
                   status="answered" if answered is not None else "open",
                   first_response_due_at=opened + 24 * H,
                   first_response_at=None if answered is None else opened + answered, detail={"text": "秘密"})
    s.add(c)
    s.flush()
    return c


@pytest.fixture
def month(be: Backend) -> dict[str, Any]:
    """Two housekeepers' visits over the last ten days, every kind of survey outcome (see the comments)."""
    now = be.now
    t0 = now - 5 * D
    with be.db.uow() as s:
        a = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK001"))
        b = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK002"))
        assert a is not None and b is not None
        client = Client(name="王芳", phone="13800001234")
        s.add(client)
        s.flush()
        # A: all fives; a 3 followed up in time; a 3 followed up late; a survey not yet sent; a visit with
        # no survey; one whose survey was cancelled; a 3 with no case; all threes whose case is not yet due.
        survey(s, visit(s, client, a, t0), "answered", (5, 5, 5), answered=3 * H)
        v = visit(s, client, a, t0 + H)
        survey(s, v, "answered", (3, 4, 4), answered=4 * H, case=followup(s, v, t0 + 5 * H, 5 * H))
        v = visit(s, client, a, t0 + 2 * H, by="auto")
        survey(s, v, "answered", (4, 4, 3), answered=5 * H, case=followup(s, v, t0 + 7 * H, 30 * H))
        survey(s, visit(s, client, a, now - H), "scheduled", sent=None)
        visit(s, client, a, t0 + 3 * H)
        survey(s, visit(s, client, a, t0 + 4 * H), "cancelled", sent=None)
        survey(s, visit(s, client, a, t0 + 5 * H), "answered", (4, 3, 4), answered=6 * H)
        v = visit(s, client, a, now - 10 * H)
        survey(s, v, "answered", (3, 3, 3), answered=4 * H, case=followup(s, v, now - 6 * H, None))
        # B: twos missed by the managers; fours (not below: no score under 4, mean 4.0); expired;
        # reminded and past its close (the timer has not run yet); still open; typed unasked.
        v = visit(s, client, b, t0)
        survey(s, v, "answered", (2, 2, 3), answered=3 * H, case=followup(s, v, t0 + 3 * H, None))
        survey(s, visit(s, client, b, t0 + H), "answered", (4, 4, 4), answered=30 * H)
        survey(s, visit(s, client, b, t0 + 2 * H), "expired")
        survey(s, visit(s, client, b, now - 4 * D), "reminded", closes=74 * H)
        survey(s, visit(s, client, b, now - 2 * D), "sent")
        survey(s, visit(s, client, b, t0 + 6 * H), "answered", (5, 4, 5), source="client", sent=None,
               answered=8 * H)
        # Outside the period: finished 20 days ago.
        survey(s, visit(s, client, b, now - 20 * D), "answered", (1, 1, 1), answered=3 * H)
        for hk in (a, b):
            ratings.recompute(be.ctx, s, hk.id)
        ids = {"a": a.id, "b": b.id}
    return ids


def report(be: Backend, start: datetime, end: datetime) -> dict[str, Any]:
    with be.db.read() as s:
        return survey_reports.survey_report(be.ctx, s, start, end)


def test_report_figures_match_the_rows(be: Backend, month: dict[str, Any]) -> None:
    now = be.now
    r = report(be, now - 10 * D, now)
    answered = [(5, 5, 5), (3, 4, 4), (4, 4, 3), (4, 3, 4), (3, 3, 3), (2, 2, 3), (4, 4, 4), (5, 4, 5)]

    assert r["visits"] == {"finished": 14, "by_finished_by": {"auto": 1, "housekeeper": 13}, "surveyed": 11,
                           "waiting_to_send": 1, "not_surveyed": 2}
    s = r["surveys"]
    assert s["total"] == 12 and s["by_status"] == {"answered": 8, "expired": 1, "reminded": 1, "scheduled": 1,
                                                   "sent": 1, "cancelled": 1}
    assert (s["sent"], s["reminded"], s["answered"], s["unasked"], s["expired"], s["awaiting"]) == (10, 1, 8, 1, 2, 1)
    assert s["answer_hours"]["count"] == 7  # the unasked one was never sent
    # Coverage: answered over closed (the open one and the one not yet sent are left out).
    assert r["coverage"] == {"answered": 8, "closed": 10, "share": 0.8, "target": 0.9, "met": False}
    m = r["means"]
    for i, d in enumerate(("attitude", "skill", "result")):
        assert m[d] == round(statistics.fmean(x[i] for x in answered), 2)
    assert m["overall"] == round(statistics.fmean(statistics.fmean(x) for x in answered), 2)
    assert m["count"] == 8 and m["target"] == 4.5 and m["met"] is False
    # Below 4.0: (3,4,4) in time, (4,4,3) late, (2,2,3) missed, (3,3,3) not yet due, (4,3,4) without a case.
    assert r["below"] == {"count": 5, "answered": 8, "share": 0.625, "followed_up_in_time": 1, "late": 1,
                          "missed": 1, "pending": 1, "no_case": 1, "share_in_time": 0.25, "met": False}

    a, b = r["housekeepers"]
    assert (a["code"], a["id"], b["code"], b["id"]) == ("HK001", month["a"], "HK002", month["b"])
    assert a["name"].endswith("阿姨") and b["name"].endswith("阿姨")
    assert (a["visits"], a["answered"], a["coverage"], a["below"]) == (8, 5, 1.0, 4)
    assert (b["visits"], b["answered"], b["coverage"], b["below"]) == (6, 3, 0.6, 1)
    assert (a["attitude"], a["skill"], a["result"]) == (3.8, 3.8, 3.8)
    assert b["attitude"] == round((2 + 4 + 5) / 3, 2) and b["overall"] == round((7 / 3 + 4 + 14 / 3) / 3, 2)
    # The running rating is over all her surveys (B's 1-1-1 of 20 days ago too), as matching sees it.
    assert (a["survey_count"], b["survey_count"]) == (5, 4)
    with be.db.read() as s:
        assert b["rating"] == s.get(Housekeeper, month["b"]).rating  # type: ignore[union-attr]
    # Nothing a client said or is: no comment, no client name, no address.
    text = json.dumps(r, ensure_ascii=False)
    assert "细心" not in text and "王芳" not in text and "建国路" not in text and "秘密" not in text


def test_empty_period_and_one_housekeeper(be: Backend, month: dict[str, Any]) -> None:
    now = be.now
    empty = report(be, now + D, now + 2 * D)
    assert empty["visits"]["finished"] == 0 and empty["housekeepers"] == []
    assert empty["coverage"]["share"] is None and empty["coverage"]["met"] is None
    assert empty["means"]["overall"] is None and empty["means"]["met"] is None
    assert empty["below"]["share"] is None and empty["below"]["met"] is None
    assert empty["surveys"]["answer_hours"]["mean_hours"] is None
    # The 1-1-1 visit of 20 days ago alone: one housekeeper, all below, start inclusive and end exclusive.
    finished = now - 20 * D
    one = report(be, finished, finished + H)
    assert [h["code"] for h in one["housekeepers"]] == ["HK002"] and one["visits"]["finished"] == 1
    assert one["means"]["overall"] == 1.0 and one["below"]["no_case"] == 1 and one["coverage"]["share"] == 1.0
    assert report(be, finished - H, finished)["visits"]["finished"] == 0


def test_render_table(be: Backend, month: dict[str, Any]) -> None:
    from bot.cli.report import render_surveys

    table = render_surveys(report(be, be.now - 10 * D, be.now))
    assert "Coverage:                 8 of 10 closed surveys answered (80.0 %; target 90.0 %, NOT met)" in table
    assert "Below 4.0:                5 of 8 answered (62.5 %); followed up in time 1, late 1, missed 1" in table
    assert "Visits finished:          14 (auto 1, housekeeper 13); surveyed 11, waiting to be sent 1" in table
    rows = [line for line in table.splitlines() if line.startswith("HK00")]
    assert len(rows) == 2 and "100.0 %" in rows[0] and "60.0 %" in rows[1]


def test_cli_prints_the_table_and_json(be: Backend, month: dict[str, Any], db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app, report  # noqa: F401  (registers `report`)
    from tests.conftest import TEST_KEY

    for name, value in {"FRONTDESK_DATA_DIR": str(tmp_path / "data"), "FRONTDESK_DATA_KEY": TEST_KEY,
                        "FRONTDESK_KEY_FILE": str(tmp_path / "keys" / "data.key"), "DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["report", "surveys", *args])
        assert result.exit_code == 0, result.output
        return result.output

    # The CLI runs on the system clock: pin the period to the rows' days.
    tz = be.ctx.tz
    first, last = ((be.now - 10 * D).astimezone(tz).date().isoformat(), be.now.astimezone(tz).date().isoformat())
    table = run("--from", first, "--to", last)
    assert f"Call-back surveys {first} to {last} " in table and "HK001" in table and "HK002" in table
    assert "overall" in table and "target 4.50" in table
    data = json.loads(run("--from", first, "--to", last, "--json"))
    assert data["visits"]["finished"] == 14 and data["surveys"]["answered"] == 8
    assert data["period"]["start"].startswith(first)
    old = (be.now - 20 * D).astimezone(tz).date().isoformat()
    one = json.loads(run("--from", old, "--to", old, "--json"))
    assert one["visits"]["finished"] == 1 and one["means"]["overall"] == 1.0
    bad = runner.invoke(app, ["report", "surveys", "--to", "18.11.2026"])
    assert bad.exit_code == 1 and "--to must be a date" in bad.output
    backwards = runner.invoke(app, ["report", "surveys", "--from", "2026-11-02", "--to", "2026-11-01"])
    assert backwards.exit_code == 1 and "--from is after --to" in backwards.output
    empty = runner.invoke(app, ["report", "surveys"], env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert empty.exit_code == 1 and "frontdesk db upgrade" in empty.output
