"""Acting on another booking in the middle of a booking form (issue 10): "我要取消周四那个深度保洁", "cancel my
Thursday deep cleaning", "把周五那个改到下午3点", "我之前那个阿姨确认了吗", "我的预约" act on the EXISTING booking
they name (asked which, numbered, when several match), never on the draft; the draft's slots stay as they
were and it resumes with "我们继续刚才的预约" and can be completed into a booking of its own. REST, SQLite and
PostgreSQL.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai (周四 = 11月19日, 周五 = 11月20日).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from backend.orm import Booking, BookingChange
from tests.e2e.conftest import Chat, buttons, text


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def state(chat: Chat, sender: str) -> dict[str, Any]:
    return chat.app.desk.engine.store.load(f"rest:{sender}")


def statuses(chat: Chat) -> dict[int, str]:
    with chat.app.backend.db.read() as s:
        return {b.id: b.status for b in s.scalars(select(Booking))}


async def book(chat: Chat, sender: str, first: str, size: str, lang: str = "zh") -> int:
    """A booking through the normal form (a returning client is not asked for phone and address again)."""
    steps = [first, size, "北京市朝阳区建国路88号3号楼501", "13812345678", "没有"] if lang == "zh" else \
        [first, size, "Room 501, Building 3, 88 Jianguo Road, Chaoyang District, Beijing", "13812345678", "no"]
    for m in steps:
        r = await chat.say(m, sender)
        if "哪个城市" in text(r) or "Which city" in text(r):  # the service area's question, if it asks
            r = await chat.say("北京" if lang == "zh" else "Beijing", sender)
        if "/affirm" in [b["payload"] for b in buttons(r)]:
            break
    assert "/affirm" in [b["payload"] for b in buttons(r)], text(r)
    return int(re.search(r"#(\d+)", text(await chat.say("/affirm", sender))).group(1))


async def two_bookings(chat: Chat, sender: str, lang: str = "zh") -> tuple[int, int]:
    """Thursday 10:00 deep cleaning (100 m²) and Friday 10:00 cleaning (3 hours)."""
    if lang == "zh":
        deep = await book(chat, sender, "我想约明天上午10点的深度保洁", "100平米")
        clean = await book(chat, sender, "我想约后天上午10点的保洁", "3个小时")
    else:
        deep = await book(chat, sender, "I need a deep cleaning tomorrow at 10am", "100 square meters", "en")
        clean = await book(chat, sender, "I need a cleaning the day after tomorrow at 10am", "3 hours", "en")
    return deep, clean


async def open_draft_zh(chat: Chat, sender: str) -> dict[str, Any]:
    """A new booking under way: cooking on Saturday 11:00, asked for its hours."""
    r = text(await chat.say("我想约周六上午11点的家庭厨师", sender))
    assert "几个小时" in r, r
    s = state(chat, sender)
    assert s["active_loop"] == "booking_form" and s["slots"]["service_type"] == "cooking"
    return {k: s["slots"].get(k) for k in ("service_type", "time", "duration", "area", "form_key")}


def draft_kept(chat: Chat, sender: str, before: dict[str, Any]) -> dict[str, Any]:
    s = state(chat, sender)
    slots = s["slots"]
    kept = (s["slots"].get("suspended_forms") or [{}])[-1].get("slots") if s["active_loop"] is None else slots
    assert {k: (kept or {}).get(k) for k in before} == before
    return s


async def test_cancel_thursdays_deep_cleaning_mid_form_cancels_that_booking_and_the_draft_resumes(chat: Chat) -> None:
    deep, clean = await two_bookings(chat, "c-1")
    before = await open_draft_zh(chat, "c-1")
    r = await chat.say("我要取消周四那个深度保洁", "c-1")
    assert f"确认取消预约 #{deep}" in text(r) and "深度保洁" in text(r) and "已取消" not in text(r)
    draft_kept(chat, "c-1", before)
    assert statuses(chat)[deep] != "cancelled"  # asked first
    r = text(await chat.say("确认取消", "c-1"))
    assert f"预约 #{deep} 已取消" in r and "我们继续刚才的预约" in r and "几个小时" in r
    assert statuses(chat)[deep] == "cancelled" and statuses(chat)[clean] != "cancelled"
    s = draft_kept(chat, "c-1", before)
    assert s["active_loop"] == "booking_form" and not s["slots"].get("suspended_forms")
    # the draft completes into a booking of its own, with its own service and time
    for m in ("4个小时", "没有"):
        r = await chat.say(m, "c-1")
        if "/affirm" in [b["payload"] for b in buttons(r)]:
            break
    summary = text(r)
    assert "家庭厨师" in summary and "11月21日（周六）11:00" in summary, summary
    third = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "c-1"))).group(1))
    assert third not in (deep, clean)
    with chat.app.backend.db.read() as db:
        b = db.get(Booking, third)
        assert b.service == "cooking" and b.status != "cancelled"
    assert statuses(chat)[clean] != "cancelled"


async def test_cancel_my_thursday_deep_cleaning_in_english(chat: Chat) -> None:
    deep, clean = await two_bookings(chat, "e-1", "en")
    assert "hours" in text(await chat.say("I'd like a home cook on Saturday at 11am", "e-1"))
    before = {k: state(chat, "e-1")["slots"].get(k) for k in ("service_type", "time", "duration")}
    r = text(await chat.say("cancel my Thursday deep cleaning", "e-1"))
    assert f"Cancel booking #{deep}?" in r
    r = text(await chat.say("/affirm", "e-1"))
    assert f"Booking #{deep} is cancelled" in r and "Back to your booking" in r and "hours" in r
    assert statuses(chat)[deep] == "cancelled" and statuses(chat)[clean] != "cancelled"
    draft_kept(chat, "e-1", before)


async def test_several_matches_are_asked_numbered_and_a_digit_picks(chat: Chat) -> None:
    deep, clean = await two_bookings(chat, "c-2")
    before = await open_draft_zh(chat, "c-2")
    r = await chat.say("取消我之前那个预约", "c-2")
    assert "哪一个" in text(r)
    titles = [b["title"] for b in buttons(r)]
    assert titles[0].startswith("1.") and titles[1].startswith("2.") and f"#{deep}" in titles[0]
    r = text(await chat.say("2", "c-2"))
    assert f"确认取消预约 #{clean}" in r
    draft_kept(chat, "c-2", before)
    r = text(await chat.say("不取消了", "c-2"))
    assert "保持不变" in r and "我们继续刚才的预约" in r
    assert statuses(chat)[clean] != "cancelled" and statuses(chat)[deep] != "cancelled"
    assert state(chat, "c-2")["active_loop"] == "booking_form"
    draft_kept(chat, "c-2", before)


async def test_a_bare_cancel_mid_form_still_leaves_the_draft_only(chat: Chat) -> None:
    deep, clean = await two_bookings(chat, "c-3")
    await open_draft_zh(chat, "c-3")
    await chat.say("取消", "c-3")
    s = state(chat, "c-3")
    assert s["active_loop"] is None and not s["slots"].get("suspended_forms")
    assert statuses(chat)[deep] != "cancelled" and statuses(chat)[clean] != "cancelled"


async def test_status_question_and_my_bookings_mid_form_keep_the_draft(chat: Chat) -> None:
    deep, _ = await two_bookings(chat, "c-4")
    before = await open_draft_zh(chat, "c-4")
    r = text(await chat.say("我之前那个阿姨确认了吗", "c-4"))
    assert f"#{deep}" in r and "我们继续刚才的预约" in r and "几个小时" in r
    draft_kept(chat, "c-4", before)
    assert state(chat, "c-4")["slots"]["service_type"] == "cooking"
    r = text(await chat.say("我的预约", "c-4"))
    assert f"#{deep}" in r and "我们继续刚才的预约" in r
    draft_kept(chat, "c-4", before)


async def test_move_fridays_booking_mid_form_changes_that_booking_not_the_draft(chat: Chat) -> None:
    deep, clean = await two_bookings(chat, "c-5")
    before = await open_draft_zh(chat, "c-5")
    r = text(await chat.say("把周五那个改到下午3点", "c-5"))
    assert f"预约 #{clean}" in r and "11月20日（周五）10:00 → 11月20日（周五）15:00" in r and "确认修改吗" in r, r
    assert "我们继续" not in r  # the change's question is open: the draft waits
    draft_kept(chat, "c-5", before)
    r = text(await chat.say("/change_confirm", "c-5"))
    assert "我们继续刚才的预约" in r and "几个小时" in r, r
    draft_kept(chat, "c-5", before)
    assert state(chat, "c-5")["active_loop"] == "booking_form"
    with chat.app.backend.db.read() as db:
        assert db.get(Booking, deep).status != "cancelled" and db.get(Booking, deep).starts_at.day == 19
    tz = chat.app.backend.ctx.tz
    with chat.app.backend.db.read() as db:
        moved = [db.get(Booking, clean).starts_at] + [c.starts_at for c in db.scalars(
            select(BookingChange).where(BookingChange.booking_id == clean)) if c.status != "cancelled"]
    # Friday's booking is moved (or its move is on its way to the housekeeper), the draft's Saturday untouched
    assert any(t is not None and t.astimezone(tz).hour == 15 and t.astimezone(tz).day == 20 for t in moved)
