"""The day of the job over the real REST channel on the fake clock (zh and en): reminders the day before,
/jobs with the buttons valid now, the check-in window, 晚到 by button and typed, 去不了 with a
confirmation, the no-check-in alarm, and the managers' /job N with worked time. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, Request
from backend.orm import Booking, Escalation, Housekeeper, Offer
from tests.e2e.conftest import Chat, buttons, text
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, STAFF, Env
from tests.telegram.test_telegram import book_via_telegram

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # Friday 10:00; the clock starts Wed 11-18 10:30


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def confirmed(be: Backend, sender: str, lang: str = "zh", hk_lang: str = "zh") -> tuple[int, int, str]:
    """A cleaning on Friday 10:00 accepted by its first candidate: (client id, booking id, her code)."""
    c = be.client_for("rest", sender, lang)
    be.set_client(c.id, phone="13812345678")
    b = be.book(c.id, Request("cleaning", START, hours=2, address="朝阳区建国路88号3号楼501", district="朝阳",
                              notes="钥匙在门卫"))
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        hk = s.get(Housekeeper, o.housekeeper_id)
        hk.lang = hk_lang
        hk_id, offer_id, code = hk.id, o.id, hk.code
    assert be.accept_offer(hk_id, offer_id)["error"] is None
    return c.id, b["id"], code


async def set_clock(chat: Chat, when: datetime) -> None:
    await asyncio.to_thread(chat.app.clock.set, when)
    await asyncio.to_thread(chat.app.backend.run_due_timers)


def titles(replies: list[dict]) -> list[str]:
    return [b["title"] for b in buttons(replies)]


async def test_zh_jobs_check_in_window_and_finish(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-zh")
    hk = chat.token(code)
    card = await chat.say("/jobs", hk)
    assert f"订单 #{bid}" in text(card) and "13812345678" in text(card) and "钥匙在门卫" in text(card)
    assert titles(card) == ["晚到", "去不了", "紧急情况"]  # no 已到达 two days ahead
    await set_clock(chat, START - timedelta(hours=15))  # the evening before
    early = text(await chat.say(f'/arrived{{"booking_id": {bid}}}', hk))
    assert "还没到签到时间" in early and "09:00" in early
    with be.db.uow() as s:
        assert s.get(Booking, bid).status == "confirmed"
    await set_clock(chat, START - timedelta(minutes=20))
    card = await chat.say("/jobs", hk)
    assert titles(card) == ["已到达", "晚到", "去不了", "紧急情况"]
    arrived = await chat.say(next(b["payload"] for b in buttons(card) if b["title"] == "已到达"), hk)
    assert "已签到" in text(arrived) and "紧急情况" in titles(arrived)
    card = await chat.say("hello", hk)  # another message in between …
    card = await chat.say("/jobs", hk)  # … and her buttons are still one command away
    assert titles(card) == ["已完成", "已完成（已收现金）", "紧急情况"] and "服务中" in text(card)
    await set_clock(chat, START + timedelta(minutes=110))
    assert "已完成" in text(await chat.say(f'/finished{{"booking_id": {bid}}}', hk))
    times = text(await chat.say(f"/job {bid}", chat.token("MGR01")))
    assert "预约时长 120 分钟" in times and "实际服务 130 分钟" in times and "09:40" in times
    assert "No booking #999" in text(await chat.say("/job 999", chat.token("MGR02")))
    assert "没有进行中或待上门的订单" in text(await chat.say("/jobs", hk))


async def test_reminders_the_day_before_reach_both_sides_with_full_numbers(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-rem")
    hk = chat.token(code)
    await chat.inbox(hk)
    await chat.inbox("dj-rem")
    with be.db.uow() as s:
        hk_phone = s.scalar(select(Housekeeper.phone).where(Housekeeper.code == code))
    await set_clock(chat, START - timedelta(hours=24))
    client = text(await chat.inbox("dj-rem"))
    assert "温馨提醒" in client and f"#{bid}" in client and hk_phone in client and "阿姨" in client
    hers = await chat.inbox(hk)
    assert "朝阳区建国路88号3号楼501" in text(hers) and "13812345678" in text(hers) and "钥匙在门卫" in text(hers)
    assert titles(hers) == ["晚到", "去不了"]


async def test_typed_lateness_tells_the_client_the_new_time(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-late")
    hk = chat.token(code)
    await chat.inbox("dj-late")
    await set_clock(chat, START - timedelta(minutes=30))
    said = text(await chat.say("我堵车了，晚到20分钟", hk))
    assert "已通知客户" in said and "10:20" in said
    with be.db.uow() as s:
        assert s.get(Booking, bid).late_minutes == 20
    client = text(await chat.inbox("dj-late"))
    assert "晚到约 20 分钟" in client and "10:20" in client
    await set_clock(chat, START + timedelta(minutes=20))  # she said 10:20: no alarm yet
    assert "还没有签到" not in text(await chat.inbox("dj-late"))
    asked = await chat.say(f'/late{{"booking_id": {bid}}}', hk)  # the button asks how late
    assert titles(asked) == ["10 分钟", "20 分钟", "30 分钟", "60 分钟"]


async def test_en_late_button_and_typed_lateness(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-en", "en", "en")
    hk = chat.token(code)
    await chat.inbox("dj-en")
    await set_clock(chat, START - timedelta(minutes=30))
    card = await chat.say("/jobs", hk)
    assert titles(card) == ["Arrived", "Running late", "Can't come", "Emergency"]
    asked = await chat.say(next(b["payload"] for b in buttons(card) if b["title"] == "Running late"), hk)
    assert "How late" in text(asked)
    done = text(await chat.say(next(b["payload"] for b in buttons(asked) if b["title"] == "30 min"), hk))
    assert "10:30" in done
    assert "running about 30 minutes late" in text(await chat.inbox("dj-en"))
    assert "10:15" in text(await chat.say("running 15 minutes late", hk))
    with be.db.uow() as s:
        assert s.get(Booking, bid).late_minutes == 15


async def test_cannot_come_with_confirmation_goes_back_to_matching(chat: Chat) -> None:
    be = chat.app.backend
    cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-cc")
    hk = chat.token(code)
    await chat.inbox("dj-cc")
    await chat.inbox("staff:MGR01")
    await set_clock(chat, START - timedelta(minutes=60))  # inside the client's lead time
    ask = await chat.say("不好意思，我今天去不了了", hk)
    assert "确定去不了" in text(ask) and titles(ask) == ["确认去不了", "我能去"]
    with be.db.uow() as s:
        assert s.get(Booking, bid).status == "confirmed"  # nothing happens before she confirms
    done = text(await chat.say(next(b["payload"] for b in buttons(ask) if b["title"] == "确认去不了"), hk))
    assert "正在改派" in done
    with be.db.uow() as s:
        b = s.get(Booking, bid)
        assert b.status == "offered" and b.housekeeper_id is None
        case = s.scalar(select(Escalation).where(Escalation.kind == "no_show", Escalation.booking_id == bid))
        assert case is not None and case.client_id == cid
    assert "临时无法前来" in text(await chat.inbox("dj-cc"))
    assert "阿姨未到岗" in text(await chat.inbox("staff:MGR01"))
    assert "没有进行中或待上门的订单" in text(await chat.say("/jobs", hk))


async def test_no_check_in_alarm(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code = await asyncio.to_thread(confirmed, be, "dj-ns", "en")
    hk = chat.token(code)
    await set_clock(chat, START - timedelta(minutes=5))
    await chat.inbox("dj-ns")
    await chat.inbox(hk)
    await chat.inbox("staff:MGR02")
    await set_clock(chat, START + timedelta(minutes=15))
    told = text(await chat.inbox("dj-ns"))
    assert "not checked in yet" in told and "We are checking with her now" in told
    ping = await chat.inbox(hk)
    assert "还没有签到" in text(ping) and titles(ping) == ["已到达", "晚到", "去不了"]
    assert "Housekeeper not there" in text(await chat.inbox("staff:MGR02"))
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "no_show", Escalation.booking_id == bid))




async def test_telegram_jobs_buttons_late_and_check_in(tg: Env) -> None:
    """On Telegram, /jobs brings her job's inline buttons back after other messages; 晚到 → minutes →
    the client is told; 已到达 the evening before is refused, in the window it checks her in."""
    f = tg.fake
    await tg.bind("HKA", HK_A)
    await book_via_telegram(tg)  # Thursday 10:00
    await f.wait_for(STAFF, HK_A, "新订单 #")
    await tg.tap(STAFF, HK_A, "接单")
    job = await f.wait_for(STAFF, HK_A, "朝阳区建国路88号3号楼501")
    assert "13812345678" in job  # hers now: the client's full number
    assert "13900000101" in await f.wait_for(CLIENT, CUSTOMER, "已确认")  # and hers to the client
    n = tg.sent(STAFF, HK_A)
    await tg.staff_says("/week", HK_A)
    await f.wait_for(STAFF, HK_A, "11月19日", after=n)
    n = tg.sent(STAFF, HK_A)
    await tg.staff_says("/jobs", HK_A)
    await f.wait_for(STAFF, HK_A, "客户电话：13812345678", after=n)
    assert [t for t, _ in f.buttons(STAFF, HK_A)] == ["晚到", "去不了", "紧急情况"]
    await asyncio.to_thread(tg.app.clock.set, datetime(2026, 11, 18, 20, 0, tzinfo=TZ))  # the evening before
    n = tg.sent(STAFF, HK_A)
    await tg.staff_says('/arrived{"booking_id": 1}', HK_A)
    assert "09:00" in await f.wait_for(STAFF, HK_A, "还没到签到时间", after=n)
    await asyncio.to_thread(tg.app.clock.set, datetime(2026, 11, 19, 9, 30, tzinfo=TZ))
    n = tg.sent(STAFF, HK_A)
    await tg.staff_says("/jobs", HK_A)
    await f.wait_for(STAFF, HK_A, "订单 #", after=n)
    await tg.tap(STAFF, HK_A, "晚到")
    await f.wait_for(STAFF, HK_A, "预计晚到多久", after=n)
    assert [t for t, _ in f.buttons(STAFF, HK_A)] == ["10 分钟", "20 分钟", "30 分钟", "60 分钟"]
    await tg.tap(STAFF, HK_A, "20 分钟")
    assert "10:20" in await f.wait_for(STAFF, HK_A, "已通知客户", after=n)
    assert "10:20" in await f.wait_for(CLIENT, CUSTOMER, "晚到约 20 分钟")
    n = tg.sent(STAFF, HK_A)
    await tg.staff_says("/jobs", HK_A)
    await f.wait_for(STAFF, HK_A, "您已告知客户晚到 20 分钟", after=n)
    await tg.tap(STAFF, HK_A, "已到达")
    await f.wait_for(STAFF, HK_A, "已签到", after=n)
    assert [t for t, _ in f.buttons(STAFF, HK_A)] == ["已完成", "已完成（已收现金）", "紧急情况"]
