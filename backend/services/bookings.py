"""Booking requests: validation, creation with matching, alternatives, cancellation, job progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import contact
from backend.domain.matching import by_area
from backend.orm import Booking
from backend.services import Context, DomainError, day_of_job, offers, profiles, surveys
from backend.services.audit import record
from backend.services.offers import lock_pending, set_status, withdraw_pending
from backend.services.outbox import notify
from backend.services.roster import constraints, free_candidates


@dataclass(frozen=True)
class Request:
    service: str
    starts_at: datetime
    hours: float | None = None
    area: float | None = None
    address: str | None = None
    district: str | None = None
    notes: str | None = None
    # The profile's standing notes for this visit: None → the client's current ones; [] → none this time.
    standing_notes: list[dict[str, Any]] | None = None
    city: str | None = None  # canonical (北京市); None → from the address or the district (ServiceArea.locate)


def interval(ctx: Context, req: Request) -> tuple[datetime, datetime]:
    svc = ctx.catalogue[req.service]
    return req.starts_at, req.starts_at + timedelta(hours=svc.visit_hours(req.hours, req.area))


def validate(ctx: Context, req: Request) -> None:
    """Raise ``DomainError`` with a code the dialogue turns into a helpful re-ask."""
    if req.service not in ctx.catalogue:
        raise DomainError("unknown_service")
    svc = ctx.catalogue[req.service]
    now = ctx.clock.now()
    if req.starts_at <= now:
        raise DomainError("time_past")
    if req.starts_at < now + timedelta(minutes=ctx.lead_time_minutes):
        raise DomainError("time_too_soon")
    if req.starts_at > now + timedelta(days=ctx.max_days_ahead):
        raise DomainError("time_too_far")
    if svc.unit == "hour" and req.hours is not None and not svc.min_hours <= req.hours <= svc.max_hours:
        raise DomainError("duration_range")
    if svc.unit == "sqm" and req.area is not None and not 10 <= req.area <= ctx.max_area:
        raise DomainError("area_range")
    if req.address is not None and contact.address(req.address) is None:
        raise DomainError("invalid_address")
    if req.notes is not None and contact.notes(req.notes) is None:
        raise DomainError("invalid_notes")
    if req.district is not None and not 0 < len(req.district) <= 64:
        raise DomainError("invalid_district")
    if svc.hours and svc.is_visit:
        start, end = interval(ctx, req)
        ls, le = start.astimezone(ctx.tz), end.astimezone(ctx.tz)
        open_h, close_h = svc.hours
        if ls.hour < open_h or (le.hour, le.minute) > (close_h, 0) or le.date() != ls.date():
            raise DomainError("outside_hours")


def candidates_count(ctx: Context, session: Session, client_id: int, req: Request) -> int:
    # The same hard constraints as the offer cascade (never-again, the profile's needs), so "somebody is
    # free" is only said when an offer can really go out.
    start, end = interval(ctx, req)
    never, needs = constraints(ctx, session, client_id, req.standing_notes)
    city, district = ctx.area.locate(req.address, req.city, req.district)  # and the same area rule
    free = free_candidates(ctx, session, req.service, start, end, never, needs, recent=False)  # a count: no ranking
    return len(by_area(ctx.area, free, city, district)[0])


def alternatives(ctx: Context, session: Session, client_id: int, req: Request) -> list[datetime]:
    """The nearest start times, after the asked one, when somebody is free (within a week)."""
    svc = ctx.catalogue[req.service]
    open_h, close_h = svc.hours or (8, 20)
    found: list[datetime] = []
    local = req.starts_at.astimezone(ctx.tz)
    for day in range(0, 8):
        base = (local + timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
        for hour in range(open_h, close_h):
            cand = base.replace(hour=hour)
            if cand <= local:
                continue
            try:
                validate(ctx, Request(**{**req.__dict__, "starts_at": cand}))
            except DomainError:
                continue
            if candidates_count(ctx, session, client_id, Request(**{**req.__dict__, "starts_at": cand})):
                found.append(cand)
                if len(found) >= ctx.alternatives:
                    return found
                break  # one slot per day keeps the choices spread out
    return found


def by_request_key(session: Session, client_id: int, request_key: str) -> Booking | None:
    """The booking a form instance already submitted (a second 确认, a retry, a double tap)."""
    b = session.scalar(select(Booking).where(Booking.request_key == request_key))
    if b is not None and b.client_id != client_id:
        raise DomainError("request_key_taken")
    return b


def price_for(ctx: Context, service: str, hours: float | None, area: float | None,
              start: datetime) -> tuple[int, int]:
    """(price, holiday surcharge in it), in yuan, of a visit starting at ``start`` at catalogue prices."""
    base = ctx.catalogue[service].estimate(hours, area)
    price = round(base * ctx.catalogue.surcharge(service, start.astimezone(ctx.tz).date())[0])
    return price, price - base


def create(ctx: Context, session: Session, client_id: int, req: Request, actor: str,
           request_key: str | None = None, *, price: int | None = None, case_id: int | None = None,
           rework_of: int | None = None, prefer: int | None = None, looked_up: bool = False) -> Booking:
    """A new booking, ranked and offered; with a ``request_key`` already used, that booking instead
    (nothing offered or notified a second time). A free rework visit passes ``price=0``, its case and
    the original booking, and ``prefer``: the housekeeper offered it first when she is free.
    ``looked_up``: the caller found no booking with this ``request_key`` in this transaction already."""
    if request_key is not None:
        if not 0 < len(request_key) <= 64:
            raise DomainError("invalid_request_key")
        existing = None if looked_up else by_request_key(session, client_id, request_key)
        if existing is not None:
            return existing
    validate(ctx, req)
    city, district = ctx.area.locate(req.address, req.city, req.district)
    if not ctx.area.covers(city, district):
        raise DomainError("outside_area")
    start, end = interval(ctx, req)
    surcharge = 0  # a holiday surcharge (services.yaml surcharges:) on the catalogue price, never on a set one
    if price is None:
        price, surcharge = price_for(ctx, req.service, req.hours, req.area, start)
    b = Booking(client_id=client_id, service=req.service, starts_at=start, ends_at=end, hours=req.hours,
                area=req.area, address=req.address, district=district, city=city, notes=req.notes,
                price_estimate=price, surcharge_cents=surcharge * 100 or None, status="requested",
                created_at=ctx.clock.now(), request_key=request_key, case_id=case_id, rework_of=rework_of,
                standing_notes=profiles.standing_notes(session, client_id) if req.standing_notes is None
                else list(req.standing_notes))
    # Ranked before it is written (matching only reads), so that it is written once, with its first offer.
    offers.offer_first(ctx, session, b, offers.ranking(ctx, session, b, prefer), actor)
    return b


def client_booking(session: Session, client_id: int, booking_id: int) -> Booking:
    b = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if b is None or b.client_id != client_id:
        raise DomainError("booking_not_found")
    return b


def cancel(ctx: Context, session: Session, client_id: int, booking_id: int, *, actor: str | None = None) -> Booking:
    """The client's booking cancelled; ``actor`` for the audit row (default: the client herself; the series
    machinery cancelling a holiday visit by default passes ``system:series``)."""
    lock_pending(session, booking_id)  # offers before the booking: the order accept and expiry lock in
    b = client_booking(session, client_id, booking_id)
    was = b.status
    set_status(ctx, session, b, "cancelled", actor or f"client:{client_id}")
    withdraw_pending(ctx, session, b.id, "cancelled")
    if was == "confirmed" and b.housekeeper_id:
        key = f"job:{b.id}:cancelled"
        notify(session, ctx.clock.now(), "housekeeper", b.housekeeper_id, "job_cancelled", key,
               subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat())
        # her job card (with 已到达) is edited into the cancellation where the channel can edit
        offers.replace_card(session, key, offers.latest_key(session, "housekeeper", b.housekeeper_id, "job_confirmed",
                                                            f"booking:{b.id}"))
    return b


def open_bookings(ctx: Context, session: Session, client_id: int) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.client_id == client_id, Booking.status.in_(("requested", "offered", "unassigned", "confirmed",
                                                            "in_progress")),
        Booking.ends_at > ctx.clock.now() - timedelta(hours=12)).order_by(Booking.starts_at)))


def recent_bookings(ctx: Context, session: Session, client_id: int, days: int = 30) -> list[Booking]:
    """What a client may complain about: open bookings and visits done in the last ``days``, newest first."""
    return list(session.scalars(select(Booking).where(
        Booking.client_id == client_id,
        Booking.status.in_(("requested", "offered", "unassigned", "confirmed", "in_progress", "completed")),
        Booking.starts_at > ctx.clock.now() - timedelta(days=days)).order_by(Booking.starts_at.desc())))


def is_placement_term(session: Session, booking_id: int) -> bool:
    """The booking that holds a placement's whole term (issue 12): its life is the placement's (trial,
    replacement, end), never a visit's check-in, change or cancellation."""
    from backend.orm import Placement

    return session.scalar(select(Placement.id).where(Placement.booking_id == booking_id).limit(1)) is not None


def housekeeper_job(session: Session, housekeeper_id: int, booking_id: int) -> Booking:
    b = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if b is None or b.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_job")
    return b


def _progress(ctx: Context, session: Session, housekeeper_id: int, booking_id: int, status: str,
              template: str) -> Booking:
    b = housekeeper_job(session, housekeeper_id, booking_id)
    set_status(ctx, session, b, status, f"housekeeper:{housekeeper_id}")
    notify(session, ctx.clock.now(), "client", b.client_id, template, f"job:{b.id}:{template}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service)
    return b


def arrive(ctx: Context, session: Session, housekeeper_id: int, booking_id: int) -> Booking:
    """Her 已到达: taken from the check-in window before the start (DomainError checkin_too_early before
    it); the arrival is stamped (worked time runs from here)."""
    if is_placement_term(session, booking_id):
        raise DomainError("placement_booking")  # the term starts and ends by the placement's clock
    day_of_job.check_in_window(ctx, housekeeper_job(session, housekeeper_id, booking_id))
    b = _progress(ctx, session, housekeeper_id, booking_id, "in_progress", "job_started")
    day_of_job.arrived(ctx, session, b)
    surveys.arm_auto_finish(ctx, session, b)  # she may forget 已完成: the job still ends, and is surveyed
    return b


def finish(ctx: Context, session: Session, housekeeper_id: int, booking_id: int) -> Booking:
    """Her 已完成: the job is done now, and its call-back survey is scheduled (a job nobody checked in
    to cannot get here: in_progress → completed is the only way to completed)."""
    if is_placement_term(session, booking_id):
        raise DomainError("placement_booking")
    b = _progress(ctx, session, housekeeper_id, booking_id, "completed", "job_finished")
    surveys.finished(ctx, session, b, "housekeeper")  # finished_at: worked time = finished_at − arrived_at
    record(session, ctx.clock.now(), "booking", b.id, "completed", "completed", f"housekeeper:{housekeeper_id}",
           **day_of_job.times(b))
    return b


def jobs_between(session: Session, housekeeper_id: int, start: datetime, end: datetime) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.housekeeper_id == housekeeper_id, Booking.status.in_(("confirmed", "in_progress", "completed")),
        Booking.starts_at >= start, Booking.starts_at < end).order_by(Booking.starts_at)))
