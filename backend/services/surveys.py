"""Call-back surveys (回访): scheduled when a job is finished, sent, reminded and closed by durable timers,
answered by the client (in a survey or unasked), opening a follow-up case when the scores ask for one.

Timers (all re-check the survey's state when they fire, and never send inside quiet hours):
- ``survey_send``   at ctx.surveys.send_time(finished_at): the survey goes to the client;
- ``survey_remind`` at out_of_quiet(sent_at + remind_after): one reminder, only when unanswered;
- ``survey_close``  at closes_at (sent_at + close_after): unanswered → expired;
- ``job_auto_finish`` at the booked end (or the arrival plus the booked length) + auto_finish_grace: a job
  checked in to and never finished is finished then, the survey scheduled and the managers told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.contact import first_name
from backend.domain.surveys import DIMENSIONS, OPEN, valid_score
from backend.orm import Booking, Client, Escalation, Housekeeper, Survey
from backend.services import Context, DomainError, case_cards, cases, ratings, timers
from backend.services.audit import record
from backend.services.offers import set_status
from backend.services.outbox import notify, stale_when

SEND, REMIND, CLOSE, AUTO_FINISH = "survey_send", "survey_remind", "survey_close", "job_auto_finish"
COMMENT_MAX = 1000
HONORIFICS = ("阿姨", "大姐", "姐姐", "姐", "师傅", "老师", "auntie", "aunty", "aunt", "ms.", "mrs.", "ms", "mrs",
              "miss")


# --- names ---------------------------------------------------------------------------------------


def _name_key(text: str) -> str:
    """"赵阿姨" / "Auntie Zhao" / "zhao" → the part that names her ("赵", "zhao")."""
    key = text.strip().lower()
    for h in HONORIFICS:
        key = key.removeprefix(h).removesuffix(h).strip()
    return key


def name_matches(query: str, name: str) -> bool:
    key = _name_key(query)
    if not key:
        return False
    full = name.strip().lower()
    return full.startswith(key) or key in full.split() or _name_key(first_name(name)) == key


# --- scheduling ----------------------------------------------------------------------------------
def survey_of(session: Session, booking_id: int, *, lock: bool = False) -> Survey | None:
    """The booking's latest survey (a placement's end-of-term occurrence 1 comes after its check-ins)."""
    q = select(Survey).where(Survey.booking_id == booking_id).order_by(Survey.id.desc()).limit(1)
    return session.scalar(q.with_for_update() if lock else q)


def schedule(ctx: Context, session: Session, b: Booking) -> Survey | None:
    """The survey of a finished job (occurrence 1), armed to go out after the delay; the existing one
    when there is one. Jobs that are not completed get none."""
    if b.status != "completed" or b.finished_at is None:
        return None
    # occurrence 1 is the job's own survey; a placement's check-ins (2, 3, …) may exist already
    existing = session.scalar(select(Survey).where(Survey.booking_id == b.id, Survey.occurrence == 1))
    if existing is not None:
        return existing
    send_at = ctx.surveys.send_time(b.finished_at, ctx.tz)
    sv = Survey(booking_id=b.id, occurrence=1, client_id=b.client_id, housekeeper_id=b.housekeeper_id,
                status="scheduled", source="survey", send_at=send_at, created_at=ctx.clock.now())
    session.add(sv)
    session.flush()
    timers.schedule(session, SEND, sv.id, send_at, f"survey:{sv.id}:send")
    return sv


def finished(ctx: Context, session: Session, b: Booking, by: str) -> Survey | None:
    """A job just moved to completed: stamp who/when, stop the auto-finish timer, schedule the survey."""
    b.finished_at, b.finished_by = ctx.clock.now(), by
    timers.cancel(session, f"job:{b.id}:auto_finish")
    return schedule(ctx, session, b)


def arm_auto_finish(ctx: Context, session: Session, b: Booking) -> None:
    """At check-in: finish the job by itself if she forgets. A late arrival keeps the booked length."""
    now = ctx.clock.now()
    end = max(b.ends_at, now + (b.ends_at - b.starts_at))
    timers.schedule(session, AUTO_FINISH, b.id, end + ctx.surveys.auto_finish_grace, f"job:{b.id}:auto_finish")


@timers.handler(AUTO_FINISH)
def _auto_finish(ctx: Context, session: Session, booking_id: int) -> None:
    b = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if b is None or b.status != "in_progress":
        return  # finished by hand (or never started): nothing to do
    now = ctx.clock.now()
    set_status(ctx, session, b, "completed", "auto")
    finished(ctx, session, b, "auto")
    notify(session, now, "client", b.client_id, "job_finished", f"job:{b.id}:job_finished",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service)
    hk = session.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
    for m in case_cards.recipients(ctx, session, 0, now):
        notify(session, now, "manager", m.id, "job_auto_finished", f"job:{b.id}:auto_finished:{m.id}",
               subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
               ends_at=b.ends_at.isoformat(), housekeeper=hk.name if hk else "",
               housekeeper_code=hk.code if hk else "", finished_at=now.isoformat())


# --- the survey's clock --------------------------------------------------------------------------
def _requiet(ctx: Context, session: Session, kind: str, sv: Survey, what: str) -> bool:
    """Inside quiet hours now (a late worker, a changed policy): re-arm for the morning and say so."""
    now = ctx.clock.now()
    at = ctx.surveys.out_of_quiet(now, ctx.tz)
    if at <= now:
        return False
    timers.schedule(session, kind, sv.id, at, f"survey:{sv.id}:{what}:{at.isoformat()}")
    return True


def _next_step(sv: Survey) -> str | None:
    return next((d for d in DIMENSIONS if getattr(sv, d) is None), None)


def _open_now(ctx: Context, session: Session, sv: Survey) -> None:
    """The survey is put to the client now: the answer window opens, reminder and close are armed."""
    now = ctx.clock.now()
    sv.status, sv.sent_at, sv.closes_at = "sent", now, now + ctx.surveys.close_after
    sv.step = _next_step(sv) or "comment"
    remind_at = ctx.surveys.out_of_quiet(now + ctx.surveys.remind_after, ctx.tz)
    if remind_at < sv.closes_at:
        timers.schedule(session, REMIND, sv.id, remind_at, f"survey:{sv.id}:remind")
    timers.schedule(session, CLOSE, sv.id, sv.closes_at, f"survey:{sv.id}:close")


def _message_params(session: Session, sv: Survey) -> dict[str, Any]:
    b = session.get(Booking, sv.booking_id)
    hk = session.get(Housekeeper, sv.housekeeper_id) if sv.housekeeper_id else None
    return {"survey_id": sv.id, "booking_id": sv.booking_id, "service": b.service if b else "",
            "starts_at": b.starts_at.isoformat() if b else None, "housekeeper": first_name(hk.name if hk else ""),
            "step": sv.step}


@timers.handler(SEND)
def _send(ctx: Context, session: Session, survey_id: int) -> None:
    sv = session.get(Survey, survey_id, with_for_update=True, populate_existing=True)
    if sv is None or sv.status != "scheduled":
        return  # answered unasked meanwhile, or cancelled
    b = session.get(Booking, sv.booking_id)
    client = session.get(Client, sv.client_id)
    checkin = sv.occurrence > 1 and b is not None and b.status == "in_progress"  # a placement's check-in
    if b is None or (b.status != "completed" and not checkin) or client is None or client.erased_at is not None:
        sv.status = "cancelled"
        return
    if _requiet(ctx, session, SEND, sv, "send"):
        return
    _open_now(ctx, session, sv)
    notify(session, ctx.clock.now(), "client", sv.client_id, "survey", f"survey:{sv.id}:sent",
           subject=f"booking:{sv.booking_id}", **_message_params(session, sv))


@timers.handler(REMIND)
def _remind(ctx: Context, session: Session, survey_id: int) -> None:
    sv = session.get(Survey, survey_id, with_for_update=True, populate_existing=True)
    if sv is None or sv.status != "sent" or sv.reminded_at is not None:
        return  # answered, closed or already reminded: one reminder at most
    now = ctx.clock.now()
    if sv.closes_at is not None and now >= sv.closes_at:
        return
    if _requiet(ctx, session, REMIND, sv, "remind"):
        return
    sv.status, sv.reminded_at = "reminded", now
    notify(session, now, "client", sv.client_id, "survey_reminder", f"survey:{sv.id}:reminded",
           subject=f"booking:{sv.booking_id}", **_message_params(session, sv))


@timers.handler(CLOSE)
def _close(ctx: Context, session: Session, survey_id: int) -> None:
    sv = session.get(Survey, survey_id, with_for_update=True, populate_existing=True)
    if sv is None or sv.status not in OPEN:
        return
    sv.status, sv.step = "expired", None
    record(session, ctx.clock.now(), "survey", sv.id, "open", "expired", "system")
    # Scores given before it closed still say something: a low one is followed up all the same.
    _followup(ctx, session, sv)


@stale_when("survey")
def _survey_stale(session: Session, params: dict[str, Any]) -> bool:
    sv = session.get(Survey, params.get("survey_id") or 0)
    return sv is None or sv.status not in OPEN  # answered unasked (or closed) before it reached the client


@stale_when("survey_reminder")
def _reminder_stale(session: Session, params: dict[str, Any]) -> bool:
    sv = session.get(Survey, params.get("survey_id") or 0)
    return sv is None or sv.status != "reminded"


# --- answers -------------------------------------------------------------------------------------
def scores_of(sv: Survey) -> dict[str, int]:
    return {d: getattr(sv, d) for d in DIMENSIONS if getattr(sv, d) is not None}


def client_survey(session: Session, client_id: int, survey_id: int) -> Survey:
    sv = session.get(Survey, survey_id, with_for_update=True, populate_existing=True)
    if sv is None or sv.client_id != client_id:
        raise DomainError("survey_not_found")
    return sv


def awaiting(session: Session, client_id: int) -> Survey | None:
    """The survey awaiting this client's answer (the latest sent or reminded one)."""
    return session.scalar(select(Survey).where(Survey.client_id == client_id, Survey.status.in_(OPEN))
                          .order_by(Survey.sent_at.desc(), Survey.id.desc()).limit(1))


def _check_scores(scores: dict[str, Any] | None) -> dict[str, int]:
    clean = {}
    for d, v in (scores or {}).items():
        if d not in DIMENSIONS or not valid_score(v):
            raise DomainError("invalid_score")
        clean[d] = v
    return clean


def answer(ctx: Context, session: Session, client_id: int, survey_id: int, scores: dict[str, int] | None = None,
           comment: str | None = None, skip_comment: bool = False) -> Survey:
    """Merge scores and a comment into the survey (one row however often it is answered)."""
    sv = client_survey(session, client_id, survey_id)
    return _apply(ctx, session, sv, _check_scores(scores), comment, skip_comment)


def _apply(ctx: Context, session: Session, sv: Survey, scores: dict[str, int], comment: str | None,
           skip_comment: bool) -> Survey:
    if sv.status == "cancelled":
        raise DomainError("survey_closed")
    now = ctx.clock.now()
    comment = (comment or "").strip()[:COMMENT_MAX] or None
    if sv.status == "scheduled":  # answered before it was sent (feedback typed unasked): open it now
        _open_now(ctx, session, sv)
    changed = any(getattr(sv, d) != v for d, v in scores.items())
    for d, v in scores.items():
        setattr(sv, d, v)
    if comment is not None:
        sv.comment = comment
    first_done = False
    if _next_step(sv) is None and sv.answered_at is None:
        old, first_done = sv.status, True
        sv.status, sv.answered_at = "answered", now
        timers.cancel(session, f"survey:{sv.id}:remind")
        timers.cancel(session, f"survey:{sv.id}:close")
        record(session, now, "survey", sv.id, old, "answered", f"client:{sv.client_id}")
    missing = _next_step(sv)
    if missing is not None:
        sv.step = missing
    elif comment is not None or skip_comment:
        sv.step = None
    elif first_done:
        sv.step = "comment"
    if sv.answered_at is not None and (changed or first_done) and sv.housekeeper_id is not None:
        ratings.recompute(ctx, session, sv.housekeeper_id)
    if sv.answered_at is not None:
        _followup(ctx, session, sv, comment if not first_done else None)
    return sv


def _followup(ctx: Context, session: Session, sv: Survey, news: str | None = None) -> None:
    """Open the survey's follow-up case when its scores ask for one (once per survey); a comment
    arriving later joins the open case, so the manager calling back has it."""
    scores = scores_of(sv)
    if sv.followup_case_id is not None:
        esc = session.get(Escalation, sv.followup_case_id)
        if news and esc is not None and esc.status != "closed":
            cases.add_message(ctx, session, esc, f"client:{sv.client_id}", news, None)
        return
    if not ctx.surveys.needs_followup(scores):
        return
    b = session.get(Booking, sv.booking_id)
    hk = session.get(Housekeeper, sv.housekeeper_id) if sv.housekeeper_id else None
    esc, _ = cases.open_case(ctx, session, "followup", sv.client_id, sv.booking_id, text=sv.comment, actor="system",
                             survey_id=sv.id, scores=scores, housekeeper_id=sv.housekeeper_id,
                             housekeeper=hk.name if hk else None, housekeeper_code=hk.code if hk else None,
                             service=b.service if b else None,
                             starts_at=b.starts_at.isoformat() if b else None)
    sv.followup_case_id = esc.id


def feedback(ctx: Context, session: Session, client_id: int, booking_id: int, scores: dict[str, int] | None,
             comment: str | None = None) -> Survey:
    """Feedback typed outside a survey: it goes to that visit's survey (made now when there is none)."""
    clean = _check_scores(scores)
    b = session.get(Booking, booking_id)
    if b is None or b.client_id != client_id:
        raise DomainError("booking_not_found")
    if b.status != "completed":
        raise DomainError("not_finished")
    sv = survey_of(session, b.id, lock=True)
    if sv is None:
        now = ctx.clock.now()
        sv = Survey(booking_id=b.id, occurrence=1, client_id=client_id, housekeeper_id=b.housekeeper_id,
                    status="scheduled", source="client", send_at=now, created_at=now)
        session.add(sv)
        session.flush()
    return _apply(ctx, session, sv, clean, comment, skip_comment=False)


def offers(ctx: Context, session: Session, sv: Survey) -> list[str]:
    """What the client may be offered now (never one already done)."""
    if sv.housekeeper_id is None or _next_step(sv) is not None:
        return []
    client = session.get(Client, sv.client_id)
    done = {"never_again": set(client.never_again or []), "preferred": set(client.preferred or [])} if client else {}
    return [o for o in ctx.surveys.offers(scores_of(sv)) if sv.housekeeper_id not in done.get(o, set())]


def view(ctx: Context, session: Session, sv: Survey) -> dict[str, Any]:
    b = session.get(Booking, sv.booking_id)
    hk = session.get(Housekeeper, sv.housekeeper_id) if sv.housekeeper_id else None
    return {"id": sv.id, "booking_id": sv.booking_id, "occurrence": sv.occurrence, "status": sv.status,
            "step": sv.step, "attitude": sv.attitude, "skill": sv.skill, "result": sv.result, "comment": sv.comment,
            "housekeeper_id": sv.housekeeper_id, "housekeeper_name": first_name(hk.name if hk else ""),
            "service": b.service if b else None, "starts_at": b.starts_at.isoformat() if b else None,
            "followup_case_id": sv.followup_case_id, "offers": offers(ctx, session, sv)}


# --- which visit, which housekeeper ------------------------------------------------------------------
def finished_bookings(ctx: Context, session: Session, client_id: int, days: int = 30) -> list[Booking]:
    since = ctx.clock.now() - timedelta(days=days)
    return list(session.scalars(select(Booking).where(
        Booking.client_id == client_id, Booking.status == "completed", Booking.starts_at > since)
        .order_by(Booking.starts_at.desc(), Booking.id.desc())))


def booking_choice(session: Session, b: Booking) -> dict[str, Any]:
    hk = session.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
    sv = survey_of(session, b.id)
    return {"booking_id": b.id, "service": b.service, "starts_at": b.starts_at.isoformat(),
            "housekeeper_id": b.housekeeper_id, "housekeeper_name": first_name(hk.name if hk else ""),
            "survey_id": sv.id if sv else None, "survey_status": sv.status if sv else None}


def served(session: Session, client_id: int, housekeeper_id: int) -> bool:
    return session.scalar(select(Booking.id).where(
        Booking.client_id == client_id, Booking.housekeeper_id == housekeeper_id,
        Booking.status.in_(("in_progress", "completed"))).limit(1)) is not None


def set_preference(ctx: Context, session: Session, client_id: int, housekeeper_id: int, kind: str) -> Client:
    """never_again or preferred; each takes her off the other list (one cannot want both)."""
    client = session.get(Client, client_id, with_for_update=True)
    if client is None or not served(session, client_id, housekeeper_id):
        raise DomainError("not_your_housekeeper")
    other = "preferred" if kind == "never_again" else "never_again"
    mine = list(getattr(client, kind) or [])
    if housekeeper_id not in mine:
        setattr(client, kind, [*mine, housekeeper_id])  # a new list: JSON columns see reassignment only
    setattr(client, other, [h for h in (getattr(client, other) or []) if h != housekeeper_id])
    record(session, ctx.clock.now(), "client", client_id, None, kind, f"client:{client_id}",
           housekeeper_id=housekeeper_id)
    return client


def lists(session: Session, client: Client) -> dict[str, list[dict[str, Any]]]:
    def named(ids: list[int]) -> list[dict[str, Any]]:
        out = []
        for i in ids or []:
            hk = session.get(Housekeeper, i)
            out.append({"id": i, "name": first_name(hk.name if hk else "")})
        return out

    return {"never_again": named(client.never_again), "preferred": named(client.preferred)}


# --- managers ------------------------------------------------------------------------------------
def open_followups(session: Session) -> list[tuple[Escalation, Survey | None]]:
    """Follow-up cases not closed yet, the oldest due first, each with the survey behind it."""
    rows = list(session.scalars(select(Escalation).where(Escalation.kind == "followup",
                                                         Escalation.status != "closed")))
    rows.sort(key=lambda e: (e.first_response_due_at or e.created_at, e.id))
    out = []
    for e in rows:
        sv = session.scalar(select(Survey).where(Survey.followup_case_id == e.id).limit(1))
        out.append((e, sv))
    return out


def iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
