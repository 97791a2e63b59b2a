"""Reading housekeepers' schedules out of storage for the pure availability rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.availability import Schedule, unavailable_reason
from backend.domain.matching import Candidate
from backend.domain.placements import term_bounds
from backend.domain.profile import unmet
from backend.orm import Booking, Certificate, Client, Housekeeper, Placement, PlacementCandidate, TimeOff, WorkingHours
from backend.services import Context, profiles, vetting

BUSY = ("confirmed", "in_progress")


def schedules(session: Session, hks: list[Housekeeper], around: datetime, tz: tzinfo = UTC) -> dict[int, Schedule]:
    """Schedules of many housekeepers around a time, in six queries whatever their number. A candidate
    held for a placement (willing, while the client interviews) is busy for its term: short visits
    before the start are still hers to take."""
    ids = [h.id for h in hks]
    window = (around - timedelta(days=2), around + timedelta(days=2))
    hours: dict[int, dict[int, list[tuple[int, int]]]] = {i: {} for i in ids}
    certs: dict[int, dict] = {i: {} for i in ids}
    offs: dict[int, list] = {i: [] for i in ids}
    jobs: dict[int, list] = {i: [] for i in ids}
    for wh in session.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id.in_(ids))):
        hours[wh.housekeeper_id].setdefault(wh.weekday, []).append((wh.start_minute, wh.end_minute))
    for c in session.scalars(select(Certificate).where(Certificate.housekeeper_id.in_(ids))):
        certs[c.housekeeper_id][c.kind] = c.expires_on
    for t in session.scalars(select(TimeOff).where(TimeOff.housekeeper_id.in_(ids), TimeOff.ends_at > window[0],
                                                  TimeOff.starts_at < window[1])):
        offs[t.housekeeper_id].append((t.starts_at, t.ends_at))
    for b in session.scalars(select(Booking).where(Booking.housekeeper_id.in_(ids), Booking.status.in_(BUSY),
                                                   Booking.ends_at > window[0], Booking.starts_at < window[1])):
        jobs[b.housekeeper_id].append((b.starts_at, b.ends_at))
    for hk_id, terms in held_terms(session, ids, tz).items():
        jobs[hk_id] += [t for t in terms if t[1] > window[0] and t[0] < window[1]]
    return {h.id: Schedule(frozenset(h.skills), certs[h.id], hours[h.id], offs[h.id], jobs[h.id],
                          h.status == "active")
            for h in hks}


def held_terms(session: Session, ids: list[int], tz: tzinfo) -> dict[int, list[tuple[datetime, datetime]]]:
    """The placement terms each housekeeper is held for (willing, while the client interviews)."""
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    for hk_id, start, end in session.execute(select(PlacementCandidate.housekeeper_id, Placement.start_date,
                                                    Placement.end_date).join(
            Placement, Placement.id == PlacementCandidate.placement_id).where(
            PlacementCandidate.housekeeper_id.in_(ids), PlacementCandidate.state == "willing")):
        out.setdefault(hk_id, []).append(term_bounds(start, end, tz))
    return out


def why_not(ctx: Context, session: Session, hk: Housekeeper, service: str, start: datetime,
            end: datetime, schedule: Schedule | None = None, check_vetting: bool = True) -> str | None:
    """None when she can take the job; else the first reason (availability, then her vetting file:
    "vetting:insurance" once the policy is enforced). ``check_vetting`` False: the caller checks files
    in bulk (free_candidates)."""
    svc = ctx.catalogue[service]
    local_start, local_end = start.astimezone(ctx.tz), end.astimezone(ctx.tz)
    if not svc.is_visit:
        # A placement is checked on its first day only, from 08:00.
        local_start = local_start.replace(hour=8, minute=0)
        local_end = local_start + timedelta(hours=8)
    schedule = schedule or schedules(session, [hk], start, ctx.tz)[hk.id]
    reason = unavailable_reason(schedule, service, svc.certificates, local_start, local_end,
                                timedelta(minutes=ctx.travel_buffer_minutes))
    if reason is None and check_vetting:
        reason = vetting.problems(ctx, session, [hk], service, local_start).get(hk.id)
    return reason


def constraints(ctx: Context, session: Session, client_id: int,
                notes: list[dict[str, Any]] | None = None) -> tuple[set[int], frozenset[str]]:
    """What the client's file demands of a housekeeper: (never-again ids, needs from the standing notes'
    codes: pets_ok, lang:xx, attributes). ``notes`` None → the profile's current items (a booking not
    yet stored); a booking passes its own (``[]`` when the client dropped them for this visit)."""
    client = session.get(Client, client_id)
    never = {int(i) for i in client.never_again or []} if client else set()
    if notes is None:
        notes = profiles.standing_notes(session, client_id)
    return never, ctx.profile.needs(profiles.codes_of(notes))


def free_candidates(ctx: Context, session: Session, service: str, start: datetime, end: datetime,
                    exclude: set[int], needs: frozenset[str] = frozenset(),
                    unfit: dict[int, str] | None = None,
                    warnings: dict[int, str] | None = None) -> list[Candidate]:
    """Free housekeepers who meet the profile's ``needs`` (hard). Those free but unfit are put in
    ``unfit`` (id → "pets", "language:en" or the attribute) when given, so managers see why; so are
    those on the client's never-again list (``exclude``), free or not ("never_again"). A required
    vetting item missing or lapsed is hard once enforced ("vetting:insurance"); before that the free
    ones are kept and ``warnings`` (when given) gets id → the items ("insurance,training")."""
    skilled = [hk for hk in session.scalars(select(Housekeeper).where(Housekeeper.status == "active")
                                            .order_by(Housekeeper.id)) if service in hk.skills]
    hks = [hk for hk in skilled if hk.id not in exclude]
    if unfit is not None:
        unfit.update({hk.id: "never_again" for hk in skilled if hk.id in exclude})
    if not hks:
        return []
    scheds = schedules(session, hks, start, ctx.tz)
    available = [hk for hk in hks if why_not(ctx, session, hk, service, start, end, scheds[hk.id], False) is None]
    vetted = vetting.problems(ctx, session, available, service, start)  # one query for all (the job's local date)
    if warnings is not None:
        warnings.update(vetting.warnings(ctx, session, [hk.id for hk in available if hk.id not in vetted],
                                         service, start))
    free = []
    for hk in available:
        if hk.id in vetted:
            if unfit is not None:
                unfit[hk.id] = vetted[hk.id]
            continue
        problem = unmet(needs, bool(hk.pets_ok), frozenset(hk.languages or []),
                        frozenset(hk.attributes or [])) if needs else None
        if problem is None:
            free.append(hk)
        elif unfit is not None:
            unfit[hk.id] = problem
    if not free:
        return []
    week_ago = start - timedelta(days=7)
    recent: dict[int, int] = {}
    for b in session.scalars(select(Booking).where(
            Booking.housekeeper_id.in_([h.id for h in free]), Booking.status.in_((*BUSY, "completed")),
            Booking.starts_at >= week_ago, Booking.starts_at < start)):
        recent[b.housekeeper_id] = recent.get(b.housekeeper_id, 0) + 1
    return [Candidate(hk.id, hk.rating, frozenset(hk.languages), frozenset(hk.districts), recent.get(hk.id, 0),
                      hk.city) for hk in free]
