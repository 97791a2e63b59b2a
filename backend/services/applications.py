"""Job applications (我想应聘阿姨): recorded with encrypted personal fields, managers told at once and reminded
after ``FOLLOW_UP_WORKING_DAYS`` working days while nobody has contacted the applicant — the record and the
timer behind "our recruiting colleagues will contact you within N working days"."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import JobApplication
from backend.services import Context, DomainError
from backend.services.audit import record
from backend.services.case_cards import tell_managers
from backend.services.timers import cancel as cancel_timer
from backend.services.timers import handler, schedule

FOLLOW_UP_WORKING_DAYS = 2  # the promise the applicant reads (domain.d/applications.yml says the same N)
STATUSES = ("new", "contacted", "hired", "rejected")
DECISIONS = STATUSES[1:]
FINAL = ("hired", "rejected")  # decided: the personal fields go after the retention period
REMIND_AT = time(10)  # local time on the last promised working day: still time to call that day
REPEAT_WINDOW = timedelta(minutes=30)  # the same form confirmed twice (a double tap, a retry) is one application
NEW, REMINDER = "application_new", "application_reminder"


def _timer_key(app_id: int) -> str:
    return f"application:{app_id}:follow_up"


def services_text(ctx: Context, services: list[str] | None, lang: str) -> str:
    names = [ctx.catalogue[s].name.get(lang, s) if s in ctx.catalogue else s for s in services or []]
    return (", " if lang == "en" else "、").join(names) or "-"


def view(ctx: Context, a: JobApplication) -> dict[str, Any]:
    """The application as managers' templates read it: personal fields under names privacy.PERSONAL_PARAMS
    scrubs on erasure (client_name, phone, description, note)."""
    return {"application_id": a.id, "client_id": a.client_id, "status": a.status, "client_name": a.name or "—",
            "phone": a.phone or "—", "services": list(a.services or []),
            "services_zh": services_text(ctx, a.services, "zh"), "services_en": services_text(ctx, a.services, "en"),
            "description": a.experience or "—", "note": a.certificates or "—", "lang": a.lang,
            "days": FOLLOW_UP_WORKING_DAYS,
            "created_at": a.created_at.isoformat() if a.created_at else None,
            "due_at": follow_up_due(ctx, a).isoformat() if a.created_at else None}


def for_lang(params: dict[str, Any], lang: str | None) -> dict[str, Any]:
    """What one manager reads: ``services`` in her language (the codes stay under ``service_codes``)."""
    return {**params, "service_codes": params["services"],
            "services": params["services_en" if lang == "en" else "services_zh"]}


def follow_up_due(ctx: Context, a: JobApplication) -> datetime:
    """The end of the promise: midnight after the last promised working day."""
    return ctx.calendar.working_days_due(a.created_at, FOLLOW_UP_WORKING_DAYS, ctx.tz)


def reminder_at(ctx: Context, a: JobApplication) -> datetime:
    """10:00 local on the last promised working day: managers are reminded while they can still keep it."""
    day = ctx.calendar.add_working_days(a.created_at.astimezone(ctx.tz).date(), FOLLOW_UP_WORKING_DAYS)
    return datetime.combine(day, REMIND_AT, ctx.tz)


def submit(ctx: Context, session: Session, client_id: int | None, name: str, phone: str, services: list[str],
           experience: str, certificates: str, lang: str = "zh") -> JobApplication:
    """Record an application, alert managers, schedule the follow-up reminder. DomainError
    invalid_application when a field is missing or a service is not in the catalogue."""
    now = ctx.clock.now()
    if not (name or "").strip() or not (phone or "").strip() or not services \
            or any(s not in ctx.catalogue for s in services):
        raise DomainError("invalid_application")
    if client_id is not None:
        same = session.scalar(select(JobApplication).where(
            JobApplication.client_id == client_id, JobApplication.status == "new",
            JobApplication.created_at > now - REPEAT_WINDOW).order_by(JobApplication.id.desc()).limit(1))
        if same is not None and same.phone == phone.strip():
            return same
    a = JobApplication(client_id=client_id, name=name.strip()[:60], phone=phone.strip()[:32],
                       services=list(dict.fromkeys(services)), experience=(experience or "").strip()[:500],
                       certificates=(certificates or "").strip()[:500], lang=lang, status="new", created_at=now)
    session.add(a)
    session.flush()
    record(session, now, "job_application", a.id, None, "new", f"client:{client_id}")
    tell_managers(ctx, session, now, NEW, f"application:{a.id}:new", f"application:{a.id}",
                  partial(for_lang, view(ctx, a)))
    schedule(session, "application_follow_up", a.id, reminder_at(ctx, a), _timer_key(a.id))
    return a


@handler("application_follow_up")
def follow_up(ctx: Context, session: Session, app_id: int) -> None:
    """Still ``new`` on the morning of the last promised working day: every manager is reminded."""
    a = session.get(JobApplication, app_id, with_for_update=True)
    if a is None or a.status != "new":
        return
    tell_managers(ctx, session, ctx.clock.now(), REMINDER, f"application:{a.id}:reminder", f"application:{a.id}",
                  partial(for_lang, view(ctx, a)), urgent=True)


def listing(ctx: Context, session: Session, statuses: tuple[str, ...] = ("new",), limit: int = 20) -> list[dict]:
    return [view(ctx, a) for a in session.scalars(select(JobApplication).where(JobApplication.status.in_(statuses))
                                                  .order_by(JobApplication.id).limit(limit))]


def set_status(ctx: Context, session: Session, app_id: int, manager_id: int, status: str) -> JobApplication:
    """contacted | hired | rejected. DomainError application_not_found / invalid_status."""
    if status not in DECISIONS:
        raise DomainError("invalid_status")
    a = session.get(JobApplication, app_id, with_for_update=True)
    if a is None:
        raise DomainError("application_not_found")
    now = ctx.clock.now()
    old, a.status, a.manager_id, a.decided_at = a.status, status, manager_id, now
    cancel_timer(session, _timer_key(a.id))  # someone has dealt with it: no reminder
    record(session, now, "job_application", a.id, old, status, f"manager:{manager_id}")
    return a


# --- privacy (backend/services/privacy.py erase/export, backend/services/retention.py) ----------------
def prune(session: Session, cutoff: datetime) -> int:
    """Hired or rejected before ``cutoff``: name, phone, experience and certificates go (the row, its
    services and dates stay for the figures). Returns the applications cleared."""
    cleared = 0
    for a in session.scalars(select(JobApplication).where(
            JobApplication.status.in_(FINAL), JobApplication.decided_at < cutoff,
            JobApplication.name.is_not(None) | JobApplication.phone.is_not(None)
            | JobApplication.experience.is_not(None) | JobApplication.certificates.is_not(None))):
        a.name = a.phone = a.experience = a.certificates = None
        cleared += 1
    return cleared


def erase_client(session: Session, client_id: int) -> None:
    for a in session.scalars(select(JobApplication).where(JobApplication.client_id == client_id)):
        a.name = a.phone = a.experience = a.certificates = None
        cancel_timer(session, _timer_key(a.id))


def export_client(session: Session, client_id: int) -> list[dict[str, Any]]:
    return [{"id": a.id, "name": a.name, "phone": a.phone, "services": list(a.services or []),
             "experience": a.experience, "certificates": a.certificates, "status": a.status,
             "created_at": a.created_at.isoformat() if a.created_at else None,
             "decided_at": a.decided_at.isoformat() if a.decided_at else None}
            for a in session.scalars(select(JobApplication).where(JobApplication.client_id == client_id)
                                     .order_by(JobApplication.id))]
