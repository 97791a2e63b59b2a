"""Term matching for placements (issue 12): who is free for the WHOLE term, and in which order.

A housekeeper is free for a placement from ``start`` to ``end`` (inclusive local dates) when she is
active and skilled, the service's certificates are valid to the end, no confirmed or in-progress booking
(visit or placement) and no time off overlaps, she is not held (a "willing" candidate) for another
overlapping placement, she is not on the client's never-again list, the profile's hard needs and the
request's requirements are met, her vetting file allows the service (``vetting.problems``) and, for a
live-out placement, she works in the city and district. Seven queries whatever the roster's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, insert, select
from sqlalchemy.orm import Session

from backend.domain.matching import Candidate, Ranked, adjacent_to, area_problem, rank
from backend.domain.placements import age_ok, term_bounds
from backend.domain.profile import unmet
from backend.orm import Booking, Certificate, Client, Housekeeper, Placement, PlacementCandidate, TimeOff
from backend.services import Context, vetting
from backend.services.roster import BUSY, constraints

EXPERIENCE_WEIGHT = 0.2  # on top of the visit weights: ten years and more earn it all
EXPERIENCE_CAP = 10
LIGHT = (Housekeeper.id, Housekeeper.skills, Housekeeper.languages, Housekeeper.districts, Housekeeper.city,
         Housekeeper.rating, Housekeeper.pets_ok, Housekeeper.attributes, Housekeeper.birth_year,
         Housekeeper.experience_years)


@dataclass(frozen=True)
class Staff:
    """The roster columns matching reads (plain rows: no ORM objects, no decrypted names)."""

    id: int
    skills: list[str] | None
    languages: list[str] | None
    districts: list[str] | None
    city: str | None
    rating: float
    pets_ok: bool | None
    attributes: list[str] | None
    birth_year: int | None
    experience_years: int | None


@dataclass(frozen=True)
class Match:
    ranked: list[Ranked]  # free and fit, best first
    excluded: dict[int, str]  # skilled but not free or not fit → the first reason


def match(ctx: Context, session: Session, pl: Placement, start: date, end: date, *,
          only: set[int] | None = None, ignore_booking: int | None = None) -> Match:
    """Who may take ``pl`` from ``start`` to ``end``. ``only``: just these housekeepers (a re-check before
    asking or choosing her); ``ignore_booking``: her own term booking (an extension, an earlier start)."""
    svc = ctx.catalogue[pl.service]
    # Only the columns matching reads (names and phones are encrypted: decrypting a roster is slow), for
    # those whose skills' JSON text names the service — a portable prefilter, confirmed in Python.
    q = select(*LIGHT).where(Housekeeper.status == "active",
                             cast(Housekeeper.skills, String).like(f'%"{pl.service}"%'))
    if only is not None:
        q = q.where(Housekeeper.id.in_(sorted(only)))
    hks = [h for h in (Staff(*row) for row in session.execute(q.order_by(Housekeeper.id)))
           if pl.service in (h.skills or [])]
    if not hks:
        return Match([], {})
    ids = [h.id for h in hks]
    t0, t1 = term_bounds(start, end, ctx.tz)
    excluded: dict[int, str] = {}

    def exclude(hk_id: int, reason: str) -> None:
        excluded.setdefault(hk_id, reason)  # the first reason wins: the strongest comes first below

    never, needs = constraints(ctx, session, pl.client_id, pl.household if pl.household is not None else None)
    for i in ids:
        if i in never:
            exclude(i, "never_again")
    certs: dict[int, dict[str, date]] = {}
    if svc.certificates:
        cq = select(Certificate.housekeeper_id, Certificate.kind, Certificate.expires_on).where(
            Certificate.kind.in_(svc.certificates))
        cq = cq if only is None else cq.where(Certificate.housekeeper_id.in_(ids))
        for hk_id, kind, expires in session.execute(cq):
            mine = certs.setdefault(hk_id, {})
            mine[kind] = max(expires, mine.get(kind, expires))
    for i in ids:
        for kind in svc.certificates:
            if certs.get(i, {}).get(kind, date.min) < end:
                exclude(i, f"certificate:{kind}")
                break
    # vetting reads the ids only: the plain rows stand in for Housekeeper objects
    for i, why in vetting.problems(ctx, session, hks, pl.service, start, end).items():  # type: ignore[arg-type]
        exclude(i, why)
    # Busy: one query over the term for everyone (an index on status keeps it to the open bookings).
    bq = select(Booking.housekeeper_id).where(Booking.status.in_(BUSY), Booking.ends_at > t0,
                                              Booking.starts_at < t1, Booking.housekeeper_id.is_not(None))
    if ignore_booking is not None:
        bq = bq.where(Booking.id != ignore_booking)
    if only is not None:
        bq = bq.where(Booking.housekeeper_id.in_(ids))
    for (i,) in session.execute(bq.distinct()):
        exclude(i, "busy")
    tq = select(TimeOff.housekeeper_id).where(TimeOff.ends_at > t0, TimeOff.starts_at < t1)
    for (i,) in session.execute(tq if only is None else tq.where(TimeOff.housekeeper_id.in_(ids))):
        exclude(i, "time_off")
    hq = select(PlacementCandidate.housekeeper_id).join(
        Placement, Placement.id == PlacementCandidate.placement_id).where(
        PlacementCandidate.state == "willing", Placement.id != pl.id, Placement.start_date <= end,
        Placement.end_date >= start)
    for (i,) in session.execute(hq if only is None else hq.where(PlacementCandidate.housekeeper_id.in_(ids))):
        exclude(i, "held")
    today = ctx.clock.now().astimezone(ctx.tz).date()
    req = pl.requirements or {}
    for hk in hks:
        if hk.id in excluded:
            continue
        why = _unfit(ctx, hk, needs, req, today) or (None if pl.live_in else _away(ctx, hk, pl))
        if why:
            exclude(hk.id, why)
    free = [h for h in hks if h.id not in excluded]
    skilled = set(ids)  # the term queries above ran for everyone: keep the skilled only
    return Match(_rank(ctx, session, pl, free), {i: r for i, r in excluded.items() if i in skilled})


def _unfit(ctx: Context, hk: Staff, needs: frozenset[str], req: dict, today: date) -> str | None:
    """The profile's hard needs, then the request's requirements (languages, flags, age when allowed)."""
    langs, attrs = frozenset(hk.languages or []), frozenset(hk.attributes or [])
    if needs:
        problem = unmet(needs, bool(hk.pets_ok), langs, attrs)
        if problem:
            return problem
    for lang in req.get("languages") or []:
        if lang not in langs:
            return f"language:{lang}"
    for flag, need in ctx.placements.requirement_attributes.items():
        if req.get(flag) and need not in attrs and need not in (hk.skills or []):
            return f"requirement:{flag}"
    if ctx.placements.allow_age_requirement and not age_ok(hk.birth_year, today, req.get("age_min"),
                                                           req.get("age_max")):
        return "requirement:age"
    return None


def _away(ctx: Context, hk: Staff, pl: Placement) -> str | None:
    """Live-out: she goes home every day, so the visits' area rule applies (live-in: the city only)."""
    return area_problem(ctx.area, _candidate(hk), pl.city, pl.district)


def _candidate(hk: Staff) -> Candidate:
    return Candidate(hk.id, hk.rating, frozenset(hk.languages or []), frozenset(hk.districts or []), 0, hk.city)


def _rank(ctx: Context, session: Session, pl: Placement, free: list[Staff]) -> list[Ranked]:
    """The visits' ranking (rating, continuity, language, district, fairness) plus experience."""
    if not free:
        return []
    client = session.get(Client, pl.client_id)
    preferred = frozenset(int(i) for i in (client.preferred or [])) if client else frozenset()
    base = rank([_candidate(h) for h in free], pl.lang or (client.lang if client else "zh"), pl.district,
                client.last_housekeeper_id if client else None, preferred,
                adjacent=adjacent_to(ctx.area, pl.city, pl.district))
    years = {h.id: h.experience_years or 0 for h in free}
    out = []
    for r in base:
        exp = round(EXPERIENCE_WEIGHT * min(years[r.housekeeper_id], EXPERIENCE_CAP) / EXPERIENCE_CAP, 4)
        out.append(Ranked(r.housekeeper_id, round(r.score + exp, 4), {**r.reasons, "experience": exp}))
    return sorted(out, key=lambda r: (-r.score, r.housekeeper_id))


def store(session: Session, pl: Placement, m: Match, seen: set[int]) -> int:
    """Rows for a round: the ranked (not seen before) in order, then the excluded with the reason. A row
    from an earlier round is reused when she was only excluded then (she may be free now); anyone asked
    before (``seen``) is never ranked again. Returns how many were ranked."""
    rows = {c.housekeeper_id: c for c in session.scalars(
        select(PlacementCandidate).where(PlacementCandidate.placement_id == pl.id))}
    n = 0
    order = [(r.housekeeper_id, r.score, r.reasons, "ranked") for r in m.ranked if r.housekeeper_id not in seen]
    order += [(i, 0.0, {"excluded": why}, "excluded") for i, why in sorted(m.excluded.items()) if i not in seen]
    # asked for the placement this one replaces: shown to managers, never asked again
    order += [(r.housekeeper_id, 0.0, {"excluded": "previous_candidate"}, "excluded") for r in m.ranked
              if r.housekeeper_id in seen and r.housekeeper_id not in rows]
    new = []
    for pos, (hk_id, score, reasons, state) in enumerate(order, 1):
        row = rows.get(hk_id)
        if row is not None and row.state not in ("ranked", "excluded"):
            continue
        n += state == "ranked"
        if row is None:
            new.append({"placement_id": pl.id, "housekeeper_id": hk_id, "round": pl.round, "rank": pos,
                        "score": score, "reasons": reasons, "state": state})
        else:
            row.round, row.rank, row.score, row.reasons, row.state = pl.round, pos, score, reasons, state
    session.flush()
    if new:  # hundreds of rows for a large roster: one bulk INSERT, not one ORM object each
        session.execute(insert(PlacementCandidate), new)
    return n
