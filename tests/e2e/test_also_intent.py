"""Two requests in one message (issue 14), end to end through the REST channel: the complaint first, then the
change of the booking offered once (dialogs/nlu/multi.py, Engine._also).

Reference time: Wednesday 2026-11-18 10:30 Asia/Shanghai. The booking of book_cleaning_zh is Thursday
19 Nov 10:00, 3 hours, at 朝阳区建国路88号3号楼501.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_changes import change_offer, changes_of, confirmed_booking, rest_id, row
from tests.e2e.test_complaints import cases_of, press

BOTH = "阿姨迟到了一个小时，下次的改到周六吧"
OFFER = "您刚才还提到：「下次的改到周六吧」。现在帮您处理吗？"


async def complaint_then_offer(chat: Chat, sender: str, booking_id: int) -> list[dict[str, Any]]:
    """The complaint + change message, the complaint form to its end; the replies of the last turn."""
    r = await chat.say(BOTH, sender)
    assert "哪一次预约" in text(r) and OFFER not in text(r)  # the complaint first, nothing offered mid-form
    r = await chat.say(press(r, f"#{booking_id}"), sender)
    assert "迟到" in text(r) and OFFER not in text(r)
    r = await chat.say("是的", sender)
    r = await chat.say(press(r, "道歉"), sender)
    assert "确认提交吗" in text(r) and OFFER not in text(r)
    r = await chat.say("/affirm", sender)
    [case] = cases_of(chat, sender)
    assert case["kind"] == "complaint" and case["category"] == "lateness" and case["booking_id"] == booking_id
    t = text(r)
    assert f"投诉 #{case['id']} 已登记" in t and t.index("已登记") < t.index(OFFER)  # stored, then offered
    assert [b["title"] for b in buttons(r)] == ["好的", "不用了"]
    assert [b["payload"] for b in buttons(r)] == ["/also_yes", "/also_no"]
    return r


async def test_complaint_first_then_yes_moves_the_booking_to_saturday(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-1")
    await complaint_then_offer(chat, "c-1", booking_id)
    r = await chat.say("好的", "c-1")  # typed, the button is on offer
    t = text(r)
    assert f"预约 #{booking_id}" in t and "11月19日（周四）10:00 → 11月21日（周六）10:00" in t, t
    assert [b["payload"] for b in buttons(r)] == ["/change_confirm", "/change_keep"]
    assert row(chat, booking_id).starts_at.day == 19  # nothing moves before the change is confirmed
    await chat.say("/change_confirm", "c-1")
    offer = change_offer(chat, booking_id)
    assert offer is not None
    await chat.say(f'/accept_offer{{"offer_id": {offer.id}}}', rest_id(chat, offer.housekeeper_id))
    b = row(chat, booking_id)
    assert (b.status, b.starts_at.day, b.starts_at.weekday()) == ("confirmed", 21, 5)  # Saturday
    assert [c.status for c in changes_of(chat, booking_id)] == ["applied"]
    assert len(cases_of(chat, "c-1")) == 1  # the change opened no second case


async def test_no_thanks_leaves_the_booking_untouched(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-2")
    before = row(chat, booking_id)
    await complaint_then_offer(chat, "c-2", booking_id)
    r = await chat.say("/also_no", "c-2")
    assert "好的" in text(r) and "确认修改" not in text(r) and OFFER not in text(r)
    assert "再告诉我" in text(await chat.say("/also_yes", "c-2"))  # the offer was made once: gone now
    b = row(chat, booking_id)
    assert (b.status, b.starts_at) == (before.status, before.starts_at) and not changes_of(chat, booking_id)


async def test_another_message_clears_the_offer(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-3")
    before = row(chat, booking_id)
    await complaint_then_offer(chat, "c-3", booking_id)
    r = await chat.say("我的预约", "c-3")
    assert f"#{booking_id}" in text(r) and OFFER not in text(r)
    r = await chat.say("/also_yes", "c-3")  # the old button tapped after all
    assert "再告诉我" in text(r) and "确认修改" not in text(r)
    assert row(chat, booking_id).starts_at == before.starts_at and not changes_of(chat, booking_id)


async def test_an_emergency_drops_the_second_request(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-4")
    r = await chat.say("家里漏水了很急，另外把周四的改到周六", "c-4")
    assert "您刚才还提到" not in text(r) and "确认修改" not in text(r)
    r = await chat.say("你好", "c-4")
    assert "您刚才还提到" not in text(r)
    assert not changes_of(chat, booking_id)


async def test_a_second_request_is_not_brought_up_long_after(chat: Chat) -> None:
    """Said, then the complaint left half way and the client back more than half an hour later: nothing from
    back then is brought up again (Engine._also, ALSO_KEPT_SECONDS)."""
    booking_id, _ = await confirmed_booking(chat, "c-5")
    r = await chat.say(BOTH, "c-5")
    assert "哪一次预约" in text(r)
    chat.tick(31)
    r = await chat.say("算了", "c-5")  # leaves the complaint form: nothing is open any more
    assert "您刚才还提到" not in text(r)
    r = await chat.say("你好", "c-5")
    assert "您刚才还提到" not in text(r) and not changes_of(chat, booking_id)


async def test_a_second_request_left_soon_is_still_offered(chat: Chat) -> None:
    """The same within the half hour: leaving the complaint is the moment nothing is open, so it is offered."""
    await confirmed_booking(chat, "c-6")
    await chat.say(BOTH, "c-6")
    chat.tick(5)
    r = await chat.say("算了", "c-6")
    assert OFFER in text(r)
