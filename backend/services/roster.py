"""Reading housekeepers' schedules out of storage for the pure availability rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.availability import Schedule, unavailable_reason
from backend.domain.matching import Candidate
from backend.orm import Booking, Certificate, Housekeeper, TimeOff, WorkingHours
from backend.services import Context

BUSY = ("confirmed", "in_progress")


def schedule_of(session: Session, hk: Housekeeper, around: datetime) -> Schedule:
    window = (around - timedelta(days=2), around + timedelta(days=2))
    hours: dict[int, list[tuple[int, int]]] = {}
    for wh in session.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk.id)):
        hours.setdefault(wh.weekday, []).append((wh.start_minute, wh.end_minute))
    certs = {c.kind: c.expires_on
             for c in session.scalars(select(Certificate).where(Certificate.housekeeper_id == hk.id))}
    offs = [(t.starts_at, t.ends_at) for t in session.scalars(
        select(TimeOff).where(TimeOff.housekeeper_id == hk.id, TimeOff.ends_at > window[0],
                              TimeOff.starts_at < window[1]))]
    jobs = [(b.starts_at, b.ends_at) for b in session.scalars(
        select(Booking).where(Booking.housekeeper_id == hk.id, Booking.status.in_(BUSY),
                              Booking.ends_at > window[0], Booking.starts_at < window[1]))]
    return Schedule(frozenset(hk.skills), certs, hours, offs, jobs, hk.active)


def why_not(ctx: Context, session: Session, hk: Housekeeper, service: str, start: datetime,
            end: datetime) -> str | None:
    svc = ctx.catalogue[service]
    local_start, local_end = start.astimezone(ctx.tz), end.astimezone(ctx.tz)
    if not svc.is_visit:
        # A placement is checked on its first day only, from 08:00.
        local_start = local_start.replace(hour=8, minute=0)
        local_end = local_start + timedelta(hours=8)
    return unavailable_reason(schedule_of(session, hk, start), service, svc.certificates, local_start, local_end,
                              timedelta(minutes=ctx.travel_buffer_minutes))


def free_candidates(ctx: Context, session: Session, service: str, start: datetime, end: datetime,
                    exclude: set[int]) -> list[Candidate]:
    week_ago = start - timedelta(days=7)
    out = []
    for hk in session.scalars(select(Housekeeper).where(Housekeeper.active.is_(True)).order_by(Housekeeper.id)):
        if hk.id in exclude or service not in hk.skills:
            continue
        if why_not(ctx, session, hk, service, start, end) is None:
            recent = len(list(session.scalars(select(Booking.id).where(
                Booking.housekeeper_id == hk.id, Booking.status.in_((*BUSY, "completed")),
                Booking.starts_at >= week_ago, Booking.starts_at < start))))
            out.append(Candidate(hk.id, hk.rating, frozenset(hk.languages), frozenset(hk.districts), recent))
    return out
