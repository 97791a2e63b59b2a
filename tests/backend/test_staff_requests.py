"""Leave and working-hours requests on the fake clock (SQLite and PostgreSQL): the managers' card with its
clash warning, approval writing TimeOff / WorkingHours that matching honours, pending offers in the leave
handed on, clashing confirmed jobs flagged, rejection, and the parser for what she types."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.orm import (
    Booking,
    BookingChange,
    Housekeeper,
    Manager,
    Notification,
    Offer,
    StaffRequest,
    TimeOff,
    WorkingHours,
)
from backend.services.staff_requests import changed_hours, hours_text
from dialogs import staff_requests_parse as parse

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=TZ)
WED = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # next Wednesday


def book(be: Backend, start: datetime, sender: str) -> tuple[int, int]:
    """A cleaning at ``start``: (booking id, the housekeeper its pending offer went to)."""
    c = be.client_for("rest", sender, "zh")
    be.set_client(c.id, phone="13812345678")
    b = be.book(c.id, Request("cleaning", start, hours=2, address="朝阳区建国路88号", district="朝阳"))
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        return b["id"], o.housekeeper_id


def manager_id(be: Backend, code: str = "MGR01") -> int:
    with be.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == code))


def rows(be: Backend, template: str) -> list[Notification]:
    with be.db.uow() as s:
        out = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
    return out


def test_leave_approved_hands_the_offer_on_and_writes_time_off(be: Backend) -> None:
    bid, hk = book(be, WED, "sr-1")
    r = be.request_leave(hk, WED.replace(hour=0), WED.replace(hour=0) + timedelta(days=1), "下周三请假")
    assert r["status"] == "pending" and "11月25日（周三）全天" in r["what_zh"] and r["conflict_count"] == 0
    cards = rows(be, "staff_request_new")
    assert {c.person_kind for c in cards} == {"manager"} and cards[0].params["request_id"] == r["request_id"]
    with be.db.uow() as s:  # nothing changes before approval
        assert not s.scalars(select(TimeOff).where(TimeOff.housekeeper_id == hk)).all()
    be.decide_staff_request(manager_id(be), r["request_id"], True)
    with be.db.uow() as s:
        off = s.scalars(select(TimeOff).where(TimeOff.housekeeper_id == hk)).one()
        assert off.starts_at == WED.replace(hour=0) and off.ends_at == WED.replace(hour=0) + timedelta(days=1)
        offers = {o.housekeeper_id: o.status for o in s.scalars(select(Offer).where(Offer.booking_id == bid))}
        assert offers[hk] == "declined" and "pending" in [v for k, v in offers.items() if k != hk]
        assert s.get(StaffRequest, r["request_id"]).status == "approved"
    assert [n.params["request_id"] for n in rows(be, "staff_request_approved")] == [r["request_id"]]
    withdrawn = rows(be, "offer_released")
    assert withdrawn and withdrawn[-1].person_id == hk and withdrawn[-1].replaces_key
    decided = rows(be, "staff_request_decided")
    assert decided and all(d.replaces_key for d in decided)  # the cards are edited in place
    # a new booking that day never reaches her
    bid2, other = book(be, WED + timedelta(hours=1), "sr-1b")
    assert other != hk
    reasons = {c["housekeeper_id"]: c["reasons"] for c in be.candidates(bid2)}
    assert hk not in reasons or reasons[hk]
    with pytest.raises(DomainError) as e:
        be.decide_staff_request(manager_id(be), r["request_id"], False)
    assert e.value.code == "request_decided"


def test_confirmed_job_in_the_leave_is_listed_on_the_card_and_flagged(be: Backend) -> None:
    bid, hk = book(be, WED, "sr-2")
    with be.db.uow() as s:
        offer_id = s.scalar(select(Offer.id).where(Offer.booking_id == bid, Offer.status == "pending"))
    assert be.accept_offer(hk, offer_id)["error"] is None
    r = be.request_leave(hk, WED.replace(hour=0), WED.replace(hour=0) + timedelta(days=1))
    assert r["conflict_count"] == 1 and f"#{bid} 2026-11-25 10:00–12:00" in r["warning_zh"]
    be.decide_staff_request(manager_id(be, "MGR02"), r["request_id"], True)
    flagged = rows(be, "staff_request_conflicts")
    assert flagged and all(f"#{bid}" in f.params["conflicts"] for f in flagged) and flagged[0].urgent


def test_hours_change_approved_replaces_working_hours_and_matching_follows(be: Backend) -> None:
    bid, hk = book(be, datetime(2026, 11, 21, 10, 0, tzinfo=TZ), "sr-3")  # a Saturday
    with be.db.uow() as s:
        saturday = s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk,
                                                        WorkingHours.weekday == 5)).all()
    assert saturday  # she works Saturdays now
    r = be.request_hours(hk, "off", [5, 6], text="我周末不接单")
    assert "周六" not in r["what_zh"].split("（现在")[0] and r["kind"] == "hours"
    be.decide_staff_request(manager_id(be), r["request_id"], True)
    with be.db.uow() as s:
        days = {w.weekday for w in s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk))}
        assert days and not days & {5, 6}
        assert s.scalar(select(Offer.status).where(Offer.booking_id == bid, Offer.housekeeper_id == hk)) == "declined"
    _bid2, other = book(be, datetime(2026, 11, 28, 10, 0, tzinfo=TZ), "sr-3b")
    assert other != hk
    with pytest.raises(DomainError) as e:
        be.request_hours(hk, "off", [5, 6])
    assert e.value.code == "same_hours"


def test_rejection_changes_nothing_and_tells_her(be: Backend) -> None:
    with be.db.uow() as s:
        hk = s.scalar(select(Housekeeper.id).where(Housekeeper.code == "HK001"))
        before = len(s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk)).all())
    r = be.request_hours(hk, "set", [0, 1, 2, 3, 4], 9 * 60, 18 * 60)
    be.decide_staff_request(manager_id(be), r["request_id"], False)
    with be.db.uow() as s:
        assert len(s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk)).all()) == before
    assert rows(be, "staff_request_rejected")[0].person_id == hk
    assert be.pending_staff_requests() == []
    with pytest.raises(DomainError) as e:
        be.request_leave(hk, NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert e.value.code == "invalid_period"


def test_hours_arithmetic_and_text() -> None:
    week = [{"weekday": d, "start_minute": 480, "end_minute": 1080} for d in range(7)]
    assert [h["weekday"] for h in changed_hours(week, "off", [5, 6], None, None)] == [0, 1, 2, 3, 4]
    new = changed_hours(week[:5], "add", [5], 540, 900)
    assert hours_text(new, "zh") == "周一至周五 08:00–18:00；周六 09:00–15:00"
    assert hours_text(new, "en") == "Mon–Fri 08:00–18:00; Sat 09:00–15:00"
    assert [h["weekday"] for h in changed_hours(week[:3], "times", [], 600, 720)] == [0, 1, 2]


@pytest.mark.parametrize("text, start, end", [
    ("下周三请假", datetime(2026, 11, 25, tzinfo=TZ), datetime(2026, 11, 26, tzinfo=TZ)),
    ("明天下午请假", datetime(2026, 11, 19, 12, tzinfo=TZ), datetime(2026, 11, 19, 18, tzinfo=TZ)),
    ("12月24日到26日请假", datetime(2026, 12, 24, tzinfo=TZ), datetime(2026, 12, 27, tzinfo=TZ)),
    ("I need leave next Wednesday", datetime(2026, 11, 25, tzinfo=TZ), datetime(2026, 11, 26, tzinfo=TZ)),
    ("下週三請假", datetime(2026, 11, 25, tzinfo=TZ), datetime(2026, 11, 26, tzinfo=TZ)),
])
def test_leave_periods(text: str, start: datetime, end: datetime) -> None:
    assert parse.kind_of(text) == "leave"
    assert parse.leave_period(text, NOW) == (start, end)


@pytest.mark.parametrize("text, change", [
    ("我周末不接单", parse.HoursChange("off", (5, 6))),
    ("以后周一到周五9点到18点", parse.HoursChange("set", (0, 1, 2, 3, 4), 540, 1080)),
    ("周六也接单 9点到15点", parse.HoursChange("add", (5,), 540, 900)),
    ("I only work Mon-Fri 9am to 6pm", parse.HoursChange("set", (0, 1, 2, 3, 4), 540, 1080)),
    ("以后早上9点到晚上6点", parse.HoursChange("times", (), 540, 1080)),
    ("以后周三全天", parse.HoursChange("set", (2,), *parse.FULL_DAY)),
])
def test_hours_changes(text: str, change: parse.HoursChange) -> None:
    assert parse.kind_of(text) == "hours"
    assert parse.hours_change(text) == change


def test_other_words_are_not_requests() -> None:
    assert parse.kind_of("hello") is None and parse.kind_of("/jobs") is None
    assert parse.kind_of("I'll leave at 5 when the floors are dry") is None
    assert parse.leave_period("我想请假", NOW) is None


def test_change_offer_in_the_leave_is_declined_through_the_change(be: Backend) -> None:
    """Fix 3: her "new time?" offer is tested on the change's new slot and handed on through the change."""
    bid, hk = book(be, WED, "sr-5")
    with be.db.uow() as s:
        offer_id = s.scalar(select(Offer.id).where(Offer.booking_id == bid, Offer.status == "pending"))
    assert be.accept_offer(hk, offer_id)["error"] is None
    client = be.client_for("rest", "sr-5", "zh").id
    fri = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
    ch = be.change_booking(client, bid, starts_at=fri.isoformat())
    assert ch["asking"] == "same"
    # leave on the new day only: her job on Wednesday stands, the new Friday slot is impossible for her
    r = be.request_leave(hk, fri.replace(hour=0), fri.replace(hour=0) + timedelta(days=1))
    assert r["conflict_count"] == 0
    be.decide_staff_request(manager_id(be), r["request_id"], True)
    with be.db.uow() as s:
        mine = s.scalar(select(Offer).where(Offer.change_id == ch["id"], Offer.housekeeper_id == hk))
        assert mine.kind == "change" and mine.status == "declined"
        change = s.get(BookingChange, ch["id"])
        others = s.scalars(select(Offer).where(Offer.change_id == ch["id"], Offer.housekeeper_id != hk,
                                               Offer.status == "pending")).all()
        # the change moved on: asked of the next housekeeper, or declined to the client — never stuck on her
        assert (change.status == "pending" and others) or change.status == "declined"
        assert s.get(Booking, bid).housekeeper_id == hk and s.get(Booking, bid).starts_at == WED
    assert rows(be, "change_searching")[-1].person_id == client
    withdrawn = rows(be, "offer_released")
    assert withdrawn[-1].person_id == hk and withdrawn[-1].replaces_key == f"offer:{mine.id}"


def test_leave_on_the_old_day_keeps_her_change_offer_for_the_new_day(be: Backend) -> None:
    bid, hk = book(be, WED, "sr-6")
    with be.db.uow() as s:
        offer_id = s.scalar(select(Offer.id).where(Offer.booking_id == bid, Offer.status == "pending"))
    be.accept_offer(hk, offer_id)
    client = be.client_for("rest", "sr-6", "zh").id
    ch = be.change_booking(client, bid, starts_at=datetime(2026, 11, 27, 10, 0, tzinfo=TZ).isoformat())
    r = be.request_leave(hk, WED.replace(hour=0), WED.replace(hour=0) + timedelta(days=1))
    be.decide_staff_request(manager_id(be), r["request_id"], True)
    with be.db.uow() as s:
        mine = s.scalar(select(Offer).where(Offer.change_id == ch["id"], Offer.housekeeper_id == hk))
        assert mine.status == "pending" and s.get(BookingChange, ch["id"]).status == "pending"


def test_two_hours_requests_approved_both_count(be: Backend) -> None:
    """Fix 7: each approval applies what she asked to her hours as they are then."""
    with be.db.uow() as s:
        hk = s.scalar(select(Housekeeper.id).where(Housekeeper.code == "HK001"))
        before = {w.weekday for w in s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk))}
    assert {0, 1, 4} <= before
    friday = be.request_hours(hk, "off", [4], text="周五不接单")
    monday = be.request_hours(hk, "off", [0], text="周一不接单")
    with be.db.uow() as s:
        assert s.get(StaffRequest, monday["request_id"]).hours == {"mode": "off", "days": [0], "start": None,
                                                                    "end": None}
    be.decide_staff_request(manager_id(be), friday["request_id"], True)
    # a roster import / manual change between the two: Tuesdays now end at 20:00
    with be.db.uow() as s:
        tue = s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk, WorkingHours.weekday == 1)).one()
        assert tue.end_minute != 20 * 60
        tue.end_minute = 20 * 60
    be.decide_staff_request(manager_id(be), monday["request_id"], True)
    with be.db.uow() as s:
        ends = {w.weekday: w.end_minute
                for w in s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk))}
    assert set(ends) == before - {0, 4} and ends[1] == 20 * 60
    decided = rows(be, "staff_request_approved")[-1]
    assert decided.params["what_zh"] == "修改接单时间为：周二 07:00–20:00；周三至周四 07:00–21:00"
