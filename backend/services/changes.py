"""Changing an existing booking in place (issue 10): a new time, hours or area, address or notes.

The booking keeps its number, its notes and its address unless those are what changes. A change that needs
a new slot of a confirmed booking (another time, a longer visit) is held in a ``booking_changes`` row and
offered first to the housekeeper who has the job (a "change" offer on the offer clock); if she cannot, to
the next free housekeeper; the old slot stays booked until one accepts. Nobody → the change is declined
and the booking stays as it was. Everything else (address, notes, a shorter visit, a booking nobody has
accepted yet) applies at once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import contact
from backend.domain.availability import overlaps, unavailable_reason
from backend.domain.matching import adjacent_to, by_area, rank
from backend.orm import Booking, BookingChange, Client, Housekeeper, MatchCandidate, Offer
from backend.services import Context, DomainError, day_of_job
from backend.services.audit import record
from backend.services.bookings import Request, client_booking, interval, is_placement_term, price_for, validate
from backend.services.offers import lock_offer, lock_pending, mask_phone, offer_next, rank_candidates
from backend.services.outbox import notify
from backend.services.profiles import job_notes, offer_codes
from backend.services.roster import BUSY, constraints, free_candidates, schedules
from backend.services.timers import cancel as cancel_timer
from backend.services.timers import handler, schedule

CHANGEABLE = ("requested", "offered", "unassigned", "confirmed")
UNACCEPTED = ("requested", "offered", "unassigned")


@dataclass(frozen=True)
class Plan:
    """A change as the client will confirm it: the booking's new state and the price difference."""

    booking_id: int
    service: str
    old_starts_at: datetime
    starts_at: datetime
    ends_at: datetime
    hours: float | None
    area: float | None
    address: str | None
    notes: str | None
    old_price: int
    price: int
    needs_slot: bool  # a new slot for a confirmed booking: asked of the housekeeper before it applies

    def view(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id, "service": self.service,
                "old_starts_at": self.old_starts_at.isoformat(), "starts_at": self.starts_at.isoformat(),
                "ends_at": self.ends_at.isoformat(), "hours": self.hours, "area": self.area,
                "address": self.address, "notes": self.notes, "old_price": self.old_price, "price": self.price,
                "difference": self.price - self.old_price, "needs_slot": self.needs_slot}


def plan(ctx: Context, session: Session, client_id: int, booking_id: int, *, starts_at: datetime | None = None,
         hours: float | None = None, area: float | None = None, address: str | None = None,
         notes: str | None = None, lock: bool = False) -> Plan:
    """The booking with the changes applied, validated like a new booking (DomainError with its code).
    A booking already under way, done or cancelled → "not_changeable"; nothing different → "no_change"."""
    b = client_booking(session, client_id, booking_id) if lock else session.get(Booking, booking_id)
    if b is None or b.client_id != client_id:
        raise DomainError("booking_not_found")
    if b.status not in CHANGEABLE or is_placement_term(session, b.id):  # a placement moves by its own rules
        raise DomainError("not_changeable")
    req = Request(b.service, starts_at or b.starts_at, hours if hours is not None else b.hours,
                  area if area is not None else b.area, address if address is not None else b.address, b.district,
                  notes if notes is not None else b.notes)
    if starts_at is not None or hours is not None or area is not None:
        validate(ctx, req)  # time, lead time, service hours, ranges: the new booking's rules
    if address is not None:
        address = contact.address(address)
        if address is None:
            raise DomainError("invalid_address")
        if not ctx.area.covers(*ctx.area.locate(address)):
            raise DomainError("outside_area")  # a move out of the service area is not a change we can make
        req = replace(req, address=address)
    if notes is not None:
        notes = contact.notes(notes)
        if notes is None:
            raise DomainError("invalid_notes")
        req = replace(req, notes=notes)
    start, end = interval(ctx, req)
    # a free rework visit stays free; a holiday surcharge follows the new date
    price = price_for(ctx, b.service, req.hours, req.area, start)[0] if b.price_estimate else 0
    p = Plan(b.id, b.service, b.starts_at, start, end, req.hours, req.area, req.address, req.notes,
             b.price_estimate, price,
             b.status == "confirmed" and (start != b.starts_at or end > b.ends_at))
    if (p.starts_at, p.ends_at, p.address, p.notes) == (b.starts_at, b.ends_at, b.address, b.notes):
        raise DomainError("no_change")
    return p


def request(ctx: Context, session: Session, client_id: int, booking_id: int, **changes: Any) -> BookingChange:
    """The client confirmed: apply at once, or hold the change and ask the housekeeper first."""
    now = ctx.clock.now()
    lock_pending(session, booking_id)  # offers before the booking: the order accept and expiry lock in
    p = plan(ctx, session, client_id, booking_id, lock=True, **changes)
    b = session.get(Booking, booking_id)
    for old in session.scalars(select(BookingChange).where(BookingChange.booking_id == b.id,
                                                           BookingChange.status == "pending")):
        _close(ctx, session, old, "cancelled")  # the newest wish replaces an earlier one still open
    moved = p.address != b.address
    city, district = ctx.area.locate(p.address) if moved else (b.city, b.district)
    ch = BookingChange(booking_id=b.id, client_id=client_id, status="pending", starts_at=p.starts_at,
                       ends_at=p.ends_at, hours=p.hours, area=p.area, address=p.address,
                       city=city or b.city, district=district or b.district, notes=p.notes, price_estimate=p.price,
                       created_at=now)
    session.add(ch)
    session.flush()
    record(session, now, "booking_change", ch.id, None, "pending", f"client:{client_id}", booking_id=b.id)
    if p.needs_slot:
        hk = session.get(Housekeeper, b.housekeeper_id)
        if hk is not None and _free_for(ctx, session, hk, b, ch):
            _offer(ctx, session, ch, b, hk, same=True)
        else:
            _next(ctx, session, ch, b)
    else:
        _apply(ctx, session, ch, b, b.housekeeper_id)
    return ch


def view(session: Session, ch: BookingChange) -> dict[str, Any]:
    """``asking``: "same" while her own housekeeper is asked, "other" while another is, else None."""
    hk = session.get(Housekeeper, ch.housekeeper_id) if ch.housekeeper_id else None
    b = session.get(Booking, ch.booking_id)
    asked = session.scalar(select(Offer.housekeeper_id).where(Offer.change_id == ch.id, Offer.status == "pending"))
    return {"id": ch.id, "booking_id": ch.booking_id, "status": ch.status, "starts_at": ch.starts_at.isoformat(),
            "housekeeper": hk.name if hk else None,
            "asking": None if asked is None else ("same" if b is not None and asked == b.housekeeper_id else "other")}


# --- the housekeeper's answer ---------------------------------------------------------------------
def accept(ctx: Context, session: Session, offer_id: int, housekeeper_id: int) -> tuple[Booking, str | None]:
    """She takes the new slot: the booking moves to it (and to her) in place. Same lock order as
    ``offers.accept``: housekeeper, offer, booking."""
    now = ctx.clock.now()
    hk = session.get(Housekeeper, housekeeper_id, with_for_update=True, populate_existing=True)
    offer = lock_offer(session, offer_id)
    if hk is None or offer is None or offer.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_offer" if offer is not None else "offer_not_found")
    if offer.status != "pending":
        raise DomainError(f"offer_{offer.status}")
    if offer.expires_at <= now:
        raise DomainError("offer_expired")
    b = session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True)
    ch = session.get(BookingChange, offer.change_id, with_for_update=True, populate_existing=True)
    if b is None or ch is None or ch.status != "pending" or b.status != "confirmed":
        offer.status, offer.responded_at = "withdrawn", now
        cancel_timer(session, f"offer_expiry:{offer.id}")
        raise DomainError("offer_withdrawn")
    if not _free_for(ctx, session, hk, b, ch):
        _respond(ctx, session, offer, "withdrawn", f"housekeeper:{hk.id}", reason="busy")
        _after_no(ctx, session, ch, b, offer)
        return b, "slot_taken"
    _respond(ctx, session, offer, "accepted", f"housekeeper:{hk.id}")
    _apply(ctx, session, ch, b, hk.id)
    return b, None


def decline(ctx: Context, session: Session, offer_id: int, housekeeper_id: int) -> None:
    offer = lock_offer(session, offer_id)
    if offer is None:
        raise DomainError("offer_not_found")
    if offer.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_offer")
    if offer.status != "pending":
        raise DomainError(f"offer_{offer.status}")
    _respond(ctx, session, offer, "declined", f"housekeeper:{housekeeper_id}")
    _after_no(ctx, session, session.get(BookingChange, offer.change_id),
              session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True), offer)


@handler("change_offer_expiry")
def expire(ctx: Context, session: Session, offer_id: int) -> None:
    now = ctx.clock.now()
    offer = lock_offer(session, offer_id)
    if offer is None or offer.status != "pending" or offer.expires_at > now:
        return
    _respond(ctx, session, offer, "expired", "timer")
    notify(session, now, "housekeeper", offer.housekeeper_id, "offer_expired", f"offer:{offer.id}:expired",
           subject=f"booking:{offer.booking_id}", offer_id=offer.id, booking_id=offer.booking_id)
    _after_no(ctx, session, session.get(BookingChange, offer.change_id),
              session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True), offer)


# --- inside ---------------------------------------------------------------------------------------
def _respond(ctx: Context, session: Session, offer: Offer, status: str, actor: str, **detail: Any) -> None:
    now = ctx.clock.now()
    offer.status, offer.responded_at = status, now
    cancel_timer(session, f"offer_expiry:{offer.id}")
    record(session, now, "offer", offer.id, "pending", status, actor, change_id=offer.change_id, **detail)


def _free_for(ctx: Context, session: Session, hk: Housekeeper, b: Booking, ch: BookingChange) -> bool:
    """Is she free for the new slot, her own job on this booking (the old slot) aside?"""
    if hk.status != "active" or b.service not in hk.skills:
        return False
    sched = schedules(session, [hk], ch.starts_at, ctx.tz)[hk.id]
    others = [j for j in session.scalars(select(Booking).where(
        Booking.housekeeper_id == hk.id, Booking.status.in_(BUSY), Booking.id != b.id))]
    # her other jobs, and the placement terms she is held for (in the schedule, not bookings)
    sched = replace(sched, jobs=[(j.starts_at, j.ends_at) for j in others]
                    + [t for t in sched.jobs if t != (b.starts_at, b.ends_at)])
    svc = ctx.catalogue[b.service]
    buffer = timedelta(minutes=ctx.travel_buffer_minutes)
    if any(overlaps((ch.starts_at, ch.ends_at), (j.starts_at, j.ends_at), buffer) for j in others):
        return False
    return unavailable_reason(sched, b.service, svc.certificates, ch.starts_at.astimezone(ctx.tz),
                              ch.ends_at.astimezone(ctx.tz), buffer) is None


def _offer(ctx: Context, session: Session, ch: BookingChange, b: Booking, hk: Housekeeper, same: bool) -> None:
    now = ctx.clock.now()
    offer = Offer(booking_id=b.id, housekeeper_id=hk.id, created_at=now, kind="change", change_id=ch.id,
                  expires_at=now + timedelta(minutes=ctx.offer_timeout_minutes))
    session.add(offer)
    session.flush()
    record(session, now, "offer", offer.id, None, "pending", "system", change_id=ch.id, booking_id=b.id)
    schedule(session, "change_offer_expiry", offer.id, offer.expires_at, f"offer_expiry:{offer.id}")
    common = dict(subject=f"booking:{b.id}", offer_id=offer.id, booking_id=b.id, service=b.service,
                  starts_at=ch.starts_at.isoformat(), ends_at=ch.ends_at.isoformat(), minutes=ctx.offer_timeout_minutes)
    if same:  # her own job at another time: the "change of time" card
        notify(session, now, "housekeeper", hk.id, "change_offer", f"offer:{offer.id}",
               old_starts_at=b.starts_at.isoformat(), **common)
    else:  # to anyone else it is a new job like any other
        notify(session, now, "housekeeper", hk.id, "offer_new", f"offer:{offer.id}", district=b.district or "",
               profile_codes=offer_codes(ctx, b.standing_notes), **common)


def _next(ctx: Context, session: Session, ch: BookingChange, b: Booking) -> None:
    """The best free housekeeper not yet asked about this change; nobody → the change is declined."""
    asked = set(session.scalars(select(Offer.housekeeper_id).where(Offer.change_id == ch.id)))
    never, needs = constraints(ctx, session, b.client_id, b.standing_notes if b.standing_notes is not None else [])
    exclude = never | asked | ({b.housekeeper_id} if b.housekeeper_id else set())
    cands = free_candidates(ctx, session, b.service, ch.starts_at, ch.ends_at, exclude, needs)
    city, district = ch.city or b.city, ch.district or b.district
    cands, _ = by_area(ctx.area, cands, city, district)  # the same hard limits as a new booking
    client = session.get(Client, b.client_id)
    ranked = rank(cands, client.lang if client else "zh", district, None,
                  frozenset(int(i) for i in (client.preferred or [])) if client else frozenset(),
                  adjacent=adjacent_to(ctx.area, city, district))
    if ranked:
        _offer(ctx, session, ch, b, session.get(Housekeeper, ranked[0].housekeeper_id), same=False)
        return
    _close(ctx, session, ch, "declined")
    notify(session, ctx.clock.now(), "client", b.client_id, "change_declined", f"change:{ch.id}:declined",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
           new_starts_at=ch.starts_at.isoformat())


def _after_no(ctx: Context, session: Session, ch: BookingChange | None, b: Booking | None, offer: Offer) -> None:
    """A declined, expired or impossible change offer: the next housekeeper, if the change still stands."""
    if ch is None or b is None or ch.status != "pending":
        return
    if b.status != "confirmed":
        _close(ctx, session, ch, "cancelled")
        return
    if offer.housekeeper_id == b.housekeeper_id:  # her own could not: the client hears we look further
        notify(session, ctx.clock.now(), "client", b.client_id, "change_searching", f"change:{ch.id}:searching",
               subject=f"booking:{b.id}", booking_id=b.id, starts_at=b.starts_at.isoformat(),
               new_starts_at=ch.starts_at.isoformat())
    _next(ctx, session, ch, b)


def _close(ctx: Context, session: Session, ch: BookingChange, status: str) -> None:
    now = ctx.clock.now()
    for offer in session.scalars(select(Offer).where(Offer.change_id == ch.id, Offer.status == "pending")):
        _respond(ctx, session, offer, "withdrawn", "system", reason=status)
        notify(session, now, "housekeeper", offer.housekeeper_id, "change_offer_withdrawn",
               f"offer:{offer.id}:withdrawn", subject=f"booking:{ch.booking_id}", offer_id=offer.id,
               booking_id=ch.booking_id)
    record(session, now, "booking_change", ch.id, ch.status, status, "system", booking_id=ch.booking_id)
    ch.status, ch.decided_at = status, now


def _apply(ctx: Context, session: Session, ch: BookingChange, b: Booking, hk_id: int | None) -> None:
    """The booking takes the change's values in place; whoever is affected is told."""
    now = ctx.clock.now()
    old_hk, old_start, old_address = b.housekeeper_id, b.starts_at, b.address
    slot_moved = (ch.starts_at, ch.ends_at) != (b.starts_at, b.ends_at)
    b.starts_at, b.ends_at, b.hours, b.area = ch.starts_at, ch.ends_at, ch.hours, ch.area
    b.address, b.district, b.notes, b.price_estimate = ch.address, ch.district, ch.notes, ch.price_estimate
    b.city = ch.city or b.city
    if b.price_estimate:  # the surcharge part of the new price (none off the holiday dates)
        b.surcharge_cents = price_for(ctx, b.service, b.hours, b.area, b.starts_at)[1] * 100 or None
    ch.status, ch.decided_at, ch.housekeeper_id = "applied", now, hk_id
    record(session, now, "booking_change", ch.id, "pending", "applied", "system", booking_id=b.id,
           housekeeper_id=hk_id)
    record(session, now, "booking", b.id, b.status, b.status, "system", change_id=ch.id,
           moved_from=old_start.isoformat() if slot_moved else None)
    if b.status in UNACCEPTED and (slot_moved or b.address != old_address):
        _rematch(ctx, session, b)
    hk = session.get(Housekeeper, hk_id) if hk_id else None
    client = session.get(Client, b.client_id)
    key = f"change:{ch.id}"
    hers = hk is not None and b.status == "confirmed"  # from acceptance to the end: full numbers both ways
    notify(session, now, "client", b.client_id, "change_applied", f"{key}:applied", subject=f"booking:{b.id}",
           booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(), ends_at=b.ends_at.isoformat(),
           price=b.price_estimate, housekeeper=hk.name if hk else "",
           housekeeper_phone=(hk.phone or "") if hers else mask_phone(hk.phone if hk else None))
    if hk is None or b.status != "confirmed":
        return
    b.housekeeper_id = hk.id
    if client is not None:
        client.last_housekeeper_id = hk.id
    notify(session, now, "housekeeper", hk.id, "job_changed" if hk.id == old_hk else "job_confirmed",
           f"job:{b.id}:{key}", subject=f"booking:{b.id}", booking_id=b.id, service=b.service,
           starts_at=b.starts_at.isoformat(), ends_at=b.ends_at.isoformat(), address=b.address or "",
           client_phone=(client.phone if client else None) or "",  # the job is hers: she may call the client
           standing_notes=job_notes(b.standing_notes), notes=b.notes or "",
           address_as=client.address_as if client else None)
    day_of_job.arm(ctx, session, b)  # the reminder and the no-check-in alarm for the new time
    if old_hk and old_hk != hk.id:  # the job moved to another housekeeper: the old slot is hers no more
        notify(session, now, "housekeeper", old_hk, "job_moved_away", f"job:{b.id}:{key}:released",
               subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=old_start.isoformat())


def _rematch(ctx: Context, session: Session, b: Booking) -> None:
    """A booking nobody has accepted yet, changed: its offers go, and matching runs for the new details."""
    now = ctx.clock.now()
    for offer in lock_pending(session, b.id):
        _respond(ctx, session, offer, "withdrawn", "system", reason="changed")
        notify(session, now, "housekeeper", offer.housekeeper_id, "change_offer_withdrawn",
               f"offer:{offer.id}:withdrawn", subject=f"booking:{b.id}", offer_id=offer.id, booking_id=b.id)
    for cand in session.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == b.id,
                                                             MatchCandidate.state == "ranked")):
        cand.state = "superseded"  # ranked for the old details
    ranked = rank_candidates(ctx, session, b)
    if ranked or b.status != "unassigned":  # unassigned with nobody still: the managers' case stands
        offer_next(ctx, session, b)
