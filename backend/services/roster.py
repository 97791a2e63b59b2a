"""Reading housekeepers' schedules out of storage for the pure availability rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Text, and_, cast, false, or_, select
from sqlalchemy.orm import Session

from backend.domain.availability import Schedule, unavailable_reason
from backend.domain.matching import Candidate
from backend.domain.placements import term_bounds
from backend.domain.profile import unmet
from backend.orm import Booking, Certificate, Client, Housekeeper, Placement, PlacementCandidate, TimeOff, WorkingHours
from backend.services import Context, profiles, vetting

BUSY = ("confirmed", "in_progress")
# What matching reads of a housekeeper: plain rows, not ORM objects (no name or phone to decrypt), and
# the JSON lists as text (a cast: psycopg would decode json itself), decoded only for those who have
# the skill (most of a big roster has not).
MATCH_COLUMNS = (Housekeeper.id, cast(Housekeeper.skills, Text).label("skills"),
                 cast(Housekeeper.languages, Text).label("languages"),
                 cast(Housekeeper.districts, Text).label("districts"), Housekeeper.city, Housekeeper.rating,
                 Housekeeper.pets_ok, cast(Housekeeper.attributes, Text).label("attributes"), Housekeeper.status)


@dataclass(frozen=True)
class RosterRow:
    id: int
    skills: list[str]
    languages: list[str]
    districts: list[str]
    city: str | None
    rating: float
    pets_ok: bool
    attributes: list[str]
    status: str


def _skilled(rows: Any, service: str) -> list[RosterRow]:
    quoted, out = json.dumps(service), []
    for r in rows:
        if not r.skills or quoted not in r.skills:  # a cheap look at the text before decoding it
            continue
        skills = json.loads(r.skills)
        if service in skills:
            out.append(RosterRow(r.id, skills, json.loads(r.languages or "[]"), json.loads(r.districts or "[]"),
                                 r.city, r.rating, r.pets_ok, json.loads(r.attributes or "[]"), r.status))
    return out


def schedules(session: Session, hks: list[Any], around: datetime, tz: tzinfo = UTC,
              visit: tuple[datetime, datetime, timedelta] | None = None) -> dict[int, Schedule]:
    """Schedules of many housekeepers around a time, in six queries whatever their number. A candidate
    held for a placement (willing, while the client interviews) is busy for its term: short visits
    before the start are still hers to take. ``visit`` (start, end, travel buffer): only what can
    decide that one visit is read (its weekday's hours, what overlaps it): a big roster is mostly not."""
    ids = [h.id for h in hks]
    window = (around - timedelta(days=2), around + timedelta(days=2))
    hours_q = select(WorkingHours.housekeeper_id, WorkingHours.weekday, WorkingHours.start_minute,
                     WorkingHours.end_minute).where(WorkingHours.housekeeper_id.in_(ids))
    if visit is not None:
        window = (visit[0] - visit[2], visit[1] + visit[2])
        hours_q = hours_q.where(WorkingHours.weekday == visit[0].astimezone(tz).weekday())
    hours: dict[int, dict[int, list[tuple[int, int]]]] = {i: {} for i in ids}
    certs: dict[int, dict] = {i: {} for i in ids}
    offs: dict[int, list] = {i: [] for i in ids}
    jobs: dict[int, list] = {i: [] for i in ids}
    # Plain rows, not ORM objects: a big roster has thousands of these, and only the values matter.
    for hk_id, weekday, start, end in session.execute(hours_q):
        hours[hk_id].setdefault(weekday, []).append((start, end))
    for hk_id, kind, expires_on in session.execute(
            select(Certificate.housekeeper_id, Certificate.kind, Certificate.expires_on)
            .where(Certificate.housekeeper_id.in_(ids))):
        certs[hk_id][kind] = expires_on
    for hk_id, starts_at, ends_at in session.execute(
            select(TimeOff.housekeeper_id, TimeOff.starts_at, TimeOff.ends_at)
            .where(TimeOff.housekeeper_id.in_(ids), TimeOff.ends_at >= window[0], TimeOff.starts_at <= window[1])):
        offs[hk_id].append((starts_at, ends_at))
    for hk_id, starts_at, ends_at in session.execute(
            select(Booking.housekeeper_id, Booking.starts_at, Booking.ends_at)
            .where(Booking.housekeeper_id.in_(ids), Booking.status.in_(BUSY), Booking.ends_at >= window[0],
                   Booking.starts_at <= window[1])):
        jobs[hk_id].append((starts_at, ends_at))
    for hk_id, terms in held_terms(session, ids, tz).items():
        jobs[hk_id] += [t for t in terms if t[1] >= window[0] and t[0] <= window[1]]
    return {h.id: Schedule(frozenset(h.skills), certs[h.id], hours[h.id], offs[h.id], jobs[h.id],
                          h.status == "active")
            for h in hks}


def free_for_visit(visit: tuple[datetime, datetime, timedelta], tz: tzinfo) -> Any:
    """SQL: her hours that day cover the visit, and no job (with the travel buffer) or time off overlaps
    it — what ``unavailable_reason`` checks, asked of the database so that a big roster's busy majority
    is never loaded. (Skills, certificates and placement holds are checked on the few rows left.)"""
    start, end, buffer = visit
    local = start.astimezone(tz)
    first = local.hour * 60 + local.minute
    last = first + int((end - start).total_seconds() // 60)
    # Uncorrelated subqueries: each runs once (on its index), not once per housekeeper.
    hours = select(WorkingHours.housekeeper_id).where(
        WorkingHours.weekday == local.weekday(), WorkingHours.start_minute <= first, WorkingHours.end_minute >= last)
    busy = select(Booking.housekeeper_id).where(Booking.status.in_(BUSY), Booking.ends_at > start - buffer,
                                                Booking.starts_at < end + buffer, Booking.housekeeper_id.is_not(None))
    off = select(TimeOff.housekeeper_id).where(TimeOff.ends_at > start, TimeOff.starts_at < end)
    return and_(Housekeeper.id.in_(hours), Housekeeper.id.not_in(busy), Housekeeper.id.not_in(off))


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
    svc = ctx.catalogue[service]
    visit = (start, end, timedelta(minutes=ctx.travel_buffer_minutes)) if svc.is_visit else None
    roster = select(*MATCH_COLUMNS).where(Housekeeper.status == "active").order_by(Housekeeper.id)
    if visit is not None:
        # Those on the client's never-again list are reported free or not: read them whatever their day.
        never = Housekeeper.id.in_(sorted(exclude)) if exclude else false()
        roster = roster.where(or_(never, free_for_visit(visit, ctx.tz)))
    skilled = _skilled(session.execute(roster), service)
    hks = [hk for hk in skilled if hk.id not in exclude]
    if unfit is not None:
        unfit.update({hk.id: "never_again" for hk in skilled if hk.id in exclude})
    if not hks:
        return []
    scheds = schedules(session, hks, start, ctx.tz, visit)
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
    for (hk_id,) in session.execute(select(Booking.housekeeper_id).where(
            Booking.housekeeper_id.in_([h.id for h in free]), Booking.status.in_((*BUSY, "completed")),
            Booking.starts_at >= week_ago, Booking.starts_at < start)):
        recent[hk_id] = recent.get(hk_id, 0) + 1
    return [Candidate(hk.id, hk.rating, frozenset(hk.languages), frozenset(hk.districts), recent.get(hk.id, 0),
                      hk.city) for hk in free]
