"""The client's side of cases after they are open: status questions, refund status, the satisfaction
answer after closing, a person requested in and out of desk hours, custom requests, photos.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai; desk 08:00–21:00 on weekdays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.orm import Attachment, Manager
from dialogs.messages import IncomingFile, IncomingMessage
from tests.backend.test_attachments import png
from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_complaints import cases_of, client_of, confirmed_booking, due_local, press


def manager_id(chat: Chat, code: str = "MGR01") -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == code))


async def complaint(chat: Chat, sender: str, booking_id: int, words: str = "阿姨把我家花瓶打碎了") -> dict[str, Any]:
    r = await chat.say(words, sender)
    r = await chat.say(press(r, f"#{booking_id}"), sender)
    r = await chat.say('/inform{"complaint_category": "damage"}', sender)
    await chat.say('/inform{"remedy": "refund"}', sender)
    await chat.say("/affirm", sender)
    return next(c for c in cases_of(chat, sender) if c["booking_id"] == booking_id)


async def photo(chat: Chat, sender: str, words: str = "") -> list[dict[str, Any]]:
    msg = IncomingMessage("rest", sender, words, attachments=(IncomingFile("image/png", png(), "vase.png"),))
    return await chat.app.desk.handle(msg)


async def test_case_status_in_zh_and_en(chat: Chat) -> None:
    assert "没有进行中的投诉" in text(await chat.say("我的投诉怎么样了", "c-1"))
    booking_id = await confirmed_booking(chat, "c-1")
    case = await complaint(chat, "c-1", booking_id)
    r = text(await chat.say("我的投诉怎么样了", "c-1"))
    assert f"投诉 #{case['id']}" in r and "已登记，等待客服经理处理" in r and "11:30 前联系您" in r
    chat.app.backend.claim(manager_id(chat), case["id"])
    owner = chat.app.backend.case(case["id"])["owner_name"]
    r = text(await chat.say("投诉处理到哪一步了", "c-1"))
    assert f"{owner}正在处理" in r and "11:30 前联系您" in r  # claimed, not answered: the promise stands
    chat.app.backend.reply_to_client(manager_id(chat), case["id"], "您好，我们马上安排赔偿")
    assert "11:30 前联系您" in text(await chat.say("我的投诉怎么样了", "c-1"))  # not yet read
    assert "马上安排赔偿" in text(await chat.inbox("c-1"))
    await chat.inbox("c-1")  # acknowledges it: the first response reached the client
    r = text(await chat.say("我的投诉怎么样了", "c-1"))
    assert "已回复" in r and "前联系您" not in r
    assert "no complaints" in text(await chat.say("where is my complaint?", "en-1"))
    en_booking = await confirmed_booking(chat, "en-1", "en")
    r = await chat.say("the cleaner broke my vase", "en-1")
    r = await chat.say(press(r, f"#{en_booking}"), "en-1")
    r = await chat.say("yes", "en-1")
    await chat.say('/inform{"remedy": "apology"}', "en-1")
    await chat.say("/affirm", "en-1")
    [en_case] = cases_of(chat, "en-1")
    r = text(await chat.say("where is my complaint?", "en-1"))
    assert f"Complaint #{en_case['id']}" in r and "waiting for a manager" in r and "by 11:30" in r


async def test_refund_status_in_zh_and_en(chat: Chat) -> None:
    assert "没有您的退款记录" in text(await chat.say("退款到哪一步了", "c-2"))
    be = chat.app.backend
    booking_id = await confirmed_booking(chat, "c-2")
    case = await complaint(chat, "c-2", booking_id)
    be.record_payment("manager:MGR01", booking_id, 15000, "transfer")
    refund = be.request_refund("manager:MGR01", booking_id, 15000, "花瓶打碎", case_id=case["id"])
    r = text(await chat.say("退款到哪一步了", "c-2"))
    due = datetime.fromisoformat(refund["due_at"]).astimezone(be.ctx.tz)
    assert f"退款 #{refund['id']} ¥150.00" in r and "待审核" in r and f"{due.month}月{due.day}日" in r
    be.reject_refund(manager_id(chat), refund["id"], "已经赔偿了新花瓶")
    r = text(await chat.say("我的退款怎么样了", "c-2"))
    assert "未通过：已经赔偿了新花瓶" in r
    r = text(await chat.say("what is the status of my refund?", "c-2"))  # a full English sentence switches
    assert f"Refund #{refund['id']}" in r and "not granted" in r


async def test_satisfaction_yes_and_no_after_a_manager_closes(chat: Chat) -> None:
    be, mgr = chat.app.backend, manager_id(chat)
    first = await confirmed_booking(chat, "c-3")
    case = await complaint(chat, "c-3", first)
    be.reply_to_client(mgr, case["id"], "已为您安排赔偿")
    be.compensate(mgr, case["id"], 20000, "花瓶打碎")  # closing "compensation" needs one on record
    be.close_case(mgr, case["id"], "compensation", "赔偿200元")
    told = await chat.inbox("c-3")
    yes = next(b["payload"] for b in buttons(told) if '"satisfied": true' in b["payload"])
    assert "很高兴" in text(await chat.say(yes, "c-3"))
    assert be.case(case["id"])["satisfied"] is True and be.case(case["id"])["status"] == "closed"

    second = await confirmed_booking(chat, "c-3", when="后天下午两点")
    r = await chat.say("阿姨迟到了一个小时", "c-3")
    assert "是关于投诉" not in text(r)  # the closed one is not offered to join
    r = await chat.say(press(r, f"#{second}"), "c-3")
    r = await chat.say('/inform{"complaint_category": "lateness"}', "c-3")
    await chat.say('/inform{"remedy": "apology"}', "c-3")
    await chat.say("/affirm", "c-3")
    other = next(c for c in cases_of(chat, "c-3") if c["booking_id"] == second)
    be.close_case(mgr, other["id"], "apologised")
    told = await chat.inbox("c-3")
    no = next(b["payload"] for b in buttons(told) if '"satisfied": false' in b["payload"])
    r = text(await chat.say(no, "c-3"))
    reopened = be.case(other["id"])
    assert reopened["status"] == "open" and reopened["level"] == 1 and reopened["satisfied"] is False
    assert f"#{other['id']} 已重新处理" in r and f"{due_local(reopened, chat):%H:%M} 前联系您" in r
    assert "已经记录" in text(await chat.say(no.replace("false", "true"), "c-3"))  # a late second tap


async def test_request_human_in_and_out_of_desk_hours(chat: Chat) -> None:
    r = text(await chat.say("转人工", "c-4"))
    [case] = cases_of(chat, "c-4")
    assert case["kind"] == "human_requested" and "30分钟内" in r
    chat.app.clock.advance(hours=12, minutes=30)  # Wednesday 23:00: the desk is closed
    r = text(await chat.say("I want to talk to a real person", "en-4"))
    [late] = cases_of(chat, "en-4")
    assert due_local(late, chat).strftime("%d %H:%M") == "19 08:30"  # 30 desk minutes after 08:00
    assert "desk is closed" in r and "Thu 19 Nov, 8:30" in r and "30 minutes" not in r


async def test_a_request_for_a_person_just_before_closing_names_the_real_time(chat: Chat) -> None:
    chat.app.clock.advance(hours=10, minutes=20)  # Wednesday 20:50: open for ten more minutes
    r = text(await chat.say("转人工", "c-6"))
    [case] = cases_of(chat, "c-6")
    assert due_local(case, chat).strftime("%d %H:%M") == "19 08:20"  # 10 desk minutes today, 20 tomorrow
    assert "不在客服工作时间" not in r and "11月19日（周四）08:20 前" in r


async def test_custom_request_promises_its_own_due_time(chat: Chat) -> None:
    r = text(await chat.say("想定制一个清洁方案，每周二和周五各来一次", "c-5"))
    [case] = cases_of(chat, "c-5")
    assert case["kind"] == "custom_request"
    assert f"需求 #{case['id']}" in r and "11月19日（周四）10:30 前把方案发给您" in r


async def test_photos_go_with_the_complaint(chat: Chat) -> None:
    r = await photo(chat, "c-6")
    assert "收到图片。是要投诉吗" in text(r)
    r = await chat.say(press(r, "我要投诉"), "c-6")
    assert "哪方面的问题" in text(r)
    r = await chat.say('/inform{"complaint_category": "damage"}', "c-6")
    assert "收到，图片会附在您的投诉里" in text(await photo(chat, "c-6"))
    r = await chat.say('/inform{"remedy": "compensation"}', "c-6")
    assert "附件：2 个" in text(r)
    await chat.say("/affirm", "c-6")
    [case] = cases_of(chat, "c-6")
    assert len(chat.app.backend.case(case["id"])["attachments"]) == 2
    assert "已附到投诉" in text(await photo(chat, "c-6"))  # an open complaint takes the next one
    with chat.app.backend.db.uow() as s:
        assert len(s.scalars(select(Attachment).where(Attachment.case_id == case["id"])).all()) == 3
    assert client_of(chat, "c-6")


async def test_a_complaint_in_traditional_chinese_is_answered_in_traditional(chat: Chat) -> None:
    r = await chat.say("我要投訴，阿姨把我家的花瓶打碎了", "tw-1")
    assert "是關於物品損壞嗎" in text(r), text(r)
    assert [b["title"] for b in buttons(r)][:2] == ["是的", "服務質量"]
    r = await chat.say("是的", "tw-1")
    await chat.say(press(r, "道歉"), "tw-1")
    done = text(await chat.say("/affirm", "tw-1"))
    [case] = cases_of(chat, "tw-1")
    assert f"投訴 #{case['id']} 已登記" in done and "客服經理" in done
    r = text(await chat.say("我的投訴怎麼樣了", "tw-1"))
    assert "已登記，等待客服經理處理" in r
