"""A case's clock as durable timers: re-alerts while unclaimed, a warning, the breach, repeated alerts.

Timer keys are ``case:{id}:{kind}:{due epoch}``: idempotent per moment, and a re-armed clock (severity
changed, case reopened) gets fresh keys. Every handler re-checks the case, so a timer whose reason
is gone (claimed, answered, closed, acknowledged) does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.cases import ClockPolicy, move
from backend.orm import CaseEvent, Escalation, Notification, Timer
from backend.services import Context, case_cards, timers
from backend.services.outbox import on_delivered

REALERT, WARN, DUE, REPEAT, EMERGENCY = "case_realert", "case_warn", "case_due", "case_repeat", "emergency_repeat"
FIRST_RESPONSE_TIMERS = (REALERT, WARN, DUE)


def clock_kind(esc: Escalation) -> str:
    """The policy a case runs on: a client who was not satisfied puts it on the ``satisfaction`` clock."""
    return "satisfaction" if esc.satisfied is False else esc.kind


def _key(esc: Escalation, kind: str, due: datetime) -> str:
    return f"case:{esc.id}:{kind}:{due.timestamp():.0f}"


def arm(session: Session, esc: Escalation, kind: str, due: datetime) -> None:
    """Schedule (or revive a cancelled) timer for this moment."""
    key = _key(esc, kind, due)
    t = session.scalar(select(Timer).where(Timer.key == key))
    if t is None:
        timers.schedule(session, kind, esc.id, due, key)
    elif t.status == "cancelled":
        t.status = "pending"


def disarm(session: Session, esc: Escalation, *kinds: str) -> None:
    """Cancel the case's pending timers of these kinds (one a worker is running is skipped: it re-checks)."""
    for kind in kinds:
        for t in session.scalars(select(Timer).where(Timer.key.like(f"case:{esc.id}:{kind}:%"),
                                                     Timer.status == "pending").with_for_update(skip_locked=True)):
            t.status = "cancelled"


def start(ctx: Context, session: Session, esc: Escalation, opened: datetime) -> None:
    """Set the first-response deadline from the policy and arm the timers (the case is flushed)."""
    dl = ctx.cases.deadlines(clock_kind(esc), esc.severity, opened, ctx.desk)
    esc.first_response_due_at = dl.due
    disarm(session, esc, *FIRST_RESPONSE_TIMERS)
    arm(session, esc, DUE, dl.due)
    if dl.warn is not None and dl.warn < dl.due:
        arm(session, esc, WARN, dl.warn)
    if esc.kind == "emergency":
        arm(session, esc, EMERGENCY, opened + ctx.cases.emergency_repeat)
    elif dl.realert is not None and esc.status == "open":
        at = _realert_time(ctx, dl.realert, dl.due)
        if at < dl.due:
            arm(session, esc, REALERT, at)


def _realert_time(ctx: Context, at: datetime, due: datetime | None) -> datetime:
    """Nobody is at the desk overnight: a re-alert falling outside desk hours waits for the opening,
    unless the promise runs out before that (a 1-hour promise at 23:00 keeps alerting)."""
    if ctx.desk is None or ctx.desk.is_open(at):
        return at
    opening = ctx.desk.next_open(at)
    return opening if due is None or opening < due else at


def event(session: Session, esc: Escalation, now: datetime, actor: str, kind: str, **detail: object) -> None:
    session.add(CaseEvent(case_id=esc.id, at=now, actor=actor, kind=kind, detail=detail))


def first_response(session: Session, esc: Escalation, now: datetime, actor: str, how: str) -> bool:
    """The first message that reached the client (or a logged call) stops the clock; False if it was
    already stopped or the case is closed."""
    if esc.first_response_at is not None or esc.status == "closed":
        return False
    esc.first_response_at = now
    esc.status = move(esc.status, "answered")
    disarm(session, esc, *FIRST_RESPONSE_TIMERS)
    event(session, esc, now, actor, "first_response", how=how)
    case_cards.update_cards(session, esc, "answered", now)
    return True


@on_delivered("manager_message")
def _manager_message_delivered(session: Session, now: datetime, n: Notification) -> None:
    case_id = (n.params or {}).get("case_id")
    if not case_id:
        return
    esc = session.get(Escalation, int(case_id), with_for_update=True)
    if esc is not None and n.person_kind == "client" and esc.client_id == n.person_id:
        first_response(session, esc, now, "system", "message")


def _case(session: Session, case_id: int) -> Escalation | None:
    esc = session.get(Escalation, case_id, with_for_update=True)
    return None if esc is None or esc.status == "closed" else esc


def _policy(ctx: Context, esc: Escalation) -> ClockPolicy:
    return ctx.cases.clock(clock_kind(esc), esc.severity)


@timers.handler(REALERT)
def case_realert(ctx: Context, session: Session, case_id: int) -> None:
    esc = _case(session, case_id)
    now = ctx.clock.now()
    if esc is None or esc.status != "open" or esc.first_response_at is not None:
        return
    due = esc.first_response_due_at
    if due is not None and now >= due:
        return  # the breach takes over
    case_cards.alert(ctx, session, esc, "realert", case_cards.recipients(ctx, session, esc.level, now), now)
    # the chain ends where the warning (or the breach) takes over: one alert per moment, not two
    warn = session.scalar(select(Timer.due_at).where(Timer.key.like(f"case:{esc.id}:{WARN}:%"),
                                                     Timer.status == "pending"))
    until = min(t for t in (due, warn) if t is not None) if (due or warn) else None
    every = _policy(ctx, esc).realert
    if every:
        nxt = _realert_time(ctx, now + every, due)
        if until is None or nxt < until:
            arm(session, esc, REALERT, nxt)


@timers.handler(WARN)
def case_warn(ctx: Context, session: Session, case_id: int) -> None:
    esc = _case(session, case_id)
    now = ctx.clock.now()
    if esc is None or esc.first_response_at is not None or esc.breached_at is not None:
        return
    event(session, esc, now, "system", "warn")
    case_cards.alert(ctx, session, esc, "warn", case_cards.audience(ctx, session, esc, now), now)


@timers.handler(DUE)
def case_due(ctx: Context, session: Session, case_id: int) -> None:
    """No first response by the due time: a breach, recorded, and the next level alerted (with the owner)."""
    esc = _case(session, case_id)
    now = ctx.clock.now()
    if esc is None or esc.first_response_at is not None or esc.breached_at is not None:
        return
    if esc.first_response_due_at is not None and now < esc.first_response_due_at:
        return  # a stale timer from before the deadline moved
    esc.breached_at, esc.level = now, esc.level + 1
    disarm(session, esc, REALERT, WARN)
    event(session, esc, now, "system", "breach", level=esc.level)
    _breach_alert(ctx, session, esc, "breach", now)
    every = _policy(ctx, esc).repeat
    if every:
        arm(session, esc, REPEAT, now + every)


def _breach_alert(ctx: Context, session: Session, esc: Escalation, reason: str, now: datetime) -> None:
    to = case_cards.recipients(ctx, session, esc.level, now)
    owner = case_cards.audience(ctx, session, esc, now) if esc.manager_id else []
    case_cards.alert(ctx, session, esc, reason, to + [m for m in owner if m not in to], now, urgent=True)


@timers.handler(REPEAT)
def case_repeat(ctx: Context, session: Session, case_id: int) -> None:
    esc = _case(session, case_id)
    now = ctx.clock.now()
    if esc is None or esc.breached_at is None or esc.breach_acknowledged_at is not None:
        return
    _breach_alert(ctx, session, esc, "repeat", now)
    every = _policy(ctx, esc).repeat
    if every:
        arm(session, esc, REPEAT, now + every)


@timers.handler(EMERGENCY)
def emergency_repeat(ctx: Context, session: Session, case_id: int) -> None:
    esc = _case(session, case_id)
    now = ctx.clock.now()
    if esc is None or esc.acknowledged_at is not None or esc.breached_at is not None:
        return  # after the breach the breach's repeats alert the next level: one alarm, not two
    case_cards.alert(ctx, session, esc, "repeat", case_cards.recipients(ctx, session, esc.level, now), now,
                     urgent=True)
    arm(session, esc, EMERGENCY, now + ctx.cases.emergency_repeat)
