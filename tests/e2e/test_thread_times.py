"""Times keep the thread (issue 10): a clock-only answer keeps the date already given, a part of the day
asks the hour inside it, a weekday that contradicts its date is confirmed. Through REST on the fake clock,
outcomes checked in storage.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai; Saturday is 2026-11-21, and
2026-12-05 is a Saturday.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.orm import Booking
from tests.e2e.conftest import Chat, buttons, text

TZ = ZoneInfo("Asia/Shanghai")


def booking(chat: Chat, booking_id: int) -> Booking:
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        s.expunge(b)
        return b


def local(b: Booking) -> datetime:
    return b.starts_at.astimezone(TZ).replace(tzinfo=None)


async def finish(chat: Chat, sender: str, answers: tuple[str, ...], confirm: str = "/affirm") -> int:
    for m in answers:
        r = await chat.say(m, sender)
    assert buttons(r), text(r)  # the summary
    done = text(await chat.say(confirm, sender))
    return int(re.search(r"#(\d+)", done).group(1))


async def test_saturday_afternoon_then_a_clock_is_saturday(chat_db: Chat) -> None:
    r = await chat_db.say("我想约周六下午的保洁", "t-1")
    assert "11月21日（周六）12:00–18:00 之间几点上门" in text(r)  # asked, not taken as 12:00
    titles = [b["title"] for b in buttons(r)]
    assert titles[0] == "12:00" and titles[-1] == "17:00"
    assert "几个小时" in text(await chat_db.say("下午3点", "t-1"))
    bid = await finish(chat_db, "t-1", ("3", "朝阳区建国路88号3号楼501", "13812345678", "没有"))
    b = booking(chat_db, bid)
    assert local(b) == datetime(2026, 11, 21, 15, 0) and b.hours == 3


async def test_en_afternoon_asks_the_hour_and_keeps_the_day(chat_db: Chat) -> None:
    r = await chat_db.say("I'd like a cleaning on Saturday afternoon", "t-2")
    assert "What time on Sat 21 Nov, between 12:00 and 18:00" in text(r)
    assert "How many hours" in text(await chat_db.say("3pm", "t-2"))
    bid = await finish(chat_db, "t-2", ("2", "88 Jianguo Road, Chaoyang District", "13812345678", "no"))
    assert local(booking(chat_db, bid)) == datetime(2026, 11, 21, 15, 0)


async def test_hant_part_of_day_is_asked_in_traditional(chat: Chat) -> None:
    r = await chat.say("我想預約週六下午的保潔", "t-3")
    assert "幾點上門" in text(r) and "12:00" in [b["title"] for b in buttons(r)]


async def test_evening_then_a_bare_hour_is_in_the_evening(chat_db: Chat) -> None:
    await chat_db.say("约个保洁", "t-4")
    r = await chat_db.say("明天晚上", "t-4")
    assert "18:00–22:00" in text(r) and [b["title"] for b in buttons(r)] == ["18:00", "19:00"]
    await chat_db.say("7点", "t-4")  # 19:00, not 7 in the morning
    bid = await finish(chat_db, "t-4", ("2", "徐汇区漕溪北路398号", "13812345678", "没有"))
    assert local(booking(chat_db, bid)) == datetime(2026, 11, 19, 19, 0)


async def test_part_of_day_with_nothing_left_says_so(chat: Chat) -> None:
    await chat.say("约个保洁", "t-5")
    r = text(await chat.say("今天上午", "t-5"))  # 10:30 now, two hours' notice: no morning hour left
    assert "11月18日（周三）8:00–12:00 之间已经没有可以预约的时间" in r and "什么时间上门" in r


async def test_a_later_clock_keeps_the_drafts_date(chat_db: Chat) -> None:
    assert "几个小时" in text(await chat_db.say("我想约周六上午10点的保洁", "t-6"))
    r = text(await chat_db.say("下午3点", "t-6"))  # a correction of the hour, not a booking for today
    assert "几个小时" in r
    bid = await finish(chat_db, "t-6", ("3", "朝阳区建国路88号", "13812345678", "没有"))
    assert local(booking(chat_db, bid)) == datetime(2026, 11, 21, 15, 0)


async def test_weekday_contradicting_its_date_is_confirmed(chat_db: Chat) -> None:
    r = await chat_db.say("我想约12月5日周三下午3点的保洁", "t-7")
    assert "12月5日（周六）是周六，不是周三" in text(r)
    assert [b["title"] for b in buttons(r)] == ["12月5日（周六） 15:00", "12月2日（周三） 15:00"]
    assert "几个小时" in text(await chat_db.say(buttons(r)[1]["payload"], "t-7"))
    bid = await finish(chat_db, "t-7", ("2", "朝阳区建国路88号", "13812345678", "没有"))
    assert local(booking(chat_db, bid)) == datetime(2026, 12, 2, 15, 0)


async def test_en_weekday_conflict_picked_by_digit(chat_db: Chat) -> None:
    r = await chat_db.say("I need a cleaning on Wednesday, Dec 5 at 3pm", "t-8")
    assert "Sat 5 Dec is a Saturday, not a Wednesday" in text(r)
    assert "How many hours" in text(await chat_db.say("1", "t-8"))  # the first option: the date as written
    bid = await finish(chat_db, "t-8", ("2", "88 Jianguo Road, Chaoyang District", "13812345678", "no"))
    assert local(booking(chat_db, bid)) == datetime(2026, 12, 5, 15, 0)


async def test_weekday_conflict_without_a_clock_then_asks_the_hour(chat: Chat) -> None:
    await chat.say("约个保洁", "t-9")
    r = await chat.say("12月5日周三", "t-9")
    assert "不是周三" in text(r) and [b["title"] for b in buttons(r)] == ["12月5日（周六）", "12月2日（周三）"]
    assert "什么时间" in text(await chat.say("确认", "t-9"))  # no 确认 button here: no day picked, asked again
    r = text(await chat.say(buttons(r)[1]["payload"], "t-9"))
    assert "12月2日（周三）几点上门" in r
    assert "几个小时" in text(await chat.say("上午10点", "t-9"))
