"""`frontdesk status` (typer's CliRunner) on the test's database (SQLite, PostgreSQL) and a real Redis:
the queues grow while no worker runs, their lateness follows the shared test clock, the exit code says
"behind", and once the work is done it says "ok" again."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Request
from backend.orm import Housekeeper
from tests.backend.conftest import demo_backend
from tests.conftest import TEST_KEY
from tests.crash.harness import SETTINGS_ENV

TZ = ZoneInfo("Asia/Shanghai")


def isolate(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Only these settings: none of the shell's (a DATABASE_URL there must never be read or migrated)."""
    for name in list(os.environ):
        if name.startswith(SETTINGS_ENV):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_status_follows_the_queues_on_the_clock(db_url: str, redis_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import full_app
    from bot.election import Leadership
    from bot.telegram.runner import LEASE_KEY

    be = demo_backend(db_url, tmp_path)
    clock = tmp_path / "clock"

    def at(t: datetime) -> None:  # the CLI reads the test clock file; the backend has its own FakeClock
        be.ctx.clock.set(t)
        clock.write_text(t.isoformat(), encoding="utf-8")

    at(be.now)
    redis = redis_url.rsplit("/", 1)[0] + "/9"  # a database of its own: no other test's lease
    isolate(monkeypatch, FRONTDESK_DATA_DIR=str(tmp_path / "data"), FRONTDESK_DATA_KEY=TEST_KEY,
            FRONTDESK_KEY_FILE=str(tmp_path / "keys" / "data.key"), DATABASE_URL=db_url, REDIS_URL=redis,
            FRONTDESK_TEST_HOOKS__ENABLED="true", FRONTDESK_TEST_HOOKS__CLOCK_FILE=str(clock))
    runner, app = CliRunner(), full_app()

    def status(*args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(app, ["status", "--json", *args])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    before = status()
    assert before["problems"] == [] and before["telegram_poller"] == {"state": "free"}
    assert before["outbox"]["due_push"] == 0 and before["inbox"]["pending"] == 0

    # No worker runs. A booking: its offer card goes to a housekeeper on the staff bot (a push channel),
    # its expiry is a timer; a message to a client who only uses the website widget waits for her to
    # ask (a pull channel: pending, but nothing to push); a WeChat message waits in the inbox.
    with be.db.read() as s:
        hk_ids = list(s.scalars(select(Housekeeper.id)))
    for hk in hk_ids:
        be.bind("housekeeper", hk, "telegram_staff", str(9000 + hk))
    client = be.client_for("rest", "widget-1", "zh").id
    be.book(client, Request("cleaning", datetime(2026, 11, 19, 9, tzinfo=TZ), hours=3,
            address="北京市朝阳区建国路88号3号楼501", district="朝阳", city="北京市"))
    be.relay("client", client, "manager_message", text="您好")
    assert be.inbox_accept("wechat", "openid-1", "msg-1", {"text": "你好"})
    now = status()
    assert now["outbox"]["due_push"] == before["outbox"]["due_push"] + 1, now  # the offer card, not the relay
    assert now["outbox"]["pending"] >= before["outbox"]["pending"] + 2
    assert now["outbox"]["late_seconds"] == 0.0 and now["inbox"] == {"pending": 1, "due": 1, "late_seconds": 0.0,
                                                                     "failed": 0}
    expiry = datetime.fromisoformat(now["timers"]["next_due"])
    assert timedelta(0) < expiry - be.now <= timedelta(minutes=be.ctx.offer_timeout_minutes)
    assert now["timers"]["overdue"] == 0 and now["problems"] == []

    # 70 s past the offer's expiry: everything is late, the command says so and exits 1.
    late = expiry + timedelta(seconds=70)
    at(late)
    behind = status(code=1)
    waited = round((late - datetime.fromisoformat(now["now"])).total_seconds())
    assert behind["outbox"]["late_seconds"] == pytest.approx(waited, abs=1)
    assert behind["inbox"]["late_seconds"] == pytest.approx(waited, abs=1)
    assert behind["timers"]["overdue"] >= 1 and behind["timers"]["late_seconds"] >= 70
    assert [p.split()[0] for p in behind["problems"]] == ["outbox", "inbox", "timers"]
    assert status("--max-lag", str(waited + 60))["problems"] == []  # within a looser limit: exit 0
    text = runner.invoke(app, ["status"])
    assert text.exit_code == 1 and f"BEHIND (over 60 s): outbox {waited} s, inbox {waited} s" in text.output
    for secret in ("您好", "你好", "openid-1", "widget-1", "建国路"):
        assert secret not in text.output

    # A worker takes the Telegram polling lease (bot/election.py): its pid is shown.
    async def while_leading() -> dict[str, Any]:
        leader = Leadership.from_url(redis, LEASE_KEY, lease=30)
        try:
            assert await leader.try_acquire()
            return status(code=1)["telegram_poller"]  # still behind: exit 1
        finally:
            await leader.release()
            await leader.close()

    held = asyncio.run(while_leading())
    assert held["state"] == "held" and held["pid"] == os.getpid() and 0 < held["lease_seconds"] <= 30

    # The workers catch up: timers run, the push queue is delivered, the inbox row is done. One card is
    # refused for good, and counts as given up.
    assert be.run_due_timers() >= 1
    refused = None
    while rows := be.claim_push(["telegram_staff"]):
        for row in rows:
            if refused is None:
                refused = row["id"]
                be.failed(row["id"], "refused: blocked by the user", None, True)
            else:
                be.delivered(row["id"])
    [claimed] = be.inbox_claim()
    be.inbox_done(claimed["id"])
    done = status()
    assert done["problems"] == [] and done["outbox"]["due_push"] == 0 and done["outbox"]["failed_24h"] == 1
    assert done["timers"]["overdue"] == 0 and done["inbox"]["pending"] == 0
    assert done["outbox"]["pending"] >= 1  # the widget client's message still waits for her to ask

    # Lateness counts from when an item is due, not from when it was written: a card in retry back-off
    # is not due; ten minutes on it is due, one second late. A message the channel holds to answer
    # itself is not due in the inbox either.
    hk = hk_ids[0]
    be.relay("housekeeper", hk, "manager_message", text="明天早点到")
    [card] = be.claim_push(["telegram_staff"])
    be.failed(card["id"], "retry: flood control", 600)
    assert be.inbox_accept("wechat", "openid-2", "msg-2", {"text": "在吗"}, hold_seconds=5)
    waiting = status()
    assert waiting["outbox"]["due_push"] == 0 and waiting["outbox"]["late_seconds"] is None
    assert waiting["inbox"]["pending"] == 1 and waiting["inbox"]["due"] == 0
    at(be.now + timedelta(seconds=601))
    due = status(code=1)
    assert due["outbox"]["due_push"] == 1 and due["outbox"]["late_seconds"] == pytest.approx(1, abs=0.5)
    assert due["inbox"]["due"] == 1 and due["inbox"]["late_seconds"] == pytest.approx(596, abs=0.5)
    assert due["problems"] == ["inbox 596 s"]  # held 5 s, then nobody took it
    # The refused card was given up a day ago: no longer in the last 24 h.
    at(be.now + timedelta(hours=24))
    assert status(code=1)["outbox"]["failed_24h"] == 0
    be.db.dispose()


def test_status_says_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import full_app

    isolate(monkeypatch, FRONTDESK_DATA_DIR=str(tmp_path / "data"), FRONTDESK_DATA_KEY=TEST_KEY)
    runner, app = CliRunner(), full_app()
    db = tmp_path / "data" / "frontdesk.db"
    none = runner.invoke(app, ["status"])
    assert none.exit_code == 1 and f"no database at {db}" in none.output and "frontdesk db upgrade" in none.output
    assert not db.exists()  # nothing left behind
    db.parent.mkdir(parents=True)
    db.touch()  # a file without the schema
    bare = runner.invoke(app, ["status"])
    assert bare.exit_code == 1 and "schema is missing or behind: run `frontdesk db upgrade`" in bare.output
    gone = runner.invoke(app, ["status"], env={"DATABASE_URL": "postgresql://frontdesk:secret@127.0.0.1:1/x"})
    assert gone.exit_code == 1 and "cannot reach the database (OperationalError)" in gone.output
    assert "secret" not in gone.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    down = runner.invoke(app, ["status", "--json"], env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert down.exit_code == 1 and json.loads(down.stdout)["problems"] == ["redis unreachable"]
    odd = runner.invoke(app, ["status"], env={"REDIS_URL": "http://127.0.0.1:6379"})
    assert odd.exit_code == 1 and "REDIS_URL is not a redis://" in odd.output
    bad = runner.invoke(app, ["status", "--max-lag", "-5"])
    assert bad.exit_code == 2 and "--max-lag" in bad.output
    hooks = runner.invoke(app, ["status"], env={"FRONTDESK_ENVIRONMENT": "production",
                                                "FRONTDESK_TEST_HOOKS__ENABLED": "true"})
    assert hooks.exit_code == 1 and "refused" in hooks.output
