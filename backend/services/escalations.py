"""Escalations to the human managers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.orm import Escalation, Manager
from backend.services import Context, DomainError
from backend.services.audit import record
from backend.services.outbox import notify

URGENT_KINDS = frozenset({"emergency"})  # alerts the outbox sends ahead of everything else (add breaches)


def escalate(ctx: Context, session: Session, kind: str, client_id: int | None = None,
             booking_id: int | None = None, by_client: bool = False, **detail: Any) -> Escalation:
    """Open a case for the managers. ``by_client``: the client asked for it, and one client may open at
    most ``ctx.escalations_per_client_hour`` an hour (DomainError "escalation_limit" beyond, nothing
    written); the system's own escalations (nobody accepted a job …) are never capped."""
    now = ctx.clock.now()
    if by_client and client_id is not None:
        recent = session.scalar(select(func.count(Escalation.id)).where(
            Escalation.client_id == client_id, Escalation.created_at > now - timedelta(hours=1)))
        if (recent or 0) >= ctx.escalations_per_client_hour:
            raise DomainError("escalation_limit")
    esc = Escalation(kind=kind, client_id=client_id, booking_id=booking_id, detail=detail, created_at=now)
    session.add(esc)
    session.flush()
    record(session, now, "escalation", esc.id, None, "open", "system", kind=kind)
    for m in session.scalars(select(Manager).order_by(Manager.id)):
        notify(session, now, "manager", m.id, "escalation_new", f"esc:{esc.id}:m:{m.id}", escalation_id=esc.id,
               kind=kind, client_id=client_id, booking_id=booking_id, detail=detail, subject=f"case:{esc.id}",
               urgent=kind in URGENT_KINDS)  # an emergency never waits behind other messages
    return esc


def _get(session: Session, escalation_id: int) -> Escalation:
    esc = session.get(Escalation, escalation_id, with_for_update=True)
    if esc is None:
        raise DomainError("escalation_not_found")
    return esc


def acknowledge(ctx: Context, session: Session, escalation_id: int, manager_id: int) -> Escalation:
    esc = _get(session, escalation_id)
    if esc.status == "resolved":
        raise DomainError("escalation_closed")
    if esc.status == "open":
        record(session, ctx.clock.now(), "escalation", esc.id, esc.status, "acknowledged", f"manager:{manager_id}")
        esc.status, esc.manager_id = "acknowledged", manager_id
    return esc


def resolve(ctx: Context, session: Session, escalation_id: int, manager_id: int) -> Escalation:
    esc = _get(session, escalation_id)
    if esc.status != "resolved":
        record(session, ctx.clock.now(), "escalation", esc.id, esc.status, "resolved", f"manager:{manager_id}")
        esc.status, esc.manager_id = "resolved", manager_id
    return esc


def open_escalations(session: Session) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(Escalation.status != "resolved").order_by(Escalation.id)))
