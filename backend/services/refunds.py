"""Refunds and compensation: requested → approved → paid (with a reference) | rejected (with a reason).

The promise is the service standard's: a refund is completed within ``refund_complete_days`` working
days of the request (mainland calendar, ``ctx.calendar``); approval is due inside it. Both deadlines are
durable timers: a reminder ``refund_remind_before`` each, an urgent alert when approval is late, and at
the promise a breach recorded on the refund and escalated to the supervisors. Handlers re-check state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import AccessLog, CaseEvent, Client, Escalation, Manager, Refund
from backend.services import Context, DomainError
from backend.services.audit import record
from backend.services.case_cards import recipients
from backend.services.outbox import notify
from backend.services.payments import booking, clean_amount, clean_text, refundable_cents
from backend.services.timers import cancel, handler, schedule

REASON_MAX = 500
REFERENCE_MAX = 128
OPEN = ("requested", "approved")


def view(r: Refund) -> dict[str, Any]:
    def iso(t: datetime | None) -> str | None:
        return t.astimezone(UTC).isoformat() if t else None  # one shape, fresh or reloaded

    return {"id": r.id, "kind": r.kind, "case_id": r.case_id, "booking_id": r.booking_id, "client_id": r.client_id,
            "amount_cents": r.amount_cents, "reason": r.reason, "status": r.status,
            "requested_at": iso(r.requested_at), "requested_by": r.requested_by,
            "approve_due_at": iso(r.approve_due_at), "due_at": iso(r.due_at), "approved_at": iso(r.approved_at),
            "approved_by": r.approved_by, "paid_at": iso(r.paid_at), "reference": r.reference,
            "rejected_at": iso(r.rejected_at), "rejected_reason": r.rejected_reason, "breached_at": iso(r.breached_at)}


# --- who hears about it ------------------------------------------------------------------------
def managers(ctx: Context, session: Session, level: int = 0) -> list[int]:
    """The case machinery's audience: level 0 the on-duty managers (else all), level 1 the supervisors
    (else all managers)."""
    return [m.id for m in recipients(ctx, session, level, ctx.clock.now())]


def _alert(ctx: Context, session: Session, r: Refund, reason: str, *, level: int = 0, urgent: bool = False,
           skip: int | None = None, step: str | None = None, **extra: Any) -> None:
    """``refund_alert`` to managers (H4 renders it): the refund view plus who the client is; the
    refund's own reason travels as ``refund_reason`` (``reason`` says why the alert). ``step`` tells
    apart alerts of the same reason (the two reminders)."""
    now = ctx.clock.now()
    client = session.get(Client, r.client_id)
    params = view(r)
    params["refund_reason"] = params.pop("reason")
    for mid in managers(ctx, session, level):
        if mid == skip:
            continue
        notify(session, now, "manager", mid, "refund_alert", f"refund:{r.id}:{step or reason}:m:{mid}",
               subject=f"refund:{r.id}", urgent=urgent, **params, **extra, reason=reason,
               client_name=(client.name if client else None) or "")
        # the alert shows the client's name to this manager: an access like a case card
        session.add(AccessLog(at=now, actor=f"manager:{mid}", client_id=r.client_id, what="refund_alert",
                              ref=f"refund:{r.id}"))


def _tell_client(ctx: Context, session: Session, r: Refund, template: str, **extra: Any) -> None:
    notify(session, ctx.clock.now(), "client", r.client_id, template, f"refund:{r.id}:{template}",
           subject=f"refund:{r.id}", refund_id=r.id, booking_id=r.booking_id, case_id=r.case_id,
           amount_cents=r.amount_cents, due_at=r.due_at.isoformat(), **extra)


def _event(ctx: Context, session: Session, r: Refund, actor: str, step: str) -> None:
    """A step of a refund on the case it hangs off (the case's timeline)."""
    if r.case_id is not None:
        session.add(CaseEvent(case_id=r.case_id, at=ctx.clock.now(), actor=actor[:64], kind=r.kind,
                              detail={"refund_id": r.id, "status": step, "amount_cents": r.amount_cents}))


def _keys(r: Refund) -> list[str]:
    return [f"refund_remind:approve:{r.id}", f"refund_approve_due:{r.id}", f"refund_remind:due:{r.id}",
            f"refund_due:{r.id}"]


def _schedule(ctx: Context, session: Session, r: Refund) -> None:
    before = ctx.cases.refund_remind_before
    if r.status == "requested":
        schedule(session, "refund_remind", r.id, r.approve_due_at - before, f"refund_remind:approve:{r.id}")
        schedule(session, "refund_approve_due", r.id, r.approve_due_at, f"refund_approve_due:{r.id}")
    schedule(session, "refund_remind", r.id, r.due_at - before, f"refund_remind:due:{r.id}")
    schedule(session, "refund_due", r.id, r.due_at, f"refund_due:{r.id}")


def _case(session: Session, case_id: int, client_id: int | None = None) -> Escalation:
    case = session.get(Escalation, case_id)
    if case is None or (client_id is not None and case.client_id != client_id):
        raise DomainError("case_not_found")
    return case


def _new(ctx: Context, session: Session, kind: str, actor: str, client_id: int, booking_id: int | None,
         case_id: int | None, amount: int, reason: str) -> Refund:
    now = ctx.clock.now()
    r = Refund(kind=kind, case_id=case_id, booking_id=booking_id, client_id=client_id, amount_cents=amount,
               reason=reason, status="requested", requested_at=now, requested_by=actor[:64],
               approve_due_at=ctx.calendar.working_days_due(now, ctx.cases.refund_approve_days, ctx.tz),
               due_at=ctx.calendar.working_days_due(now, ctx.cases.refund_complete_days, ctx.tz))
    session.add(r)
    session.flush()
    record(session, now, "refund", r.id, None, "requested", actor, kind=kind)
    return r


# --- commands --------------------------------------------------------------------------------
def request(ctx: Context, session: Session, actor: str, booking_id: int, amount_cents: int, reason: str,
            case_id: int | None = None) -> Refund:
    b = booking(session, booking_id, lock=True)  # two refunds on one booking queue here
    amount = clean_amount(amount_cents)
    why = clean_text(reason, "invalid_reason", REASON_MAX)
    if case_id is not None:
        _case(session, case_id, b.client_id)
    if amount > refundable_cents(session, b.id):
        raise DomainError("refund_exceeds_paid")
    r = _new(ctx, session, "refund", actor, b.client_id, b.id, case_id, amount, why)
    _schedule(ctx, session, r)
    _event(ctx, session, r, actor, "requested")
    _tell_client(ctx, session, r, "refund_requested", due_by_at=_last_minute(r.due_at),
                 working_days=ctx.cases.refund_complete_days)
    _alert(ctx, session, r, "new")
    return r


def compensate(ctx: Context, session: Session, manager_id: int, case_id: int, amount_cents: int,
               reason: str) -> Refund:
    """Granted on the spot by the manager (so approved at creation), then paid like a refund."""
    actor = active_manager(session, manager_id)
    case = _case(session, case_id)
    if case.client_id is None:
        raise DomainError("case_not_found")
    amount = clean_amount(amount_cents)
    why = clean_text(reason, "invalid_reason", REASON_MAX)
    r = _new(ctx, session, "compensation", actor, case.client_id, case.booking_id, case.id, amount, why)
    now = ctx.clock.now()
    r.status, r.approved_at, r.approved_by = "approved", now, actor
    record(session, now, "refund", r.id, "requested", "approved", actor, kind=r.kind)
    _schedule(ctx, session, r)
    _event(ctx, session, r, actor, "approved")
    _tell_client(ctx, session, r, "compensation_granted", reason=why, due_by_at=_last_minute(r.due_at))
    _alert(ctx, session, r, "new", skip=manager_id)
    return r


def approve(ctx: Context, session: Session, manager_id: int, refund_id: int) -> Refund:
    actor = active_manager(session, manager_id)
    r = _open(session, refund_id)
    if r.status == "approved":
        return r  # a second tap on the same button
    _approve(ctx, session, r, actor)
    _tell_client(ctx, session, r, "refund_approved")
    _alert(ctx, session, r, "approved", skip=manager_id)
    return r


def pay(ctx: Context, session: Session, manager_id: int, refund_id: int, reference: str) -> Refund:
    actor = active_manager(session, manager_id)
    ref = clean_text(reference, "invalid_reference", REFERENCE_MAX)
    r = _open(session, refund_id)
    if r.status == "requested":
        _approve(ctx, session, r, actor)
    now = ctx.clock.now()
    r.status, r.paid_at, r.reference = "paid", now, ref
    record(session, now, "refund", r.id, "approved", "paid", actor)
    _stop(session, r)
    _event(ctx, session, r, actor, "paid")
    _tell_client(ctx, session, r, "refund_paid", reference=ref, kind=r.kind)
    _alert(ctx, session, r, "paid", skip=manager_id)
    return r


def reject(ctx: Context, session: Session, manager_id: int, refund_id: int, reason: str) -> Refund:
    actor = active_manager(session, manager_id)
    why = clean_text(reason, "invalid_reason", REASON_MAX)
    r = _open(session, refund_id)
    now = ctx.clock.now()
    old = r.status
    r.status, r.rejected_at, r.rejected_reason = "rejected", now, why
    record(session, now, "refund", r.id, old, "rejected", actor)
    _stop(session, r)
    _event(ctx, session, r, actor, "rejected")
    _tell_client(ctx, session, r, "refund_rejected", rejected_reason=why, kind=r.kind)
    _alert(ctx, session, r, "rejected", skip=manager_id)
    return r


def client_refunds(session: Session, client_id: int) -> list[Refund]:
    return list(session.scalars(select(Refund).where(Refund.client_id == client_id)
                                .order_by(Refund.requested_at.desc(), Refund.id.desc())))


def open_refunds(session: Session) -> list[Refund]:
    return list(session.scalars(select(Refund).where(Refund.status.in_(OPEN)).order_by(Refund.due_at, Refund.id)))


# --- helpers ---------------------------------------------------------------------------------
def active_manager(session: Session, manager_id: int) -> str:
    m = session.get(Manager, manager_id)
    if m is None or m.status == "deactivated":
        raise DomainError("manager_not_found")
    return f"manager:{m.id}"


def _open(session: Session, refund_id: int) -> Refund:
    r = session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    if r is None:
        raise DomainError("refund_not_found")
    if r.status not in OPEN:
        raise DomainError(f"refund_{r.status}")  # refund_paid | refund_rejected
    return r


def _approve(ctx: Context, session: Session, r: Refund, actor: str) -> None:
    now = ctx.clock.now()
    r.status, r.approved_at, r.approved_by = "approved", now, actor
    record(session, now, "refund", r.id, "requested", "approved", actor)
    cancel(session, f"refund_remind:approve:{r.id}")
    cancel(session, f"refund_approve_due:{r.id}")
    _event(ctx, session, r, actor, "approved")


def _stop(session: Session, r: Refund) -> None:
    for key in _keys(r):
        cancel(session, key)


def _last_minute(due: datetime) -> str:
    """The promise as the client reads it: "by <the last working day> 23:59", not "00:00 the day after"."""
    return (due - timedelta(minutes=1)).isoformat()


# --- timers (each re-checks the refund: a paid or rejected one is left alone) ------------------
def _locked(session: Session, refund_id: int) -> Refund | None:
    r = session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    return r if r is not None and r.status in OPEN else None


@handler("refund_remind")
def remind(ctx: Context, session: Session, refund_id: int) -> None:
    r = _locked(session, refund_id)
    if r is None:
        return
    now = ctx.clock.now()
    # which deadline is next: approval while still requested and not yet due, else the promise
    stage = "approve" if r.status == "requested" and now < r.approve_due_at else "due"
    _alert(ctx, session, r, "remind", step=f"remind_{stage}", stage=stage)


@handler("refund_approve_due")
def approve_due(ctx: Context, session: Session, refund_id: int) -> None:
    r = _locked(session, refund_id)
    if r is None or r.status != "requested":
        return
    _alert(ctx, session, r, "approve_due", urgent=True)


@handler("refund_due")
def due(ctx: Context, session: Session, refund_id: int) -> None:
    r = _locked(session, refund_id)
    if r is None or r.breached_at is not None:
        return
    now = ctx.clock.now()
    r.breached_at = now
    record(session, now, "refund", r.id, r.status, r.status, "timer", breach=True)
    _event(ctx, session, r, "system", "breach")
    _alert(ctx, session, r, "breach", level=1, urgent=True)
