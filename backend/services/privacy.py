"""A client's personal data on request: export what is held, erase it (on a manager's approval or at
once, per ``privacy.erase_mode``).

Erasure removes names, phones, addresses, notes, free text, the files they sent, the client profile
(its items, how we address them, preferred and never-again housekeepers), survey comments and the
conversation history; survey scores stay, anonymous, in the housekeepers' ratings; bookings keep
their non-personal facts (service, times, price, district, status) for the company's books, cases
(and their timelines) and the audit log keep their kinds and states without the client's words, and
refunds keep their amounts and states without the reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.orm import (
    Booking,
    CaseEvent,
    Client,
    Escalation,
    Housekeeper,
    Identity,
    InboxMessage,
    Manager,
    Notification,
    PrivacyRequest,
    ProfileItem,
    Proposal,
    Refund,
    Survey,
    Takeover,
)
from backend.services import Context, DomainError, attachments, bookings
from backend.services.audit import record
from backend.services.outbox import notify
from backend.services.retention import conversations, processed_messages

# Parameters of staff notifications that carry what a client wrote or where they live.
PERSONAL_PARAMS = ("text", "detail", "address", "client_phone", "phone", "notes", "client_name", "card", "note",
                   "words", "client_address", "files", "filename", "standing_notes", "comment", "profile_codes",
                   "address_as", "description", "schedule")
ERASED = "—"


def _client(session: Session, client_id: int) -> Client:
    c = session.get(Client, client_id, with_for_update=True)
    if c is None:
        raise DomainError("client_not_found")
    return c


def request_erase(ctx: Context, session: Session, client_id: int) -> PrivacyRequest:
    """Record the request and alert the managers, or erase at once when ``erase_mode`` is auto.
    Asking twice while a request is pending returns that request (one alert, one decision)."""
    _client(session, client_id)
    now = ctx.clock.now()
    req = session.scalar(select(PrivacyRequest).where(PrivacyRequest.client_id == client_id,
                                                      PrivacyRequest.kind == "erase",
                                                      PrivacyRequest.status == "pending"))
    if req is not None:
        return req
    req = PrivacyRequest(client_id=client_id, kind="erase", status="pending", created_at=now)
    session.add(req)
    session.flush()
    record(session, now, "privacy_request", req.id, None, "pending", f"client:{client_id}", kind="erase")
    if ctx.erase_mode == "auto":
        erase(ctx, session, client_id)
        _close(session, now, req, "done", "system")
        return req
    for m in session.scalars(select(Manager).where(Manager.status == "active").order_by(Manager.id)):
        notify(session, now, "manager", m.id, "privacy_request", f"privacy:{req.id}:m:{m.id}",
               request_id=req.id, client_id=client_id, kind="erase")
    return req


def decide(ctx: Context, session: Session, request_id: int, manager_id: int, approve: bool) -> PrivacyRequest:
    """A manager approves (the data is erased now) or rejects a pending erasure; the client is told."""
    req = session.get(PrivacyRequest, request_id, with_for_update=True)
    if req is None:
        raise DomainError("privacy_request_not_found")
    if req.status != "pending":
        raise DomainError("privacy_request_closed")
    now = ctx.clock.now()
    if approve:
        erase(ctx, session, req.client_id)
    _close(session, now, req, "done" if approve else "rejected", f"manager:{manager_id}", manager_id)
    notify(session, now, "client", req.client_id, "privacy_erased" if approve else "privacy_erase_rejected",
           f"privacy:{req.id}:decided", request_id=req.id)
    return req


def _close(session: Session, now: datetime, req: PrivacyRequest, status: str, actor: str,
           manager_id: int | None = None) -> None:
    record(session, now, "privacy_request", req.id, req.status, status, actor, kind=req.kind)
    req.status, req.decided_at, req.manager_id = status, now, manager_id


def pending(session: Session) -> list[PrivacyRequest]:
    return list(session.scalars(select(PrivacyRequest).where(PrivacyRequest.status == "pending")
                                .order_by(PrivacyRequest.id)))


def erase(ctx: Context, session: Session, client_id: int) -> None:
    """Erase one client's personal data everywhere it is stored, in one transaction."""
    now = ctx.clock.now()
    c = _client(session, client_id)
    for b in bookings.open_bookings(ctx, session, client_id):
        if b.status != "in_progress":  # nobody can be sent to an address that no longer exists
            bookings.cancel(ctx, session, client_id, b.id)
    booking_ids = set()
    for b in session.scalars(select(Booking).where(Booking.client_id == client_id)):
        b.address = b.notes = None
        b.standing_notes = [] if b.standing_notes is not None else None  # the profile's words it carried
        booking_ids.add(b.id)
    from backend.orm import BookingChange  # changes asked for (issue 10): their new address and notes

    for ch in session.scalars(select(BookingChange).where(BookingChange.client_id == client_id)):
        ch.address = ch.notes = None
    from backend.orm import BookingSeries  # repeat visits (issue 10): no address kept, no visit planned any more

    for ser in session.scalars(select(BookingSeries).where(BookingSeries.client_id == client_id)):
        ser.address = ser.notes = None
        if ser.status == "active":
            ser.status, ser.ended_at = "cancelled", now
    from backend.orm import ButlerRequest, Placement  # placements and butler requests (issue 12)

    for pl in session.scalars(select(Placement).where(Placement.client_id == client_id)):
        pl.address, pl.requirements, pl.household = None, {}, None
    for br in session.scalars(select(ButlerRequest).where(ButlerRequest.client_id == client_id)):
        br.text, br.plan = "", None  # the request quoted the client's home; the plan described it
    c.name = c.phone = c.address = c.address_as = None
    c.never_again, c.preferred, c.last_housekeeper_id, c.erased_at = [], [], None, now
    session.execute(delete(ProfileItem).where(ProfileItem.client_id == client_id))
    for sv in session.scalars(select(Survey).where(Survey.client_id == client_id)):
        sv.comment = None  # the scores stay: her running rating rests on them, and they name nobody
    for prop in session.scalars(select(Proposal).where(Proposal.client_id == client_id)):
        prop.description, prop.schedule = ERASED, None  # written for this client's request; figures stay
    from backend.services import applications  # job applications made from this chat (issue 10)

    applications.erase_client(session, client_id)
    case_ids = set()
    for e in session.scalars(select(Escalation).where(Escalation.client_id == client_id)):
        e.detail = {}
        case_ids.add(e.id)
    for ev in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids))) if case_ids else ():
        ev.detail = {}  # the timeline quotes the client and the managers' notes about them
    refund_ids = set()
    for r in session.scalars(select(Refund).where(Refund.client_id == client_id)):
        r.reason = r.rejected_reason = None
        refund_ids.add(r.id)
    attachments.erase_client(session, client_id)
    for t in session.scalars(select(Takeover).where(Takeover.client_id == client_id, Takeover.ended_at.is_(None))):
        t.ended_at = now
    # What was said to the client is their chat history; what staff were told about them loses its text.
    session.execute(delete(Notification).where(Notification.person_kind == "client",
                                               Notification.person_id == client_id))
    for n in session.scalars(select(Notification).where(Notification.person_kind != "client")):
        p = n.params or {}
        if (p.get("client_id") == client_id or (p.get("booking_id") in booking_ids and p.get("booking_id"))
                or (p.get("case_id") in case_ids and p.get("case_id"))
                or (p.get("refund_id") in refund_ids and p.get("refund_id"))
                or (n.template == "refund_alert" and p.get("id") in refund_ids)):
            n.params = {k: ({} if isinstance(v, dict) else ERASED) if k in PERSONAL_PARAMS else v
                        for k, v in p.items()}
    idents = session.scalars(select(Identity).where(Identity.person_kind == "client",
                                                    Identity.person_id == client_id)).all()
    keys = [f"{i.channel}:{i.external_id}" for i in idents]
    if keys:
        session.execute(delete(conversations).where(conversations.c.sender_key.in_(keys)))
    for i in idents:
        session.execute(delete(InboxMessage).where(InboxMessage.channel == i.channel,
                                                   InboxMessage.sender_id == i.external_id,
                                                   InboxMessage.status != "pending"))
        # answers kept for retried message ids are chat history too
        session.execute(delete(processed_messages).where(processed_messages.c.channel == i.channel,
                                                         processed_messages.c.sender_id == i.external_id))
    record(session, now, "client", client_id, None, "erased", "system")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _names(session: Session, ids: list[int] | None) -> list[dict[str, Any]]:
    """Housekeepers on a client's list, by id and name (what the client sees of them)."""
    ids = [int(i) for i in ids or []]
    names = dict(session.execute(select(Housekeeper.id, Housekeeper.name).where(Housekeeper.id.in_(ids))).all()) \
        if ids else {}
    return [{"id": i, "name": names.get(i)} for i in ids]


def export(ctx: Context, session: Session, client_id: int) -> dict[str, Any]:
    """Everything held about a client, as plain data; the request is recorded as done."""
    now = ctx.clock.now()
    c = _client(session, client_id)
    req = PrivacyRequest(client_id=client_id, kind="export", status="done", created_at=now, decided_at=now)
    session.add(req)
    session.flush()
    record(session, now, "privacy_request", req.id, None, "done", f"client:{client_id}", kind="export")
    idents = session.scalars(select(Identity).where(Identity.person_kind == "client",
                                                    Identity.person_id == client_id).order_by(Identity.id))
    keys = [f"{i.channel}:{i.external_id}" for i in idents]
    channels = sorted({k.split(":", 1)[0] for k in keys})
    history = session.execute(select(conversations.c.sender_key).where(
        conversations.c.sender_key.in_(keys))).all() if keys else []
    from backend.services import applications  # job applications made from this chat (issue 10)

    return {
        "request_id": req.id,
        "profile": {"name": c.name, "phone": c.phone, "address": c.address, "lang": c.lang,
                    "address_as": c.address_as, "preferred": _names(session, c.preferred),
                    "never_again": _names(session, c.never_again),
                    "created_at": c.created_at.isoformat() if c.created_at else None,
                    "erased_at": c.erased_at.isoformat() if c.erased_at else None},
        "profile_items": [{"id": i.id, "kind": i.kind, "code": i.code, "text": i.text, "source": i.source,
                           "created_at": _iso(i.created_at), "removed_at": _iso(i.removed_at)}
                          for i in session.scalars(select(ProfileItem).where(ProfileItem.client_id == client_id)
                                                   .order_by(ProfileItem.id))],
        "surveys": [{"id": sv.id, "booking_id": sv.booking_id, "occurrence": sv.occurrence, "status": sv.status,
                     "source": sv.source, "attitude": sv.attitude, "skill": sv.skill, "result": sv.result,
                     "comment": sv.comment, "sent_at": _iso(sv.sent_at), "answered_at": _iso(sv.answered_at)}
                    for sv in session.scalars(select(Survey).where(Survey.client_id == client_id)
                                              .order_by(Survey.id))],
        "proposals": [{"id": p.id, "case_id": p.case_id, "description": p.description, "service": p.service,
                       "starts_at": _iso(p.starts_at), "schedule": p.schedule, "price_cents": p.price_cents,
                       "status": p.status, "booking_id": p.booking_id, "created_at": _iso(p.created_at)}
                      for p in session.scalars(select(Proposal).where(Proposal.client_id == client_id)
                                               .order_by(Proposal.id))],
        "bookings": [{"id": b.id, "service": b.service, "starts_at": b.starts_at.isoformat(),
                      "ends_at": b.ends_at.isoformat(), "status": b.status, "price": b.price_estimate,
                      "district": b.district, "address": b.address, "notes": b.notes}
                     for b in session.scalars(select(Booking).where(Booking.client_id == client_id)
                                              .order_by(Booking.starts_at))],
        "series": _series(session, client_id),  # repeat visits (issue 10)
        **_placements(session, client_id),  # placements and butler requests (issue 12)
        "cases": [{"id": e.id, "kind": e.kind, "status": e.status, "category": e.category, "remedy": e.remedy,
                   "booking_id": e.booking_id, "text": (e.detail or {}).get("text"),
                   "created_at": e.created_at.isoformat() if e.created_at else None,
                   "closed_at": e.closed_at.isoformat() if e.closed_at else None, "outcome": e.outcome}
                  for e in session.scalars(select(Escalation).where(Escalation.client_id == client_id)
                                           .order_by(Escalation.id))],
        "attachments": [{k: v for k, v in attachments.meta(a).items() if k != "client_id"}
                        for a in attachments.of_client(session, client_id)],
        "refunds": [{"id": r.id, "kind": r.kind, "case_id": r.case_id, "booking_id": r.booking_id,
                     "amount_cents": r.amount_cents, "status": r.status, "reason": r.reason,
                     "requested_at": r.requested_at.isoformat() if r.requested_at else None,
                     "paid_at": r.paid_at.isoformat() if r.paid_at else None,
                     "rejected_reason": r.rejected_reason}
                    for r in session.scalars(select(Refund).where(Refund.client_id == client_id)
                                             .order_by(Refund.id))],
        "job_applications": applications.export_client(session, client_id),
        "channels": channels,
        "conversations": len(history),
        "retention_days": ctx.retention_days,
    }


def _placements(session: Session, client_id: int) -> dict[str, list[dict[str, Any]]]:
    from backend.orm import ButlerRequest, Placement

    return {
        "placements": [{"id": p.id, "service": p.service, "status": p.status, "start_date": p.start_date.isoformat(),
                        "end_date": p.end_date.isoformat(), "due_date": p.due_date.isoformat() if p.due_date else None,
                        "live_in": p.live_in, "requirements": p.requirements, "household": p.household,
                        "address": p.address, "price": p.price_estimate, "housekeeper": _names(
                            session, [p.housekeeper_id] if p.housekeeper_id else []), "created_at": _iso(p.created_at)}
                       for p in session.scalars(select(Placement).where(Placement.client_id == client_id)
                                                .order_by(Placement.id))],
        "butler_requests": [{"id": r.id, "text": r.text, "status": r.status, "plan": r.plan,
                             "created_at": _iso(r.created_at), "onsite_at": _iso(r.onsite_at),
                             "plan_at": _iso(r.plan_at)}
                            for r in session.scalars(select(ButlerRequest).where(ButlerRequest.client_id == client_id)
                                                     .order_by(ButlerRequest.id))],
    }


def _series(session: Session, client_id: int) -> list[dict[str, Any]]:
    from backend.orm import BookingSeries

    return [{"id": x.id, "service": x.service, "interval_weeks": x.interval_weeks, "weekday": x.weekday,
             "start_minute": x.start_minute, "first_date": x.first_date.isoformat(),
             "until_date": x.until_date.isoformat() if x.until_date else None, "count": x.count,
             "status": x.status, "address": x.address, "notes": x.notes}
            for x in session.scalars(select(BookingSeries).where(BookingSeries.client_id == client_id)
                                     .order_by(BookingSeries.id))]
