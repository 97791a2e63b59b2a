"""Flows started in the middle of a form: the draft is kept and resumed (a complaint mid-booking),
questions are answered and the form's question asked again, an emergency leaves the form for good,
and cancelling a booking is always confirmed first.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_complaints import cases_of, client_of, confirmed_booking, press


def draft(chat: Chat, sender: str) -> dict:
    """The stored conversation (slots, active form) of a REST client."""
    return chat.app.desk.engine.store.load(f"rest:{sender}")


async def test_a_complaint_mid_booking_is_registered_then_the_draft_resumes(chat: Chat) -> None:
    await chat.say("我想约明天上午10点的保洁", "c-1")
    assert "地址" in text(await chat.say("3个小时", "c-1"))
    before = dict(draft(chat, "c-1")["slots"])
    r = await chat.say("上次阿姨把我家花瓶打碎了，我要投诉", "c-1")
    assert "是关于物品损坏吗" in text(r) and "地址" not in text(r)  # no bookings yet: not asked which
    state = draft(chat, "c-1")
    assert state["active_loop"] == "complaint_form"
    [kept] = state["slots"]["suspended_forms"]
    assert kept["form"] == "booking_form" and kept["requested_slot"] == "address"
    assert kept["slots"]["service_type"] == "cleaning" and kept["slots"]["duration"] == 3
    r = await chat.say("对", "c-1")
    await chat.say(press(r, "赔偿"), "c-1")
    r = text(await chat.say("/affirm", "c-1"))
    assert "已登记" in r and "我们继续刚才的预约" in r and "地址" in r
    state = draft(chat, "c-1")
    assert state["active_loop"] == "booking_form" and not state["slots"].get("suspended_forms")
    for k in ("service_type", "time", "duration", "form_key"):
        assert state["slots"][k] == before[k]
    assert "手机号" in text(await chat.say("朝阳区建国路88号3号楼501", "c-1"))
    await chat.say("13812345678", "c-1")
    summary = text(await chat.say("没有", "c-1"))
    assert "11月19日（周四）10:00" in summary and "3小时" in summary
    [case] = cases_of(chat, "c-1")
    assert case["booking_id"] is None and case["category"] == "damage"


async def test_leaving_a_complaint_mid_booking_resumes_the_booking(chat: Chat) -> None:
    await chat.say("I need a cleaning tomorrow at 10am", "en-1")
    r = await chat.say("I want to make a complaint", "en-1")
    assert "What went wrong?" in text(r)
    r = text(await chat.say("never mind", "en-1"))
    assert "haven't registered" in r and "Back to your booking" in r and "hours" in r
    assert cases_of(chat, "en-1") == []


async def test_a_price_question_mid_complaint_is_answered_and_the_question_asked_again(chat: Chat) -> None:
    r = await chat.say("我要投诉", "c-2")
    assert "哪方面的问题" in text(r)
    r = text(await chat.say("保洁多少钱一小时", "c-2"))
    assert "50元/小时" in r and "我们继续登记您的投诉" in r and "哪方面的问题" in r
    r = text(await chat.say("我的投诉怎么样了", "c-2"))
    assert "没有进行中的投诉" in r and "哪方面的问题" in r
    assert draft(chat, "c-2")["active_loop"] == "complaint_form"


async def test_an_emergency_mid_booking_gives_advice_first_and_no_form_afterwards(chat: Chat) -> None:
    await chat.say("我想约明天上午10点的保洁", "c-3")
    await chat.say("3个小时", "c-3")
    r = await chat.say("救命，家里着火了", "c-3")
    assert "119" in r[0]["text"] and "120" in r[0]["text"]  # advice first
    assert "紧急情况 #" in text(r) and "地址" not in text(r) and "继续刚才的预约" not in text(r)
    state = draft(chat, "c-3")
    assert state["active_loop"] is None and not state["slots"].get("suspended_forms")
    assert state["slots"].get("service_type") is None
    [case] = cases_of(chat, "c-3")
    assert case["kind"] == "emergency" and case["severity"] == "high"
    r = text(await chat.say("谢谢", "c-3"))
    assert "地址" not in r and "继续" not in r
    # never refused: a second emergency in the same hour is still taken (it joins the open one)
    r = await chat.say("救命，又着火了", "c-3")
    assert "119" in r[0]["text"] and "紧急情况 #" in text(r)


async def test_an_emergency_in_english_gets_english_advice(chat: Chat) -> None:
    r = await chat.say("help, I smell gas in the kitchen", "en-3")
    assert "120" in r[0]["text"] and "gas" in r[0]["text"] and "Emergency #" in text(r)


async def test_cancel_asks_for_confirmation_before_cancelling(chat: Chat) -> None:
    booking_id = await confirmed_booking(chat, "c-4")
    r = await chat.say("取消预约", "c-4")
    assert f"确认取消预约 #{booking_id}" in text(r)
    assert [b["title"] for b in buttons(r)] == ["确认取消", "不取消"]
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"
    assert "保持不变" in text(await chat.say("/deny", "c-4"))
    assert chat.app.backend.booking(booking_id)["status"] == "confirmed"
    r = await chat.say("取消预约", "c-4")
    assert "已取消" in text(await chat.say(press(r, "确认取消"), "c-4"))
    assert chat.app.backend.booking(booking_id)["status"] == "cancelled"
    assert client_of(chat, "c-4")
