"""`frontdesk report bookings` in-process (typer's CliRunner) on the test's database (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.orm import Client, Housekeeper
from tests.backend.conftest import demo_backend
from tests.backend.test_booking_reports import M, booking, cancel, offer

D = timedelta(days=1)


def test_cli_prints_the_table_and_json(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app, report  # noqa: F401  (registers `report`)
    from tests.conftest import TEST_KEY

    be = demo_backend(db_url, tmp_path)
    now, t0 = be.now, be.now - 5 * D
    with be.db.uow() as s:
        hk = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK003"))
        c = Client(name="李雷", phone="13900001111")
        s.add(c)
        s.flush()
        done = booking(s, c, "cleaning", t0, t0 + D, 3, "completed", hk, arrived=3 * M, worked=180 * M)
        offer(s, done, hk, "accepted", 12 * M)
        gone = booking(s, c, "nanny", t0 + D, now + 3 * D, 8, "cancelled")
        cancel(s, gone, t0 + D + 5 * M, f"client:{c.id}", "requested")
        booking(s, c, "cleaning", now - 40 * D, now - 39 * D, 2, "unassigned")  # before the period
    be.db.dispose()
    for name, value in {"FRONTDESK_DATA_DIR": str(tmp_path / "data"), "FRONTDESK_DATA_KEY": TEST_KEY,
                        "FRONTDESK_KEY_FILE": str(tmp_path / "keys" / "data.key"), "DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["report", "bookings", *args])
        assert result.exit_code == 0, result.output
        return result.output

    # The CLI runs on the system clock: pin the period to the rows' days.
    tz = be.ctx.tz
    first, last = (now - 10 * D).astimezone(tz).date().isoformat(), now.astimezone(tz).date().isoformat()
    table = run("--from", first, "--to", last)
    assert f"Bookings {first} to {last} " in table
    assert "Match success:            1 of 2 requested got a confirmed housekeeper (50.0 %; target 80.0 %" in table
    assert "median 12 min, p90 12 min" in table and "HK003" in table
    assert "Cancellations:            1 (client 1); after a match 0, before 1; with a fee 0" in table
    for secret in ("李雷", "13900001111", "建国路", "门口有猫"):
        assert secret not in table
    data = json.loads(run("--from", first, "--to", last, "--json"))
    assert data["overall"]["match"]["requested"] == 2 and data["overall"]["punctuality"]["on_time"] == 1
    assert [h["code"] for h in data["housekeepers"]] == ["HK003"]
    assert sorted(data["services"]) == ["cleaning", "nanny"]
    old = (now - 40 * D).astimezone(tz).date().isoformat()
    one = json.loads(run("--from", old, "--to", old, "--json"))
    assert one["overall"]["match"]["unassigned"] == 1 and one["overall"]["match"]["share"] == 0.0
    bad = runner.invoke(app, ["report", "bookings", "--from", "1.11.2026"])
    assert bad.exit_code == 1 and "--from must be a date" in bad.output
    backwards = runner.invoke(app, ["report", "bookings", "--from", "2026-11-02", "--to", "2026-11-01"])
    assert backwards.exit_code == 1 and "--from is after --to" in backwards.output
    empty = runner.invoke(app, ["report", "bookings"], env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert empty.exit_code == 1 and "frontdesk db upgrade" in empty.output
