"""Long-term placements (issue 12): request → shortlist → interviews → choice → trial → contract → end.

The shortlist and its asks live in placement_asks.py, the term matching in placement_matching.py, the
term's timers in placement_clock.py; this module holds the client's and staff's commands. Once chosen,
the term is ONE booking (status confirmed, from the first local midnight to the one after the last day):
every visit matcher sees her busy for the whole term (roster.BUSY). It never gets the day-of-job alarm
(that is for visits): its start and end are the placement clock's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.catalogue import Service
from backend.domain import contact
from backend.domain.contact import first_name
from backend.domain.placements import CHOSEN, OPEN, end_date, term_bounds, trial_end
from backend.orm import Booking, Client, Housekeeper, Interview, Placement, PlacementCandidate
from backend.services import (
    Context,
    DomainError,
    placement_asks,
    placement_clock,
    placement_matching,
    profiles,
    timers,
    vetting,
)
from backend.services.audit import record
from backend.services.escalations import escalate
from backend.services.outbox import notify

INTERVIEW_MODES = ("video", "in_person")


# --- terms and prices ----------------------------------------------------------------------------
def service_of(ctx: Context, service: str) -> Service:
    if service not in ctx.catalogue or ctx.catalogue[service].is_visit:
        raise DomainError("not_a_placement")
    return ctx.catalogue[service]


def terms(ctx: Context, service: str) -> dict[str, Any]:
    svc = service_of(ctx, service)
    return {"service": svc.id, "unit": svc.unit, "price": svc.price, "min_term_days": svc.min_term_days,
            "default_term_days": svc.default_term_days, "live_in": svc.live_in, "days_per_week": svc.days_per_week,
            "daily_hours": svc.daily_hours, "days_off_per_month": svc.days_off_per_month,
            "trial_days": svc.trial_days, "deposit": svc.deposit, "settlement": svc.settlement,
            "days_per_unit": svc.days_per_unit}


def quote(ctx: Context, service: str, start: date, term_days: int | None = None,
          live_in: bool | None = None) -> dict[str, Any]:
    svc = service_of(ctx, service)
    term = term_days or svc.default_term_days
    today = placement_clock.local_today(ctx)
    if start <= today:
        raise DomainError("start_past")
    if start > today + timedelta(days=ctx.placements.max_days_ahead):
        raise DomainError("start_too_far")
    if term < svc.min_term_days:
        raise DomainError("term_too_short")
    if term > 3 * 366:
        raise DomainError("term_too_long")
    if live_in is not None and svc.live_in != "either" and live_in != (svc.live_in == "yes"):
        raise DomainError("live_in_not_offered")
    return {"unit": svc.unit, "unit_price": svc.price, "term_days": term,
            "start_date": start.isoformat(), "end_date": end_date(start, term).isoformat(),
            "price_estimate": svc.term_price(term), "deposit": svc.deposit, "settlement": svc.settlement,
            "trial_days": min(svc.trial_days, term), "days_per_unit": svc.days_per_unit,
            "live_in": svc.live_in == "yes" if live_in is None else live_in}


def start_for_due(ctx: Context, due: date) -> date:
    """月嫂: she starts on the due date minus the configured offset (the baby may move it earlier)."""
    return due - timedelta(days=ctx.placements.due_date_offset_days)


# --- request -------------------------------------------------------------------------------------
def clean_requirements(ctx: Context, raw: dict[str, Any] | None) -> dict[str, Any]:
    req: dict[str, Any] = {}
    for k, v in (raw or {}).items():
        if k == "languages":
            req[k] = [str(x)[:8] for x in (v or [])][:5]
        elif k in ("age_min", "age_max"):
            if not ctx.placements.allow_age_requirement:
                raise DomainError("age_requirement_not_allowed")
            if v is not None and (not isinstance(v, int) or not 18 <= v <= 70):
                raise DomainError("invalid_requirements")
            req[k] = v
        elif k == "text":
            text = contact.notes(str(v)) if v else None
            if v and text is None:
                raise DomainError("invalid_requirements")
            req[k] = text
        elif k in ctx.placements.requirement_attributes:
            req[k] = bool(v)
        else:
            raise DomainError("invalid_requirements")
    return req


def request(ctx: Context, session: Session, client_id: int, service: str, start: date | None, *,
            term_days: int | None = None, due_date: date | None = None, live_in: bool | None = None,
            requirements: dict[str, Any] | None = None, address: str | None = None, district: str | None = None,
            request_key: str | None = None, city: str | None = None) -> tuple[Placement, bool]:
    """A new placement and its first round of asks; (placement, created). The same request_key twice
    returns the first placement."""
    if request_key is not None:
        if not 0 < len(request_key) <= 64:
            raise DomainError("invalid_request_key")
        found = session.scalar(select(Placement).where(Placement.request_key == request_key))
        if found is not None:
            if found.client_id != client_id:
                raise DomainError("request_key_taken")
            return found, False
    if start is None:
        if due_date is None:
            raise DomainError("start_missing")
        start = start_for_due(ctx, due_date)
    q = quote(ctx, service, start, term_days, live_in)
    if address is not None and contact.address(address) is None:
        raise DomainError("invalid_address")
    client = session.get(Client, client_id)
    if client is None:
        raise DomainError("client_not_found")
    address = address or client.address
    city, district = ctx.area.locate(address, city, district)
    if (address or district) and not ctx.area.covers(city, district):
        raise DomainError("outside_area")
    svc = ctx.catalogue[service]
    now = ctx.clock.now()
    pl = Placement(client_id=client_id, service=service, status="shortlisting", lang=client.lang or "zh",
                   due_date=due_date, start_date=start, end_date=date.fromisoformat(q["end_date"]),
                   term_days=q["term_days"], live_in=q["live_in"], days_per_week=svc.days_per_week,
                   daily_hours=svc.daily_hours, requirements=clean_requirements(ctx, requirements),
                   household=profiles.standing_notes(session, client_id), address=address, city=city,
                   district=district, unit=svc.unit, unit_price=svc.price, price_estimate=q["price_estimate"],
                   deposit_cents=svc.deposit * 100, settlement=svc.settlement, round=1, trial_days=q["trial_days"],
                   request_key=request_key, created_at=now)
    session.add(pl)
    session.flush()
    record(session, now, "placement", pl.id, None, "shortlisting", f"client:{client_id}", service=service)
    placement_asks.start_round(ctx, session, pl)
    return pl, True


# --- access --------------------------------------------------------------------------------------
def client_placement(session: Session, client_id: int, placement_id: int) -> Placement:
    pl = placement_asks.lock_placement(session, placement_id)
    if pl is None or pl.client_id != client_id:
        raise DomainError("placement_not_found")
    return pl


def _candidate(session: Session, pl: Placement, housekeeper_id: int) -> PlacementCandidate:
    """A willing (held) candidate of the current round, or DomainError not_on_shortlist."""
    cand = session.scalar(select(PlacementCandidate).where(
        PlacementCandidate.placement_id == pl.id, PlacementCandidate.housekeeper_id == housekeeper_id)
        .with_for_update())
    if cand is None or cand.state != "willing":
        raise DomainError("not_on_shortlist")
    return cand


def asked_count(session: Session, pl: Placement) -> int:
    """Candidates asked in the current round (still waiting or already willing)."""
    return len(list(session.scalars(select(PlacementCandidate.id).where(
        PlacementCandidate.placement_id == pl.id, PlacementCandidate.round == pl.round,
        PlacementCandidate.state.in_(("asked", "willing", "declined", "expired"))))))


# --- interviews ----------------------------------------------------------------------------------
def schedule_interview(ctx: Context, session: Session, client_id: int, placement_id: int, housekeeper_id: int,
                       at: datetime, mode: str = "video") -> Interview:
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in ("shortlisting", "interviewing"):
        raise DomainError("not_shortlisting")
    if mode not in INTERVIEW_MODES:
        raise DomainError("invalid_mode")
    cand = _candidate(session, pl, housekeeper_id)
    now = ctx.clock.now()
    if at <= now:
        raise DomainError("time_past")
    length = timedelta(minutes=ctx.placements.interview_minutes)
    mine = session.scalar(select(Interview).where(Interview.placement_id == pl.id,
                                                  Interview.housekeeper_id == housekeeper_id,
                                                  Interview.status == "scheduled").with_for_update())
    clash = session.scalar(select(Interview.id).where(
        Interview.housekeeper_id == housekeeper_id, Interview.status == "scheduled",
        Interview.at < at + length, Interview.at > at - length,
        *([Interview.id != mine.id] if mine is not None else [])).limit(1))
    if clash is not None:
        raise DomainError("interview_clash")
    if mine is None:
        scheduled = session.scalars(select(Interview.id).where(  # those still to come
            Interview.placement_id == pl.id, Interview.status == "scheduled", Interview.at > now)).all()
        if len(scheduled) >= ctx.placements.max_interviews:
            raise DomainError("interview_limit")
        mine = Interview(placement_id=pl.id, housekeeper_id=housekeeper_id, at=at, mode=mode, created_at=now)
        session.add(mine)
    else:  # the same candidate again: the interview moves
        mine.at, mine.mode = at, mode
    session.flush()
    # She stays held until a day after the interview, whatever the hold said.
    placement_asks.hold(ctx, session, cand, at + length + timedelta(days=1))
    if pl.status == "shortlisting":
        pl.status = "interviewing"
        record(session, now, "placement", pl.id, "shortlisting", "interviewing", f"client:{client_id}")
    lead = timedelta(hours=ctx.placements.interview_reminder_hours)
    if at - lead > now:
        timers.schedule(session, placement_clock.INTERVIEW_REMINDER, mine.id, at - lead,
                        f"interview:{mine.id}:remind:{at.isoformat()}")
    hk = session.get(Housekeeper, housekeeper_id)
    params = {"interview_id": mine.id, "placement_id": pl.id, "service": pl.service, "starts_at": at.isoformat(),
              "mode_code": mode, "first_name": first_name(hk.name if hk else ""), "housekeeper_id": housekeeper_id,
              "district": pl.district or ""}
    key = f"interview:{mine.id}:{at.isoformat()}"
    # The client booked it in chat and has the reply; she is told here.
    notify(session, now, "housekeeper", housekeeper_id, "placement_interview", f"{key}:housekeeper",
           subject=f"placement:{pl.id}", **params,
           **placement_asks.localised(ctx, hk.lang if hk else "zh", mode=mode))
    return mine


# --- the choice ----------------------------------------------------------------------------------
def choose(ctx: Context, session: Session, client_id: int, placement_id: int, housekeeper_id: int) -> Placement:
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in ("shortlisting", "interviewing"):
        raise DomainError("not_shortlisting")
    cand = _candidate(session, pl, housekeeper_id)
    placement_asks.lock_housekeeper(session, housekeeper_id)
    if not placement_matching.match(ctx, session, pl, pl.start_date, pl.end_date, only={housekeeper_id}).ranked:
        raise DomainError("candidate_unavailable")
    now = ctx.clock.now()
    start, end = term_bounds(pl.start_date, pl.end_date, ctx.tz)
    b = Booking(client_id=pl.client_id, service=pl.service, starts_at=start, ends_at=end, address=pl.address,
                district=pl.district, city=pl.city, price_estimate=pl.price_estimate, status="confirmed",
                housekeeper_id=housekeeper_id, created_at=now, standing_notes=pl.household or [],
                notes=(pl.requirements or {}).get("text"))
    session.add(b)
    session.flush()
    record(session, now, "booking", b.id, None, "confirmed", f"client:{client_id}", placement_id=pl.id,
           housekeeper_id=housekeeper_id)
    cand.state, cand.responded_at = "chosen", cand.responded_at or now
    pl.housekeeper_id, pl.booking_id, pl.chosen_at = housekeeper_id, b.id, now
    pl.trial_ends_on = trial_end(pl.start_date, pl.trial_days)
    was, pl.status = pl.status, "trial" if pl.trial_ends_on else "active"
    record(session, now, "placement", pl.id, was, pl.status, f"client:{client_id}", housekeeper_id=housekeeper_id)
    placement_asks.release(ctx, session, pl, housekeeper_id, "chosen_other")
    for iv in session.scalars(select(Interview).where(Interview.placement_id == pl.id,
                                                      Interview.status == "scheduled")):
        iv.status = "done" if iv.housekeeper_id == housekeeper_id and iv.at <= now else "cancelled"
    client = session.get(Client, pl.client_id)
    if client is not None:
        client.last_housekeeper_id = housekeeper_id
    placement_clock.arm(ctx, session, pl)
    # the verified badges HER record backs (the client's words for them), as on a visit's confirmation
    codes = vetting.badges(ctx, session, [housekeeper_id], pl.start_date).get(housekeeper_id, [])
    clang = placement_asks.lang_of(session, "client", pl.client_id)
    verified = ("、" if clang != "en" else ", ").join(ctx.placements.label(c, clang) for c in codes) or "—"
    placement_clock.both(ctx, session, pl, "placement_confirmed", f"placement:{pl.id}:confirmed",
                         badges=codes, verified=verified,
                         booking_id=b.id, trial_days=pl.trial_days,
                         trial_ends_on=pl.trial_ends_on.isoformat() if pl.trial_ends_on else None,
                         price_estimate=pl.price_estimate, deposit=pl.deposit_cents // 100, settlement=pl.settlement,
                         unit_price=pl.unit_price, unit=pl.unit, address=pl.address or "", district=pl.district or "",
                         words={"settle": pl.settlement, "per": pl.unit})
    return pl


def more_candidates(ctx: Context, session: Session, client_id: int, placement_id: int) -> int:
    """A new round of asks without anyone asked so far; those held stay held (and on the shortlist)
    until their hold ends or the client chooses. Returns how many were asked."""
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in ("shortlisting", "interviewing"):
        raise DomainError("not_shortlisting")
    pl.round += 1
    record(session, ctx.clock.now(), "placement", pl.id, None, "more_candidates", f"client:{client_id}")
    asked = placement_asks.start_round(ctx, session, pl)
    if asked == 0 and placement_asks.waiting(session, pl):
        # Nobody new to ask while some are still held: the client is told a manager looks for more
        # (with nobody held either, start_round has already handed it to the managers).
        escalate(ctx, session, "placement_unmatched", client_id=pl.client_id, placement_id=pl.id,
                 service=pl.service, start_date=pl.start_date.isoformat(), end_date=pl.end_date.isoformat(),
                 round=pl.round, why="more_none")
    return asked


# --- ending, replacing, extending ----------------------------------------------------------------
def end_trial(ctx: Context, session: Session, by_kind: str, by_id: int, placement_id: int, replace: bool = True,
              reason: str | None = None) -> tuple[Placement, Placement | None]:
    pl = placement_asks.lock_placement(session, placement_id)
    if pl is None or (by_kind == "client" and pl.client_id != by_id) or \
            (by_kind == "housekeeper" and pl.housekeeper_id != by_id) or by_kind not in ("client", "housekeeper"):
        raise DomainError("placement_not_found")
    if pl.status != "trial":
        raise DomainError("not_in_trial")
    return _end_and_replace(ctx, session, pl, "trial_ended", f"{by_kind}:{by_id}", replace, reason)


def request_replacement(ctx: Context, session: Session, client_id: int, placement_id: int,
                        reason: str | None = None) -> tuple[Placement, Placement | None]:
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in CHOSEN:
        raise DomainError("not_active")
    return _end_and_replace(ctx, session, pl, "replaced", f"client:{client_id}", True, reason)


def _end_and_replace(ctx: Context, session: Session, pl: Placement, why: str, actor: str, replace: bool,
                     reason: str | None) -> tuple[Placement, Placement | None]:
    b = session.get(Booking, pl.booking_id, with_for_update=True) if pl.booking_id else None
    placement_clock.finish(ctx, session, pl, b, why, actor)
    reason = (contact.notes(reason) if reason else None) or None
    by = actor.split(":")[0]
    placement_clock.both(ctx, session, pl, f"placement_{why}", f"placement:{pl.id}:{why}", by=by,
                         reason=reason or "—", words={"who": by})
    nxt = None
    today = placement_clock.local_today(ctx)
    start = max(pl.start_date, today + timedelta(days=1))
    if replace and start <= pl.end_date:
        nxt = Placement(client_id=pl.client_id, service=pl.service, status="shortlisting", lang=pl.lang,
                        due_date=pl.due_date, start_date=start, end_date=pl.end_date,
                        term_days=(pl.end_date - start).days + 1, live_in=pl.live_in, days_per_week=pl.days_per_week,
                        daily_hours=pl.daily_hours, requirements=dict(pl.requirements or {}), household=pl.household,
                        address=pl.address, city=pl.city, district=pl.district, unit=pl.unit,
                        unit_price=pl.unit_price, deposit_cents=0, settlement=pl.settlement, round=1,
                        trial_days=min(pl.trial_days, (pl.end_date - start).days + 1), replaces_id=pl.id,
                        created_at=ctx.clock.now())
        nxt.price_estimate = ctx.catalogue[pl.service].term_price(nxt.term_days)
        session.add(nxt)
        session.flush()
        record(session, ctx.clock.now(), "placement", nxt.id, None, "shortlisting", actor, replaces=pl.id)
        placement_asks.start_round(ctx, session, nxt)
        notify(session, ctx.clock.now(), "client", pl.client_id, "placement_replacement_started",
               f"placement:{nxt.id}:replacement", subject=f"placement:{nxt.id}", placement_id=nxt.id,
               replaces_id=pl.id, service=pl.service, start_date=start.isoformat(), end_date=nxt.end_date.isoformat())
    placement_clock.tell_managers(ctx, session, pl, why, f"placement:{pl.id}:{why}", by=by, reason=reason or "—",
                                  replacement_id=nxt.id if nxt else "—", words={"who": by})
    return pl, nxt


def extend(ctx: Context, session: Session, client_id: int | None, placement_id: int, days: int,
           actor: str | None = None) -> Placement:
    """The contract runs ``days`` longer if she is free for them: the booking's end moves."""
    pl = placement_asks.lock_placement(session, placement_id)
    if pl is None or (client_id is not None and pl.client_id != client_id):
        raise DomainError("placement_not_found")
    if pl.status not in CHOSEN or pl.booking_id is None:
        raise DomainError("not_active")
    if not isinstance(days, int) or not 1 <= days <= 366:
        raise DomainError("invalid_days")
    first, last = pl.end_date + timedelta(days=1), pl.end_date + timedelta(days=days)
    placement_asks.lock_housekeeper(session, pl.housekeeper_id)
    m = placement_matching.match(ctx, session, pl, first, last, only={pl.housekeeper_id}, ignore_booking=pl.booking_id)
    if not m.ranked:
        raise DomainError("not_free")
    b = session.get(Booking, pl.booking_id, with_for_update=True)
    now = ctx.clock.now()
    old = pl.end_date
    pl.end_date, pl.term_days = last, pl.term_days + days
    pl.price_estimate = ctx.catalogue[pl.service].term_price(pl.term_days)
    b.ends_at, b.price_estimate = term_bounds(pl.start_date, pl.end_date, ctx.tz)[1], pl.price_estimate
    record(session, now, "placement", pl.id, old.isoformat(), last.isoformat(), actor or f"client:{client_id}",
           what="extended", days=days)
    placement_clock.arm(ctx, session, pl)
    placement_clock.both(ctx, session, pl, "placement_extended", f"placement:{pl.id}:extended:{last.isoformat()}",
                         days=days, price_estimate=pl.price_estimate)
    return pl


def cancel(ctx: Context, session: Session, client_id: int, placement_id: int) -> Placement:
    """Before the term starts: everyone asked or held is let go; a chosen one's booking is cancelled."""
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in OPEN:
        raise DomainError("not_active")
    b = session.get(Booking, pl.booking_id, with_for_update=True) if pl.booking_id else None
    if b is not None and b.status != "confirmed":
        raise DomainError("placement_started")  # ending a running term is end_trial / a replacement
    placement_asks.release(ctx, session, pl, None, "cancelled")
    if b is not None:
        placement_clock.finish(ctx, session, pl, b, "cancelled", f"client:{client_id}")
        notify(session, ctx.clock.now(), "housekeeper", pl.housekeeper_id, "placement_cancelled",
               f"placement:{pl.id}:cancelled:housekeeper", subject=f"placement:{pl.id}", placement_id=pl.id,
               service=pl.service, start_date=pl.start_date.isoformat())
    else:
        for iv in session.scalars(select(Interview).where(Interview.placement_id == pl.id,
                                                          Interview.status == "scheduled")):
            iv.status = "cancelled"
    was, pl.status, pl.ended_at, pl.end_reason = pl.status, "cancelled", ctx.clock.now(), "cancelled"
    record(session, ctx.clock.now(), "placement", pl.id, was, "cancelled", f"client:{client_id}")
    return pl


def baby_arrived(ctx: Context, session: Session, client_id: int, placement_id: int, on: date) -> tuple[Placement, bool]:
    """The baby came (early): the start moves to ``on``, the term keeps its length. Returns (placement,
    moved); when the chosen housekeeper is not free for the new days, the dates stay and managers act."""
    pl = client_placement(session, client_id, placement_id)
    if pl.status not in OPEN:
        raise DomainError("not_active")
    today = placement_clock.local_today(ctx)
    if on > today or on < today - timedelta(days=7):
        raise DomainError("invalid_date")
    if on >= pl.start_date:
        return pl, False  # not early: the planned start stands
    if (pl.start_date - on).days > ctx.placements.baby_early_max_days:
        raise DomainError("too_early")
    b = session.get(Booking, pl.booking_id, with_for_update=True) if pl.booking_id else None
    if b is not None and b.status != "confirmed":
        return pl, False  # already started
    now = ctx.clock.now()
    new_start, new_end = on, end_date(on, pl.term_days)
    if b is not None:
        placement_asks.lock_housekeeper(session, pl.housekeeper_id)
        m = placement_matching.match(ctx, session, pl, new_start, new_end, only={pl.housekeeper_id},
                                     ignore_booking=b.id)
        if not m.ranked:
            placement_clock.tell_managers(ctx, session, pl, "baby_early_not_free",
                                          f"placement:{pl.id}:baby_early:{on.isoformat()}", on=on.isoformat(),
                                          why=m.excluded.get(pl.housekeeper_id or 0, "busy"))
            notify(session, now, "client", pl.client_id, "placement_baby_early_pending",
                   f"placement:{pl.id}:baby_early:{on.isoformat()}", subject=f"placement:{pl.id}",
                   placement_id=pl.id, on=on.isoformat())
            return pl, False
    old = pl.start_date
    pl.start_date, pl.end_date = new_start, new_end
    if pl.trial_ends_on is not None:
        pl.trial_ends_on = trial_end(new_start, pl.trial_days)
    record(session, now, "placement", pl.id, old.isoformat(), new_start.isoformat(), f"client:{client_id}",
           what="baby_arrived")
    if b is None:  # still shortlisting: those asked or held must be free for the new days too
        _recheck_shortlist(ctx, session, pl)
    if b is not None:
        b.starts_at, b.ends_at = term_bounds(new_start, new_end, ctx.tz)
        placement_clock.arm(ctx, session, pl)
        placement_clock.both(ctx, session, pl, "placement_moved", f"placement:{pl.id}:moved:{on.isoformat()}",
                             old_start_date=old.isoformat())
    placement_clock.tell_managers(ctx, session, pl, "baby_early", f"placement:{pl.id}:baby_early:{on.isoformat()}",
                                  on=on.isoformat())
    return pl, True


def _recheck_shortlist(ctx: Context, session: Session, pl: Placement) -> None:
    """The dates moved before a choice: candidates no longer free for the term are let go (with the
    reason), and the shortlist refilled."""
    rows = list(session.scalars(select(PlacementCandidate).where(
        PlacementCandidate.placement_id == pl.id, PlacementCandidate.state.in_(("asked", "willing")))))
    if not rows:
        return
    m = placement_matching.match(ctx, session, pl, pl.start_date, pl.end_date, only={c.housekeeper_id for c in rows})
    free = {r.housekeeper_id for r in m.ranked}
    gone = [c for c in rows if c.housekeeper_id not in free]
    for c in gone:
        placement_asks.release_one(ctx, session, pl, c, "dates_moved")  # released: seen, never asked again
        c.reasons = {**(c.reasons or {}), "released": m.excluded.get(c.housekeeper_id, "gone")}
    if gone:
        placement_asks.fill(ctx, session, pl)


# --- staff side ----------------------------------------------------------------------------------
def housekeeper_placements(ctx: Context, session: Session, housekeeper_id: int) -> list[tuple[Placement, str]]:
    """Placements she is asked for, held for or placed in (open ones), with her state."""
    rows = session.execute(select(Placement, PlacementCandidate.state).join(
        PlacementCandidate, PlacementCandidate.placement_id == Placement.id).where(
        PlacementCandidate.housekeeper_id == housekeeper_id,
        PlacementCandidate.state.in_(("asked", "willing", "chosen")), Placement.status.in_(OPEN))
        .order_by(Placement.start_date)).all()
    return [(pl, state) for pl, state in rows]


def open_placements(session: Session) -> list[Placement]:
    return list(session.scalars(select(Placement).where(Placement.status.in_(OPEN))
                                .order_by(Placement.start_date, Placement.id)))


def view(session: Session, pl: Placement) -> dict[str, Any]:
    hk = session.get(Housekeeper, pl.housekeeper_id) if pl.housekeeper_id else None

    def iso(d: date | None) -> str | None:
        return d.isoformat() if d else None

    return {"id": pl.id, "client_id": pl.client_id, "service": pl.service, "status": pl.status, "lang": pl.lang,
            "due_date": iso(pl.due_date), "start_date": iso(pl.start_date), "end_date": iso(pl.end_date),
            "term_days": pl.term_days, "live_in": pl.live_in, "days_per_week": pl.days_per_week,
            "daily_hours": pl.daily_hours, "requirements": dict(pl.requirements or {}), "address": pl.address,
            "city": pl.city, "district": pl.district, "unit": pl.unit, "unit_price": pl.unit_price,
            "price_estimate": pl.price_estimate, "deposit": pl.deposit_cents // 100, "settlement": pl.settlement,
            "round": pl.round, "housekeeper_id": pl.housekeeper_id,
            "housekeeper": first_name(hk.name) if hk else None, "booking_id": pl.booking_id,
            "trial_days": pl.trial_days, "trial_ends_on": iso(pl.trial_ends_on), "replaces_id": pl.replaces_id,
            "end_reason": pl.end_reason}


def interview_view(session: Session, iv: Interview) -> dict[str, Any]:
    hk = session.get(Housekeeper, iv.housekeeper_id)
    return {"id": iv.id, "placement_id": iv.placement_id, "housekeeper_id": iv.housekeeper_id,
            "first_name": first_name(hk.name if hk else ""), "at": iv.at.isoformat(), "mode": iv.mode,
            "status": iv.status}
