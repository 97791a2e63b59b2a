"""Repeat visits (issue 10): the date arithmetic of a series, holiday surcharges in the catalogue, and the
series service on SQLite and PostgreSQL (visits on a rolling horizon, the daily plan, holiday rules, the
series' housekeeper offered first, cancelling the rest)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.catalogue import load_catalogue
from backend.domain import series as rules
from backend.domain.clock import WorkCalendar
from backend.orm import AuditLog, Booking, BookingSeries, MatchCandidate, Notification, Offer, Timer

TZ = ZoneInfo("Asia/Shanghai")
WED_25 = datetime(2026, 11, 25, 10, tzinfo=TZ)  # the Wednesday after the reference time (Wed 18th 10:30)
FRI_20 = datetime(2026, 11, 20, 10, tzinfo=TZ)
SAT_21 = datetime(2026, 11, 21, 10, tzinfo=TZ)
NEW_YEAR = WorkCalendar({date(2027, 1, 1): False})  # a Friday


# --- pure rules -------------------------------------------------------------------------------------
def test_occurrences_weekly_every_n_weeks_count_and_until() -> None:
    first = date(2026, 11, 25)
    weekly = rules.occurrences(first, 1, None, None, None, date(2027, 1, 20))
    assert weekly[:3] == [date(2026, 11, 25), date(2026, 12, 2), date(2026, 12, 9)] and len(weekly) == 9
    assert rules.occurrences(first, 2, 6, None, None, date(2028, 1, 1)) == [
        first + timedelta(weeks=2 * k) for k in range(6)]
    assert rules.occurrences(first, 1, None, date(2026, 12, 9), None, date(2027, 6, 1))[-1] == date(2026, 12, 9)
    # "after" is exclusive: a later plan continues where the last one stopped
    assert rules.occurrences(first, 1, None, None, date(2026, 12, 2), date(2026, 12, 16)) == [
        date(2026, 12, 9), date(2026, 12, 16)]
    assert rules.last_date(first, 2, 6, None) == date(2027, 2, 3)
    assert rules.last_date(first, 2, None, date(2027, 1, 31)) == date(2027, 1, 20)
    assert rules.last_date(first, 1, None, None) is None


def test_first_date_is_the_next_matching_weekday_after_the_lead_time() -> None:
    now_plus_lead = datetime(2026, 11, 18, 12, 30, tzinfo=TZ)  # Wednesday 12:30
    assert rules.first_date(now_plus_lead, 2, 10 * 60) == date(2026, 11, 25)  # today's 10:00 is gone
    assert rules.first_date(now_plus_lead, 2, 14 * 60) == date(2026, 11, 18)  # today's 14:00 is not
    assert rules.first_date(now_plus_lead, 4, 9 * 60) == date(2026, 11, 20)


def test_plan_until_respects_the_booking_horizon_and_holiday_actions() -> None:
    today = date(2026, 11, 18)
    assert rules.plan_until(today, 8, 180) == date(2027, 1, 13)
    assert rules.plan_until(today, 8, 30) == date(2026, 12, 17)
    assert [rules.holiday_action(r, True) for r in ("skip", "keep", "ask")] == ["skip", "create", "ask"]
    assert rules.holiday_action("skip", False) == "create"


def test_recurrence_problems_and_policy_validation() -> None:
    p = rules.SeriesPolicy()
    assert rules.problem(rules.Recurrence(5), date(2026, 11, 25), p) == "series_interval"
    assert rules.problem(rules.Recurrence(1, count=1), date(2026, 11, 25), p) == "series_count"
    assert rules.problem(rules.Recurrence(1, until=date(2026, 11, 20)), date(2026, 11, 25), p) == "series_until"
    assert rules.problem(rules.Recurrence(2, count=6), date(2026, 11, 25), p) is None
    for bad in ({"holiday_rule": "maybe"}, {"ask_default": "ask"}, {"ask_days_before": 2, "answer_days_before": 3},
                {"horizon_weeks": 0}):
        with pytest.raises(ValueError):
            rules.SeriesPolicy.from_dict(bad)
    assert rules.Recurrence.from_slot({"interval_weeks": 2, "weekday": 4, "count": 6}) == rules.Recurrence(2, 4, 6)
    assert rules.Recurrence.from_slot("every week") is None


def test_catalogue_surcharges(tmp_path: Path) -> None:
    cat = load_catalogue(Path("config/services.yaml"))
    assert cat.surcharge("cleaning", date(2027, 2, 5))[0] == 2
    assert cat.surcharge("maternity_nurse", date(2027, 2, 13))[0] == 3
    assert cat.surcharge("cleaning", date(2027, 2, 14)) == (1.0, None)
    assert cat.surcharge("cleaning", date(2027, 2, 8))[1].name["zh"] == "春节"
    bad = tmp_path / "services.yaml"
    bad.write_text("surcharges:\n  - {name: {zh: x, en: x}, from: 2027-02-05, to: 2027-02-01, factors: {'*': 2}}\n")
    with pytest.raises(ValueError):
        load_catalogue(bad)


# --- the service ------------------------------------------------------------------------------------
def _client(be: Backend, who: str = "sue") -> int:
    return be.client_for("rest", who, "zh").id


def _req(start: datetime, **kw: object) -> Request:
    return Request("cleaning", start, hours=3, address="朝阳区建国路88号3号楼501", district="朝阳", **kw)


def _visits(be: Backend, series_id: int) -> list[Booking]:
    with be.db.read() as s:
        got = list(s.scalars(select(Booking).where(Booking.series_id == series_id).order_by(Booking.starts_at)))
        s.expunge_all()
        return got


def test_a_weekly_series_creates_visits_to_the_horizon_and_the_daily_plan_extends_it(be: Backend) -> None:
    cid = _client(be)
    got = be.book_series(cid, _req(WED_25), {"interval_weeks": 1, "weekday": 2}, request_key="k-1")
    assert be.book_series(cid, _req(WED_25), {"interval_weeks": 1}, request_key="k-1")["id"] == got["id"]  # once
    visits = _visits(be, got["id"])
    assert [v.starts_at for v in visits] == [WED_25 + timedelta(weeks=k) for k in range(8)]  # to 2027-01-13
    assert all(v.status == "offered" and v.price_estimate == 150 for v in visits)
    assert got["planned_until"] == "2027-01-13"
    with be.db.read() as s:  # the other visits go first to the housekeeper the first went to, when she can
        hk = s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == visits[0].id))
        for v in visits[1:]:
            ranked = list(s.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == v.id,
                                                                 MatchCandidate.state != "excluded")
                                    .order_by(MatchCandidate.rank)))
            assert ranked[0].housekeeper_id == hk or hk not in [c.housekeeper_id for c in ranked]
        assert s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == visits[1].id)) == hk
        assert s.scalar(select(Timer.due_at).where(Timer.kind == "series_plan")) == datetime(2026, 11, 19, 2, tzinfo=TZ)
    be.ctx.clock.advance(hours=16)  # past 02:00 on Thursday: the horizon moves one day, no new Wednesday yet
    be.run_due_timers()
    assert len(_visits(be, got["id"])) == 8
    be.ctx.clock.advance(days=6)  # Wednesday 20 Jan 2027 comes within 8 weeks
    be.run_due_timers()
    visits = _visits(be, got["id"])
    assert len(visits) == 9 and visits[-1].starts_at == datetime(2027, 1, 20, 10, tzinfo=TZ)


def test_a_counted_series_ends_and_every_other_week_is_honoured(be: Backend) -> None:
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20.replace(hour=14)), {"interval_weeks": 2, "count": 3})
    visits = _visits(be, got["id"])
    assert [v.starts_at.date() for v in visits] == [date(2026, 11, 20), date(2026, 12, 4), date(2026, 12, 18)]
    assert got["status"] == "ended"  # every visit exists: nothing left to plan
    with pytest.raises(DomainError) as e:
        be.book_series(cid, _req(FRI_20), {"interval_weeks": 6})
    assert e.value.code == "series_interval"


def test_holiday_skip_keep_and_ask_with_the_default_stated(be: Backend) -> None:
    be.ctx.calendar = NEW_YEAR
    cid = _client(be)
    be.ctx.series = replace(be.ctx.series, holiday_rule="skip")
    skipped = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    assert date(2027, 1, 1) not in [v.starts_at.date() for v in _visits(be, skipped["id"])]
    assert len(_visits(be, skipped["id"])) == 7
    be.ctx.series = replace(be.ctx.series, holiday_rule="keep")
    kept = be.book_series(_client(be, "kim"), _req(FRI_20.replace(hour=14)), {"interval_weeks": 1})
    assert date(2027, 1, 1) in [v.starts_at.date() for v in _visits(be, kept["id"])]
    be.ctx.series = replace(be.ctx.series, holiday_rule="ask")
    asked = be.book_series(_client(be, "amy"), _req(FRI_20.replace(hour=15)), {"interval_weeks": 1})
    held = next(v for v in _visits(be, asked["id"]) if v.starts_at.date() == date(2027, 1, 1))
    be.ctx.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))  # five days before
    be.run_due_timers()
    with be.db.read() as s:
        q = s.scalar(select(Notification).where(Notification.template == "series_holiday_ask"))
        assert q is not None and q.params["booking_id"] == held.id and q.params["default"] == "skip"
    be.ctx.clock.advance(days=2)  # three days before, no answer: the default, and the client is told
    be.run_due_timers()
    assert be.booking(held.id)["status"] == "cancelled"
    with be.db.read() as s:
        told = s.scalar(select(Notification).where(Notification.template == "series_holiday_skipped_visit"))
        assert told is not None and told.params["by"] == "timer"


def test_holiday_answer_keep_stops_the_default(be: Backend) -> None:
    be.ctx.calendar = NEW_YEAR
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    held = next(v for v in _visits(be, got["id"]) if v.starts_at.date() == date(2027, 1, 1))
    be.ctx.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))
    be.run_due_timers()
    be.answer_holiday_visit(cid, held.id, keep=True)
    be.ctx.clock.advance(days=3)
    be.run_due_timers()
    assert be.booking(held.id)["status"] != "cancelled"


def test_the_series_housekeeper_is_offered_later_visits_first(be: Backend) -> None:
    cid = _client(be)
    got = be.book_series(cid, _req(SAT_21), {"interval_weeks": 1})  # Saturday: nobody whose certificate lapses
    first = _visits(be, got["id"])[0]
    with be.db.read() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == first.id, Offer.status == "pending"))
        hk, offer_id = offer.housekeeper_id, offer.id
    be.accept_offer(hk, offer_id)
    be.ctx.clock.advance(days=7)
    be.run_due_timers()
    with be.db.read() as s:
        ser = s.get(BookingSeries, got["id"])
        assert ser.housekeeper_id == hk
    newest = _visits(be, got["id"])[-1]
    assert newest.starts_at == datetime(2027, 1, 16, 10, tzinfo=TZ)
    with be.db.read() as s:
        assert s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == newest.id)) == hk


def test_cancel_the_rest_cancels_future_visits_and_withdraws_offers(be: Backend) -> None:
    cid = _client(be)
    got = be.book_series(cid, _req(WED_25), {"interval_weeks": 1})
    q = be.series_rest_quote(cid, got["id"])
    assert len(q["visits"]) == 8 and q["fee_cents"] == 0
    done = be.cancel_series(cid, got["id"], 0)
    assert done["status"] == "cancelled"
    assert {v.status for v in _visits(be, got["id"])} == {"cancelled"}
    with be.db.read() as s:
        assert not s.scalars(select(Offer).where(Offer.booking_id.in_(q["visits"]), Offer.status == "pending")).all()
        assert s.scalars(select(Notification).where(Notification.template == "offer_withdrawn")).all()
    be.ctx.clock.advance(days=8)
    be.run_due_timers()  # the daily plan leaves a cancelled series alone
    assert len(_visits(be, got["id"])) == 8
    with pytest.raises(DomainError):
        be.series_rest_quote(_client(be, "other"), got["id"])


def test_surcharge_is_stored_on_the_booking(be: Backend) -> None:
    be.ctx.max_days_ahead = 120
    cid = _client(be)
    b = be.book(cid, _req(datetime(2027, 2, 8, 10, tzinfo=TZ)))
    with be.db.read() as s:
        row = s.get(Booking, b["id"])
        assert row.price_estimate == 300 and row.surcharge_cents == 15000
    plain = be.book(cid, _req(datetime(2027, 2, 15, 10, tzinfo=TZ)))
    with be.db.read() as s:
        row = s.get(Booking, plain["id"])
        assert row.price_estimate == 150 and row.surcharge_cents is None


def test_export_shows_the_series_and_erasure_removes_its_address_and_stops_it(be: Backend) -> None:
    from backend.services import privacy
    from bot.telegram.common import metadata as channel_tables
    from dialogs.tracker_store import metadata as dialogue_tables

    dialogue_tables.create_all(be.db.engine)  # export and erasure read the conversation tables
    channel_tables.create_all(be.db.engine)
    cid = _client(be, "priv-series")
    got = be.book_series(cid, _req(WED_25), {"interval_weeks": 1})
    [exported] = be.export_data(cid)["series"]
    assert exported["id"] == got["id"] and "建国路" in exported["address"]
    with be.db.uow() as s:
        privacy.erase(be.ctx, s, cid)
    with be.db.read() as s:
        ser = s.get(BookingSeries, got["id"])
        assert ser.address is None and ser.status == "cancelled"
    be.ctx.clock.advance(days=8)
    be.run_due_timers()
    assert len(_visits(be, got["id"])) == 8  # nothing planned for an erased client


@pytest.mark.parametrize(("said", "expected"), [
    ("每周三上午10点保洁3小时", {"interval_weeks": 1, "weekday": 2, "count": None, "until": None}),
    ("每两周一次，周五下午2点，共6次", {"interval_weeks": 2, "weekday": 4, "count": 6, "until": None}),
    ("隔周周一上午9点保洁，到1月底", {"interval_weeks": 2, "weekday": 0, "count": None, "until": "2027-01-31"}),
    ("每隔两周周六上午9点", {"interval_weeks": 3, "weekday": 5, "count": None, "until": None}),
    ("every wednesday 10am, 3 hours", {"interval_weeks": 1, "weekday": 2, "count": None, "until": None}),
    ("every other monday 9am until end of january",
     {"interval_weeks": 2, "weekday": 0, "count": None, "until": "2027-01-31"}),
    ("cleaning every other friday at 2pm, 3 hours, 3 times",
     {"interval_weeks": 2, "weekday": 4, "count": 3, "until": None}),
    ("weekly cleaning on tuesdays at 9am for 6 weeks", {"interval_weeks": 1, "weekday": 1, "count": 6, "until": None}),
    ("biweekly cleaning, fridays 2pm, until march 31",
     {"interval_weeks": 2, "weekday": 4, "count": None, "until": "2027-03-31"}),
])
def test_recurrence_phrases(said: str, expected: dict) -> None:
    from dialogs.nlu.recurrence import recognise

    got = recognise(said, date(2026, 11, 18))
    assert got is not None and got[0] == expected


@pytest.mark.parametrize("said", ["想定制一个清洁方案，每周二周五各来一次", "每周一三五下午来打扫", "每周两次保洁",
                                  "every tuesday and friday at 9", "明天上午10点保洁", "every month"])
def test_not_one_series(said: str) -> None:
    from dialogs.nlu.recurrence import recognise

    assert recognise(said, date(2026, 11, 18)) is None


# --- review fixes: holiday answers, the summary's reach, late holidays, "我的预约", the audit actor ----------
def test_holiday_answer_only_for_a_held_holiday_visit_before_its_deadline(be: Backend) -> None:
    be.ctx.calendar = NEW_YEAR
    be.ctx.series = replace(be.ctx.series, ask_default="keep")  # the default timer cannot cancel it either
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    vs = _visits(be, got["id"])
    plain = vs[0]  # 20 Nov: no holiday → no free skip through a crafted button
    with pytest.raises(DomainError) as e:
        be.answer_holiday_visit(cid, plain.id, keep=False)
    assert e.value.code == "holiday_answered" and be.booking(plain.id)["status"] == "offered"
    held = next(v for v in vs if v.starts_at.date() == date(2027, 1, 1))
    be.ctx.clock.set(datetime(2026, 12, 29, 10, 0, tzinfo=TZ))  # the answer deadline: three days before, 10:00
    with pytest.raises(DomainError) as e:
        be.answer_holiday_visit(cid, held.id, keep=False)
    assert e.value.code == "holiday_answered" and be.booking(held.id)["status"] == "offered"
    with be.db.read() as s:  # nothing recorded about the refused answers
        assert not s.scalars(select(AuditLog).where(AuditLog.entity == "booking", AuditLog.new == "cancelled")).all()


def test_holiday_answer_refused_when_the_series_keeps_holidays(be: Backend) -> None:
    be.ctx.calendar = NEW_YEAR
    be.ctx.series = replace(be.ctx.series, holiday_rule="keep")
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    held = next(v for v in _visits(be, got["id"]) if v.starts_at.date() == date(2027, 1, 1))
    with pytest.raises(DomainError) as e:
        be.answer_holiday_visit(cid, held.id, keep=False)
    assert e.value.code == "holiday_answered" and be.booking(held.id)["status"] == "offered"


def test_preview_covers_every_date_to_the_last_or_a_year_ahead(be: Backend) -> None:
    be.ctx.calendar = WorkCalendar({date(2027, 1, 1): False, date(2027, 10, 1): False})
    counted = be.series_preview(_req(FRI_20), {"interval_weeks": 2, "count": 10})
    assert counted["dates"][-1] == counted["last"] == "2027-03-26" and len(counted["dates"]) == 10
    assert counted["holidays"] == ["2027-01-01"] and "2027-02-12" in counted["dates"]  # beyond the 8 weeks
    open_ended = be.series_preview(_req(FRI_20), {"interval_weeks": 1})
    assert open_ended["dates"][-1] == "2027-11-19" and len(open_ended["dates"]) == 53
    assert open_ended["holidays"] == ["2027-01-01", "2027-10-01"]


def test_a_visit_planned_later_with_a_surcharge_is_announced(be: Backend) -> None:
    be.ctx.calendar = WorkCalendar({})
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    be.ctx.clock.set(datetime(2026, 12, 11, 3, tzinfo=TZ))  # the horizon reaches Friday 5 Feb (春节 ×2)
    be.run_due_timers()
    feb5 = _visits(be, got["id"])[-1]
    assert feb5.starts_at == datetime(2027, 2, 5, 10, tzinfo=TZ) and feb5.surcharge_cents == 15000
    with be.db.read() as s:
        told = list(s.scalars(select(Notification).where(Notification.template == "series_visit_surcharge")))
        assert [(n.person_id, n.params["booking_id"], n.params["price_cents"], n.params["surcharge_cents"])
                for n in told] == [(cid, feb5.id, 30000, 15000)]
    be.ctx.clock.advance(days=1)
    be.run_due_timers()  # the next plan announces nothing again
    with be.db.read() as s:
        assert len(s.scalars(select(Notification).where(Notification.template == "series_visit_surcharge")).all()) == 1


@pytest.mark.parametrize("default", ["skip", "keep"])
def test_a_holiday_too_close_to_ask_gets_the_default_at_once(be: Backend, default: str) -> None:
    be.ctx.calendar = WorkCalendar({date(2026, 11, 20): False})  # Friday, two days away: past its deadline
    be.ctx.series = replace(be.ctx.series, ask_default=default)
    got = be.book_series(_client(be), _req(FRI_20), {"interval_weeks": 1})
    days = [v.starts_at.date() for v in _visits(be, got["id"])]
    assert (date(2026, 11, 20) in days) is (default == "keep")
    with be.db.read() as s:
        kinds = ("series_holiday_ask", "series_holiday_default")
        assert not s.scalars(select(Timer).where(Timer.kind.in_(kinds))).all()


def test_my_bookings_lists_one_off_bookings_beyond_a_series(be: Backend) -> None:
    cid = _client(be)
    got = be.book_series(cid, _req(WED_25), {"interval_weeks": 1})  # 8 visits to 13 Jan
    one_offs = [be.book(cid, _req(datetime(2027, 1, 15 + k, 10, tzinfo=TZ)))["id"] for k in range(3)]
    upcoming = [b["id"] for b in be.my_bookings(cid)["upcoming"]]
    [mine] = be.my_series(cid)  # the series is listed once, with its next visit
    assert mine["id"] == got["id"] and upcoming == [mine["next_id"], *one_offs]


def test_a_default_holiday_skip_is_recorded_once_by_the_series(be: Backend) -> None:
    be.ctx.calendar = NEW_YEAR
    cid = _client(be)
    got = be.book_series(cid, _req(FRI_20), {"interval_weeks": 1})
    held = next(v for v in _visits(be, got["id"]) if v.starts_at.date() == date(2027, 1, 1))
    answered = be.book_series(_client(be, "amy"), _req(FRI_20.replace(hour=15)), {"interval_weeks": 1})
    other = next(v for v in _visits(be, answered["id"]) if v.starts_at.date() == date(2027, 1, 1))
    be.ctx.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))
    be.run_due_timers()
    be.answer_holiday_visit(other.client_id, other.id, keep=False)
    be.ctx.clock.advance(days=2)
    be.run_due_timers()
    with be.db.read() as s:
        rows = {b: [a.actor for a in s.scalars(select(AuditLog).where(
            AuditLog.entity == "booking", AuditLog.entity_id == b, AuditLog.new == "cancelled"))]
            for b in (held.id, other.id)}
    assert rows == {held.id: ["system:series"], other.id: [f"client:{other.client_id}"]}
