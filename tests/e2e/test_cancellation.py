"""Cancelling a booking through REST (issue 10): always asked first with the summary and the fee, a way
out that keeps it, the policy's late fee recorded as a payment, the housekeeper told and her offer card
replaced by a withdrawn one; "我的预约" in the client's language. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from backend.orm import Notification, Offer, Payment
from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_booking_dialogs import book_cleaning_zh
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, STAFF, Env
from tests.telegram.test_telegram import book_via_telegram


async def book_friday_zh(chat: Chat, sender: str) -> int:
    """日常保洁 Friday 10:00, 3 hours, 150元: more than 24 hours away, so free to cancel for now."""
    for m in ("我想约后天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678"):
        await chat.say(m, sender)
    assert "11月20日（周五）10:00" in text(await chat.say("没有", sender))
    return int(re.search(r"#(\d+)", text(await chat.say("/affirm", sender))).group(1))


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db




def fees(chat: Chat, booking_id: int) -> list[tuple[str, int]]:
    with chat.app.backend.db.read() as s:
        return [(p.kind, p.amount_cents) for p in s.scalars(select(Payment).where(Payment.booking_id == booking_id))]


def rows(chat: Chat, template: str) -> list[Notification]:
    with chat.app.backend.db.read() as s:
        got = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
        return got


async def test_one_booking_and_a_bare_cancel_is_asked_first_and_can_be_kept(chat: Chat) -> None:
    b = await book_friday_zh(chat, "c-1")
    r = await chat.say("取消", "c-1")
    assert f"确认取消预约 #{b}" in text(r) and "免费" in text(r) and "日常保洁" in text(r) and "150元" in text(r)
    assert [x["title"] for x in buttons(r)] == ["确认取消", "不取消"]
    assert chat.app.backend.booking(b)["status"] == "offered"  # nothing cancelled by the question
    assert f"预约 #{b} 保持不变" in text(await chat.say("不取消了", "c-1"))
    assert chat.app.backend.booking(b)["status"] == "offered"
    await chat.say("取消预约", "c-1")
    assert "保持不变" in text(await chat.say("取消", "c-1"))  # a bare stop word leaves the question: kept
    assert chat.app.backend.booking(b)["status"] == "offered"
    await chat.say("取消预约", "c-1")
    r = text(await chat.say("确认取消", "c-1"))
    assert f"预约 #{b} 已取消" in r and "不收取费用" in r
    assert chat.app.backend.booking(b)["status"] == "cancelled" and fees(chat, b) == []


async def test_several_bookings_ask_which_then_confirm(chat: Chat) -> None:
    first = await book_cleaning_zh(chat, "c-2")
    for m in ("再约一次保洁，后天下午两点", "2小时"):
        await chat.say(m, "c-2")
    r = await chat.say("没有", "c-2")
    second = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "c-2"))).group(1))
    r = await chat.say("取消预约", "c-2")
    assert "哪一个" in text(r)
    payloads = [x["payload"] for x in buttons(r)]
    assert len(payloads) == 2 and all(p.startswith("/cancel_booking") for p in payloads)
    r = text(await chat.say(next(p for p in payloads if str(second) in p), "c-2"))
    assert f"确认取消预约 #{second}" in r
    assert "已取消" in text(await chat.say("/affirm", "c-2"))
    assert chat.app.backend.booking(second)["status"] == "cancelled"
    assert chat.app.backend.booking(first)["status"] == "offered"


async def test_late_cancel_of_a_confirmed_job_charges_the_fee_and_tells_her(chat: Chat) -> None:
    b = await book_cleaning_zh(chat, "c-3")  # Thursday 10:00, 150元
    _, hk = chat.offer_for(b)
    offer = await chat.inbox(hk)
    accept = next(x["payload"] for x in buttons(offer) if x["title"] == "接单")
    assert "接单成功" in text(await chat.say(accept, hk))
    await chat.inbox(hk)  # her job card
    chat.tick(60 * 9)  # Wednesday 19:30: less than 24 hours before the start
    r = text(await chat.say("我要取消预约", "c-3"))
    assert f"确认取消预约 #{b}" in r and "24小时" in r and "20%" in r and "¥30" in r
    assert chat.app.backend.booking(b)["status"] == "confirmed"
    r = text(await chat.say("/affirm", "c-3"))
    assert f"预约 #{b} 已取消" in r and "¥30" in r and "已通知阿姨" in r
    assert chat.app.backend.booking(b)["status"] == "cancelled"
    assert fees(chat, b) == [("cancellation_fee", 3000)]
    told = text(await chat.inbox(hk))
    assert f"订单 #{b}" in told and "取消" in told
    [cancelled] = rows(chat, "job_cancelled")
    [card] = rows(chat, "job_confirmed")
    assert cancelled.replaces_key == card.key  # the job card with 已到达 is edited into the cancellation
    mine = text(await chat.say("我的预约", "c-3"))
    assert "最近的预约" in mine and f"#{b}" in mine and "已取消" in mine and "取消费 ¥30" in mine


async def test_cancel_withdraws_the_pending_offer_and_replaces_her_card(chat: Chat) -> None:
    b = await book_friday_zh(chat, "c-4")
    offer_id, hk = chat.offer_for(b)
    card = await chat.inbox(hk)
    assert any(x["title"] == "接单" for x in buttons(card))
    await chat.say("取消预约", "c-4")
    await chat.say("/affirm", "c-4")
    with chat.app.backend.db.read() as s:
        assert s.get(Offer, offer_id).status == "withdrawn"
    withdrawn = await chat.inbox(hk)
    assert f"订单 #{b} 已撤回" in text(withdrawn) and buttons(withdrawn) == []  # no live buttons
    offer_card = next(m for m in card if any(x["title"] == "接单" for x in m.get("buttons") or ()))
    assert [m.get("replaces") for m in withdrawn] == [offer_card["id"]]  # the widget edits that card
    [row] = rows(chat, "offer_withdrawn")
    assert row.replaces_key == f"offer:{offer_id}"
    late = text(await chat.say(next(x["payload"] for x in buttons(card) if x["title"] == "接单"), hk))
    assert "接单成功" not in late and chat.app.backend.booking(b)["status"] == "cancelled"


async def test_english_cancel_keep_it_and_my_bookings(chat: Chat) -> None:
    for m in ("I need a cleaning on Friday at 10am for 3 hours", "Room 1203, Building 5, 88 Jianguo Road",
              "+86 139-1234-5678"):
        await chat.say(m, "en-1")
    r = await chat.say("no", "en-1")
    if "Confirm" not in text(r) and "confirm" not in text(r):
        r = await chat.say("no notes", "en-1")
    b = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "en-1"))).group(1))
    r = await chat.say("cancel my booking", "en-1")
    assert f"Cancel booking #{b}?" in text(r) and "free" in text(r)
    assert [x["title"] for x in buttons(r)] == ["Yes, cancel it", "No, keep it"]
    assert "stays as it is" in text(await chat.say("keep it", "en-1"))
    mine = text(await chat.say("my bookings", "en-1"))
    assert f"#{b}" in mine and "arranging a housekeeper" in mine and "offered" not in mine
    await chat.say("cancel my booking", "en-1")
    assert f"Booking #{b} is cancelled, free of charge" in text(await chat.say("yes, cancel it", "en-1"))
    mine = text(await chat.say("my bookings", "en-1"))
    assert "no upcoming bookings" in mine and "Recent bookings" in mine and "cancelled" in mine


async def test_traditional_chinese_my_bookings_and_confirmation(chat: Chat) -> None:
    b = await book_friday_zh(chat, "t-1")
    await chat.app.desk.set_language("rest", "t-1", "zh-Hant")
    mine = text(await chat.say("我的預約", "t-1"))
    assert f"#{b}" in mine and "您的預約" in mine and "正在安排阿姨" in mine
    assert "offered" not in mine
    r = await chat.say("取消預約", "t-1")
    assert f"確認取消預約 #{b}" in text(r) and [x["title"] for x in buttons(r)] == ["確認取消", "不取消"]
    assert "保持不變" in text(await chat.say("不取消了", "t-1"))
    assert chat.app.backend.booking(b)["status"] == "offered"


async def test_telegram_offer_card_is_edited_into_a_withdrawn_card_without_buttons(tg: Env) -> None:
    f = tg.fake
    await tg.bind("HKA", HK_A)
    await book_via_telegram(tg)
    await f.wait_for(STAFF, HK_A, "新订单 #")
    card = next(m for m in f.bots[STAFF].sent if m["method"] == "sendMessage" and int(m["chat_id"]) == HK_A
                and "新订单 #" in m.get("text", ""))
    assert f.message(STAFF, HK_A, card["message_id"])["reply_markup"]  # 接单 / 拒绝
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.client_says("取消", CUSTOMER)
    ask = await f.wait_for(CLIENT, CUSTOMER, "确认取消预约", after=n)
    assert "¥30" in ask  # tomorrow 10:00 is less than 24 hours away
    assert [t for t, _ in f.buttons(CLIENT, CUSTOMER)] == ["确认取消", "不取消"]
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "确认取消")
    await f.wait_for(CLIENT, CUSTOMER, "已取消", after=n)
    for _ in range(200):
        now = f.message(STAFF, HK_A, card["message_id"])
        if "已撤回" in now["text"]:
            break
        await asyncio.sleep(0.05)
    assert "已撤回" in now["text"] and not now["reply_markup"]  # the same message, no live buttons
    assert (await asyncio.to_thread(tg.app.backend.booking, 1))["status"] == "cancelled"
