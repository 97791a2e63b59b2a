"""Reading housekeepers' schedules out of storage for the pure availability rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from backend.domain.availability import Schedule, unavailable_reason
from backend.domain.matching import Candidate
from backend.domain.placements import term_bounds, visit_days
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


class RosterRow(NamedTuple):  # a tuple: hundreds are built per ranking, and a frozen dataclass is slow to build
    id: int
    skills: frozenset[str]
    languages: frozenset[str]
    districts: frozenset[str]
    city: str | None
    rating: float
    pets_ok: bool
    attributes: frozenset[str]
    status: str
    recent: int = 0  # confirmed or completed jobs in the week before the job (read with the row on visits)


@lru_cache(maxsize=8192)
def _texts(raw: str | None) -> frozenset[str]:
    """A JSON list column's text, decoded once per distinct value: a roster repeats the same few
    skill, language and attribute lists (and many district lists) across hundreds of rows."""
    return frozenset(json.loads(raw)) if raw else frozenset()


def _skilled(rows: Any, service: str) -> list[RosterRow]:
    """Rows of MATCH_COLUMNS (and, from the visit statement, her recent jobs) of those with the skill."""
    quoted, out = json.dumps(service), []
    for hk_id, skills, languages, districts, city, rating, pets_ok, attributes, status, *recent in rows:
        if not skills or quoted not in skills:  # a cheap look at the text before decoding it
            continue
        decoded = _texts(skills)
        if service in decoded:
            out.append(RosterRow(hk_id, decoded, _texts(languages), _texts(districts), city, rating, pets_ok,
                                 _texts(attributes), status, recent[0] if recent else 0))
    return out


def schedules(session: Session, hks: list[Any], around: datetime, tz: tzinfo = UTC) -> dict[int, Schedule]:
    """Schedules of many housekeepers around a time, in six queries whatever their number. A candidate
    held for a placement (willing, while the client interviews) is busy for its term: short visits
    before the start are still hers to take."""
    ids = [h.id for h in hks]
    window = (around - timedelta(days=2), around + timedelta(days=2))
    hours_q = select(WorkingHours.housekeeper_id, WorkingHours.weekday, WorkingHours.start_minute,
                     WorkingHours.end_minute).where(WorkingHours.housekeeper_id.in_(ids))
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


def _held(*columns: Any) -> Any:
    """``columns`` of the placement candidates held for a term (willing, while the client interviews)."""
    return select(*columns).join(Placement, Placement.id == PlacementCandidate.placement_id).where(
        PlacementCandidate.state == "willing")


def held_terms(session: Session, ids: list[int], tz: tzinfo) -> dict[int, list[tuple[datetime, datetime]]]:
    """The placement terms each of these housekeepers is held for."""
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    q = _held(PlacementCandidate.housekeeper_id, Placement.start_date, Placement.end_date).where(
        PlacementCandidate.housekeeper_id.in_(ids))
    for hk_id, start, end in session.connection().execute(q):
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
                    unfit: dict[int, str] | None = None, *, recent: bool = True) -> list[Candidate]:
    """Free housekeepers who meet the profile's ``needs`` (hard). Those free but unfit are put in
    ``unfit`` (id → "pets", "language:en" or the attribute) when given, so managers see why; so are
    those on the client's never-again list (``exclude``), free or not ("never_again"). A required
    vetting item missing or lapsed is hard once enforced ("vetting:insurance"); before that the free
    ones are kept (the ranking flags what is missing, offers.ranking).
    ``recent`` False (a count, no ranking): a visit's candidates come without their recent jobs (0)."""
    if ctx.catalogue[service].is_visit:
        free = free_for_visit_rows(ctx, session, service, start, end, exclude, unfit, recent=recent)
    else:
        free = free_by_schedule(ctx, session, service, start, end, exclude, unfit)
    return fit(ctx, session, free, service, start, needs, unfit)


@lru_cache(maxsize=64)
def _visit_statement(certificates: tuple[str, ...], with_recent: bool) -> Any:
    """Who is free for a visit, as one statement built once per set of required certificates (only its
    values change; building it anew cost more than running it): active, the skill (a look at the JSON
    text, confirmed once decoded), each certificate valid on the visit's last local day, her hours that
    weekday cover it, no job with the travel buffer and no time off overlap it — the rules of
    ``unavailable_reason`` —, not held for a placement whose term touches the visit's days (a willing
    candidate while the client interviews: ``placements.visit_days``), and (``with_recent``) her jobs of
    the week before, for the fairness score."""
    p = bindparam
    # Uncorrelated subqueries: each runs once (on its index), not once per housekeeper.
    hours = select(WorkingHours.housekeeper_id).where(
        WorkingHours.weekday == p("weekday"), WorkingHours.start_minute <= p("first"),
        WorkingHours.end_minute >= p("last"))
    busy = select(Booking.housekeeper_id).where(Booking.status.in_(BUSY), Booking.ends_at > p("busy_from"),
                                                Booking.starts_at < p("busy_to"), Booking.housekeeper_id.is_not(None))
    off = select(TimeOff.housekeeper_id).where(TimeOff.ends_at > p("start"), TimeOff.starts_at < p("end"))
    held = _held(PlacementCandidate.housekeeper_id).where(Placement.start_date <= p("held_to"),
                                                          Placement.end_date >= p("held_from"))
    certified = [Housekeeper.id.in_(select(Certificate.housekeeper_id).where(
        Certificate.kind == kind, Certificate.expires_on >= p("last_day"))) for kind in certificates]
    # Correlated, on ix_bookings_housekeeper_start: counted for the few rows left, not the month's jobs.
    recent = select(func.count()).where(Booking.housekeeper_id == Housekeeper.id,
                                        Booking.status.in_((*BUSY, "completed")), Booking.starts_at >= p("week_ago"),
                                        Booking.starts_at < p("start")).scalar_subquery()
    return (select(*MATCH_COLUMNS, *([recent.label("recent")] if with_recent else []))
            .where(Housekeeper.status == "active", cast(Housekeeper.skills, Text).like(p("skill"), escape="/"),
                   Housekeeper.id.in_(hours), Housekeeper.id.not_in(busy), Housekeeper.id.not_in(off),
                   Housekeeper.id.not_in(held), *certified,
                   Housekeeper.id.not_in(p("exclude", expanding=True)))
            .order_by(Housekeeper.id))


def _skill_pattern(service: str) -> str:
    """LIKE pattern for a JSON list holding ``service`` (escaped with /)."""
    quoted = json.dumps(service).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{quoted}%"


def free_for_visit_rows(ctx: Context, session: Session, service: str, start: datetime, end: datetime,
                        exclude: set[int], unfit: dict[int, str] | None = None, *,
                        recent: bool = True) -> list[RosterRow]:
    """A visit: who is free, asked of the database in one statement (``_visit_statement``), so that a
    big roster's busy majority is never loaded and no schedule is built in Python. The same rules as
    ``free_by_schedule`` (a test holds the two equal on a seeded roster)."""
    session.flush()  # Core reads below skip the ORM's autoflush: a job added in this unit of work must count
    buffer = timedelta(minutes=ctx.travel_buffer_minutes)
    local = start.astimezone(ctx.tz)
    first = local.hour * 60 + local.minute
    values = {"weekday": local.weekday(), "first": first, "last": first + int((end - start).total_seconds() // 60),
              "busy_from": start - buffer, "busy_to": end + buffer, "start": start, "end": end,
              "last_day": end.astimezone(ctx.tz).date(), "week_ago": start - timedelta(days=7),
              "skill": _skill_pattern(service), "exclude": sorted(exclude)}
    values["held_from"], values["held_to"] = visit_days(start, end, buffer, ctx.tz)
    if exclude and unfit is not None:  # those on the never-again list are reported, free or not
        never = select(*MATCH_COLUMNS).where(Housekeeper.status == "active", Housekeeper.id.in_(sorted(exclude)))
        unfit.update({hk.id: "never_again" for hk in _skilled(session.connection().execute(never), service)})
    # Core rows, not the ORM session's: the same values, without its per-row bookkeeping.
    statement = _visit_statement(tuple(ctx.catalogue[service].certificates), recent)
    rows = session.connection().execute(statement, values).all()
    return _skilled(rows, service)


def free_by_schedule(ctx: Context, session: Session, service: str, start: datetime, end: datetime,
                     exclude: set[int], unfit: dict[int, str] | None = None) -> list[RosterRow]:
    """Who is free, by each skilled housekeeper's schedule read into Python and judged by
    ``unavailable_reason`` (a placement: its first day from 08:00, see ``why_not``)."""
    roster = select(*MATCH_COLUMNS).where(Housekeeper.status == "active").order_by(Housekeeper.id)
    skilled = _skilled(session.execute(roster), service)
    hks = [hk for hk in skilled if hk.id not in exclude]
    if unfit is not None:
        unfit.update({hk.id: "never_again" for hk in skilled if hk.id in exclude})
    if not hks:
        return []
    scheds = schedules(session, hks, start, ctx.tz)
    free = [hk for hk in hks if why_not(ctx, session, hk, service, start, end, scheds[hk.id], False) is None]
    if not free:
        return []
    week_ago = start - timedelta(days=7)
    recent: dict[int, int] = {}
    for (hk_id,) in session.execute(select(Booking.housekeeper_id).where(
            Booking.housekeeper_id.in_([h.id for h in free]), Booking.status.in_((*BUSY, "completed")),
            Booking.starts_at >= week_ago, Booking.starts_at < start)):
        recent[hk_id] = recent.get(hk_id, 0) + 1
    return [hk._replace(recent=recent.get(hk.id, 0)) for hk in free]


def fit(ctx: Context, session: Session, free: list[RosterRow], service: str, start: datetime,
        needs: frozenset[str], unfit: dict[int, str] | None = None) -> list[Candidate]:
    """The free housekeepers whose vetting file allows the job and who meet the profile's ``needs``."""
    if not free:
        return []
    vetted = vetting.problems(ctx, session, free, service, start)  # one query for all (the job's local date)
    out = []
    for hk in free:
        problem = vetted.get(hk.id) or (unmet(needs, bool(hk.pets_ok), hk.languages, hk.attributes)
                                        if needs else None)
        if problem is None:
            out.append(Candidate(hk.id, hk.rating, hk.languages, hk.districts, hk.recent, hk.city))
        elif unfit is not None:
            unfit[hk.id] = problem
    return out
