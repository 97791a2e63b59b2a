"""Retention of job applications (backend/services/retention.py → applications.prune), SQLite and PostgreSQL:
hired or rejected longer ago than ``retention_days`` loses name, phone, experience and certificates; new,
contacted and recently decided applications keep them. Reference time Wednesday 2026-11-18 10:30 Shanghai."""

from __future__ import annotations

from sqlalchemy import select

from backend.api import Backend
from backend.orm import JobApplication, Manager
from backend.services import retention
from bot.telegram.common import callback_refs
from dialogs.tracker_store import TrackerStore


def test_decided_applications_lose_personal_fields_after_the_retention_period(be: Backend) -> None:
    TrackerStore(be.db.engine).create_tables()  # the chat tables the prune also reads (the bot makes them)
    callback_refs.create(be.db.engine, checkfirst=True)
    with be.db.uow() as s:
        mgr = s.scalar(select(Manager.id).where(Manager.code == "MGR01"))
    ids = {}
    for status in ("hired", "rejected", "contacted", "new"):
        c = be.client_for("rest", f"ret-{status}", "zh")
        ids[status] = be.submit_application(c.id, "王芳", "13912345678", ["cleaning"], "做保洁5年",
                                            "健康证")["application_id"]
        if status != "new":
            be.set_application_status(mgr, ids[status], status)
    days = be.ctx.retention_days
    be.ctx.clock.advance(days=days - 1)  # decided, but not yet for the whole period
    late = be.client_for("rest", "ret-late", "zh")
    ids["late"] = be.submit_application(late.id, "李梅", "13700000000", ["cleaning"], "3年", "无")["application_id"]
    be.set_application_status(mgr, ids["late"], "hired")
    with be.db.uow() as s:
        assert retention.prune(s, be.ctx.clock.now(), days)["job_applications"] == 0
    be.ctx.clock.advance(days=2)
    with be.db.uow() as s:
        assert retention.prune(s, be.ctx.clock.now(), days)["job_applications"] == 2
        assert retention.prune(s, be.ctx.clock.now(), days)["job_applications"] == 0  # once
    with be.db.uow() as s:
        got = {k: s.get(JobApplication, i) for k, i in ids.items()}
        for k in ("hired", "rejected"):
            a = got[k]
            assert (a.name, a.phone, a.experience, a.certificates) == (None, None, None, None)
            assert a.status == k and a.services == ["cleaning"] and a.decided_at is not None  # the record stays
        for k in ("contacted", "new", "late"):
            assert got[k].name and got[k].phone and got[k].experience
    # the daily timer does the same
    be.ctx.clock.advance(days=days)
    with be.db.uow() as s:
        retention.ensure(s, be.ctx.clock.now(), be.ctx.tz)
    be.ctx.clock.advance(days=1)
    be.run_due_timers()
    with be.db.uow() as s:
        assert s.get(JobApplication, ids["late"]).phone is None
        assert s.get(JobApplication, ids["new"]).phone == "13912345678"  # never decided: kept
    assert [a["client_name"] for a in be.applications(("hired",))] == ["—", "—"]
