"""Complaints through the REST channel: the form (booking, category, remedy, confirmation), the real due
time, joining an open case, two bookings two cases, and a booking a complaint never touches.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai (desk open 08:00–21:00).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from backend.orm import Booking, CaseEvent, Escalation
from tests.e2e.conftest import Chat, buttons, text


async def confirmed_booking(chat: Chat, sender: str, lang: str = "zh", when: str = "明天上午10点") -> int:
    """A cleaning booked through the normal form and accepted by the housekeeper it was offered to."""
    if lang == "zh":
        steps = (f"我想约{when}的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有")
    else:
        steps = ("I need a cleaning tomorrow at 10am", "3 hours", "Room 501, Building 3, 88 Jianguo Road",
                 "13812345678", "no")
    for m in steps:
        r = await chat.say(m, sender)
        if "/affirm" in [b["payload"] for b in buttons(r)]:
            break  # a returning client is not asked for phone and address again
    assert "/affirm" in [b["payload"] for b in buttons(r)], text(r)
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", sender))).group(1))
    _, hk = chat.offer_for(booking_id)
    offer = await chat.inbox(hk)
    accept = next(b["payload"] for b in buttons(offer) if b["payload"].startswith("/accept"))
    await chat.say(accept, hk)
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"
    await chat.inbox(sender)  # the confirmation, read
    return booking_id


def cases_of(chat: Chat, client_sender: str) -> list[dict[str, Any]]:
    client_id = client_of(chat, client_sender)
    return chat.app.backend.client_cases(client_id, limit=20)


def client_of(chat: Chat, sender: str) -> int:
    person = chat.app.backend.client_for("rest", sender, "zh")
    return person.id


def events_of(chat: Chat, case_id: int) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))


def press(replies: list[dict[str, Any]], title_part: str) -> str:
    return next(b["payload"] for b in buttons(replies) if title_part in b["title"])


def due_local(case: dict[str, Any], chat: Chat) -> datetime:
    return datetime.fromisoformat(case["due_at"]).astimezone(chat.app.backend.ctx.tz)


async def test_zh_complaint_about_a_booking_is_a_case_with_the_real_due_time(chat: Chat) -> None:
    booking_id = await confirmed_booking(chat, "c-1")
    r = await chat.say("阿姨把我家花瓶打碎了", "c-1")
    assert "哪一次预约" in text(r)
    titles = [b["title"] for b in buttons(r)]
    assert any(f"#{booking_id}" in t for t in titles) and titles[-1] == "不是关于某次预约"
    r = await chat.say(press(r, f"#{booking_id}"), "c-1")
    assert "是关于物品损坏吗" in text(r)  # the NLU's guess, confirmed by the client
    titles = [b["title"] for b in buttons(r)]
    assert titles[:2] == ["是的", "服务质量"] and "物品损坏" not in titles  # the guess is the "yes" button
    r = await chat.say("是的", "c-1")
    assert "怎么处理" in text(r) and "退款" in [b["title"] for b in buttons(r)]
    summary = await chat.say(press(r, "赔偿"), "c-1")
    s = text(summary)
    assert f"预约 #{booking_id}" in s and "物品损坏" in s and "赔偿" in s and "花瓶打碎" in s
    done = text(await chat.say("/affirm", "c-1"))
    [case] = cases_of(chat, "c-1")
    assert case["kind"] == "complaint" and case["booking_id"] == booking_id
    assert case["category"] == "damage" and case["remedy"] == "compensation" and case["severity"] == "high"
    # damage is high severity: due within the hour, today, so the promise is the time alone
    assert f"投诉 #{case['id']} 已登记" in done and f"{due_local(case, chat):%H:%M} 前联系您" in done
    assert due_local(case, chat).strftime("%H:%M") == "11:30"
    assert "24" not in done and "退款" not in done  # no figure from a text, no refund promised
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"
    assert chat.app.backend.case(case["id"])["text"].startswith("阿姨把我家花瓶打碎了")


async def test_en_scratched_floor_is_a_complaint_and_the_booking_stays(chat: Chat) -> None:
    booking_id = await confirmed_booking(chat, "en-1", "en")
    r = await chat.say("the cleaner scratched my wooden floor", "en-1")
    assert "Which booking" in text(r), text(r)
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"
    r = await chat.say(f'/inform{{"booking_id": {booking_id}}}', "en-1")
    assert "Is it about damage or breakage?" in text(r)
    r = await chat.say("yes", "en-1")
    assert "What would you like us to do?" in text(r)
    r = await chat.say('/inform{"remedy": "rework"}', "en-1")
    assert "A free redo" not in text(r) and "a free redo" in text(r) and "Shall I register it?" in text(r)
    done = text(await chat.say("/affirm", "en-1"))
    [case] = cases_of(chat, "en-1")
    assert case["remedy"] == "rework" and case["lang"] == "en"
    assert f"Complaint #{case['id']} is registered" in done and f"by {due_local(case, chat):%H:%M}" in done
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"


async def test_a_quality_complaint_is_promised_for_tomorrow_with_the_date(chat: Chat) -> None:
    booking_id = await confirmed_booking(chat, "c-2")
    r = await chat.say("厨房还是油乎乎的，根本没清洁", "c-2")
    r = await chat.say(press(r, f"#{booking_id}"), "c-2")
    if "是关于" in text(r):  # the NLU may guess quality; either way the client picks it
        r = await chat.say('/inform{"complaint_category": "quality"}', "c-2")
    else:
        r = await chat.say(press(r, "服务质量"), "c-2")
    await chat.say(press(r, "免费返工"), "c-2")
    done = text(await chat.say("确认", "c-2"))
    [case] = cases_of(chat, "c-2")
    assert case["severity"] == "normal" and case["category"] == "quality"
    assert "11月19日（周四）10:30 前联系您" in done  # 24 h from 10:30 Wednesday


async def test_a_repeat_message_joins_the_open_case(chat: Chat) -> None:
    booking_id = await confirmed_booking(chat, "c-3")
    r = await chat.say("阿姨把我家花瓶打碎了", "c-3")
    r = await chat.say(press(r, f"#{booking_id}"), "c-3")
    r = await chat.say("是的", "c-3")
    await chat.say(press(r, "道歉"), "c-3")
    await chat.say("/affirm", "c-3")
    [case] = cases_of(chat, "c-3")
    before = events_of(chat, case["id"])
    r = await chat.say("我要投诉，阿姨还把杯子也打碎了", "c-3")
    assert f"是关于投诉 #{case['id']}" in text(r)
    assert "已补充到投诉" in text(await chat.say("是的", "c-3"))
    assert len(cases_of(chat, "c-3")) == 1 and events_of(chat, case["id"]) == before + 1
    assert "杯子" in chat.app.backend.case(case["id"])["text"] or any(
        "杯子" in str(e) for e in chat.app.backend.case(case["id"])["events"])


async def test_two_bookings_are_two_cases(chat: Chat) -> None:
    first = await confirmed_booking(chat, "c-4")
    second = await confirmed_booking(chat, "c-4", when="后天下午两点")
    for booking_id, words in ((first, "阿姨迟到了一个小时"), (second, "阿姨态度很差，还顶嘴")):
        r = await chat.say(words, "c-4")
        if "是关于投诉" in text(r):
            r = await chat.say("/deny", "c-4")  # not the open one: a new matter
        r = await chat.say(press(r, f"#{booking_id}"), "c-4")
        r = await chat.say(press(r, "是的") if "是关于" in text(r) else press(r, "其他"), "c-4")
        await chat.say(press(r, "道歉"), "c-4")
        assert "已登记" in text(await chat.say("/affirm", "c-4"))
    cases = cases_of(chat, "c-4")
    assert sorted(c["booking_id"] for c in cases) == sorted([first, second])
    with chat.app.backend.db.uow() as s:
        assert s.scalar(select(func.count()).select_from(Escalation).where(Escalation.kind == "complaint")) == 2


async def test_leaving_the_complaint_form_registers_nothing(chat: Chat) -> None:
    r = await chat.say("我要投诉", "c-5")
    assert "哪方面的问题" in text(r)  # no bookings: the booking question is skipped
    assert "没有登记投诉" in text(await chat.say("算了", "c-5"))
    assert cases_of(chat, "c-5") == []
    r = await chat.say("I want to complain", "en-5")
    r = await chat.say('/inform{"complaint_category": "attitude"}', "en-5")
    await chat.say('/inform{"remedy": "none"}', "en-5")
    assert "haven't registered" in text(await chat.say("/deny", "en-5"))
    assert cases_of(chat, "en-5") == []


async def test_a_finished_visit_can_be_complained_about(chat: Chat) -> None:
    be = chat.app.backend
    booking_id = await confirmed_booking(chat, "c-9")
    with be.db.uow() as s:
        hk = be.rest_id_of("housekeeper", s.get(Booking, booking_id).housekeeper_id)
    chat.tick(23 * 60 + 40)  # the morning of the visit
    await chat.say(f'/arrived{{"booking_id": {booking_id}}}', hk)
    chat.tick(3 * 60)
    await chat.say(f'/finished{{"booking_id": {booking_id}}}', hk)
    assert be.booking(booking_id)["status"] == "completed"
    r = await chat.say("窗户根本没擦干净", "c-9")
    assert "哪一次预约" in text(r) and any(f"#{booking_id}" in b["title"] for b in buttons(r))
    r = await chat.say(press(r, f"#{booking_id}"), "c-9")
    for _ in range(3):  # confirm the category, choose the remedy, register
        if "/affirm" in [b["payload"] for b in buttons(r)] and "确认提交" in text(r):
            break
        r = await chat.say(press(r, "免费返工") if "怎么处理" in text(r) else "是的", "c-9")
    await chat.say("/affirm", "c-9")
    [case] = cases_of(chat, "c-9")
    assert case["booking_id"] == booking_id and case["remedy"] == "rework"


async def test_a_new_matter_is_a_new_case_and_the_remedy_said_first_is_kept(chat: Chat) -> None:
    r = await chat.say("我要投诉，上次来的阿姨态度很差", "c-10")
    if "哪一次预约" in text(r):
        r = await chat.say(press(r, "不是关于"), "c-10")
    r = await chat.say("是的", "c-10")
    r = await chat.say(press(r, "道歉"), "c-10")
    await chat.say("/affirm", "c-10")
    [first] = cases_of(chat, "c-10")
    r = await chat.say("阿姨把我家花瓶打碎了，我要求赔偿", "c-10")
    assert f"是关于投诉 #{first['id']}" in text(r)
    r = await chat.say(press(r, "新的问题"), "c-10")
    for _ in range(3):  # booking (none), the category: never the remedy, which was said already
        assert "怎么处理" not in text(r), text(r)
        if "确认提交" in text(r):
            break
        r = await chat.say(press(r, "不是关于") if "哪一次预约" in text(r) else "是的", "c-10")
    assert "赔偿" in text(r)
    await chat.say("/affirm", "c-10")
    second, again = cases_of(chat, "c-10")
    assert second["id"] != first["id"] and again["id"] == first["id"]
    assert second["remedy"] == "compensation" and second["category"] == "damage"
    assert "花瓶" not in (chat.app.backend.case(first["id"])["text"] or "")  # not joined to the first
