"""Visit matching at scale (issue 13) on SQLite and PostgreSQL: the one-statement free check gives what the
schedule rules give on a seeded roster, and a booking stores the full ranking, as before, and every exclusion."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from backend.api import Backend, Request
from backend.domain.matching import adjacent_to, by_area, rank
from backend.orm import (
    Booking,
    Certificate,
    Client,
    Housekeeper,
    Offer,
    Placement,
    PlacementCandidate,
    TimeOff,
    WorkingHours,
)
from backend.services import roster, staff
from backend.services.roster import constraints, fit, free_by_schedule, free_for_visit_rows, why_not

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 25)  # next Wednesday on the test clock
ADDRESS = "朝阳区建国路88号3号楼501"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _seed(be: Backend, n: int = 64, seed: int = 7) -> None:
    """``n`` housekeepers (the demo roster's mix, repeated) with a seeded week around DAY: jobs of every
    status, time off, a health certificate lapsing on the day, shorter hours, suspensions and two held
    for a placement — so that every rule of availability decides for somebody."""
    demo = [r for r in staff.demo_rows(be.now.date()) if r["role"] == "housekeeper"]
    be.import_staff([staff.parse_row(k + 1, {**demo[k % len(demo)], "code": f"HS{k + 1:03d}",
                                             "phone": f"137{k:08d}"}, be.catalogue) for k in range(n)])
    rnd = random.Random(seed)
    client = be.client_for("rest", "seeder", "zh")
    with be.db.uow() as s:
        ids = sorted(s.scalars(select(Housekeeper.id).where(Housekeeper.code.like("HS%"))))
        for hk in ids:
            for _ in range(rnd.randint(0, 5)):
                start = _at(DAY + timedelta(days=rnd.randint(-8, 1)), rnd.randint(7, 18), rnd.choice((0, 30)))
                s.add(Booking(client_id=client.id, service="cleaning", starts_at=start, housekeeper_id=hk,
                              ends_at=start + timedelta(minutes=rnd.choice((90, 120, 180, 240))), hours=3,
                              price_estimate=150, created_at=be.now, city="北京市", district="朝阳区",
                              status=rnd.choice(("confirmed", "in_progress", "completed", "cancelled"))))
            if rnd.random() < 0.2:
                off = _at(DAY + timedelta(days=rnd.randint(0, 1)), rnd.randint(6, 16))
                s.add(TimeOff(housekeeper_id=hk, starts_at=off, ends_at=off + timedelta(hours=rnd.randint(1, 30))))
        for hk in rnd.sample(ids, 8):  # lapsing the day before, on, or after the visit
            s.execute(update(Certificate).where(Certificate.housekeeper_id == hk, Certificate.kind == "health")
                      .values(expires_on=DAY + timedelta(days=rnd.randint(-1, 1))))
        for hk in rnd.sample(ids, 8):
            s.execute(update(WorkingHours).where(WorkingHours.housekeeper_id == hk)
                      .values(start_minute=rnd.choice((8 * 60, 10 * 60)), end_minute=rnd.choice((12 * 60, 13 * 60))))
        s.execute(update(Housekeeper).where(Housekeeper.id.in_(rnd.sample(ids, 3)))
                  .values(status="suspended_from_matching"))
        pl = Placement(client_id=client.id, service="housekeeper", start_date=DAY, end_date=DAY + timedelta(days=30),
                       term_days=31)
        s.add(pl)
        s.flush()
        for i, (hk, state) in enumerate(zip(rnd.sample(ids, 3), ("willing", "willing", "asked"), strict=True), 1):
            s.add(PlacementCandidate(placement_id=pl.id, housekeeper_id=hk, rank=i, score=1.0, state=state))


def _slots() -> list[tuple[str, datetime, float]]:
    days = (DAY - timedelta(days=1), DAY, DAY + timedelta(days=1))
    return [(service, _at(day, hour, minute), hours) for service in ("cleaning", "cooking") for day in days
            for hour, minute in ((8, 0), (10, 0), (13, 30), (16, 0)) for hours in (2, 4)]


def test_the_one_statement_free_check_equals_the_schedule_rules_on_a_seeded_roster(be: Backend) -> None:
    _seed(be)
    with be.db.uow() as s:
        never = set(s.scalars(select(Housekeeper.id).where(Housekeeper.code.in_(("HS003", "HS011", "HS040")))))
        reasons: set[str] = set()
        sizes = []
        for service, start, hours in _slots():
            end = start + timedelta(hours=hours)
            for exclude in (set(), never):
                fast_unfit: dict[int, str] = {}
                slow_unfit: dict[int, str] = {}
                fast = free_for_visit_rows(be.ctx, s, service, start, end, exclude, fast_unfit)
                slow = free_by_schedule(be.ctx, s, service, start, end, exclude, slow_unfit)
                assert fast == slow, (service, start, hours, exclude)  # the same rows, recent jobs included
                assert fast_unfit == slow_unfit
                sizes.append(len(fast))
            free = {hk.id for hk in fast}
            for hk in s.scalars(select(Housekeeper).where(Housekeeper.id.not_in(free))):
                reasons.add(str(why_not(be.ctx, s, hk, service, start, end)))
        # the seeded week decides somebody by every rule, and the slots differ in who is free
        assert {"hours", "busy", "time_off", "certificate:health", "inactive", "skill"} <= reasons
        assert len(set(sizes)) > 3 and min(sizes) > 0
        assert any(hk.recent for hk in fast)


def _full_ranking(be: Backend, booking_id: int) -> list[tuple[int, float, dict[str, float]]]:
    """The whole ranking by the schedule rules, as every candidate was ranked and stored before issue 13."""
    with be.db.uow() as s:
        b = s.get(Booking, booking_id)
        client = s.get(Client, b.client_id)
        never, needs = constraints(be.ctx, s, b.client_id, b.standing_notes or [])
        rows = free_by_schedule(be.ctx, s, b.service, b.starts_at, b.ends_at, never)
        cands, _ = by_area(be.ctx.area, fit(be.ctx, s, rows, b.service, b.starts_at, needs), b.city, b.district)
        ranked = rank(cands, client.lang, b.district, client.last_housekeeper_id, frozenset(),
                      adjacent=adjacent_to(be.ctx.area, b.city, b.district))
        return [(r.housekeeper_id, r.score, r.reasons) for r in ranked]


def _pending(be: Backend, booking_id: int) -> Offer | None:
    with be.db.uow() as s:
        return s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))


def test_a_booking_stores_the_full_ranking_and_every_exclusion(be: Backend) -> None:
    _seed(be)
    c = be.client_for("rest", "erin", "zh")
    with be.db.uow() as s:
        s.get(Client, c.id).never_again = [s.scalar(select(Housekeeper.id).where(Housekeeper.code == "HS001"))]
    b = be.book(c.id, Request("cleaning", _at(DAY, 10), hours=3, address=ADDRESS))
    full = _full_ranking(be, b["id"])
    assert len(full) > 20
    cands = be.candidates(b["id"])
    stored = [x for x in cands if x["state"] != "excluded"]
    assert [(x["housekeeper_id"], x["rank"], x["score"], x["reasons"]) for x in stored] == [
        (hk, i, score, reasons) for i, (hk, score, reasons) in enumerate(full, 1)]
    assert stored[0]["state"] == "offered" and _pending(be, b["id"]).housekeeper_id == full[0][0]
    excluded = [x for x in cands if x["state"] == "excluded"]
    assert {"excluded": "never_again"} in [x["reasons"] for x in excluded]  # managers still see why
    assert min(x["rank"] for x in excluded) == len(full) + 1  # numbered after every ranked one, as before


def test_roster_rows_decode_each_distinct_list_once() -> None:
    roster._texts.cache_clear()
    rows = [(i, '["cleaning", "cooking"]', '["zh"]', '["朝阳区"]', None, 4.5, True, "[]", "active", 0)
            for i in range(1, 6)]
    out = roster._skilled(rows, "cleaning")
    assert [r.id for r in out] == [1, 2, 3, 4, 5] and out[0].languages == frozenset({"zh"})
    assert roster._texts.cache_info().misses == 4  # skills, languages, districts, attributes
    assert roster._skilled([(9, '["cleaning_plus"]', "[]", "[]", None, 4.5, True, "[]", "active", 0)],
                           "cleaning") == []
