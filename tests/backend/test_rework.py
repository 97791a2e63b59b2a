"""Free rework visits (SQLite and PostgreSQL): a zero-price booking through the normal matching and
offer flow, offered to the original housekeeper first (or the one the manager names)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, CaseEvent, Escalation, Housekeeper, Manager, MatchCandidate, Notification, Offer

TZ = ZoneInfo("Asia/Shanghai")


def done_job(be: Backend) -> tuple[int, int, int]:
    """A cleaning on Thu 11-19 10:00 confirmed to the first candidate and finished: (client, booking, hk)."""
    c = be.client_for("rest", "dora", "en")
    b = be.book(c.id, Request("cleaning", datetime(2026, 11, 19, 10, tzinfo=TZ), hours=3,
                              address="上海市长宁区愚园路100号", district="长宁"))
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        hk_id, offer_id = offer.housekeeper_id, offer.id
    be.accept_offer(hk_id, offer_id)
    be.ctx.clock.set(datetime(2026, 11, 19, 10, 0, tzinfo=TZ))
    be.arrive(hk_id, b["id"])
    be.ctx.clock.set(datetime(2026, 11, 19, 13, 5, tzinfo=TZ))
    be.finish(hk_id, b["id"])
    return c.id, b["id"], hk_id


def case_for(be: Backend, client_id: int, booking_id: int | None) -> int:
    with be.db.uow() as s:
        e = Escalation(kind="complaint", client_id=client_id, booking_id=booking_id, status="claimed",
                       category="quality", detail={"text": "the kitchen was not done"}, created_at=be.now)
        s.add(e)
        s.flush()
        return e.id


def mgr(be: Backend) -> int:
    with be.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == "MGR01"))


def test_rework_is_free_and_offered_to_the_same_housekeeper_first(be: Backend) -> None:
    client_id, orig_id, hk_id = done_job(be)
    case_id = case_for(be, client_id, orig_id)
    be.ctx.clock.set(datetime(2026, 11, 19, 15, 0, tzinfo=TZ))
    rw = be.arrange_rework(mgr(be), case_id)

    assert rw["price"] == 0 and rw["status"] == "offered" and rw["service"] == "cleaning"
    start = datetime.fromisoformat(rw["starts_at"]).astimezone(TZ)
    assert (start.hour, start.minute) == (10, 0) and start.date() > datetime(2026, 11, 19).date()
    with be.db.uow() as s:
        b = s.get(Booking, rw["id"])
        orig = s.get(Booking, orig_id)
        assert (b.case_id, b.rework_of, b.hours, b.district) == (case_id, orig_id, orig.hours, orig.district)
        assert b.address == orig.address and b.client_id == client_id
        offer = s.scalar(select(Offer).where(Offer.booking_id == rw["id"]))
        assert offer.housekeeper_id == hk_id and offer.status == "pending"
        first = s.scalar(select(MatchCandidate).where(MatchCandidate.booking_id == rw["id"], MatchCandidate.rank == 1))
        assert first.housekeeper_id == hk_id and first.reasons["preferred"] == 1.0
        ev = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "rework"))
        assert ev.detail["booking_id"] == rw["id"] and ev.detail["housekeeper_id"] == hk_id
        told = list(s.scalars(select(Notification).where(Notification.template == "rework_arranged")))
    assert [(n.person_id, n.params["booking_id"], n.params["case_id"]) for n in told] == [
        (client_id, rw["id"], case_id)]


def test_rework_goes_to_the_housekeeper_the_manager_names_at_the_given_time(be: Backend) -> None:
    client_id, orig_id, hk_id = done_job(be)
    case_id = case_for(be, client_id, orig_id)
    when = datetime(2026, 11, 21, 14, 0, tzinfo=TZ)  # Saturday afternoon
    with be.db.uow() as s:
        others = [h for h in s.scalars(select(Housekeeper).where(Housekeeper.id != hk_id).order_by(Housekeeper.id))
                  if "cleaning" in h.skills]
    from backend.services.roster import why_not

    with be.db.uow() as s:
        other = next(h for h in others if why_not(be.ctx, s, s.get(Housekeeper, h.id), "cleaning", when,
                                                  when.replace(hour=17)) is None)
    rw = be.arrange_rework(mgr(be), case_id, starts_at=when, housekeeper_code=other.code.lower())
    assert datetime.fromisoformat(rw["starts_at"]) == when
    with be.db.uow() as s:
        assert s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == rw["id"])) == other.id


def test_rework_errors_store_nothing(be: Backend) -> None:
    client_id, orig_id, _ = done_job(be)
    m = mgr(be)
    with be.db.uow() as s:
        before = s.scalar(select(func.count(Booking.id)))
        nanny = s.scalar(select(Housekeeper.code).where(Housekeeper.code == "HK020"))
        assert "cleaning" not in s.scalar(select(Housekeeper.skills).where(Housekeeper.code == nanny))
    cases = {"no_booking": (case_for(be, client_id, None), {}),
             "case_not_found": (9999, {}),
             "housekeeper_not_found": (case_for(be, client_id, orig_id), {"housekeeper_code": "HK999"}),
             "housekeeper_not_free": (case_for(be, client_id, orig_id), {"housekeeper_code": nanny}),
             "time_past": (case_for(be, client_id, orig_id),
                           {"starts_at": datetime(2026, 11, 1, 10, tzinfo=TZ)})}
    for code, (case_id, kwargs) in cases.items():
        with pytest.raises(DomainError) as e:
            be.arrange_rework(m, case_id, **kwargs)
        assert e.value.code == code
    with be.db.uow() as s:  # nobody with the skill is active any more
        s.execute(update(Housekeeper).values(status="on_hold"))
    with pytest.raises(DomainError) as e:
        be.arrange_rework(m, case_for(be, client_id, orig_id))
    assert e.value.code == "nobody_free"
    with be.db.uow() as s:
        assert s.scalar(select(func.count(Booking.id))) == before
        assert s.scalar(select(Notification.id).where(Notification.template == "rework_arranged")) is None
        assert s.scalar(select(CaseEvent.id).where(CaseEvent.kind == "rework")) is None
