"""A free rework visit: when the quality was not right, the same job again at no charge.

It is an ordinary booking (price 0, ``case_id``, ``rework_of``) through the normal create → matching →
offer flow, with the original housekeeper (or the one the manager names) ranked first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Booking, CaseEvent, Escalation, Housekeeper
from backend.services import Context, DomainError
from backend.services.bookings import Request, candidates_count, create, validate
from backend.services.outbox import notify
from backend.services.refunds import active_manager
from backend.services.roster import why_not

SEARCH_DAYS = 7  # how far the default time looks for a day the preferred housekeeper is free


def _request(orig: Booking, starts_at: datetime) -> Request:
    return Request(orig.service, starts_at, orig.hours, orig.area, orig.address, orig.district, orig.notes)


def _free(ctx: Context, session: Session, hk: Housekeeper, orig: Booking, starts_at: datetime) -> bool:
    return why_not(ctx, session, hk, orig.service, starts_at, starts_at + (orig.ends_at - orig.starts_at)) is None


def default_start(ctx: Context, session: Session, orig: Booking, hk: Housekeeper | None) -> datetime:
    """The original's local time of day on the first day the lead time allows; when the preferred
    housekeeper is not free then, the first such day within a week when she is."""
    now = ctx.clock.now()
    earliest = now + timedelta(minutes=ctx.lead_time_minutes)
    t0 = orig.starts_at.astimezone(ctx.tz)
    today = now.astimezone(ctx.tz).date()
    first: datetime | None = None
    for offset in range(SEARCH_DAYS + 1):
        d = today + timedelta(days=offset)
        cand = t0.replace(year=d.year, month=d.month, day=d.day)
        if cand < earliest:
            continue
        first = first or cand
        if hk is None or _free(ctx, session, hk, orig, cand):
            return cand
    assert first is not None
    return first


def arrange(ctx: Context, session: Session, manager_id: int, case_id: int, starts_at: datetime | None = None,
            housekeeper_code: str | None = None) -> Booking:
    actor = active_manager(session, manager_id)
    case = session.get(Escalation, case_id)
    if case is None:
        raise DomainError("case_not_found")
    orig = session.get(Booking, case.booking_id) if case.booking_id is not None else None
    if orig is None:
        raise DomainError("no_booking")
    if housekeeper_code:
        hk = session.scalar(select(Housekeeper).where(Housekeeper.code == housekeeper_code.strip().upper()))
        if hk is None or hk.status != "active":
            raise DomainError("housekeeper_not_found")
    else:
        hk = session.get(Housekeeper, orig.housekeeper_id) if orig.housekeeper_id else None
    start = starts_at or default_start(ctx, session, orig, hk)
    req = _request(orig, start)
    validate(ctx, req)
    if housekeeper_code and hk is not None and not _free(ctx, session, hk, orig, start):
        raise DomainError("housekeeper_not_free")  # the manager chose her: no silent substitute
    if not candidates_count(ctx, session, orig.client_id, req):
        raise DomainError("nobody_free")
    b = create(ctx, session, orig.client_id, req, actor, price=0, case_id=case.id, rework_of=orig.id,
               prefer=hk.id if hk else None)
    now = ctx.clock.now()
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, kind="rework",
                          detail={"booking_id": b.id, "starts_at": b.starts_at.isoformat(),
                                  "housekeeper_id": hk.id if hk else None}))
    notify(session, now, "client", orig.client_id, "rework_arranged", f"case:{case.id}:rework:{b.id}",
           subject=f"booking:{b.id}", booking_id=b.id, case_id=case.id, rework_of=orig.id, service=b.service,
           starts_at=b.starts_at.isoformat())
    return b
