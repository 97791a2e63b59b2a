"""The day of the job (issue 10): reminders the day before, the check-in window, the no-check-in alarm,
late arrivals and "can't come", on durable timers (rules in backend/domain/day_of_job.py).

Timers (armed at confirmation by ``arm``; keys carry her id and the start they were armed for, and every
handler re-reads the booking, so a cancelled, moved or re-assigned job's old timer says nothing):
- ``job_remind``     at start − remind_before: the client's and the housekeeper's reminders;
- ``job_no_checkin`` at start + lateness + no_checkin_after: still not checked in → the client is told we
  are checking, she is pinged, and a ``no_show`` case opens on the case clock.
While a job is hers (confirmed or in progress) both sides see each other's full phone number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.cases import case_key
from backend.domain.contact import first_name
from backend.domain.day_of_job import worked_minutes
from backend.orm import Booking, Client, Escalation, Housekeeper, MatchCandidate, Notification
from backend.services import Context, DomainError, case_cards, case_clock, cases, timers
from backend.services.audit import record
from backend.services.outbox import notify, stale_when

REMIND, NO_CHECKIN = "job_remind", "job_no_checkin"
CASE_KIND = "no_show"
HERS = ("confirmed", "in_progress")  # the window in which both sides see the full phone numbers


def _start(b: Booking) -> str:
    return b.starts_at.isoformat()


def arm(ctx: Context, session: Session, b: Booking) -> None:
    """At confirmation (or after a move): the reminder (only when its time is still ahead) and the alarm."""
    if b.housekeeper_id is None:
        return
    now, p = ctx.clock.now(), ctx.day_of_job
    due = p.reminder_due(b.starts_at)
    if due > now:
        timers.schedule(session, REMIND, b.id, due, f"job:{b.id}:remind:{b.housekeeper_id}:{_start(b)}")
    timers.schedule(session, NO_CHECKIN, b.id, p.alarm_due(b.starts_at, b.late_minutes),
                    f"job:{b.id}:no_checkin:{b.housekeeper_id}:{_start(b)}:{b.late_minutes or 0}")


def disarm(session: Session, b: Booking) -> None:
    if b.housekeeper_id is None:
        return
    timers.cancel(session, f"job:{b.id}:remind:{b.housekeeper_id}:{_start(b)}")
    timers.cancel(session, f"job:{b.id}:no_checkin:{b.housekeeper_id}:{_start(b)}:{b.late_minutes or 0}")


def notes_of(b: Booking) -> str:
    """The client's words she should know before arriving: the standing notes, then this visit's notes."""
    words = [str(n.get("text") or "").strip() for n in b.standing_notes or [] if isinstance(n, dict)]
    words.append((b.notes or "").strip())
    return "；".join(w for w in words if w) or "-"


def _client_params(b: Booking, hk: Housekeeper) -> dict[str, Any]:
    return {"booking_id": b.id, "service": b.service, "starts_at": _start(b), "ends_at": b.ends_at.isoformat(),
            "housekeeper": first_name(hk.name), "housekeeper_phone": hk.phone or ""}


def _housekeeper_params(b: Booking, client: Client | None) -> dict[str, Any]:
    return {"booking_id": b.id, "service": b.service, "starts_at": _start(b), "ends_at": b.ends_at.isoformat(),
            "address": b.address or "", "client_phone": (client.phone if client else None) or "",
            "notes": notes_of(b), "address_as": (client.address_as if client else None) or ""}


@timers.handler(REMIND)
def _remind(ctx: Context, session: Session, booking_id: int) -> None:
    b = session.get(Booking, booking_id, populate_existing=True)
    now = ctx.clock.now()
    if b is None or b.status != "confirmed" or b.housekeeper_id is None \
            or not ctx.day_of_job.reminder_fits(b.starts_at, now):
        return  # cancelled, re-matched, moved later (its own timer comes) or already begun
    hk, client = session.get(Housekeeper, b.housekeeper_id), session.get(Client, b.client_id)
    if hk is None:
        return
    key = f"job:{b.id}:remind:{hk.id}:{_start(b)}"  # two timers for one start (a move back) → one message
    notify(session, now, "client", b.client_id, "job_reminder_client", f"{key}:client", subject=f"booking:{b.id}",
           **_client_params(b, hk))
    notify(session, now, "housekeeper", hk.id, "job_reminder_housekeeper", f"{key}:housekeeper",
           subject=f"booking:{b.id}", **_housekeeper_params(b, client))


@timers.handler(NO_CHECKIN)
def _no_checkin(ctx: Context, session: Session, booking_id: int) -> None:
    b = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    now = ctx.clock.now()
    if b is None or b.status != "confirmed" or b.housekeeper_id is None or b.arrived_at is not None \
            or now < ctx.day_of_job.alarm_due(b.starts_at, b.late_minutes):
        return  # checked in, cancelled, re-matched, moved later or she said she is late: not (yet) missing
    key = f"job:{b.id}:no_checkin:{b.housekeeper_id}:{_start(b)}"
    if session.scalar(select(Notification.id).where(Notification.key == f"{key}:client")) is not None:
        return  # this start's alarm was already raised (a second timer for the same start)
    hk = session.get(Housekeeper, b.housekeeper_id)
    notify(session, now, "client", b.client_id, "job_no_checkin_client", f"{key}:client", subject=f"booking:{b.id}",
           booking_id=b.id, service=b.service, starts_at=_start(b))
    notify(session, now, "housekeeper", b.housekeeper_id, "job_no_checkin_housekeeper", f"{key}:housekeeper",
           subject=f"booking:{b.id}", urgent=True, booking_id=b.id, service=b.service, starts_at=_start(b))
    cases.open_case(ctx, session, CASE_KIND, b.client_id, b.id, actor="timer", reason="no_checkin",
                    housekeeper_id=b.housekeeper_id, housekeeper_code=hk.code if hk else "", service=b.service,
                    starts_at=_start(b), late_minutes=b.late_minutes or 0)


@stale_when("job_reminder_client")
@stale_when("job_reminder_housekeeper")
def _reminder_stale(session: Session, params: dict[str, Any]) -> bool:
    """Not sent when the job was cancelled, re-assigned or moved after the reminder was queued."""
    b = session.get(Booking, params.get("booking_id"))
    return b is None or b.status != "confirmed" or b.starts_at != datetime.fromisoformat(str(params.get("starts_at")))


@stale_when("job_no_checkin_client")
@stale_when("job_no_checkin_housekeeper")
def _alarm_stale(session: Session, params: dict[str, Any]) -> bool:
    """She checked in (or the job went elsewhere) before the alarm was delivered: nothing to say."""
    b = session.get(Booking, params.get("booking_id"))
    return b is None or b.status != "confirmed" or b.arrived_at is not None


# --- her actions ------------------------------------------------------------------------------------
def check_in_window(ctx: Context, b: Booking) -> None:
    """已到达 is taken from checkin_window before the start; earlier → DomainError checkin_too_early."""
    if b.status == "confirmed" and not ctx.day_of_job.may_check_in(b.starts_at, ctx.clock.now()):
        raise DomainError("checkin_too_early")


def _open_case(session: Session, b: Booking) -> Escalation | None:
    return session.scalar(select(Escalation).where(Escalation.case_key == case_key(b.client_id, CASE_KIND, b.id),
                                                   Escalation.status != "closed").order_by(Escalation.id.desc()))


def _on_case(session: Session, b: Booking, now: datetime, actor: str, event: str, **detail: Any) -> None:
    """Something she did on a job with an open no-show case: on its timeline, the managers' cards refreshed."""
    esc = _open_case(session, b)
    if esc is not None:
        case_clock.event(session, esc, now, actor, event, **detail)
        case_cards.update_cards(session, esc, event, now)


def arrived(ctx: Context, session: Session, b: Booking) -> None:
    """Her check-in is stamped (worked time runs from here); a no-show case sees it on its timeline."""
    now = ctx.clock.now()
    b.arrived_at = now
    late = max(0, int((now - b.starts_at).total_seconds() // 60))
    _on_case(session, b, now, f"housekeeper:{b.housekeeper_id}", "checked_in",
             note=f"+{late} min" if late else None)


def late(ctx: Context, session: Session, housekeeper_id: int, booking_id: int, minutes: int) -> Booking:
    """She will be ``minutes`` late: stored, the client told the new time, the alarm moved accordingly."""
    if not ctx.day_of_job.valid_late(minutes):
        raise DomainError("late_minutes_range")
    b = _her_job(session, housekeeper_id, booking_id)
    if b.status != "confirmed":
        raise DomainError("job_not_upcoming")
    now = ctx.clock.now()
    b.late_minutes = minutes
    expected = b.starts_at + timedelta(minutes=minutes)
    hk = session.get(Housekeeper, housekeeper_id)
    record(session, now, "booking", b.id, b.status, b.status, f"housekeeper:{housekeeper_id}", late_minutes=minutes)
    notify(session, now, "client", b.client_id, "job_running_late", f"job:{b.id}:late:{minutes}:{now.isoformat()}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=_start(b),
           expected_at=expected.isoformat(), minutes=minutes, housekeeper=first_name(hk.name if hk else ""))
    arm(ctx, session, b)  # the alarm at the new expected time (the old timer fires and finds her not due)
    _on_case(session, b, now, f"housekeeper:{housekeeper_id}", "running_late", note=f"{minutes} min")
    return b


def cannot_come(ctx: Context, session: Session, housekeeper_id: int, booking_id: int) -> Booking:
    """She cannot come: the job goes back to matching at once (the client's lead time does not apply to
    an offer), the client is told honestly, and managers get a ``no_show`` case."""
    from backend.services.offers import offer_next, rank_candidates, set_status

    b = _her_job(session, housekeeper_id, booking_id)
    if b.status != "confirmed":
        raise DomainError("job_not_upcoming")
    now, actor = ctx.clock.now(), f"housekeeper:{housekeeper_id}"
    hk = session.get(Housekeeper, housekeeper_id)
    disarm(session, b)
    notify(session, now, "client", b.client_id, "job_cannot_come_client", f"job:{b.id}:cannot_come:{housekeeper_id}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=_start(b),
           housekeeper=first_name(hk.name if hk else ""))
    cases.open_case(ctx, session, CASE_KIND, b.client_id, b.id, actor=actor, reason="cannot_come",
                    housekeeper_id=housekeeper_id, housekeeper_code=hk.code if hk else "", service=b.service,
                    starts_at=_start(b))
    b.housekeeper_id, b.late_minutes = None, None
    set_status(ctx, session, b, "offered", actor, reason="cannot_come")  # confirmed → back to matching
    for c in session.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == b.id,
                                                          MatchCandidate.state == "ranked")):
        c.state = "superseded"  # ranked for another day's schedules: ranked again below
    session.flush()
    rank_candidates(ctx, session, b)
    for c in session.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == b.id,
                                                          MatchCandidate.housekeeper_id == housekeeper_id)):
        c.state, c.reasons = "excluded", {**(c.reasons or {}), "excluded": "cannot_come"}
    offer_next(ctx, session, b, actor=actor)
    return b


def _her_job(session: Session, housekeeper_id: int, booking_id: int) -> Booking:
    b = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if b is None or b.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_job")
    return b


# --- views ------------------------------------------------------------------------------------------
def current_job(ctx: Context, session: Session, housekeeper_id: int) -> Booking | None:
    """Her job in progress, else her next confirmed one (one that started and is not over counts)."""
    now = ctx.clock.now()
    q = select(Booking).where(Booking.housekeeper_id == housekeeper_id, Booking.ends_at > now - timedelta(hours=12))
    going = session.scalar(q.where(Booking.status == "in_progress").order_by(Booking.starts_at))
    return going or session.scalar(q.where(Booking.status == "confirmed", Booking.ends_at > now)
                                   .order_by(Booking.starts_at))


def job_view(ctx: Context, session: Session, b: Booking) -> dict[str, Any]:
    """Her job card: full client phone while the job is hers, and what she may do now."""
    client = session.get(Client, b.client_id)
    now, p = ctx.clock.now(), ctx.day_of_job
    mine = b.status in HERS
    view = {**_housekeeper_params(b, client), "status": b.status, "late_minutes": b.late_minutes,
            "standing_notes": [{"code": n.get("code"), "text": n.get("text")} for n in b.standing_notes or []
                               if isinstance(n, dict)],
            "booking_notes": b.notes or "", "checkin_opens_at": p.checkin_opens(b.starts_at).isoformat(),
            "arrived_at": b.arrived_at.isoformat() if b.arrived_at else None,
            "can_arrive": b.status == "confirmed" and p.may_check_in(b.starts_at, now),
            "can_finish": b.status == "in_progress", "can_be_late": b.status == "confirmed",
            "can_cancel": b.status == "confirmed", "late_choices": list(p.late_choices)}
    if not mine:
        from backend.services.offers import mask_phone

        view["client_phone"] = mask_phone(client.phone if client else None)
    return view


def times(b: Booking) -> dict[str, Any]:
    """Booked against worked time, for managers: arrival, lateness, finish."""
    return {"booked_minutes": int((b.ends_at - b.starts_at).total_seconds() // 60),
            "arrived_at": b.arrived_at.isoformat() if b.arrived_at else None,
            "finished_at": b.finished_at.isoformat() if b.finished_at else None,
            "worked_minutes": worked_minutes(b.arrived_at, b.finished_at), "late_minutes": b.late_minutes,
            "finished_by": b.finished_by}
