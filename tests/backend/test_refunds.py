"""Refunds and compensation on the fake clock, SQLite and PostgreSQL: the 3-working-day promise across
the National Day week, reminders, the late-approval alert, the breach to supervisors, rejection, limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update

from backend.api import Backend, DomainError, Request
from backend.orm import AccessLog, CaseEvent, Escalation, Manager, Notification, Refund, Timer
from dialogs.domain import Domain
from dialogs.notify import Notifier

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "上海市静安区南京西路1号"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def paid_booking(be: Backend, lang: str = "zh", paid: int = 30000, who: str = "alice") -> tuple[int, int]:
    """A client and a booking made on Tue 2026-09-29 for the next morning, with ``paid`` cents paid."""
    be.ctx.clock.set(at(2026, 9, 29, 10))
    c = be.client_for("rest", who, lang)
    be.set_client(c.id, name="Alice Wang" if who == "alice" else "王先生")
    b = be.book(c.id, Request("cleaning", at(2026, 9, 30, 9), hours=3, address=ADDRESS, district="静安"))
    if paid:
        be.record_payment("manager:1", b["id"], paid, "transfer", reference="WX-778899")
    return c.id, b["id"]


def rows(be: Backend, template: str, person_kind: str | None = None) -> list[Notification]:
    with be.db.uow() as s:
        q = select(Notification).where(Notification.template == template)
        if person_kind:
            q = q.where(Notification.person_kind == person_kind)
        return list(s.scalars(q.order_by(Notification.id)))


def alerts(be: Backend, reason: str) -> list[Notification]:
    return [n for n in rows(be, "refund_alert", "manager") if n.params["reason"] == reason]


def managers(be: Backend) -> dict[str, int]:
    with be.db.uow() as s:
        return {m.code: m.id for m in s.scalars(select(Manager))}


def open_case(be: Backend, client_id: int, booking_id: int | None) -> int:
    """A complaint case row as H1's service stores it (only what money needs)."""
    with be.db.uow() as s:
        e = Escalation(kind="complaint", client_id=client_id, booking_id=booking_id, status="open",
                       case_key=f"complaint:{client_id}:{booking_id or '-'}", category="quality",
                       detail={"text": "地板没擦干净"}, created_at=be.now)
        s.add(e)
        s.flush()
        return e.id


def render(be: Backend, n: Notification, lang: str) -> str:
    return Notifier(Domain.load(), be.catalogue, TZ).render(n.template, n.params, lang)["text"]


def test_refund_across_national_day_is_due_saturday_and_paid_within_three_working_days(be: Backend) -> None:
    client_id, booking_id = paid_booking(be, "en")
    mgr = managers(be)
    be.ctx.clock.set(at(2026, 9, 30, 10))  # Wednesday; 10-01..10-07 National Day, Sat 10-10 a working day
    r = be.request_refund("manager:1", booking_id, 12000, "floor not cleaned")

    assert r["status"] == "requested" and r["amount_cents"] == 12000
    assert datetime.fromisoformat(r["due_at"]) == at(2026, 10, 11)  # end of Sat 10-10
    assert datetime.fromisoformat(r["approve_due_at"]) == at(2026, 10, 9)  # end of Thu 10-08
    told = rows(be, "refund_requested", "client")
    assert [n.person_id for n in told] == [client_id]
    assert "¥120" in render(be, told[0], "en") and "Sat 10 Oct, 23:59" in render(be, told[0], "en")
    assert "10月10日（周六）23:59" in render(be, told[0], "zh")
    assert {n.person_id for n in alerts(be, "new")} == set(mgr.values())
    assert all(n.params["refund_reason"] == "floor not cleaned" and n.params["client_name"] == "Alice Wang"
               for n in alerts(be, "new"))
    with be.db.uow() as s:
        assert s.scalar(select(AccessLog.id).where(AccessLog.what == "refund_alert")) is not None

    # nothing fires during the holiday week
    be.ctx.clock.set(at(2026, 10, 8, 19, 59))
    be.run_due_timers()
    assert alerts(be, "remind") == [] and alerts(be, "approve_due") == []
    # 4 h before approval is due: a reminder to every manager
    be.ctx.clock.set(at(2026, 10, 8, 20))
    be.run_due_timers()
    assert {(n.person_id, n.params["stage"]) for n in alerts(be, "remind")} == {(m, "approve") for m in mgr.values()}
    # approval late: urgent alert
    be.ctx.clock.set(at(2026, 10, 9, 0, 1))
    be.run_due_timers()
    late = alerts(be, "approve_due")
    assert len(late) == 2 and all(n.urgent for n in late)

    be.ctx.clock.set(at(2026, 10, 9, 9))
    approved = be.approve_refund(mgr["MGR01"], r["id"])
    assert approved["status"] == "approved" and approved["approved_by"] == f"manager:{mgr['MGR01']}"
    assert be.approve_refund(mgr["MGR02"], r["id"])["approved_by"] == f"manager:{mgr['MGR01']}"  # a second tap
    assert len(rows(be, "refund_approved", "client")) == 1
    assert [n.person_id for n in alerts(be, "approved")] == [mgr["MGR02"]]  # the others hear; not the actor

    be.ctx.clock.set(at(2026, 10, 9, 15))
    paid = be.pay_refund(mgr["MGR01"], r["id"], "BANK-20261009-01")
    assert paid["status"] == "paid" and paid["reference"] == "BANK-20261009-01"
    # the report's check: completed inside the promise, within 3 working days of the request
    assert datetime.fromisoformat(paid["paid_at"]) <= datetime.fromisoformat(paid["due_at"])
    assert be.ctx.calendar.working_days_between(datetime.fromisoformat(paid["requested_at"]),
                                                datetime.fromisoformat(paid["paid_at"]), TZ) == 2
    told = rows(be, "refund_paid", "client")
    assert len(told) == 1 and "BANK-20261009-01" in render(be, told[0], "en")
    with pytest.raises(DomainError) as e:
        be.pay_refund(mgr["MGR01"], r["id"], "again")
    assert e.value.code == "refund_paid"

    # the promise passes with nothing left to do: no reminder, no breach
    be.ctx.clock.set(at(2026, 10, 12))
    be.run_due_timers()
    assert [n.params["stage"] for n in alerts(be, "remind")] == ["approve", "approve"]
    assert alerts(be, "breach") == []
    with be.db.uow() as s:
        assert s.get(Refund, r["id"]).breached_at is None
        assert set(s.scalars(select(Timer.status).where(Timer.kind.like("refund%")))) <= {"done", "cancelled"}
    assert be.open_refunds() == []
    assert [x["status"] for x in be.client_refunds(client_id)] == ["paid"]


def test_refund_not_paid_by_the_promise_breaches_to_the_supervisor(be: Backend) -> None:
    _, booking_id = paid_booking(be)
    mgr = managers(be)
    with be.db.uow() as s:
        s.execute(update(Manager).where(Manager.code == "MGR02").values(role="supervisor"))
    be.ctx.clock.set(at(2026, 11, 18, 10, 30))  # Wednesday: due end of Mon 11-23
    r = be.request_refund("manager:1", booking_id, 5000, "late arrival")
    be.approve_refund(mgr["MGR01"], r["id"])
    be.ctx.clock.set(at(2026, 11, 23, 20))
    be.run_due_timers()
    assert {n.params["stage"] for n in alerts(be, "remind")} == {"due"}
    assert alerts(be, "breach") == []
    be.ctx.clock.set(at(2026, 11, 24, 0, 0))
    be.run_due_timers()
    breach = alerts(be, "breach")
    assert [n.person_id for n in breach] == [mgr["MGR02"]] and breach[0].urgent
    with be.db.uow() as s:
        assert s.get(Refund, r["id"]).breached_at == at(2026, 11, 24)
    assert be.open_refunds()[0]["breached_at"] is not None
    # paid late: still recorded, the breach stays on the record
    assert be.pay_refund(mgr["MGR01"], r["id"], "TX9")["breached_at"] is not None


def test_rejected_refund_tells_the_client_the_reason_and_frees_the_amount(be: Backend) -> None:
    client_id, booking_id = paid_booking(be, "zh")
    mgr = managers(be)
    r = be.request_refund("manager:1", booking_id, 30000, "客户要求全额退款")
    assert be.refundable_cents(booking_id) == 0
    with pytest.raises(DomainError) as e:
        be.reject_refund(mgr["MGR01"], r["id"], "  ")
    assert e.value.code == "invalid_reason"
    out = be.reject_refund(mgr["MGR01"], r["id"], "服务已按约完成，照片显示地面清洁")
    assert out["status"] == "rejected" and out["rejected_reason"] == "服务已按约完成，照片显示地面清洁"
    told = rows(be, "refund_rejected", "client")
    assert [n.person_id for n in told] == [client_id]
    assert "原因：服务已按约完成，照片显示地面清洁" in render(be, told[0], "zh")
    assert be.refundable_cents(booking_id) == 30000
    with pytest.raises(DomainError) as e:
        be.approve_refund(mgr["MGR01"], r["id"])
    assert e.value.code == "refund_rejected"
    be.ctx.clock.advance(days=10)
    be.run_due_timers()
    assert alerts(be, "breach") == [] and alerts(be, "approve_due") == []


def test_amount_over_what_was_paid_is_refused_and_nothing_is_stored(be: Backend) -> None:
    _, booking_id = paid_booking(be, paid=0)
    for amount, code in ((100, "refund_exceeds_paid"), (0, "invalid_amount"), (-5, "invalid_amount")):
        with pytest.raises(DomainError) as e:
            be.request_refund("manager:1", booking_id, amount, "x")
        assert e.value.code == code
    be.record_payment("manager:1", booking_id, 20000, "cash")
    with pytest.raises(DomainError) as e:
        be.request_refund("manager:1", booking_id, 20001, "x")
    assert e.value.code == "refund_exceeds_paid"
    with pytest.raises(DomainError) as e:
        be.request_refund("manager:1", 9999, 100, "x")
    assert e.value.code == "booking_not_found"
    with be.db.uow() as s:
        assert s.scalar(select(Refund.id)) is None
        assert s.scalar(select(Timer.id).where(Timer.kind.like("refund%"))) is None
    assert rows(be, "refund_requested") == [] and rows(be, "refund_alert") == []


def test_two_partial_refunds_up_to_the_paid_amount(be: Backend) -> None:
    client_id, booking_id = paid_booking(be)
    a = be.request_refund("manager:1", booking_id, 20000, "part one")
    b = be.request_refund("manager:2", booking_id, 10000, "part two")
    assert be.refundable_cents(booking_id) == 0
    with pytest.raises(DomainError) as e:
        be.request_refund("manager:1", booking_id, 1, "one fen more")
    assert e.value.code == "refund_exceeds_paid"
    assert [x["id"] for x in be.client_refunds(client_id)] == [b["id"], a["id"]]  # newest first
    assert [x["id"] for x in be.open_refunds()] == [a["id"], b["id"]]
    assert len(rows(be, "refund_requested", "client")) == 2


def test_refund_on_a_case_and_compensation_write_the_case_timeline(be: Backend) -> None:
    client_id, booking_id = paid_booking(be, "en")
    mgr = managers(be)
    case_id = open_case(be, client_id, booking_id)
    r = be.request_refund(f"manager:{mgr['MGR01']}", booking_id, 5000, "partly redone", case_id=case_id)
    assert r["case_id"] == case_id
    # compensation is not limited by what was paid, and approved by the manager who grants it
    c = be.compensate(mgr["MGR02"], case_id, 80000, "scratched wooden floor")
    assert c["kind"] == "compensation" and c["status"] == "approved"
    assert c["approved_by"] == f"manager:{mgr['MGR02']}" and c["booking_id"] == booking_id
    assert be.refundable_cents(booking_id) == 25000  # compensation does not use up the refundable amount
    told = rows(be, "compensation_granted", "client")
    assert len(told) == 1 and "¥800" in render(be, told[0], "en")
    assert [n.person_id for n in alerts(be, "new") if n.params["kind"] == "compensation"] == [mgr["MGR01"]]
    paid = be.pay_refund(mgr["MGR02"], c["id"], "CMP-1")
    assert paid["status"] == "paid" and len(rows(be, "refund_paid", "client")) == 1
    with be.db.uow() as s:
        events = [(e.kind, e.detail["status"]) for e in s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))]
    assert events == [("refund", "requested"), ("compensation", "approved"), ("compensation", "paid")]
    other_client, _ = paid_booking(be, who="bob")
    with pytest.raises(DomainError) as e:
        be.request_refund("manager:1", booking_id, 100, "x", case_id=open_case(be, other_client, None))
    assert e.value.code == "case_not_found"
    with pytest.raises(DomainError) as e:
        be.compensate(mgr["MGR01"], 9999, 100, "x")
    assert e.value.code == "case_not_found"


def test_reasons_and_references_are_encrypted_at_rest(be: Backend) -> None:
    _, booking_id = paid_booking(be)
    mgr = managers(be)
    r = be.request_refund("manager:1", booking_id, 1000, "SECRET-REASON")
    be.pay_refund(mgr["MGR01"], r["id"], "SECRET-REF")
    r2 = be.request_refund("manager:1", booking_id, 1000, "x")
    be.reject_refund(mgr["MGR01"], r2["id"], "SECRET-REJECT")
    with be.db.engine.connect() as conn:
        dump: list[Any] = [*conn.execute(text("SELECT reason, reference, rejected_reason FROM refunds")).all(),
                           *conn.execute(text("SELECT reference FROM payments")).all(),
                           *conn.execute(text("SELECT params FROM notifications")).all()]
    flat = repr(dump)
    for secret in ("SECRET-REASON", "SECRET-REF", "SECRET-REJECT", "WX-778899"):
        assert secret not in flat


def test_only_active_managers_act_and_bad_references_are_refused(be: Backend) -> None:
    _, booking_id = paid_booking(be)
    mgr = managers(be)
    r = be.request_refund("manager:1", booking_id, 1000, "x")
    with pytest.raises(DomainError) as e:
        be.approve_refund(9999, r["id"])
    assert e.value.code == "manager_not_found"
    with pytest.raises(DomainError) as e:
        be.pay_refund(mgr["MGR01"], r["id"], "")
    assert e.value.code == "invalid_reference"
    with pytest.raises(DomainError) as e:
        be.approve_refund(mgr["MGR01"], 9999)
    assert e.value.code == "refund_not_found"
    # paying a requested refund approves it on the way
    paid = be.pay_refund(mgr["MGR01"], r["id"], "TX-1")
    assert paid["approved_at"] == paid["paid_at"] and len(rows(be, "refund_approved")) == 0
    assert timedelta(0) <= datetime.fromisoformat(paid["due_at"]) - be.now


def test_racing_refunds_never_exceed_what_was_paid(be: Backend) -> None:
    """Eight managers refund 10,000 of 30,000 paid at once: the booking row lock lets exactly three in."""
    _, booking_id = paid_booking(be)

    def ask(i: int) -> str:
        try:
            be.request_refund(f"manager:{i}", booking_id, 10000, f"race {i}")
            return "ok"
        except DomainError as e:
            return e.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, range(8)))
    assert results.count("ok") == 3 and results.count("refund_exceeds_paid") == 5
    assert be.refundable_cents(booking_id) == 0
    with be.db.uow() as s:
        assert s.scalar(select(func.count(Refund.id))) == 3
