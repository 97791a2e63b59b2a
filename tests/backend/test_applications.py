"""Job applications on the fake clock (SQLite and PostgreSQL): recorded encrypted, managers alerted, the
"within N working days" promise backed by a reminder when nobody has called, status updates, erasure and
export."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from backend.api import Backend, DomainError
from backend.orm import JobApplication, Manager, Notification
from backend.services import privacy
from dialogs.tracker_store import TrackerStore

TZ = ZoneInfo("Asia/Shanghai")


def rows(be: Backend, template: str) -> list[Notification]:
    with be.db.uow() as s:
        out = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
    return out


def manager(be: Backend) -> int:
    with be.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == "MGR01"))


def apply(be: Backend, sender: str = "job-1") -> tuple[int, dict]:
    c = be.client_for("rest", sender, "zh")
    return c.id, be.submit_application(c.id, "王芳", "13912345678", ["cleaning", "cooking"], "做保洁5年", "健康证")


def test_recorded_encrypted_and_managers_alerted(be: Backend) -> None:
    _cid, a = apply(be)
    assert a["status"] == "new" and a["services_zh"] == "日常保洁、家庭厨师" and a["days"] == 2
    # Wednesday 11-18 + 2 working days → the end of Friday 11-20
    assert datetime.fromisoformat(a["due_at"]) == datetime(2026, 11, 21, tzinfo=TZ)
    with be.db.uow() as s:
        raw = s.execute(text("SELECT name, phone, experience FROM job_applications")).one()
        assert "王芳" not in str(raw) and "13912345678" not in str(raw)
        assert s.get(JobApplication, a["application_id"]).name == "王芳"
    alerts = rows(be, "application_new")
    assert alerts and {n.person_kind for n in alerts} == {"manager"}
    assert alerts[0].params["client_name"] == "王芳" and alerts[0].params["phone"] == "13912345678"
    again = be.submit_application(_cid, "王芳", "13912345678", ["cleaning"], "5年", "无")  # a double tap
    assert again["application_id"] == a["application_id"]
    with pytest.raises(DomainError):
        be.submit_application(_cid, "", "1", ["spaceship"], "", "")


def test_reminder_after_the_promised_working_days_only_while_new(be: Backend) -> None:
    _cid, a = apply(be, "job-2")
    _cid2, b = apply(be, "job-3")
    be.set_application_status(manager(be), b["application_id"], "contacted")
    # the promise ends with Friday 11-20: managers are reminded at 10:00 that day, while it can still be kept
    be.ctx.clock.set(datetime(2026, 11, 20, 9, 59, tzinfo=TZ))
    be.run_due_timers()
    assert rows(be, "application_reminder") == []
    be.ctx.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=TZ))
    be.run_due_timers()
    reminded = rows(be, "application_reminder")
    assert reminded and {n.params["application_id"] for n in reminded} == {a["application_id"]}
    assert all(n.created_at < datetime(2026, 11, 21, tzinfo=TZ) and n.urgent for n in reminded)
    assert [x["application_id"] for x in be.applications()] == [a["application_id"]]


def test_status_updates(be: Backend) -> None:
    _cid, a = apply(be, "job-4")
    assert be.set_application_status(manager(be), a["application_id"], "hired")["status"] == "hired"
    assert be.applications() == []
    for bad_id, status, code in ((a["application_id"], "maybe", "invalid_status"),
                                 (9999, "hired", "application_not_found")):
        with pytest.raises(DomainError) as e:
            be.set_application_status(manager(be), bad_id, status)
        assert e.value.code == code


def test_erasure_and_export_include_applications(be: Backend) -> None:
    TrackerStore(be.db.engine).create_tables()  # the chat tables erasure and export read (the bot makes them)
    cid, a = apply(be, "job-5")
    exported = be.export_data(cid)["job_applications"]
    assert [(x["name"], x["phone"], x["services"]) for x in exported] == [
        ("王芳", "13912345678", ["cleaning", "cooking"])]
    with be.db.uow() as s:
        privacy.erase(be.ctx, s, cid)
    with be.db.uow() as s:
        row = s.get(JobApplication, a["application_id"])
        assert row.name is None and row.phone is None and row.experience is None
    assert all(n.params["client_name"] == "—" and n.params["phone"] == "—" for n in rows(be, "application_new"))
    be.ctx.clock.advance(days=5)
    be.run_due_timers()
    assert rows(be, "application_reminder") == []  # nothing left to remind about
