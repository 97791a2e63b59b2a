"""Cases: open or join, claim, respond, reassign, severity, close, reopen, satisfaction, emergencies.

One machinery for every kind (complaint, human_requested, emergency, unassigned, …): the policy in
``config/cases.yaml`` gives each (kind, severity) its clock; ``case_clock`` runs it. Every action
leaves a timeline event, an audit row and refreshed cards for the managers holding one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.cases import CATEGORIES, OUTCOMES, REMEDIES, SEVERITIES, case_key, move
from backend.orm import Attachment, Booking, CaseEvent, Client, Escalation, Manager, Refund
from backend.services import Context, DomainError, case_cards, case_clock
from backend.services.audit import record
from backend.services.case_cards import recipients  # noqa: F401 - the name other capabilities import
from backend.services.outbox import notify

UNCAPPED = frozenset({"emergency"})  # a client reporting an emergency is never told to wait


def get(session: Session, case_id: int, *, open_only: bool = True) -> Escalation:
    esc = session.get(Escalation, case_id, with_for_update=True)
    if esc is None:
        raise DomainError("case_not_found")
    if open_only and esc.status == "closed":
        raise DomainError("case_closed")
    return esc


def _manager(session: Session, manager_id: int) -> Manager:
    m = session.get(Manager, manager_id)
    if m is None or m.status == "deactivated":
        raise DomainError("unknown_manager")
    return m


def _change(ctx: Context, session: Session, esc: Escalation, now: datetime, actor: str, event: str, status: str,
            **detail: Any) -> None:
    """Timeline event + audit row + refreshed cards: what every action leaves behind."""
    old = esc.status
    esc.status = move(old, status) if status != old or status == "claimed" else status
    case_clock.event(session, esc, now, actor, event, **detail)
    record(session, now, "case", esc.id, old, esc.status, actor, event=event)
    case_cards.update_cards(session, esc, event, now)


def _link(session: Session, esc: Escalation, client_id: int | None, ids: list[int] | None) -> list[int]:
    linked = []
    for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids or []))):
        if client_id is None or a.client_id == client_id:
            a.case_id = esc.id
            linked.append(a.id)
    return linked


def open_case(ctx: Context, session: Session, kind: str, client_id: int | None = None,
              booking_id: int | None = None, *, by_client: bool = False, category: str | None = None,
              severity: str | None = None, remedy: str | None = None, text: str | None = None,
              lang: str | None = None, attachments: list[int] | None = None, actor: str | None = None,
              new_matter: bool = False, **detail: Any) -> tuple[Escalation, bool]:
    """Open a case or join the open one about the same matter; returns (case, joined)."""
    now = ctx.clock.now()
    if category is not None and category not in CATEGORIES:
        category = "other"
    if remedy is not None and remedy not in REMEDIES:
        remedy = None
    if severity is not None and severity not in SEVERITIES:
        raise DomainError("invalid_severity")
    key = case_key(client_id, kind, booking_id)
    actor = actor or (f"client:{client_id}" if by_client and client_id else "system")
    esc = None if new_matter else session.scalar(
        select(Escalation).where(Escalation.case_key == key, Escalation.status != "closed")
        .order_by(Escalation.id.desc()).limit(1).with_for_update())
    if esc is not None:
        add_message(ctx, session, esc, actor, text, attachments, reason="joined")
        return esc, True
    if by_client and client_id is not None and kind not in UNCAPPED:
        recent = session.scalar(select(func.count(Escalation.id)).where(
            Escalation.client_id == client_id, Escalation.created_at > now - timedelta(hours=1)))
        if (recent or 0) >= ctx.escalations_per_client_hour:
            raise DomainError("escalation_limit")
    if lang is None and client_id is not None:
        c = session.get(Client, client_id)
        lang = c.lang if c else None
    if text:
        detail["text"] = text
    esc = Escalation(kind=kind, client_id=client_id, booking_id=booking_id, detail=detail, created_at=now,
                     case_key=key, category=category, remedy=remedy, lang=lang or "zh", level=0,
                     severity=severity or ctx.cases.severity_for(kind, category), status="open")
    session.add(esc)
    session.flush()
    files = _link(session, esc, client_id, attachments)
    case_clock.start(ctx, session, esc, now)
    case_clock.event(session, esc, now, actor, "opened", text=text, attachments=files, category=category,
                     remedy=remedy, severity=esc.severity)
    record(session, now, "case", esc.id, None, "open", actor, kind=kind)
    reason = "emergency" if kind == "emergency" else "new"
    case_cards.alert(ctx, session, esc, reason, case_cards.recipients(ctx, session, 0, now), now)
    return esc, False


def add_message(ctx: Context, session: Session, esc: Escalation, actor: str, text: str | None,
                attachments: list[int] | None, reason: str = "client_message") -> None:
    """More from the client (or reporter) on an open case: timeline, and its owner or level told."""
    now = ctx.clock.now()
    files = _link(session, esc, esc.client_id, attachments)
    case_clock.event(session, esc, now, actor, "message", text=text, attachments=files)
    if files and not text:
        reason = "attachment"
    case_cards.alert(ctx, session, esc, reason, case_cards.audience(ctx, session, esc, now), now)


def add_to_case(ctx: Context, session: Session, client_id: int, case_id: int, text: str | None,
                attachments: list[int] | None) -> Escalation:
    esc = get(session, case_id)
    if esc.client_id != client_id:
        raise DomainError("case_not_found")
    add_message(ctx, session, esc, f"client:{client_id}", text, attachments)
    return esc


def claim(ctx: Context, session: Session, case_id: int, manager_id: int) -> Escalation:
    """Take ownership: re-alerts stop; the first-response clock does not."""
    esc = get(session, case_id)
    _manager(session, manager_id)
    if esc.manager_id == manager_id:
        return esc
    if esc.manager_id is not None:
        raise DomainError("taken_by_other")
    now = ctx.clock.now()
    esc.manager_id, esc.claimed_at = manager_id, esc.claimed_at or now
    case_clock.disarm(session, esc, case_clock.REALERT)
    _change(ctx, session, esc, now, f"manager:{manager_id}", "claimed",
            "claimed" if esc.status == "open" else esc.status)
    return esc


def _may_act(session: Session, esc: Escalation, manager_id: int) -> None:
    """The owner acts on her case; another manager claims it first, a supervisor may always act."""
    m = _manager(session, manager_id)
    if esc.manager_id not in (None, manager_id) and m.role != "supervisor":
        raise DomainError("not_your_case")


def reply(ctx: Context, session: Session, case_id: int, manager_id: int, text: str) -> Escalation:
    esc = get(session, case_id)
    _may_act(session, esc, manager_id)
    if esc.client_id is None:
        raise DomainError("case_not_found")
    if esc.manager_id is None:
        claim(ctx, session, case_id, manager_id)
    now = ctx.clock.now()
    m = _manager(session, manager_id)
    notify(session, now, "client", esc.client_id, "manager_message", f"case:{esc.id}:reply:{secrets.token_hex(8)}",
           manager=m.name, text=text, case_id=esc.id)
    case_clock.event(session, esc, now, f"manager:{manager_id}", "replied", text=text)
    record(session, now, "case", esc.id, esc.status, esc.status, f"manager:{manager_id}", event="replied")
    return esc


def log_call(ctx: Context, session: Session, case_id: int, manager_id: int, note: str) -> Escalation:
    esc = get(session, case_id)
    _may_act(session, esc, manager_id)
    if esc.manager_id is None:
        claim(ctx, session, case_id, manager_id)
    now = ctx.clock.now()
    actor = f"manager:{manager_id}"
    case_clock.event(session, esc, now, actor, "called", note=note)
    record(session, now, "case", esc.id, esc.status, esc.status, actor, event="called")
    case_clock.first_response(session, esc, now, actor, "call")
    return esc


def reassign(ctx: Context, session: Session, case_id: int, manager_id: int, to_code: str) -> Escalation:
    esc = get(session, case_id)
    _manager(session, manager_id)
    to = session.scalar(select(Manager).where(Manager.code == (to_code or "").strip().upper()))
    if to is None:
        to = session.scalar(select(Manager).where(Manager.code == (to_code or "").strip()))
    if to is None or to.status == "deactivated":
        raise DomainError("unknown_manager")
    now = ctx.clock.now()
    esc.manager_id, esc.claimed_at = to.id, esc.claimed_at or now
    case_clock.disarm(session, esc, case_clock.REALERT)
    _change(ctx, session, esc, now, f"manager:{manager_id}", "reassigned",
            "claimed" if esc.status in ("open", "claimed") else esc.status, to=to.code)
    case_cards.alert(ctx, session, esc, "reassigned", [to], now)
    return esc


def set_severity(ctx: Context, session: Session, case_id: int, manager_id: int, severity: str) -> Escalation:
    """Raise or lower: deadlines recomputed from when the clock started (opening, or the reopening)."""
    if severity not in SEVERITIES:
        raise DomainError("invalid_severity")
    esc = get(session, case_id)
    _manager(session, manager_id)
    if esc.severity == severity:
        return esc
    now = ctx.clock.now()
    old, esc.severity = esc.severity, severity
    if esc.first_response_at is None and esc.breached_at is None:
        case_clock.start(ctx, session, esc, _clock_start(session, esc))
    _change(ctx, session, esc, now, f"manager:{manager_id}", "severity", esc.status, before=old, after=severity)
    return esc


def _clock_start(session: Session, esc: Escalation) -> datetime:
    reopened = session.scalar(select(func.max(CaseEvent.at)).where(CaseEvent.case_id == esc.id,
                                                                   CaseEvent.kind == "reopened"))
    return reopened or esc.created_at


def _remedy_on_record(session: Session, esc: Escalation, outcome: str) -> None:
    """The client is told "a refund / a rework visit has been arranged": only when one is on record."""
    if outcome in ("refund", "compensation"):
        found = session.scalar(select(Refund.id).where(Refund.case_id == esc.id, Refund.kind == outcome,
                                                       Refund.status != "rejected"))
    elif outcome == "rework":
        found = session.scalar(select(Booking.id).where(Booking.case_id == esc.id, Booking.status != "cancelled"))
    else:
        return
    if found is None:
        raise DomainError(f"no_{outcome}_on_record")


def close(ctx: Context, session: Session, case_id: int, manager_id: int | None, outcome: str,
          note: str = "") -> Escalation:
    """Close with an outcome; the client is told it and asked whether they are satisfied."""
    if outcome not in OUTCOMES:
        raise DomainError("invalid_outcome")
    esc = get(session, case_id)
    if manager_id is not None:
        _manager(session, manager_id)
    _remedy_on_record(session, esc, outcome)
    now = ctx.clock.now()
    esc.closed_at, esc.outcome = now, outcome
    esc.satisfied = None  # a reopened case is asked again (its earlier "no" stays in the timeline)
    esc.manager_id = esc.manager_id or manager_id
    case_clock.disarm(session, esc, *case_clock.FIRST_RESPONSE_TIMERS, case_clock.REPEAT, case_clock.EMERGENCY)
    actor = f"manager:{manager_id}" if manager_id else "system"
    _change(ctx, session, esc, now, actor, "closed", "closed", outcome=outcome, note=note)
    if esc.client_id is not None:
        notify(session, now, "client", esc.client_id, "case_closed", f"case:{esc.id}:closed:{secrets.token_hex(6)}",
               subject=case_cards.subject(esc.id), case_id=esc.id, kind=esc.kind, outcome=outcome, note=note)
    return esc


def satisfaction(ctx: Context, session: Session, client_id: int, case_id: int, satisfied: bool) -> Escalation:
    """The client's answer after closing: recorded once; "no" reopens the case one level up."""
    esc = get(session, case_id, open_only=False)
    if esc.client_id != client_id:
        raise DomainError("case_not_found")
    if esc.status != "closed" or esc.satisfied is not None:
        return esc  # answered already (a second tap), or reopened meanwhile
    now = ctx.clock.now()
    if esc.closed_at is not None and now > esc.closed_at + ctx.cases.satisfaction_wait:
        raise DomainError("satisfaction_closed")  # the question stood for satisfaction_wait; a new matter now
    actor = f"client:{client_id}"
    esc.satisfied = bool(satisfied)
    if satisfied:
        case_clock.event(session, esc, now, actor, "satisfied", satisfied=True)
        record(session, now, "case", esc.id, "closed", "closed", actor, event="satisfied")
        return esc
    before = {"first_response_at": esc.first_response_at.isoformat() if esc.first_response_at else None,
              "closed_at": esc.closed_at.isoformat() if esc.closed_at else None, "outcome": esc.outcome}
    esc.level += 1
    esc.manager_id = esc.claimed_at = esc.first_response_at = esc.breached_at = None
    esc.breach_acknowledged_at = esc.closed_at = esc.outcome = None
    sev = ctx.cases.severity_for("satisfaction")
    if SEVERITIES.index(sev) < SEVERITIES.index(esc.severity):
        esc.severity = sev  # an unhappy client is not handled more slowly than the first time
    esc.status = move("closed", "open")
    case_clock.start(ctx, session, esc, now)
    case_clock.event(session, esc, now, actor, "reopened", level=esc.level, before=before)
    record(session, now, "case", esc.id, "closed", "open", actor, event="reopened")
    case_cards.update_cards(session, esc, "reopened", now)
    case_cards.alert(ctx, session, esc, "reopened", case_cards.recipients(ctx, session, esc.level, now), now)
    return esc


def acknowledge_alert(ctx: Context, session: Session, case_id: int, manager_id: int) -> Escalation:
    """"I have it": stops an emergency's or a breach's repeated alerts; claims an unclaimed case."""
    esc = get(session, case_id)
    _manager(session, manager_id)
    now = ctx.clock.now()
    if esc.manager_id is None:
        claim(ctx, session, case_id, manager_id)
    changed = False
    if esc.acknowledged_at is None:  # recorded for every kind: the cards drop their "I have it" button
        esc.acknowledged_at, changed = now, True
        if esc.kind == "emergency":
            case_clock.disarm(session, esc, case_clock.EMERGENCY)
    if esc.breached_at is not None and esc.breach_acknowledged_at is None:
        esc.breach_acknowledged_at, changed = now, True
        case_clock.disarm(session, esc, case_clock.REPEAT)
    if changed:
        _change(ctx, session, esc, now, f"manager:{manager_id}", "acknowledged", esc.status)
    return esc


def housekeeper_emergency(ctx: Context, session: Session, housekeeper_id: int, booking_id: int | None,
                          text: str = "") -> Escalation:
    client_id = None
    if booking_id is not None:
        b = session.get(Booking, booking_id)
        if b is None:
            raise DomainError("booking_not_found")
        if b.housekeeper_id != housekeeper_id:
            raise DomainError("not_your_job")
        client_id = b.client_id
    esc, _ = open_case(ctx, session, "emergency", client_id, booking_id, text=text or None,
                       actor=f"housekeeper:{housekeeper_id}", housekeeper_id=housekeeper_id, reported_by="housekeeper")
    return esc


def open_of(ctx: Context, session: Session, client_id: int, kind: str | None = None) -> list[Escalation]:
    """Not closed, or closed and still awaiting the client's satisfaction answer; newest first."""
    since = ctx.clock.now() - ctx.cases.satisfaction_wait
    q = select(Escalation).where(Escalation.client_id == client_id).order_by(Escalation.id.desc())
    if kind:
        q = q.where(Escalation.kind == kind)
    return [e for e in session.scalars(q)
            if e.status != "closed" or (e.satisfied is None and e.closed_at is not None and e.closed_at > since)]


def of_client(session: Session, client_id: int, limit: int = 5) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(Escalation.client_id == client_id)
                                .order_by(Escalation.id.desc()).limit(limit)))


def listing(session: Session, include_closed: bool = False) -> list[Escalation]:
    """Breaches (unacknowledged first) on top, then by due time."""
    q = select(Escalation)
    if not include_closed:
        q = q.where(Escalation.status != "closed")
    far = datetime.max.replace(tzinfo=None)

    def order(e: Escalation) -> tuple[int, int, datetime, int]:
        due = e.first_response_due_at.replace(tzinfo=None) if e.first_response_due_at else far
        return (e.status == "closed", e.breached_at is None, e.breach_acknowledged_at is not None, due, e.id)

    return sorted(session.scalars(q), key=order)
