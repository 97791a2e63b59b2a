"""The clock of a placed housekeeper's term (issue 12). Durable timers keyed by the date they are for:
when dates move (an extension, a baby come early) new ones are armed and the old ones, firing, find
nothing to do — every handler re-checks the placement as it is now.

- ``placement_start``        at the term's first local midnight: the term booking goes in_progress;
- ``placement_trial_end``    the day after the trial, at notify_hour: the contract continues (both told);
- ``placement_checkin``      on each check-in day (weekly in the first month, then monthly) at notify_hour:
  a survey occurrence (2, 3, …) of the term booking, sent by the surveys' own timer;
- ``placement_end_reminder`` end_reminder_days before the last day: client (with 续约), housekeeper, managers;
- ``placement_end``          at the midnight after the last day: the booking completed (its survey follows),
  the placement ended;
- ``placement_interview_reminder`` interview_reminder_hours before an interview: both sides.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.contact import first_name
from backend.domain.placements import CHOSEN, checkin_dates, term_bounds
from backend.orm import Booking, Housekeeper, Interview, Placement, PlacementCandidate, Survey
from backend.services import Context, case_cards, placement_asks, surveys, timers
from backend.services.audit import record
from backend.services.offers import set_status
from backend.services.outbox import notify

START, TRIAL_END, CHECKIN, END_REMINDER, END = (
    "placement_start", "placement_trial_end", "placement_checkin", "placement_end_reminder", "placement_end")
INTERVIEW_REMINDER = "placement_interview_reminder"


def local_today(ctx: Context) -> date:
    return ctx.clock.now().astimezone(ctx.tz).date()


def at_hour(ctx: Context, day: date) -> datetime:
    return datetime.combine(day, time(ctx.placements.notify_hour), ctx.tz)


def arm(ctx: Context, session: Session, pl: Placement) -> None:
    """Every timer of a chosen placement for its current dates (idempotent: keys carry the dates)."""
    start, end = term_bounds(pl.start_date, pl.end_date, ctx.tz)
    timers.schedule(session, START, pl.id, start, f"placement:{pl.id}:start:{pl.start_date.isoformat()}")
    if pl.trial_ends_on is not None:
        day = pl.trial_ends_on + timedelta(days=1)
        timers.schedule(session, TRIAL_END, pl.id, at_hour(ctx, day), f"placement:{pl.id}:trial:{day.isoformat()}")
    arm_checkin(ctx, session, pl)
    remind = max(pl.end_date - timedelta(days=ctx.placements.end_reminder_days), pl.start_date)
    timers.schedule(session, END_REMINDER, pl.id, at_hour(ctx, remind),
                    f"placement:{pl.id}:end_reminder:{pl.end_date.isoformat()}")
    timers.schedule(session, END, pl.id, end, f"placement:{pl.id}:end:{pl.end_date.isoformat()}")


def arm_checkin(ctx: Context, session: Session, pl: Placement) -> None:
    """The next check-in day after today (or the first one)."""
    today = local_today(ctx)
    nxt = next((d for d in checkin_dates(pl.start_date, pl.end_date, ctx.placements) if d > today), None)
    if nxt is not None:
        timers.schedule(session, CHECKIN, pl.id, at_hour(ctx, nxt), f"placement:{pl.id}:checkin:{nxt.isoformat()}")


def _chosen(session: Session, placement_id: int) -> tuple[Placement | None, Booking | None]:
    pl = session.get(Placement, placement_id, with_for_update=True, populate_existing=True)
    if pl is None or pl.status not in CHOSEN or pl.booking_id is None:
        return None, None
    return pl, session.get(Booking, pl.booking_id, with_for_update=True, populate_existing=True)


def both(ctx: Context, session: Session, pl: Placement, template: str, key: str,
         words: dict[str, str] | None = None, **params: Any) -> None:
    """The same news to the client (``template``) and the placed housekeeper (``template``_housekeeper:
    her own words — no prices, no deposit). ``words``: param → code, put in each one's language."""
    now = ctx.clock.now()
    hk = session.get(Housekeeper, pl.housekeeper_id) if pl.housekeeper_id else None
    common = {"placement_id": pl.id, "service": pl.service, "start_date": pl.start_date.isoformat(),
              "end_date": pl.end_date.isoformat(), "first_name": first_name(hk.name if hk else ""), **params}
    notify(session, now, "client", pl.client_id, template, f"{key}:client", subject=f"placement:{pl.id}", **common,
           **placement_asks.localised(ctx, placement_asks.lang_of(session, "client", pl.client_id), **(words or {})))
    if hk is not None:
        notify(session, now, "housekeeper", hk.id, f"{template}_housekeeper", f"{key}:housekeeper",
               subject=f"placement:{pl.id}", **common,
               **placement_asks.localised(ctx, hk.lang or "zh", **(words or {})))


def tell_managers(ctx: Context, session: Session, pl: Placement, news: str, key: str,
                  words: dict[str, str] | None = None, **params: Any) -> None:
    hk = session.get(Housekeeper, pl.housekeeper_id) if pl.housekeeper_id else None
    base = {"placement_id": pl.id, "client_id": pl.client_id, "service": pl.service, "news": news,
            "start_date": pl.start_date.isoformat(), "end_date": pl.end_date.isoformat(),
            "housekeeper": hk.name if hk else "", "housekeeper_code": hk.code if hk else "", **params}
    # one template per kind of news (placement_manager_end_soon, …_trial_ended, …_replaced, …_baby_early…)
    case_cards.tell_managers(ctx, session, ctx.clock.now(), f"placement_manager_{news}", key, f"placement:{pl.id}",
                             lambda lang: {**base, **placement_asks.localised(ctx, lang or "zh", **(words or {}))})


@timers.handler(START)
def _start(ctx: Context, session: Session, placement_id: int) -> None:
    pl, b = _chosen(session, placement_id)
    if pl is None or b is None or b.status != "confirmed" or ctx.clock.now() < b.starts_at:
        return
    set_status(ctx, session, b, "in_progress", "timer", placement_id=pl.id)
    both(ctx, session, pl, "placement_started", f"placement:{pl.id}:started",
         trial_ends_on=pl.trial_ends_on.isoformat() if pl.trial_ends_on else None)


@timers.handler(TRIAL_END)
def _trial_end(ctx: Context, session: Session, placement_id: int) -> None:
    pl, _b = _chosen(session, placement_id)
    if pl is None or pl.status != "trial" or pl.trial_ends_on is None or local_today(ctx) <= pl.trial_ends_on:
        return
    pl.status = "active"
    record(session, ctx.clock.now(), "placement", pl.id, "trial", "active", "timer")
    both(ctx, session, pl, "placement_trial_passed", f"placement:{pl.id}:trial_passed")


@timers.handler(CHECKIN)
def _checkin(ctx: Context, session: Session, placement_id: int) -> None:
    pl, b = _chosen(session, placement_id)
    if pl is None or b is None or b.status != "in_progress":
        return
    today, now = local_today(ctx), ctx.clock.now()
    due = [d for d in checkin_dates(pl.start_date, pl.end_date, ctx.placements) if d <= today]
    if due and not _checked_in_since(session, b, at_hour(ctx, due[-1])):
        last = session.scalar(select(func.max(Survey.occurrence)).where(Survey.booking_id == b.id)) or 1
        sv = Survey(booking_id=b.id, occurrence=max(last, 1) + 1, client_id=b.client_id,
                    housekeeper_id=b.housekeeper_id, status="scheduled", source="survey", send_at=now, created_at=now)
        session.add(sv)
        session.flush()
        timers.schedule(session, surveys.SEND, sv.id, now, f"survey:{sv.id}:send")
        record(session, now, "placement", pl.id, None, "checkin", "timer", survey_id=sv.id, occurrence=sv.occurrence)
    arm_checkin(ctx, session, pl)


def _checked_in_since(session: Session, b: Booking, since: datetime) -> bool:
    return session.scalar(select(Survey.id).where(Survey.booking_id == b.id, Survey.occurrence > 1,
                                                  Survey.created_at >= since).limit(1)) is not None


@timers.handler(END_REMINDER)
def _end_reminder(ctx: Context, session: Session, placement_id: int) -> None:
    pl, _b = _chosen(session, placement_id)
    if pl is None:
        return
    days_left = (pl.end_date - local_today(ctx)).days
    if not 0 <= days_left <= ctx.placements.end_reminder_days:
        return  # extended meanwhile: the reminder for the new end is armed
    key = f"placement:{pl.id}:end_reminder:{pl.end_date.isoformat()}"
    both(ctx, session, pl, "placement_end_reminder", key, days_left=days_left)
    tell_managers(ctx, session, pl, "end_soon", key, days_left=days_left)


@timers.handler(END)
def _end(ctx: Context, session: Session, placement_id: int) -> None:
    pl, b = _chosen(session, placement_id)
    if pl is None or b is None or ctx.clock.now() < term_bounds(pl.start_date, pl.end_date, ctx.tz)[1]:
        return
    if b.status == "cancelled":  # cancelled as a booking (not through the placement): end it as such
        finish(ctx, session, pl, b, "cancelled", "timer")
        return
    finish(ctx, session, pl, b, "completed", "timer")
    both(ctx, session, pl, "placement_ended", f"placement:{pl.id}:ended")


def finish(ctx: Context, session: Session, pl: Placement, b: Booking | None, reason: str, actor: str) -> None:
    """The placement ends now: a started term booking is cut to the end of today and completed (its
    survey follows the normal path), one not started yet is cancelled."""
    now = ctx.clock.now()
    if b is not None:
        if b.status == "in_progress":
            cut = term_bounds(local_today(ctx), local_today(ctx), ctx.tz)[1]
            b.ends_at = min(b.ends_at, cut)
            set_status(ctx, session, b, "completed", actor, placement_id=pl.id)
            surveys.finished(ctx, session, b, "placement")
        elif b.status == "confirmed":
            set_status(ctx, session, b, "cancelled", actor, placement_id=pl.id)
    was, pl.status, pl.ended_at, pl.end_reason = pl.status, "ended", now, reason
    record(session, now, "placement", pl.id, was, "ended", actor, reason=reason)
    for iv in session.scalars(select(Interview).where(Interview.placement_id == pl.id,
                                                      Interview.status == "scheduled")):
        iv.status = "cancelled"


@timers.handler(INTERVIEW_REMINDER)
def _interview_reminder(ctx: Context, session: Session, interview_id: int) -> None:
    iv = session.get(Interview, interview_id)
    now = ctx.clock.now()
    if iv is None or iv.status != "scheduled" or iv.at <= now:
        return
    lead = timedelta(hours=ctx.placements.interview_reminder_hours)
    if iv.at - lead > now + timedelta(minutes=1):
        return  # moved later: the reminder for the new time is armed
    pl = session.get(Placement, iv.placement_id)
    if pl is None or pl.status not in ("shortlisting", "interviewing"):
        return
    held = session.scalar(select(PlacementCandidate.state).where(
        PlacementCandidate.placement_id == pl.id, PlacementCandidate.housekeeper_id == iv.housekeeper_id))
    if held != "willing":
        return  # let go meanwhile (dates moved, hold ended): no reminder for an interview that will not be
    hk = session.get(Housekeeper, iv.housekeeper_id)
    params = {"interview_id": iv.id, "placement_id": pl.id, "service": pl.service, "starts_at": iv.at.isoformat(),
              "mode_code": iv.mode, "first_name": first_name(hk.name if hk else ""),
              "housekeeper_id": iv.housekeeper_id}
    key = f"interview:{iv.id}:reminder:{iv.at.isoformat()}"
    notify(session, now, "client", pl.client_id, "placement_interview_reminder", f"{key}:client",
           subject=f"placement:{pl.id}", **params,
           **placement_asks.localised(ctx, placement_asks.lang_of(session, "client", pl.client_id), mode=iv.mode))
    notify(session, now, "housekeeper", iv.housekeeper_id, "placement_interview_reminder_housekeeper",
           f"{key}:housekeeper", subject=f"placement:{pl.id}", **params,
           **placement_asks.localised(ctx, hk.lang if hk else "zh", mode=iv.mode))
