"""The butler's clock (issue 12; rules in backend/domain/butler.py, figures in config/butler.yaml).

A butler client's request (客厅漏水了) becomes a ``ButlerRequest`` with two stored due times — someone on
site by ``onsite_due_at`` and a first plan by ``plan_due_at`` — each backed by a durable timer:
- ``butler_onsite`` at the on-site due time: nobody marked on site → a ``butler_breach`` case (urgent to
  the on-duty managers), the client told the team is on it, the butler pinged;
- ``butler_plan`` at the plan due time: no plan → the same case one level up (or a new one).
Every handler re-reads the request, so a timer whose reason is gone (on site, planned, cancelled) says
nothing. The butler marks on site and posts the plan, which the client receives; closing needs the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.butler import LIVE, covers, may_move
from backend.domain.contact import first_name
from backend.orm import AccessLog, Booking, ButlerRequest, Client, Escalation, Housekeeper, Manager, Placement
from backend.services import Context, DomainError, case_cards, case_clock, cases, timers
from backend.services.audit import record
from backend.services.outbox import notify, stale_when

ONSITE, PLAN = "butler_onsite", "butler_plan"


@dataclass(frozen=True)
class Contract:
    """What makes a client a butler client now: the placement or the booking, and the assigned butler."""

    butler_id: int
    placement_id: int | None = None
    booking_id: int | None = None


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def contract(ctx: Context, session: Session, client_id: int) -> Contract | None:
    """The client's butler contract now: a butler placement (trial or active, term covering today, with a
    butler assigned), else a butler booking (confirmed or in progress) covering now; None otherwise."""
    p, now = ctx.butler, ctx.clock.now()
    today = now.astimezone(ctx.tz).date()
    for pl in session.scalars(select(Placement).where(
            Placement.client_id == client_id, Placement.service.in_(p.services),
            Placement.status.in_(p.placement_states), Placement.housekeeper_id.is_not(None))
            .order_by(Placement.start_date.desc(), Placement.id.desc())):
        if covers(pl.start_date, pl.end_date, today):
            return Contract(int(pl.housekeeper_id or 0), placement_id=pl.id)
    # a placement's term booking counts only through its placement: an ended trial's booking does not
    ended_terms = select(Placement.booking_id).where(Placement.booking_id.is_not(None),
                                                     Placement.status.not_in(p.placement_states))
    b = session.scalar(select(Booking).where(
        Booking.client_id == client_id, Booking.service.in_(p.services), Booking.status.in_(p.booking_states),
        Booking.housekeeper_id.is_not(None), Booking.starts_at <= now, Booking.ends_at > now,
        Booking.id.not_in(ended_terms)).order_by(Booking.starts_at.desc()).limit(1))
    return Contract(int(b.housekeeper_id or 0), booking_id=b.id) if b is not None else None


def contract_view(ctx: Context, session: Session, client_id: int) -> dict[str, Any] | None:
    """{"butler_id", "butler" (first name), "placement_id", "booking_id"} of ``contract``, or None."""
    k = contract(ctx, session, client_id)
    if k is None:
        return None
    hk = session.get(Housekeeper, k.butler_id)
    return {"butler_id": k.butler_id, "butler": first_name(hk.name) if hk else "",
            "placement_id": k.placement_id, "booking_id": k.booking_id}


def view(session: Session, r: ButlerRequest) -> dict[str, Any]:
    hk = session.get(Housekeeper, r.butler_id) if r.butler_id else None
    return {"id": r.id, "client_id": r.client_id, "placement_id": r.placement_id, "booking_id": r.booking_id,
            "butler_id": r.butler_id, "butler": first_name(hk.name) if hk else None, "text": r.text,
            "lang": r.lang, "status": r.status, "created_at": _iso(r.created_at),
            "onsite_due_at": _iso(r.onsite_due_at), "onsite_at": _iso(r.onsite_at),
            "plan_due_at": _iso(r.plan_due_at), "plan_at": _iso(r.plan_at), "plan": r.plan,
            "case_id": r.case_id, "closed_at": _iso(r.closed_at)}


def _client_params(session: Session, r: ButlerRequest) -> dict[str, Any]:
    hk = session.get(Housekeeper, r.butler_id) if r.butler_id else None
    return {"request_id": r.id, "butler": first_name(hk.name) if hk else "", "onsite_due_at": _iso(r.onsite_due_at),
            "plan_due_at": _iso(r.plan_due_at), "text": r.text}


def _staff_params(session: Session, r: ButlerRequest) -> dict[str, Any]:
    """What the butler and the managers need to act: the client's words, name, phone and address."""
    c = session.get(Client, r.client_id)
    address = c.address if c else None
    if not address and r.placement_id:
        pl = session.get(Placement, r.placement_id)
        address = pl.address if pl else None
    if not address and r.booking_id:
        b = session.get(Booking, r.booking_id)
        address = b.address if b else None
    hk = session.get(Housekeeper, r.butler_id) if r.butler_id else None
    return {"request_id": r.id, "text": r.text, "client_name": (c.name if c else None) or "",
            "client_phone": (c.phone if c else None) or "", "address": address or "-",
            "butler_name": hk.name if hk else "", "butler_code": hk.code if hk else "",
            "onsite_due_at": _iso(r.onsite_due_at), "plan_due_at": _iso(r.plan_due_at), "status": r.status}


def _tell_managers(ctx: Context, session: Session, r: ButlerRequest, now: datetime, template: str, key: str,
                   *, urgent: bool = False, **extra: Any) -> None:
    """The on-duty managers (as cases pick them), each view logged: it shows the client's phone and address."""
    params = {**_staff_params(session, r), **extra}
    for mid in case_cards.tell_managers(ctx, session, now, template, key, f"butler:{r.id}",
                                        lambda _lang: params, urgent=urgent):
        session.add(AccessLog(at=now, actor=f"manager:{mid}", client_id=r.client_id, what=template,
                              ref=f"butler:{r.id}"))


def _get(session: Session, request_id: int) -> ButlerRequest:
    r = session.get(ButlerRequest, request_id, with_for_update=True, populate_existing=True)
    if r is None:
        raise DomainError("butler_request_not_found")
    return r


def _move(session: Session, r: ButlerRequest, new: str, now: datetime, actor: str, **detail: Any) -> None:
    if r.status == new and new != "planned":
        return
    if not may_move(r.status, new):
        raise DomainError(f"butler_request_{r.status}")
    record(session, now, "butler_request", r.id, r.status, new, actor, **detail)
    r.status = new


def _on_case(session: Session, r: ButlerRequest, now: datetime, actor: str, event: str, **detail: Any) -> None:
    """What happened on a request whose clock was missed goes on its case's timeline (cards refreshed)."""
    esc = session.get(Escalation, r.case_id) if r.case_id else None
    if esc is not None and esc.status != "closed":
        case_clock.event(session, esc, now, actor, event, request_id=r.id, **detail)
        case_cards.update_cards(session, esc, event, now)


# --- the client -----------------------------------------------------------------------------------
def raise_request(ctx: Context, session: Session, client_id: int, text: str,
                  lang: str | None = None) -> ButlerRequest:
    """A butler client's request: stored with both due times, timers armed, the butler (urgent, with
    buttons) and the on-duty managers told. DomainError not_butler_client / butler_text_empty /
    butler_too_many_open."""
    p, now = ctx.butler, ctx.clock.now()
    words = (text or "").strip()[:p.text_max_chars]
    if not words:
        raise DomainError("butler_text_empty")
    k = contract(ctx, session, client_id)
    if k is None:
        raise DomainError("not_butler_client")
    open_now = session.scalar(select(func.count(ButlerRequest.id)).where(
        ButlerRequest.client_id == client_id, ButlerRequest.status.in_(LIVE)))
    if (open_now or 0) >= p.max_open_per_client:
        raise DomainError("butler_too_many_open")
    c = session.get(Client, client_id)
    r = ButlerRequest(client_id=client_id, placement_id=k.placement_id, booking_id=k.booking_id,
                      butler_id=k.butler_id, text=words, lang=lang or (c.lang if c else "zh"), status="open",
                      created_at=now, onsite_due_at=p.onsite_due(now), plan_due_at=p.plan_due(now))
    session.add(r)
    session.flush()
    record(session, now, "butler_request", r.id, None, "open", f"client:{client_id}", butler_id=k.butler_id)
    timers.schedule(session, ONSITE, r.id, r.onsite_due_at, f"butler:{r.id}:onsite")
    timers.schedule(session, PLAN, r.id, r.plan_due_at, f"butler:{r.id}:plan")
    notify(session, now, "housekeeper", k.butler_id, "butler_request_new", f"butler:{r.id}:new",
           subject=f"butler:{r.id}", urgent=True, **_staff_params(session, r))
    if p.tell_managers:
        _tell_managers(ctx, session, r, now, "butler_request_manager", f"butler:{r.id}:new")
    return r


def client_requests(session: Session, client_id: int, live_only: bool = True) -> list[ButlerRequest]:
    q = select(ButlerRequest).where(ButlerRequest.client_id == client_id)
    if live_only:
        q = q.where(ButlerRequest.status.in_(LIVE))
    return list(session.scalars(q.order_by(ButlerRequest.id.desc()).limit(10)))


def cancel(ctx: Context, session: Session, client_id: int, request_id: int) -> ButlerRequest:
    """The client no longer needs it: timers off, the butler told (and the case's timeline, if any)."""
    r = _get(session, request_id)
    if r.client_id != client_id:
        raise DomainError("butler_request_not_found")
    now, actor = ctx.clock.now(), f"client:{client_id}"
    _move(session, r, "cancelled", now, actor)
    r.closed_at = now
    _disarm(session, r)
    if r.butler_id:
        notify(session, now, "housekeeper", r.butler_id, "butler_request_cancelled", f"butler:{r.id}:cancelled",
               subject=f"butler:{r.id}", request_id=r.id, text=r.text)
    _on_case(session, r, now, actor, "butler_cancelled")
    return r


def _disarm(session: Session, r: ButlerRequest, *which: str) -> None:
    for kind in which or ("onsite", "plan"):
        timers.cancel(session, f"butler:{r.id}:{kind}")


# --- the butler (or a manager) ---------------------------------------------------------------------
def _may_act(session: Session, r: ButlerRequest, actor_kind: str, actor_id: int) -> str:
    """Her own request, or any active manager; returns the actor string for the record."""
    if actor_kind == "housekeeper" and r.butler_id == actor_id:
        return f"housekeeper:{actor_id}"
    if actor_kind == "manager":
        m = session.get(Manager, actor_id)
        if m is not None and m.status != "deactivated":
            return f"manager:{actor_id}"
    raise DomainError("not_your_butler_request")


def mark_onsite(ctx: Context, session: Session, actor_kind: str, actor_id: int, request_id: int) -> ButlerRequest:
    """已到场: stamped, the on-site timer off, the client told. A second tap changes nothing."""
    r = _get(session, request_id)
    actor = _may_act(session, r, actor_kind, actor_id)
    if r.onsite_at is not None:
        return r
    if r.status not in LIVE:
        raise DomainError(f"butler_request_{r.status}")
    now = ctx.clock.now()
    r.onsite_at = now
    if r.status == "open":
        _move(session, r, "on_site", now, actor)
    _disarm(session, r, "onsite")
    notify(session, now, "client", r.client_id, "butler_onsite_client", f"butler:{r.id}:onsite",
           subject=f"butler:{r.id}", **_client_params(session, r))
    late = max(0, int((now - r.onsite_due_at).total_seconds() // 60))
    _on_case(session, r, now, actor, "butler_onsite", note=f"+{late} min" if late else None)
    return r


def prompt_plan(ctx: Context, session: Session, butler_id: int, request_id: int) -> ButlerRequest:
    """She tapped "post plan": her next text is taken as the plan (see ``prompted``)."""
    r = _get(session, request_id)
    _may_act(session, r, "housekeeper", butler_id)
    if r.status not in LIVE:
        raise DomainError(f"butler_request_{r.status}")
    r.plan_prompted_at = ctx.clock.now()
    return r


def prompted(ctx: Context, session: Session, butler_id: int) -> ButlerRequest | None:
    """Her request waiting for the text she was asked for, within ``plan_reply_minutes`` of the tap."""
    since = ctx.clock.now() - timedelta(minutes=ctx.butler.plan_reply_minutes)
    return session.scalar(select(ButlerRequest).where(
        ButlerRequest.butler_id == butler_id, ButlerRequest.status.in_(LIVE),
        ButlerRequest.plan_prompted_at.is_not(None), ButlerRequest.plan_prompted_at >= since)
        .order_by(ButlerRequest.plan_prompted_at.desc()).limit(1))


def post_plan(ctx: Context, session: Session, actor_kind: str, actor_id: int, request_id: int,
              text: str) -> ButlerRequest:
    """The plan (with an estimated fix time) goes to the client; the plan timer is off. A later plan
    replaces it and is sent too (an update)."""
    words = (text or "").strip()[:2000]
    if not words:
        raise DomainError("butler_plan_empty")
    r = _get(session, request_id)
    actor = _may_act(session, r, actor_kind, actor_id)
    if r.status not in LIVE:
        raise DomainError(f"butler_request_{r.status}")
    now = ctx.clock.now()
    first = r.plan_at is None
    r.plan, r.plan_at, r.plan_prompted_at = words, r.plan_at or now, None
    _move(session, r, "planned", now, actor, first=first)
    _disarm(session, r, "plan")
    notify(session, now, "client", r.client_id, "butler_plan_client" if first else "butler_plan_update_client",
           f"butler:{r.id}:plan:{now.isoformat()}", subject=f"butler:{r.id}", plan=words,
           **_client_params(session, r))
    _on_case(session, r, now, actor, "butler_plan", text=words)
    return r


def close(ctx: Context, session: Session, actor_kind: str, actor_id: int, request_id: int) -> ButlerRequest:
    """Done: only once a plan was posted (DomainError butler_plan_missing); the client told."""
    r = _get(session, request_id)
    actor = _may_act(session, r, actor_kind, actor_id)
    if r.status == "closed":
        return r
    if r.plan_at is None:
        raise DomainError("butler_plan_missing")
    now = ctx.clock.now()
    _move(session, r, "closed", now, actor)
    r.closed_at = now
    _disarm(session, r)
    notify(session, now, "client", r.client_id, "butler_done_client", f"butler:{r.id}:done",
           subject=f"butler:{r.id}", **_client_params(session, r))
    _on_case(session, r, now, actor, "butler_done")
    return r


def butler_requests(session: Session, butler_id: int) -> list[ButlerRequest]:
    return list(session.scalars(select(ButlerRequest).where(
        ButlerRequest.butler_id == butler_id, ButlerRequest.status.in_(LIVE)).order_by(ButlerRequest.onsite_due_at)))


def open_requests(session: Session) -> list[ButlerRequest]:
    return list(session.scalars(select(ButlerRequest).where(ButlerRequest.status.in_(LIVE))
                                .order_by(ButlerRequest.onsite_due_at).limit(50)))


# --- the clocks -----------------------------------------------------------------------------------
def _breach(ctx: Context, session: Session, r: ButlerRequest, which: str, now: datetime) -> None:
    """A missed clock: the request's case opens (urgent, on-duty managers) or, already open, goes one
    level up; the client is told the team is on it; the butler is pinged."""
    p = ctx.butler
    esc = session.get(Escalation, r.case_id) if r.case_id else None
    detail = {"request_id": r.id, "breach": which, "housekeeper_id": r.butler_id,
              "due_at": _iso(r.onsite_due_at if which == "onsite" else r.plan_due_at)}
    if esc is None or esc.status == "closed":
        esc, _ = cases.open_case(ctx, session, p.case_kind, r.client_id, r.booking_id, actor="timer",
                                 severity=p.severity, text=r.text, lang=r.lang, new_matter=True, **detail)
        r.case_id = esc.id
    else:  # the second miss on the same request: escalated one level, like a case's own breach
        esc.level += 1
        case_clock.event(session, esc, now, "timer", "butler_breach", **detail)
        case_cards.alert(ctx, session, esc, "breach", case_cards.recipients(ctx, session, esc.level, now), now,
                         urgent=True)
        case_cards.update_cards(session, esc, "butler_breach", now)
    notify(session, now, "client", r.client_id, f"butler_breach_{which}_client", f"butler:{r.id}:breach:{which}",
           subject=f"butler:{r.id}", case_id=esc.id, **_client_params(session, r))
    if r.butler_id:
        notify(session, now, "housekeeper", r.butler_id, f"butler_breach_{which}_butler",
               f"butler:{r.id}:breach:{which}:butler", subject=f"butler:{r.id}", urgent=True,
               **_staff_params(session, r))
    record(session, now, "butler_request", r.id, r.status, r.status, "timer", breach=which, case_id=esc.id)


@timers.handler(ONSITE)
def _onsite_due(ctx: Context, session: Session, request_id: int) -> None:
    r = session.get(ButlerRequest, request_id, with_for_update=True, populate_existing=True)
    now = ctx.clock.now()
    if r is None or r.status not in LIVE or r.onsite_at is not None or now < r.onsite_due_at:
        return  # on site in time, cancelled or closed: nothing to say
    _breach(ctx, session, r, "onsite", now)


@timers.handler(PLAN)
def _plan_due(ctx: Context, session: Session, request_id: int) -> None:
    r = session.get(ButlerRequest, request_id, with_for_update=True, populate_existing=True)
    now = ctx.clock.now()
    if r is None or r.status not in LIVE or r.plan_at is not None or now < r.plan_due_at:
        return
    _breach(ctx, session, r, "plan", now)


@stale_when("butler_request_new")
@stale_when("butler_breach_onsite_butler")
@stale_when("butler_breach_plan_butler")
def _request_stale(session: Session, params: dict[str, Any]) -> bool:
    """The client cancelled (or it was closed) before the butler's message went out: nothing to do."""
    r = session.get(ButlerRequest, params.get("request_id"))
    return r is None or r.status not in LIVE
