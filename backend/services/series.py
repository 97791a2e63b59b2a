"""Repeat visits (issue 10): a series creates normal bookings (``series_id``) on a rolling horizon.

- ``create``: the series and its first visits (up to ``ctx.series.horizon_weeks`` ahead, within the
  booking horizon), each matched as usual; later visits go first to the housekeeper who holds the first.
- A durable daily timer (kind ``series_plan``) extends every active series; a series whose last date is
  planned ends.
- Statutory holidays (``ctx.calendar``) follow the series' ``holiday_rule``: skip (not created, the client
  told), keep (created), ask (created and held; the client is asked 保留/跳过 ``ask_days_before`` days
  before; no answer by ``answer_days_before`` days before → ``ask_default``, and the client is told; a holiday
  already past that deadline when planned gets ``ask_default`` at once, as the summary lists it). A visit
  the daily plan creates with a holiday surcharge is announced to the client.
- ``cancel_rest``: the series is cancelled and every future visit cancelled under the cancellation policy.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import series as rules
from backend.domain.cancellation import quote as policy_quote
from backend.orm import Booking, BookingSeries, Offer
from backend.services import Context, DomainError, bookings, cancellation
from backend.services.audit import record
from backend.services.outbox import notify
from backend.services.timers import cancel as cancel_timer
from backend.services.timers import handler, schedule

ACTIVE_VISIT = ("requested", "offered", "unassigned", "confirmed")
HELD = ("confirmed", "in_progress", "completed")
OPEN_SERIES_WEEKS = 52  # an open-ended series' summary looks this far ahead for holidays and surcharges


def local_start(ctx: Context, s: BookingSeries, day: date) -> datetime:
    return datetime.combine(day, time(s.start_minute // 60, s.start_minute % 60), ctx.tz)


def holidays_between(ctx: Context, s: BookingSeries, after: date | None, up_to: date) -> list[date]:
    return [d for d in rules.occurrences(s.first_date, s.interval_weeks, s.count, s.until_date, after, up_to)
            if ctx.calendar.is_holiday(d)]


def answer_deadline(ctx: Context, day: date) -> datetime:
    """Until when the client may answer the holiday question about a visit on ``day``."""
    return datetime.combine(day - timedelta(days=ctx.series.answer_days_before), time(10), ctx.tz)


def holiday_outcome(ctx: Context, rule: str, day: date) -> str:
    """create | skip | ask for a date planned now. A holiday too close to ask about (its answer deadline
    passed) gets the ask default at once, as the summary lists it."""
    action = rules.holiday_action(rule, ctx.calendar.is_holiday(day))
    if action == "ask" and answer_deadline(ctx, day) <= ctx.clock.now():
        return "skip" if ctx.series.ask_default == "skip" else "create"
    return action


def preview(ctx: Context, req: bookings.Request, rec: rules.Recurrence) -> dict[str, object]:
    """What the summary shows before the client confirms: the first date, the end, every date up to the
    last (an open series: ``OPEN_SERIES_WEEKS`` ahead) for its holidays and surcharges, and the holiday
    rule. Raises DomainError when it cannot be."""
    start = req.starts_at.astimezone(ctx.tz)
    first = start.date()
    if rec.weekday is not None and rec.weekday != first.weekday():
        raise DomainError("series_weekday")
    code = rules.problem(rec, first, ctx.series)
    if code:
        raise DomainError(code)
    last = rules.last_date(first, rec.interval_weeks, rec.count, rec.until)
    up_to = last if last is not None else first + timedelta(weeks=OPEN_SERIES_WEEKS)
    dates = rules.occurrences(first, rec.interval_weeks, rec.count, rec.until, None, up_to)
    holidays = [d for d in dates if ctx.calendar.is_holiday(d)]
    return {"first": first, "last": last, "dates": dates, "holidays": holidays, "rule": ctx.series.holiday_rule}


def series_of_key(session: Session, client_id: int, request_key: str) -> BookingSeries | None:
    b = bookings.by_request_key(session, client_id, request_key)
    return session.get(BookingSeries, b.series_id) if b is not None and b.series_id else None


def create(ctx: Context, session: Session, client_id: int, req: bookings.Request, rec: rules.Recurrence,
           request_key: str | None = None) -> BookingSeries:
    """A new series and its visits up to the horizon; the same ``request_key`` twice is one series."""
    if request_key is not None:
        existing = series_of_key(session, client_id, request_key)
        if existing is not None:
            return existing
    preview(ctx, req, rec)  # the same checks the summary made
    bookings.validate(ctx, req)
    start = req.starts_at.astimezone(ctx.tz)
    s = BookingSeries(client_id=client_id, service=req.service, interval_weeks=rec.interval_weeks,
                      weekday=start.weekday(), start_minute=start.hour * 60 + start.minute, hours=req.hours,
                      area=req.area, address=req.address, district=req.district, notes=req.notes,
                      first_date=start.date(), until_date=rec.until, count=rec.count,
                      holiday_rule=ctx.series.holiday_rule, status="active", created_at=ctx.clock.now())
    session.add(s)
    session.flush()
    record(session, ctx.clock.now(), "series", s.id, None, "active", f"client:{client_id}", service=s.service)
    plan(ctx, session, s, first_key=request_key, standing_notes=req.standing_notes)
    _arm_daily(ctx, session)
    return s


def plan(ctx: Context, session: Session, s: BookingSeries, first_key: str | None = None,
         standing_notes: list | None = None) -> list[Booking]:
    """Create the visits from ``planned_until`` (exclusive) to the horizon; end the series when its last
    date is planned. Returns the visits created."""
    now = ctx.clock.now()
    today = now.astimezone(ctx.tz).date()
    horizon = rules.plan_until(today, ctx.series.horizon_weeks, ctx.max_days_ahead)
    if s.status != "active" or (s.planned_until is not None and s.planned_until >= horizon):
        return []
    _adopt_housekeeper(session, s)
    created: list[Booking] = []
    for day in rules.occurrences(s.first_date, s.interval_weeks, s.count, s.until_date, s.planned_until, horizon):
        action = holiday_outcome(ctx, s.holiday_rule, day)
        if action == "skip":
            record(session, now, "series", s.id, None, "holiday_skipped", "system", date=day.isoformat())
            if s.planned_until is not None:  # dates in the first plan were listed in the summary already
                notify(session, now, "client", s.client_id, "series_holiday_skipped",
                       f"series:{s.id}:skipped:{day.isoformat()}", subject=f"series:{s.id}", series_id=s.id,
                       service=s.service, starts_at=local_start(ctx, s, day).isoformat())
            continue
        key = first_key if first_key is not None and not created else f"series:{s.id}:{day.isoformat()}"
        prefer = s.housekeeper_id or _first_offered(session, created)
        b = _visit(ctx, session, s, day, key, standing_notes, prefer)
        if b is None:
            continue
        created.append(b)
        if action == "ask":
            _arm_holiday_question(ctx, session, b)
        if b.surcharge_cents and s.planned_until is not None:  # the first plan's were in the summary
            notify(session, now, "client", s.client_id, "series_visit_surcharge", f"series:{s.id}:surcharge:{b.id}",
                   subject=f"booking:{b.id}", series_id=s.id, booking_id=b.id, service=s.service,
                   starts_at=b.starts_at.isoformat(), price_cents=(b.price_estimate or 0) * 100,
                   surcharge_cents=b.surcharge_cents)
    s.planned_until = horizon
    last = rules.last_date(s.first_date, s.interval_weeks, s.count, s.until_date)
    if last is not None and last <= horizon:
        s.status, s.ended_at = "ended", now  # every visit exists: nothing left to plan
        record(session, now, "series", s.id, "active", "ended", "system")
    return created


def _visit(ctx: Context, session: Session, s: BookingSeries, day: date, key: str,
           standing_notes: list | None, prefer: int | None) -> Booking | None:
    req = bookings.Request(s.service, local_start(ctx, s, day), s.hours, s.area, s.address, s.district, s.notes,
                           standing_notes)
    try:
        b = bookings.create(ctx, session, s.client_id, req, f"series:{s.id}", key, prefer=prefer)
    except DomainError as e:  # a date the booking rules refuse (too soon after a late plan): left out, logged
        record(session, ctx.clock.now(), "series", s.id, None, "visit_refused", "system", date=day.isoformat(),
               reason=e.code)
        return None
    b.series_id = s.id
    return b


def _first_offered(session: Session, created: list[Booking]) -> int | None:
    """The housekeeper the series' first visit went to: the other first visits go to her first."""
    if not created:
        return None
    return session.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == created[0].id)
                          .order_by(Offer.id).limit(1))


def _adopt_housekeeper(session: Session, s: BookingSeries) -> None:
    """She who accepted the first visit she holds becomes the series' housekeeper (offered visits first)."""
    if s.housekeeper_id is not None:
        return
    s.housekeeper_id = session.scalar(select(Booking.housekeeper_id).where(
        Booking.series_id == s.id, Booking.status.in_(HELD), Booking.housekeeper_id.is_not(None))
        .order_by(Booking.starts_at).limit(1))


# --- the daily plan -----------------------------------------------------------------------------
def _arm_daily(ctx: Context, session: Session) -> None:
    """The next daily run at ``plan_hour`` local (one timer for every series; a key per day)."""
    local = ctx.clock.now().astimezone(ctx.tz)
    run = datetime.combine(local.date(), time(ctx.series.plan_hour), ctx.tz)
    if run <= local:
        run += timedelta(days=1)
    schedule(session, "series_plan", 0, run, f"series_plan:{run.date().isoformat()}")


@handler("series_plan")
def run_plan(ctx: Context, session: Session, _ref: int) -> None:
    active = list(session.scalars(select(BookingSeries).where(BookingSeries.status == "active")
                                  .order_by(BookingSeries.id).with_for_update()))
    for s in active:
        plan(ctx, session, s)
    if active:
        _arm_daily(ctx, session)  # a new series arms it again when none is left


# --- holidays: ask the client -------------------------------------------------------------------
def _at(ctx: Context, day: date, days_before: int) -> datetime:
    return max(datetime.combine(day - timedelta(days=days_before), time(10), ctx.tz), ctx.clock.now())


def _arm_holiday_question(ctx: Context, session: Session, b: Booking) -> None:
    """Ask before the visit (plan gives a visit already past its answer deadline the default instead)."""
    day = b.starts_at.astimezone(ctx.tz).date()
    schedule(session, "series_holiday_ask", b.id, _at(ctx, day, ctx.series.ask_days_before),
             f"series_holiday_ask:{b.id}")
    schedule(session, "series_holiday_default", b.id, _at(ctx, day, ctx.series.answer_days_before),
             f"series_holiday_default:{b.id}")


@handler("series_holiday_ask")
def ask_holiday(ctx: Context, session: Session, booking_id: int) -> None:
    b = session.get(Booking, booking_id)
    if b is None or b.status not in ACTIVE_VISIT:
        return
    deadline = _at(ctx, b.starts_at.astimezone(ctx.tz).date(), ctx.series.answer_days_before)
    template = "series_holiday_ask" if ctx.series.ask_default == "skip" else "series_holiday_ask_keep_default"
    notify(session, ctx.clock.now(), "client", b.client_id, template, f"series_holiday_ask:{b.id}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
           deadline_at=deadline.isoformat(), default=ctx.series.ask_default)


@handler("series_holiday_default")
def holiday_default(ctx: Context, session: Session, booking_id: int) -> None:
    b = session.get(Booking, booking_id)
    if b is None or b.status not in ACTIVE_VISIT:
        return
    if ctx.series.ask_default == "keep":
        _holiday_kept(ctx, session, b, "timer")
        return
    _holiday_skipped(ctx, session, b, "timer")


def _holiday_kept(ctx: Context, session: Session, b: Booking, actor: str) -> None:
    cancel_timer(session, f"series_holiday_default:{b.id}")
    record(session, ctx.clock.now(), "booking", b.id, b.status, b.status, actor, holiday="kept")
    if actor == "timer":  # the client's own answer is acknowledged in the chat
        notify(session, ctx.clock.now(), "client", b.client_id, "series_holiday_kept", f"series_holiday:{b.id}:kept",
               subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
               by=actor)


def _holiday_skipped(ctx: Context, session: Session, b: Booking, actor: str) -> None:
    """Our question, so no fee: the held visit is cancelled as the client answered (or as the default)."""
    cancel_timer(session, f"series_holiday_default:{b.id}")
    # her offer withdrawn / she is told, as any cancellation; one audit row, by whoever decided
    bookings.cancel(ctx, session, b.client_id, b.id, actor="system:series" if actor == "timer" else actor)
    if actor == "timer":  # the default: never silent (the client's own answer is acknowledged in the chat)
        notify(session, ctx.clock.now(), "client", b.client_id, "series_holiday_skipped_visit",
               f"series_holiday:{b.id}:skipped", subject=f"booking:{b.id}", booking_id=b.id, service=b.service,
               starts_at=b.starts_at.isoformat(), by=actor)


def answer_holiday(ctx: Context, session: Session, client_id: int, booking_id: int, keep: bool) -> Booking:
    """The client's 保留 / 跳过 to the holiday question: only about a held holiday visit of an "ask" series,
    and only until its answer deadline (``holiday_answered`` otherwise: after it the default has decided,
    and skipping is an ordinary cancellation under the policy)."""
    b = session.get(Booking, booking_id)
    if b is None or b.client_id != client_id or b.series_id is None:
        raise DomainError("booking_not_found")
    day = b.starts_at.astimezone(ctx.tz).date()
    s = session.get(BookingSeries, b.series_id)
    if (b.status not in ACTIVE_VISIT or s is None or s.holiday_rule != "ask" or not ctx.calendar.is_holiday(day)
            or ctx.clock.now() >= answer_deadline(ctx, day)):
        raise DomainError("holiday_answered")
    (_holiday_kept if keep else _holiday_skipped)(ctx, session, b, f"client:{client_id}")
    return b


# --- the client's series --------------------------------------------------------------------------
def client_series(session: Session, client_id: int, series_id: int | None = None) -> list[BookingSeries]:
    q = select(BookingSeries).where(BookingSeries.client_id == client_id,
                                    BookingSeries.status.in_(("active", "ended")))
    if series_id is not None:
        q = q.where(BookingSeries.id == series_id)
    return list(session.scalars(q.order_by(BookingSeries.id)))


def future_visits(ctx: Context, session: Session, s: BookingSeries) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.series_id == s.id, Booking.status.in_(ACTIVE_VISIT), Booking.starts_at > ctx.clock.now())
        .order_by(Booking.starts_at)))


def rest_quote(ctx: Context, session: Session, client_id: int,
               series_id: int) -> tuple[BookingSeries, list[Booking], int]:
    """The series, its future visits and the total fee cancelling them now would cost."""
    found = client_series(session, client_id, series_id)
    if not found:
        raise DomainError("series_not_found")
    visits = future_visits(ctx, session, found[0])
    fee = sum(policy_quote(ctx.cancellation, (b.price_estimate or 0) * 100, b.starts_at, ctx.clock.now()).fee_cents
              for b in visits)
    return found[0], visits, fee


def cancel_rest(ctx: Context, session: Session, client_id: int, series_id: int,
                agreed_fee_cents: int) -> tuple[BookingSeries, list[Booking], int]:
    """Cancel the series and its future visits at no more than the agreed total fee (``fee_changed``
    otherwise: nothing changes). Each visit goes through the cancellation policy: her pending offers are
    withdrawn and her cards edited, a confirmed housekeeper is told, any fee recorded on the visit."""
    s, visits, fee = rest_quote(ctx, session, client_id, series_id)
    if fee > max(0, int(agreed_fee_cents)):
        raise DomainError("fee_changed")
    charged = 0
    for b in visits:
        charged += cancellation.cancel(ctx, session, client_id, b.id, fee)[1]
        cancel_timer(session, f"series_holiday_default:{b.id}")
    old = s.status
    s.status, s.ended_at = "cancelled", ctx.clock.now()
    record(session, ctx.clock.now(), "series", s.id, old, "cancelled", f"client:{client_id}", visits=len(visits))
    return s, visits, charged


def visit_on(ctx: Context, session: Session, client_id: int, day: date) -> Booking | None:
    """The client's series visit on a local date (for "跳过下周三那次")."""
    start = datetime.combine(day, time(0), ctx.tz)
    return session.scalar(select(Booking).where(
        Booking.client_id == client_id, Booking.series_id.is_not(None), Booking.status.in_(ACTIVE_VISIT),
        Booking.starts_at >= start, Booking.starts_at < start + timedelta(days=1)).order_by(Booking.starts_at).limit(1))


def next_visit(ctx: Context, session: Session, s: BookingSeries) -> Booking | None:
    visits = future_visits(ctx, session, s)
    return visits[0] if visits else None
