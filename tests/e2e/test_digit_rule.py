"""Digits and typed button words follow one rule on REST (issue 10, dialogs/choices.py): a number question
takes a bare number as its answer and says so in the reply (``answer: number``); a choice's options are
picked by their number; a typed 确认 acts as the button only while the button is on offer.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select

from backend.orm import Booking
from tests.e2e.conftest import Chat, buttons, one_cook, text


def bookings(chat: Chat) -> list[Booking]:
    with chat.app.backend.db.uow() as s:
        rows = list(s.scalars(select(Booking).order_by(Booking.id)))
        s.expunge_all()
        return rows


def booking_count(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Booking))


async def test_bare_number_to_hours_is_the_hours(chat_db: Chat) -> None:
    r = await chat_db.say("我想约明天上午10点的保洁", "d-1")
    assert "几个小时" in text(r) and r[-1].get("answer") == "number"  # REST says: type the value
    assert "地址" in text(await chat_db.say("3", "d-1"))  # not out of scope, not "button 3" (4 hours)
    for m in ("朝阳区建国路88号", "13812345678", "没有"):
        r = await chat_db.say(m, "d-1")
    assert "3小时" in text(r) and "answer" not in r[-1]  # the summary is a choice
    assert "已提交" in text(await chat_db.say("确认", "d-1"))  # the 确认 button is on offer: typed, it is pressed
    (b,) = bookings(chat_db)
    assert b.hours == 3 and b.service == "cleaning"


async def test_en_bare_number_to_hours_and_area(chat_db: Chat) -> None:
    r = await chat_db.say("I need a cleaning tomorrow at 10am", "d-2")
    assert "How many hours" in text(r)
    assert "address" in text(await chat_db.say("4", "d-2"))
    r = await chat_db.say("/restart", "d-2")
    r = await chat_db.say("I need a deep clean this Saturday at 9am", "d-3")
    assert "square metres" in text(r) and r[-1].get("answer") == "number"
    assert "address" in text(await chat_db.say("90", "d-3"))
    for m in ("88 Jianguo Road, Chaoyang District", "13812345678", "no"):
        r = await chat_db.say(m, "d-3")
    assert "90 sqm" in text(r)
    await chat_db.say("confirm", "d-3")  # the Confirm button is on offer: typed, it is pressed
    hours = [b.hours for b in bookings(chat_db) if b.service == "cleaning"]
    areas = [b.area for b in bookings(chat_db) if b.service == "deep_cleaning"]
    assert hours == [] and areas == [90]


async def test_a_digit_picks_the_numbered_slot(chat_db: Chat) -> None:
    one_cook(chat_db)
    for m in ("I'd like a home cook next Monday at 9am for 3 hours", "88 Jianguo Road, Chaoyang", "13812345678"):
        await chat_db.say(m, "d-4")
    r = await chat_db.say("no", "d-4")
    assert "nobody is free" in text(r)
    slots = [b for b in buttons(r) if b["payload"].startswith("/choose_slot")]
    summary = await chat_db.say("2", "d-4")  # the second option, not "2 o'clock"
    assert "Please check your booking" in text(summary) and slots[1]["title"] in text(summary)
    assert "received" in text(await chat_db.say("Confirm", "d-4"))
    (b,) = bookings(chat_db)
    chosen = datetime.fromisoformat(re.search(r'"time": "([^"]+)"', slots[1]["payload"])[1])
    assert b.service == "cooking" and b.starts_at == chosen


async def test_typed_confirm_after_nobody_free_books_nothing(chat_db: Chat) -> None:
    one_cook(chat_db)
    for m in ("我想约家庭厨师，下周一上午9点，3小时", "朝阳区建国路88号", "13812345678"):
        await chat_db.say(m, "d-5")
    r = await chat_db.say("没有", "d-5")
    assert "暂时没有可以上门" in text(r) and "确认" not in [b["title"] for b in buttons(r)]
    for word in ("确认", "好的", "確認"):
        reply = text(await chat_db.say(word, "d-5"))
        # the time is asked again, on the day asked for
        assert "已提交" not in reply and "11月23日" in reply and ("几点上门" in reply or "幾點上門" in reply)
        assert booking_count(chat_db) == 0
    r = text(await chat_db.say("下午4点", "d-5"))  # another hour on the day asked for (Monday 23 Nov)
    assert "11月23日（周一）16:00" in r and booking_count(chat_db) == 0


async def test_en_typed_confirm_after_nobody_free_books_nothing(chat: Chat) -> None:
    one_cook(chat)
    for m in ("I'd like a home cook next Monday at 9am for 3 hours", "88 Jianguo Road, Chaoyang", "13812345678"):
        await chat.say(m, "d-6")
    assert "nobody is free" in text(await chat.say("no", "d-6"))
    assert "What time on Mon 23 Nov" in text(await chat.say("confirm", "d-6"))
    assert "Please check" not in text(await chat.say("yes", "d-6"))
    assert booking_count(chat) == 0
    assert "Nothing was booked" in text(await chat.say("Cancel", "d-6"))  # a stop word leaves the form


async def test_typed_button_words_on_the_summary(chat: Chat) -> None:
    for m in ("我想约明天上午10点的保洁", "3", "朝阳区建国路88号", "13812345678", "没有"):
        r = await chat.say(m, "d-7")
    assert [b["title"] for b in buttons(r)] == ["确认", "修改", "取消"]
    assert "什么时间" in text(await chat.say("修改", "d-7"))  # the 修改 button, typed
    assert booking_count(chat) == 0


async def test_hant_typed_confirm_is_the_button(chat: Chat) -> None:
    for m in ("我想預約明天上午10點的保潔", "3", "朝陽區建國路88號", "13812345678", "沒有"):
        r = await chat.say(m, "d-8")
    assert "確認" in [b["title"] for b in buttons(r)]
    done = text(await chat.say("確認", "d-8"))
    assert re.search(r"#\d+", done) and booking_count(chat) == 1
