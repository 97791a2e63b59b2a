"""Repeat visits through REST on the fake clock (issue 10): "每周三上午10点保洁3小时" / "every Wednesday 10am"
creates a series after the normal form and a summary; visits are normal bookings with series_id; the daily
plan extends the horizon; holiday visits skipped / kept / asked (the default stated and applied); the
second visit goes to her first; skip one; cancel the rest; "我的预约" shows the series once; holiday
surcharges shown and stored. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.domain.clock import WorkCalendar
from backend.orm import Booking, BookingSeries, Notification, Offer
from tests.e2e.conftest import Chat, buttons, text

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def series_rows(chat: Chat) -> list[BookingSeries]:
    with chat.app.backend.db.read() as s:
        got = list(s.scalars(select(BookingSeries).order_by(BookingSeries.id)))
        s.expunge_all()
        return got


def visits(chat: Chat, series_id: int) -> list[Booking]:
    with chat.app.backend.db.read() as s:
        got = list(s.scalars(select(Booking).where(Booking.series_id == series_id).order_by(Booking.starts_at)))
        s.expunge_all()
        return got


def notes_of(chat: Chat, template: str) -> list[Notification]:
    with chat.app.backend.db.read() as s:
        got = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
        return got


async def weekly_zh(chat: Chat, sender: str, first: str = "每周三上午10点保洁3小时") -> tuple[int, str]:
    r = await chat.say(first, sender)
    assert "地址" in text(r)
    await chat.say("北京市朝阳区建国路88号3号楼501", sender)
    await chat.say("13812345678", sender)
    summary = text(await chat.say("没有", sender))
    done = text(await chat.say("/affirm", sender))
    assert "定期预约 #S" in done, done
    return int(re.search(r"#S(\d+)", done).group(1)), summary


async def test_weekly_series_zh_created_after_the_summary_and_extended_by_the_daily_plan(chat: Chat) -> None:
    r = await chat.say("每周三上午10点保洁3小时", "c-1")
    assert "地址" in text(r)
    await chat.say("北京市朝阳区建国路88号3号楼501", "c-1")
    await chat.say("13812345678", "c-1")
    summary = await chat.say("没有", "c-1")
    s = text(summary)
    assert "请确认定期预约" in s and "每周三 10:00，从11月25日起，长期" in s and "每次预估价格：150元" in s
    assert [b["title"] for b in buttons(summary)] == ["确认", "修改", "取消"]
    assert series_rows(chat) == []  # nothing before 确认
    done = text(await chat.say("/affirm", "c-1"))
    sid = int(re.search(r"#S(\d+)", done).group(1))
    assert "前8次" in done
    vs = visits(chat, sid)
    assert [v.starts_at.astimezone(TZ).date() for v in vs][:2] == [date(2026, 11, 25), date(2026, 12, 2)]
    assert len(vs) == 8 and all(v.status == "offered" and v.hours == 3 for v in vs)
    assert vs[-1].starts_at == datetime(2027, 1, 13, 10, tzinfo=TZ)
    chat.tick(60 * 24 * 7)  # a week of daily plans: the horizon moves to 2027-01-20
    vs = visits(chat, sid)
    assert len(vs) == 9 and vs[-1].starts_at == datetime(2027, 1, 20, 10, tzinfo=TZ)
    assert series_rows(chat)[0].planned_until == date(2027, 1, 20)


async def test_every_other_week_en_with_a_count_and_the_my_bookings_line(chat: Chat) -> None:
    await chat.say("/lang en", "e-1")
    r = await chat.say("cleaning every other Friday at 2pm, 3 hours, 3 times", "e-1")
    assert "address" in text(r).lower()
    await chat.say("Room 1203, Building 5, 88 Jianguo Road, Chaoyang District, Beijing", "e-1")
    await chat.say("13812345678", "e-1")
    s = text(await chat.say("no", "e-1"))
    assert "every other Friday 14:00, from 20 Nov, 3 visits" in s and "per visit: 150 CNY" in s
    done = text(await chat.say("/affirm", "e-1"))
    sid = int(re.search(r"#S(\d+)", done).group(1))
    vs = visits(chat, sid)
    assert [v.starts_at.astimezone(TZ).date() for v in vs] == [date(2026, 11, 20), date(2026, 12, 4),
                                                               date(2026, 12, 18)]
    assert series_rows(chat)[0].status == "ended" and series_rows(chat)[0].count == 3
    mine = text(await chat.say("my bookings", "e-1"))
    assert mine.count(f"#S{sid}") == 1 and f"#{vs[0].id}" in mine and f"#{vs[1].id}" not in mine


async def test_second_visit_goes_to_her_first_and_skip_one_visit(chat: Chat) -> None:
    sid, _ = await weekly_zh(chat, "c-2", "每周六上午10点保洁3小时")
    vs = visits(chat, sid)
    offer_id, hk = chat.offer_for(vs[0].id)
    assert chat.offer_for(vs[1].id)[1] == hk  # the series' other visits are offered to her first
    cards = buttons(await chat.inbox(hk))  # one offer card per visit: the first visit's 接单
    accept = next(x["payload"] for x in cards if x["title"] == "接单" and x["payload"].endswith(f" {offer_id}}}"))
    assert "接单成功" in text(await chat.say(accept, hk))
    assert chat.app.backend.booking(vs[0].id)["status"] == "confirmed"
    chat.tick(60 * 24)
    assert series_rows(chat)[0].housekeeper_id is not None
    r = await chat.say("跳过下周六那次", "c-2")
    assert f"#{vs[1].id}" in text(r) and "免费" in text(r)
    assert chat.app.backend.booking(vs[1].id)["status"] == "offered"  # asked first
    done = text(await chat.say("确认取消", "c-2"))
    assert "已取消" in done
    assert chat.app.backend.booking(vs[1].id)["status"] == "cancelled"
    assert chat.app.backend.booking(vs[2].id)["status"] == "offered"  # the series goes on
    assert series_rows(chat)[0].status == "active"


async def test_cancel_the_rest_withdraws_her_offers(chat: Chat) -> None:
    sid, _ = await weekly_zh(chat, "c-3")
    vs = visits(chat, sid)
    r = await chat.say("取消剩下的", "c-3")
    assert f"#S{sid}" in text(r) and "8次" in text(r) and "免费" in text(r)
    assert [b["title"] for b in buttons(r)] == ["确认取消剩下的", "不取消"]
    assert "已取消定期预约" in text(await chat.say("/series_cancel_confirm", "c-3"))
    assert {v.status for v in visits(chat, sid)} == {"cancelled"}
    assert series_rows(chat)[0].status == "cancelled"
    with chat.app.backend.db.read() as s:
        assert not s.scalars(select(Offer).where(Offer.booking_id.in_([v.id for v in vs]),
                                                 Offer.status == "pending")).all()
    withdrawn = notes_of(chat, "offer_withdrawn")
    assert len(withdrawn) == 8 and all(n.replaces_key for n in withdrawn)  # her cards edited
    chat.tick(60 * 24 * 8)
    assert len(visits(chat, sid)) == 8  # a cancelled series is not extended


async def test_holiday_skip_rule_is_stated_in_the_summary(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({date(2027, 1, 1): False})
    be.ctx.series = replace(be.ctx.series, holiday_rule="skip")
    sid, summary = await weekly_zh(chat, "c-4", "每周五上午10点保洁3小时")
    assert "法定节假日不上门：1月1日" in summary
    assert date(2027, 1, 1) not in [v.starts_at.astimezone(TZ).date() for v in visits(chat, sid)]


async def test_holiday_ask_unanswered_is_skipped_and_the_client_told(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({date(2027, 1, 1): False})
    sid, summary = await weekly_zh(chat, "c-5", "每周五上午10点保洁3小时")
    assert "1月1日是法定节假日：提前5天问您保留还是跳过（不回复则跳过）" in summary
    held = next(v for v in visits(chat, sid) if v.starts_at.astimezone(TZ).date() == date(2027, 1, 1))
    chat.app.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))
    be.run_due_timers()
    got = await chat.inbox("c-5")
    asked = [m for m in got if "法定节假日" in m.get("text", "")]
    assert asked and [b["title"] for b in asked[-1]["buttons"]] == ["保留", "跳过"]
    assert "不收费" in asked[-1]["text"]
    chat.tick(60 * 24 * 2)  # three days before: no answer → skipped, and said
    assert be.booking(held.id)["status"] == "cancelled"
    told = [m for m in await chat.inbox("c-5") if "已为您跳过" in m.get("text", "")]
    assert told and f"#{held.id}" in told[0]["text"]


async def test_holiday_ask_answered_keep_en(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({date(2027, 1, 1): False})
    await chat.say("/lang en", "e-2")
    await chat.say("every Friday at 10am, 3 hours of cleaning", "e-2")
    await chat.say("Room 1203, Building 5, 88 Jianguo Road, Chaoyang District, Beijing", "e-2")
    await chat.say("13812345678", "e-2")
    assert "public holiday" in text(await chat.say("no", "e-2"))
    sid = int(re.search(r"#S(\d+)", text(await chat.say("/affirm", "e-2"))).group(1))
    held = next(v for v in visits(chat, sid) if v.starts_at.astimezone(TZ).date() == date(2027, 1, 1))
    chat.app.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))
    be.run_due_timers()
    asked = [m for m in await chat.inbox("e-2") if "public holiday" in m.get("text", "")]
    keep = next(b for b in asked[-1]["buttons"] if b["title"] == "Keep")
    assert "stays" in text(await chat.say(keep["payload"], "e-2"))
    chat.tick(60 * 24 * 3)
    assert be.booking(held.id)["status"] != "cancelled"


async def test_spring_festival_surcharge_shown_and_stored(chat: Chat) -> None:
    chat.app.backend.ctx.max_days_ahead = 120
    await chat.say("我想约2月8日上午10点的保洁", "c-6")
    await chat.say("3个小时", "c-6")
    await chat.say("北京市朝阳区建国路88号3号楼501", "c-6")
    await chat.say("13812345678", "c-6")
    s = text(await chat.say("没有", "c-6"))
    assert "含春节加价 ×2（平时150元）" in s and "预估价格：300元" in s
    b = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "c-6"))).group(1))
    with chat.app.backend.db.read() as s:
        row = s.get(Booking, b)
        assert row.price_estimate == 300 and row.surcharge_cents == 15000


async def test_one_visit_changed_in_place_leaves_the_series_alone(chat: Chat) -> None:
    sid, _ = await weekly_zh(chat, "c-7")
    vs = visits(chat, sid)
    r = await chat.say(f'/reschedule_booking{{"booking_id": {vs[1].id}}}', "c-7")  # the "which booking" button
    assert f"#{vs[1].id}" in text(r)
    await chat.say('/change_field{"change_field": "address"}', "c-7")
    r = text(await chat.say("海淀区学院路20号5号楼301", "c-7"))
    assert "学院路" in r
    assert "已修改" in text(await chat.say("/change_confirm", "c-7"))
    after = visits(chat, sid)
    assert after[1].id == vs[1].id and "学院路" in after[1].address and after[1].series_id == sid
    assert all("建国路" in v.address for v in after if v.id != vs[1].id)  # the other visits keep theirs
    ser = series_rows(chat)[0]
    assert "建国路" in ser.address and ser.status == "active" and len(after) == 8


async def test_holiday_buttons_only_for_the_holiday_visit_and_only_until_the_deadline(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({date(2027, 1, 1): False})
    be.ctx.series = replace(be.ctx.series, ask_default="keep")  # the default timer leaves it, so a refusal shows
    sid, _ = await weekly_zh(chat, "c-8", "每周五上午10点保洁3小时")
    vs = visits(chat, sid)
    crafted = text(await chat.say(f'/holiday_visit{{"booking_id": {vs[0].id}, "keep": false}}', "c-8"))
    assert "节假日问题已经结束" in crafted and be.booking(vs[0].id)["status"] == "offered"
    held = next(v for v in vs if v.starts_at.astimezone(TZ).date() == date(2027, 1, 1))
    chat.app.clock.set(datetime(2026, 12, 27, 10, 1, tzinfo=TZ))
    be.run_due_timers()
    asked = [m for m in await chat.inbox("c-8") if "法定节假日" in m.get("text", "")]
    skip = next(b for b in asked[-1]["buttons"] if b["title"] == "跳过")
    chat.tick(60 * 24 * 3)  # past the answer deadline: the default (keep) decided
    assert "已过答复期限" in text(await chat.say(skip["payload"], "c-8"))
    assert be.booking(held.id)["status"] == "offered"


async def test_surcharges_beyond_the_window_in_the_summary_and_a_later_visit_announced(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({})
    sid, summary = await weekly_zh(chat, "c-9", "每周五上午10点保洁3小时")
    assert "春节期间（2月5日–2月13日）的上门按 ×2 计价" in summary  # beyond the 8 weeks planned now
    chat.app.clock.set(datetime(2026, 12, 11, 3, tzinfo=TZ))
    be.run_due_timers()  # the horizon reaches Friday 5 Feb
    feb5 = visits(chat, sid)[-1]
    assert feb5.starts_at == datetime(2027, 2, 5, 10, tzinfo=TZ) and feb5.surcharge_cents == 15000
    told = [m for m in await chat.inbox("c-9") if "加价" in m.get("text", "")]
    assert len(told) == 1 and f"#{feb5.id}" in told[0]["text"] and "¥300" in told[0]["text"]


async def test_a_holiday_too_close_to_ask_is_listed_and_handled_as_the_default(chat: Chat) -> None:
    be = chat.app.backend
    be.ctx.calendar = WorkCalendar({date(2026, 11, 20): False, date(2027, 1, 1): False})
    sid, summary = await weekly_zh(chat, "c-10", "每周五上午10点保洁3小时")
    assert "法定节假日不上门：11月20日" in summary  # two days away: no time to ask, so the default (skip)
    assert "1月1日是法定节假日：提前5天问您" in summary
    days = [v.starts_at.astimezone(TZ).date() for v in visits(chat, sid)]
    assert date(2026, 11, 20) not in days and date(2027, 1, 1) in days


async def test_my_bookings_shows_one_off_bookings_next_to_a_series(chat: Chat) -> None:
    sid, _ = await weekly_zh(chat, "c-11")
    ids = []
    for day in (15, 16, 17):
        for said in (f"我想约1月{day}日上午10点的保洁", "3个小时", "没有"):  # the address and phone are known
            await chat.say(said, "c-11")
        ids.append(int(re.search(r"#(\d+)", text(await chat.say("/affirm", "c-11"))).group(1)))
    mine = text(await chat.say("我的预约", "c-11"))
    assert mine.count(f"#S{sid}") == 1 and all(f"#{i}" in mine for i in ids), mine


async def test_a_count_beyond_any_integer_type_is_answered_and_the_conversation_kept(chat: Chat) -> None:
    """A count no integer type holds, typed by a client, is not read as a count: the turn is answered and
    the conversation's state stored (with orjson alone, that state could not be written: every turn failed)."""
    r = text(await chat.say("每周三上午10点保洁3小时 一共99999999999999999999次", "c-9"))
    assert "地址" in r and "出了点问题" not in r and "went wrong" not in r
    assert "手机号" in text(await chat.say("北京市朝阳区建国路88号3号楼501", "c-9"))  # the state was kept
