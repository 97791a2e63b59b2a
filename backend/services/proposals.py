"""Custom requests answered with proposals: a manager's plan (what, when, for how much) the client
accepts into a booking or declines.

A proposal answers a ``custom_request`` case: it is a timeline event, and reaching the client stops the
case's first-response clock like a manager's message. It stands for ``VALID_FOR`` (a durable timer
expires it and tells both sides); a newer proposal on the same case withdraws the one still standing,
so the client can never accept two. Accepting creates the booking through ``bookings.create`` (ranked,
offered like any other) at the proposal's price and closes the case as resolved; declining leaves the
case open for the manager, who is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Booking, Client, Escalation, Manager, Notification, Proposal
from backend.services import Context, DomainError, bookings, case_clock, cases, timers
from backend.services.audit import record
from backend.services.outbox import notify, on_delivered, stale_when

EXPIRE = "proposal_expire"
VALID_FOR = timedelta(days=7)
KIND = "custom_request"
DESCRIPTION_MAX = 1000
SCHEDULE_MAX = 200


def view(p: Proposal) -> dict[str, Any]:
    return {"id": p.id, "case_id": p.case_id, "client_id": p.client_id, "manager_id": p.manager_id,
            "description": p.description, "service": p.service,
            "starts_at": p.starts_at.isoformat() if p.starts_at else None, "hours": p.hours, "area": p.area,
            "schedule": p.schedule, "price_cents": p.price_cents, "status": p.status, "booking_id": p.booking_id,
            "created_at": p.created_at.isoformat() if p.created_at else None,
            "expires_at": p.expires_at.isoformat() if p.expires_at else None,
            "answered_at": p.answered_at.isoformat() if p.answered_at else None}


def _key(p: Proposal, what: str) -> str:
    return f"proposal:{p.id}:{what}"


def _manager(session: Session, esc: Escalation, manager_id: int) -> Manager:
    """The case's owner proposes; another manager must claim it first, a supervisor may always."""
    m = session.get(Manager, manager_id)
    if m is None or m.status == "deactivated":
        raise DomainError("unknown_manager")
    if esc.manager_id not in (None, manager_id) and m.role != "supervisor":
        raise DomainError("not_your_case")
    return m


def propose(ctx: Context, session: Session, case_id: int, manager_id: int, description: str, price_cents: int, *,
            service: str | None = None, starts_at: datetime | None = None, hours: float | None = None,
            area: float | None = None, schedule: str | None = None) -> Proposal:
    esc = cases.get(session, case_id)
    if esc.kind != KIND or esc.client_id is None:
        raise DomainError("not_a_custom_request")
    m = _manager(session, esc, manager_id)
    description = (description or "").strip()
    if not 0 < len(description) <= DESCRIPTION_MAX:
        raise DomainError("invalid_description")
    if not isinstance(price_cents, int) or price_cents <= 0:
        raise DomainError("invalid_price")
    if service is not None and service not in ctx.catalogue:
        raise DomainError("unknown_service")
    now = ctx.clock.now()
    if starts_at is not None and starts_at <= now:
        raise DomainError("time_past")
    if schedule is not None and len(schedule) > SCHEDULE_MAX:
        raise DomainError("invalid_schedule")
    for old in session.scalars(select(Proposal).where(Proposal.case_id == esc.id, Proposal.status == "sent")
                               .with_for_update()):
        old.status, old.answered_at = "withdrawn", now  # the newer plan replaces it: never two to accept
        timers.cancel(session, _key(old, "expire"))
        record(session, now, "proposal", old.id, "sent", "withdrawn", f"manager:{manager_id}")
    if esc.manager_id is None:
        cases.claim(ctx, session, esc.id, manager_id)
    p = Proposal(case_id=esc.id, client_id=esc.client_id, manager_id=manager_id, description=description,
                 service=service, starts_at=starts_at, hours=hours, area=area, schedule=schedule or None,
                 price_cents=price_cents, status="sent", created_at=now, expires_at=now + VALID_FOR)
    session.add(p)
    session.flush()
    timers.schedule(session, EXPIRE, p.id, p.expires_at, _key(p, "expire"))
    actor = f"manager:{manager_id}"
    case_clock.event(session, esc, now, actor, "proposal", proposal_id=p.id, text=description,
                     price_cents=price_cents)
    record(session, now, "proposal", p.id, None, "sent", actor, case_id=esc.id)
    notify(session, now, "client", esc.client_id, "proposal", _key(p, "sent"), subject=f"case:{esc.id}",
           manager=m.name, **_params(p))
    return p


def _params(p: Proposal) -> dict[str, Any]:
    """What the client's and the manager's messages show (the renderer turns *_at and *_cents into text)."""
    return {"proposal_id": p.id, "case_id": p.case_id, "description": p.description, "service": p.service,
            "starts_at": p.starts_at.isoformat() if p.starts_at else None, "hours": p.hours, "area": p.area,
            "schedule": p.schedule or "", "price_cents": p.price_cents,
            "expires_at": p.expires_at.isoformat() if p.expires_at else None}


@on_delivered("proposal")
def _proposal_delivered(session: Session, now: datetime, n: Notification) -> None:
    """The proposal reached the client: the case's first answer, as a manager's message is."""
    case_id = (n.params or {}).get("case_id")
    esc = session.get(Escalation, int(case_id), with_for_update=True) if case_id else None
    if esc is not None and n.person_kind == "client" and esc.client_id == n.person_id:
        case_clock.first_response(session, esc, now, "system", "proposal")


@stale_when("proposal")
def _proposal_stale(session: Session, params: dict[str, Any]) -> bool:
    """Withdrawn (a newer plan), answered or expired before it went out: not sent."""
    p = session.get(Proposal, int(params.get("proposal_id") or 0))
    return p is None or p.status != "sent"


def _client_proposal(ctx: Context, session: Session, client_id: int, proposal_id: int) -> Proposal:
    p = session.get(Proposal, proposal_id, with_for_update=True)
    if p is None or p.client_id != client_id:
        raise DomainError("proposal_not_found")
    if p.status == "sent" and p.expires_at is not None and ctx.clock.now() >= p.expires_at:
        raise DomainError("proposal_expired")  # its timer has not run yet: too late all the same
    return p


def missing(ctx: Context, p: Proposal, client: Client | None) -> list[str]:
    """What a booking from this proposal still needs from the client (the booking form asks it)."""
    need = [n for n, v in (("service_type", p.service), ("time", p.starts_at)) if v is None]
    if p.service and p.service in ctx.catalogue:
        unit = ctx.catalogue[p.service].unit
        if unit == "hour" and p.hours is None:
            need.append("duration")
        elif unit == "sqm" and p.area is None:
            need.append("area")
    if client is None or not client.address:
        need.append("address")
    return need


def accept(ctx: Context, session: Session, client_id: int, proposal_id: int,
           req: bookings.Request | None = None, request_key: str | None = None
           ) -> tuple[Proposal, Booking | None, list[str]]:
    """Accept into a booking: from the proposal itself, or from ``req`` (the booking form filled with what
    the proposal left open). Returns (proposal, booking or None, what is missing when there is no ``req``
    and the proposal alone cannot make a booking: nothing is changed then)."""
    p = _client_proposal(ctx, session, client_id, proposal_id)
    if p.status == "accepted":
        return p, session.get(Booking, p.booking_id) if p.booking_id else None, []  # a second tap
    if p.status != "sent":
        raise DomainError(f"proposal_{p.status}")
    client = session.get(Client, client_id)
    if req is None:
        need = missing(ctx, p, client)
        if need:
            return p, None, need
        req = bookings.Request(p.service, p.starts_at, hours=p.hours, area=p.area, address=client.address)
    now = ctx.clock.now()
    actor = f"client:{client_id}"
    price = round(p.price_cents / 100)  # bookings carry whole yuan; the proposal's cents are what was agreed
    b = bookings.create(ctx, session, client_id, req, actor, request_key or _key(p, "booking"), price=price,
                        case_id=p.case_id)
    p.status, p.booking_id, p.answered_at = "accepted", b.id, now
    timers.cancel(session, _key(p, "expire"))
    record(session, now, "proposal", p.id, "sent", "accepted", actor, booking_id=b.id)
    esc = session.get(Escalation, p.case_id, with_for_update=True)
    if esc is not None:
        case_clock.event(session, esc, now, actor, "proposal_accepted", proposal_id=p.id, booking_id=b.id)
        _tell_manager(session, now, p, esc, accepted=True)
        if esc.status != "closed":
            cases.close(ctx, session, esc.id, esc.manager_id or p.manager_id, "resolved", note="")
    return p, b, []


def decline(ctx: Context, session: Session, client_id: int, proposal_id: int) -> Proposal:
    """The client says no: the case stays open and its manager is told (a new proposal may follow)."""
    p = _client_proposal(ctx, session, client_id, proposal_id)
    if p.status == "declined":
        return p
    if p.status != "sent":
        raise DomainError(f"proposal_{p.status}")
    now = ctx.clock.now()
    actor = f"client:{client_id}"
    p.status, p.answered_at = "declined", now
    timers.cancel(session, _key(p, "expire"))
    record(session, now, "proposal", p.id, "sent", "declined", actor)
    esc = session.get(Escalation, p.case_id, with_for_update=True)
    if esc is not None:
        case_clock.event(session, esc, now, actor, "proposal_declined", proposal_id=p.id)
        _tell_manager(session, now, p, esc, accepted=False)
    return p


def _tell_manager(session: Session, now: datetime, p: Proposal, esc: Escalation, *, accepted: bool | None) -> None:
    """The manager who proposed (or the case's owner) hears the answer: template
    ``proposal_answer_<outcome>`` (accepted / declined / expired)."""
    to = p.manager_id or esc.manager_id
    if to is None:
        return
    outcome = "expired" if accepted is None else ("accepted" if accepted else "declined")
    notify(session, now, "manager", to, f"proposal_answer_{outcome}", f"{_key(p, outcome)}:manager",
           subject=f"case:{esc.id}", outcome=outcome, booking_id=p.booking_id, **_params(p))


def _expire(ctx: Context, session: Session, p: Proposal) -> None:
    now = ctx.clock.now()
    p.status = "expired"
    timers.cancel(session, _key(p, "expire"))
    record(session, now, "proposal", p.id, "sent", "expired", "system")
    notify(session, now, "client", p.client_id, "proposal_expired", _key(p, "expired"), subject=f"case:{p.case_id}",
           **_params(p))
    esc = session.get(Escalation, p.case_id, with_for_update=True)
    if esc is not None:
        case_clock.event(session, esc, now, "system", "proposal_expired", proposal_id=p.id)
        _tell_manager(session, now, p, esc, accepted=None)


@timers.handler(EXPIRE)
def proposal_expire(ctx: Context, session: Session, proposal_id: int) -> None:
    p = session.get(Proposal, proposal_id, with_for_update=True)
    if p is None or p.status != "sent" or p.expires_at is None or ctx.clock.now() < p.expires_at:
        return  # answered, withdrawn, or a stale timer
    _expire(ctx, session, p)


def of_case(session: Session, case_id: int) -> list[Proposal]:
    return list(session.scalars(select(Proposal).where(Proposal.case_id == case_id).order_by(Proposal.id)))


def standing(session: Session, client_id: int) -> list[Proposal]:
    """The client's proposals awaiting an answer, newest first."""
    return list(session.scalars(select(Proposal).where(Proposal.client_id == client_id, Proposal.status == "sent")
                                .order_by(Proposal.id.desc())))
