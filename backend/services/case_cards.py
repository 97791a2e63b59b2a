"""What managers see of a case: the view, who is alerted, alert rows and the cards that replace them.

Every manager view carries the client's personal data, so writing one (an alert, a card, a list, a
look at one case) writes an access-log row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import (
    AccessLog,
    Attachment,
    Booking,
    CaseEvent,
    Client,
    Escalation,
    Housekeeper,
    Manager,
    Notification,
)
from backend.services import Context
from backend.services.outbox import notify

ALERT, CARD = "case_alert", "case_card"
URGENT_REASONS = frozenset({"breach", "repeat", "emergency"})


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def subject(case_id: int) -> str:
    return f"case:{case_id}"


def housekeeper_id(session: Session, esc: Escalation) -> int | None:
    """The housekeeper a case concerns: the booking's, or the one who reported it."""
    if esc.booking_id is not None:
        b = session.get(Booking, esc.booking_id)
        if b is not None and b.housekeeper_id is not None:
            return b.housekeeper_id
    hk = (esc.detail or {}).get("housekeeper_id")
    return int(hk) if hk else None


def view(session: Session, esc: Escalation) -> dict[str, Any]:
    """The case as the facade documents it (no personal data beyond the client's own words)."""
    owner = session.get(Manager, esc.manager_id) if esc.manager_id else None
    return {"id": esc.id, "kind": esc.kind, "status": esc.status, "severity": esc.severity, "category": esc.category,
            "remedy": esc.remedy, "level": esc.level, "client_id": esc.client_id, "booking_id": esc.booking_id,
            "housekeeper_id": housekeeper_id(session, esc), "owner_id": esc.manager_id,
            "owner_name": owner.name if owner else None, "due_at": _iso(esc.first_response_due_at),
            "first_response_at": _iso(esc.first_response_at), "breached_at": _iso(esc.breached_at),
            "acknowledged_at": _iso(esc.acknowledged_at), "breach_acknowledged_at": _iso(esc.breach_acknowledged_at),
            "created_at": _iso(esc.created_at), "closed_at": _iso(esc.closed_at), "outcome": esc.outcome,
            "satisfied": esc.satisfied, "lang": esc.lang, "text": (esc.detail or {}).get("text"),
            "scores": (esc.detail or {}).get("scores")}  # a survey follow-up's 1–5 scores


def _booking(session: Session, b: Booking) -> dict[str, Any]:
    hk = session.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
    return {"id": b.id, "service": b.service, "status": b.status, "starts_at": b.starts_at.isoformat(),
            "ends_at": b.ends_at.isoformat(), "hours": b.hours, "area": b.area, "price": b.price_estimate,
            "housekeeper": hk.name if hk else None, "district": b.district, "address": b.address}


def events(session: Session, case_id: int) -> list[dict[str, Any]]:
    return [{"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, **(e.detail or {})}
            for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))]


def attachments(session: Session, case_id: int) -> list[dict[str, Any]]:
    return [{"id": a.id, "content_type": a.content_type, "size": a.size, "filename": a.filename}
            for a in session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id))]


def log_access(session: Session, now: datetime, manager_id: int, esc: Escalation, what: str) -> None:
    if esc.client_id is not None:
        session.add(AccessLog(at=now, actor=f"manager:{manager_id}", client_id=esc.client_id, what=what,
                              ref=subject(esc.id)))


def manager_view(session: Session, now: datetime, esc: Escalation, viewer: int, what: str = "case_card", *,
                 full: bool = True) -> dict[str, Any]:
    """The view plus what a manager needs to act (client's name, full phone, address, booking,
    housekeeper, files; ``full`` adds the timeline). Logged as one access by ``viewer``."""
    v = view(session, esc)
    c = session.get(Client, esc.client_id) if esc.client_id else None
    b = session.get(Booking, esc.booking_id) if esc.booking_id else None
    hk_id = v["housekeeper_id"]
    hk = session.get(Housekeeper, hk_id) if hk_id else None
    v.update(client_name=c.name if c else None, client_phone=c.phone if c else None,
             client_address=(c.address if c else None) or (b.address if b else None),
             booking=_booking(session, b) if b else None, housekeeper_name=hk.name if hk else None,
             housekeeper_phone=hk.phone if hk else None, attachments=attachments(session, esc.id))
    if full:
        v["events"] = events(session, esc.id)
    log_access(session, now, viewer, esc, what)
    return v


# --- who is alerted ------------------------------------------------------------------------------
def _active(session: Session) -> list[Manager]:
    return [m for m in session.scalars(select(Manager).order_by(Manager.id)) if m.status != "deactivated"]


def on_duty(ctx: Context, session: Session, now: datetime) -> list[Manager]:
    """Active managers (any role) inside their roster duty window at ``now`` (local time)."""
    local = now.astimezone(ctx.tz)
    minute = local.hour * 60 + local.minute
    return [m for m in _active(session)
            if local.weekday() in (m.duty_days or []) and m.duty_start_minute <= minute < m.duty_end_minute]


def recipients(ctx: Context, session: Session, level: int, now: datetime | None = None) -> list[Manager]:
    """Level 0: the on-duty managers, else every manager, else the supervisors. Level 1 and up: the
    supervisors, else every manager. Deactivated staff are never alerted."""
    active = _active(session)
    supervisors = [m for m in active if m.role == "supervisor"]
    if level <= 0:
        managers = [m for m in active if m.role != "supervisor"]
        return on_duty(ctx, session, now or ctx.clock.now()) or managers or supervisors
    return supervisors or active


def tell_managers(ctx: Context, session: Session, now: datetime, template: str, key: str, subject: str,
                  params_for: Callable[[str | None], dict[str, Any]], *, level: int = 0,
                  urgent: bool = False) -> list[int]:
    """One ``template`` row for every manager ``recipients`` names at ``level`` (key ``{key}:{manager id}``,
    params from ``params_for(her language)``); returns their ids. For news that is not a case."""
    sent = []
    for m in recipients(ctx, session, level, now):
        notify(session, now, "manager", m.id, template, f"{key}:{m.id}", subject=subject, urgent=urgent,
               **params_for(m.lang))
        sent.append(m.id)
    return sent


def audience(ctx: Context, session: Session, esc: Escalation, now: datetime) -> list[Manager]:
    """Who hears about news on a case: its owner when it has an active one, else its level."""
    owner = session.get(Manager, esc.manager_id) if esc.manager_id else None
    if owner is not None and owner.status != "deactivated":
        return [owner]
    return recipients(ctx, session, esc.level, now)


# --- rows ----------------------------------------------------------------------------------------
def alert(ctx: Context, session: Session, esc: Escalation, reason: str, managers: list[Manager], now: datetime,
          *, urgent: bool = False) -> list[int]:
    """One case_alert per manager; returns their ids. Keys are unique per call: the command (or timer)
    that causes an alert runs in one transaction, so a retry never leaves a first copy behind."""
    urgent = urgent or reason in URGENT_REASONS or ctx.cases.clock(esc.kind, esc.severity).urgent
    sent = []
    for m in managers:
        if m.status == "deactivated" or m.id in sent:
            continue
        card = manager_view(session, now, esc, m.id, full=False)
        notify(session, now, "manager", m.id, ALERT, f"case:{esc.id}:{reason}:{m.id}:{secrets.token_hex(6)}",
               subject=subject(esc.id), urgent=urgent, case_id=esc.id, reason=reason, card=card)
        sent.append(m.id)
    return sent


def _latest(session: Session, case_id: int) -> dict[int, str]:
    """manager id → the key of her latest alert or card row for the case (the message to edit)."""
    rows = session.execute(select(Notification.person_id, Notification.key).where(
        Notification.person_kind == "manager", Notification.subject == subject(case_id),
        Notification.template.in_((ALERT, CARD))).order_by(Notification.id))
    return {pid: key for pid, key in rows}


def update_cards(session: Session, esc: Escalation, change: str, now: datetime) -> None:
    """The case changed: every manager holding a card gets one that replaces it (buttons for the new
    state only; a deactivated manager's card is left alone)."""
    session.flush()
    for mid, key in _latest(session, esc.id).items():
        m = session.get(Manager, mid)
        if m is None or m.status == "deactivated":
            continue
        card = manager_view(session, now, esc, mid, full=False)
        new_key = f"case:{esc.id}:card:{change}:{mid}:{secrets.token_hex(6)}"
        notify(session, now, "manager", mid, CARD, new_key, subject=subject(esc.id), case_id=esc.id,
               reason="update", change=change, card=card)
        session.flush()
        row = session.scalar(select(Notification).where(Notification.key == new_key))
        if row is not None and row.key != key:
            row.replaces_key = key  # the dispatcher edits the message this card replaces
