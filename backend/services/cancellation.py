"""A client cancelling a booking under the policy (config/cancellation.yaml, rules in
backend/domain/cancellation.py): quoted first, then cancelled at no more than the quoted fee; a late
fee is recorded on the booking's payment record. What the housekeeper is told (and her cards edited)
is done by bookings.cancel and offers.withdraw_pending."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from backend.domain.cancellation import Quote
from backend.domain.cancellation import quote as policy_quote
from backend.orm import Booking, BookingChange, Payment
from backend.services import Context, DomainError, bookings
from backend.services.offers import lock_pending

CANCELLABLE = ("requested", "offered", "unassigned", "confirmed")  # not once she has started
FEE_KIND = "cancellation_fee"
# The fee is owed, not collected: "owed" is not a way of paying (payments.METHODS), so a fee row never
# counts as money received; where the client had paid, refunds keep it back (payments.refundable_cents).
FEE_METHOD = "owed"
UPCOMING = ("requested", "offered", "unassigned", "confirmed", "in_progress")


def _mine(session: Session, client_id: int, booking_id: int) -> Booking:
    b = session.get(Booking, booking_id)
    if b is None or b.client_id != client_id:
        raise DomainError("booking_not_found")
    return b


def quote(ctx: Context, session: Session, client_id: int, booking_id: int) -> tuple[Booking, Quote]:
    """What cancelling this booking now would cost; ``cannot_cancel`` once it has started or ended."""
    b = _mine(session, client_id, booking_id)
    if b.status not in CANCELLABLE or bookings.is_placement_term(session, b.id):  # a placement: its own rules
        raise DomainError("cannot_cancel")
    return b, policy_quote(ctx.cancellation, (b.price_estimate or 0) * 100, b.starts_at, ctx.clock.now())


def cancel(ctx: Context, session: Session, client_id: int, booking_id: int,
           agreed_fee_cents: int) -> tuple[Booking, int]:
    """Cancel at the fee the client agreed to, or less. When the free window closed between the quote
    and the "yes", ``fee_changed`` is raised and nothing changes: the client is asked again.
    Returns the booking and the fee charged (0: free)."""
    lock_pending(session, booking_id)  # the lock order of accept and expiry: offers, then the booking
    b = bookings.client_booking(session, client_id, booking_id)
    if b.status not in CANCELLABLE or bookings.is_placement_term(session, b.id):
        raise DomainError("cannot_cancel")
    q = policy_quote(ctx.cancellation, (b.price_estimate or 0) * 100, b.starts_at, ctx.clock.now())
    if q.fee_cents > max(0, int(agreed_fee_cents)):
        raise DomainError("fee_changed")
    bookings.cancel(ctx, session, client_id, booking_id)
    for ch in session.scalars(select(BookingChange).where(BookingChange.booking_id == b.id,
                                                          BookingChange.status == "pending")):
        ch.status, ch.decided_at = "cancelled", ctx.clock.now()  # a change waiting for her dies with the booking
    if q.fee_cents:
        now = ctx.clock.now()
        session.add(Payment(booking_id=b.id, client_id=b.client_id, kind=FEE_KIND, amount_cents=q.fee_cents,
                            method=FEE_METHOD, paid_on=now.astimezone(ctx.tz).date(), recorded_by="policy:cancellation",
                            created_at=now))
        session.flush()
    return b, q.fee_cents


def fee_of(session: Session, booking_id: int) -> int:
    return sum(session.scalars(select(Payment.amount_cents).where(Payment.booking_id == booking_id,
                                                                  Payment.kind == FEE_KIND)))


def my_bookings(ctx: Context, session: Session, client_id: int, recent_days: int = 14,
                limit: int = 10, series_visits: bool = False) -> tuple[list[Booking], list[Booking]]:
    """"我的预约": upcoming bookings (soonest first) and those ended or cancelled in the last
    ``recent_days`` (newest first), at most ``limit`` each. Unless ``series_visits``, the upcoming list
    keeps of each series' visits not yet started only the next one (the series is listed once, with that
    visit), so a series never crowds one-off bookings out of the limit."""
    now = ctx.clock.now()
    q = select(Booking).where(Booking.client_id == client_id, Booking.status.in_(UPCOMING),
                              Booking.ends_at > now - timedelta(hours=12))
    if not series_visits:
        pending = ("requested", "offered", "unassigned", "confirmed")  # series.future_visits: not started
        sooner = aliased(Booking)
        earlier = exists().where(sooner.series_id == Booking.series_id, sooner.status.in_(pending),
                                 sooner.starts_at > now, sooner.starts_at < Booking.starts_at)
        q = q.where(or_(Booking.series_id.is_(None), Booking.starts_at <= now, Booking.status == "in_progress",
                        ~earlier))
    upcoming = list(session.scalars(q.order_by(Booking.starts_at).limit(limit)))
    recent = list(session.scalars(select(Booking).where(
        Booking.client_id == client_id, Booking.status.in_(("completed", "cancelled")),
        Booking.starts_at > now - timedelta(days=recent_days)).order_by(Booking.starts_at.desc()).limit(limit)))
    return upcoming, recent
