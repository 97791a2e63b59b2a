"""Changing a booking in place through the REST channel (issue 10), zh and en, on the test clock.

Reference time: Wednesday 2026-11-18 10:30 Asia/Shanghai. The booking of book_cleaning_zh is Thursday
19 Nov 10:00, 3 hours, 150 CNY, at 朝阳区建国路88号3号楼501.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.orm import Booking, BookingChange, Notification, Offer
from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_booking_dialogs import book_cleaning_zh


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


async def confirmed_booking(chat: Chat, sender: str) -> tuple[int, str]:
    """A booking the first housekeeper accepted: (booking id, her REST sender id)."""
    booking_id = await book_cleaning_zh(chat, sender)
    offer_id, hk = chat.offer_for(booking_id)
    await chat.say(f'/accept_offer{{"offer_id": {offer_id}}}', hk)
    await chat.inbox(hk)
    await chat.inbox(sender)
    return booking_id, hk


def row(chat: Chat, booking_id: int) -> Booking:
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        s.expunge(b)
        return b


def changes_of(chat: Chat, booking_id: int) -> list[BookingChange]:
    with chat.app.backend.db.uow() as s:
        out = list(s.scalars(select(BookingChange).where(BookingChange.booking_id == booking_id)
                             .order_by(BookingChange.id)))
        s.expunge_all()
        return out


def change_offer(chat: Chat, booking_id: int) -> Offer | None:
    with chat.app.backend.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.kind == "change",
                                         Offer.status == "pending"))
        if o is not None:
            s.expunge(o)
        return o


def rest_id(chat: Chat, hk_id: int) -> str:
    return chat.app.backend.rest_id_of("housekeeper", hk_id)


async def test_move_to_thursday_3pm_asks_her_first_and_keeps_the_booking(chat: Chat) -> None:
    booking_id, hk = await confirmed_booking(chat, "c-1")
    before = row(chat, booking_id)
    r = await chat.say("Can I move my booking to Thursday at 3pm?", "c-1")
    t = text(r)
    assert f"#{booking_id}" in t and "Thu 19 Nov, 10:00 → Thu 19 Nov, 15:00" in t and "no difference" in t
    assert [b["payload"] for b in buttons(r)] == ["/change_confirm", "/change_keep"]
    assert row(chat, booking_id).status == "confirmed" and not changes_of(chat, booking_id)  # nothing yet
    t = text(await chat.say("/change_confirm", "c-1"))
    assert "asked your housekeeper" in t and "Thu 19 Nov, 10:00" in t
    b = row(chat, booking_id)
    assert (b.status, b.starts_at, b.housekeeper_id) == ("confirmed", before.starts_at, before.housekeeper_id)
    offer = change_offer(chat, booking_id)
    assert offer is not None and offer.housekeeper_id == before.housekeeper_id and offer.change_id
    card = await chat.inbox(hk)
    assert "客户想改时间" in text(card) and "11月19日（周四）10:00 → 11月19日（周四）15:00" in text(card)
    accept = next(x["payload"] for x in buttons(card) if x["title"] == "接受新时间")
    await chat.say(accept, hk)
    b = row(chat, booking_id)
    assert b.status == "confirmed" and b.starts_at.hour == 7 and b.housekeeper_id == before.housekeeper_id
    assert b.address == before.address and b.notes == before.notes and b.id == before.id
    assert [c.status for c in changes_of(chat, booking_id)] == ["applied"]
    assert "Done: booking" in text(await chat.inbox("c-1", wait=1)) and "Thu 19 Nov, 15:00" in text(
        await chat.say("my bookings", "c-1"))
    assert "有变更" in text(await chat.inbox(hk))


async def test_zh_she_declines_another_takes_it_old_slot_kept_until_then(chat: Chat) -> None:
    booking_id, hk = await confirmed_booking(chat, "c-2")
    first_hk = row(chat, booking_id).housekeeper_id
    r = text(await chat.say("把周四的保洁改到周五下午3点", "c-2"))
    assert "11月19日（周四）10:00 → 11月20日（周五）15:00" in r and "确认修改吗" in r
    assert "征求您的阿姨" in r
    assert "已请您的阿姨确认" in text(await chat.say("确认", "c-2"))  # typed, the button is on offer
    offer = change_offer(chat, booking_id)
    await chat.say(f'/decline_offer{{"offer_id": {offer.id}}}', hk)
    b = row(chat, booking_id)
    assert b.housekeeper_id == first_hk and b.starts_at.day == 19  # the old slot stays hers
    assert "联系其他阿姨" in text(await chat.inbox("c-2", wait=1))
    other = change_offer(chat, booking_id)
    assert other is not None and other.housekeeper_id != first_hk
    card = await chat.inbox(rest_id(chat, other.housekeeper_id))
    assert f"新订单 #{booking_id}" in text(card) and "11月20日（周五）15:00" in text(card)
    await chat.say(f'/accept_offer{{"offer_id": {other.id}}}', rest_id(chat, other.housekeeper_id))
    b = row(chat, booking_id)
    assert (b.housekeeper_id, b.starts_at.day, b.status) == (other.housekeeper_id, 20, "confirmed")
    assert "已改期并由其他阿姨接单" in text(await chat.inbox(hk))
    assert "已改好" in text(await chat.inbox("c-2", wait=1))


async def test_nobody_free_declines_the_change_and_the_booking_stays(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-3")
    before = row(chat, booking_id)
    await chat.say("改到周五下午3点", "c-3")
    await chat.say("/change_confirm", "c-3")
    for _ in range(40):  # every housekeeper lets the offer clock run out
        if change_offer(chat, booking_id) is None:
            break
        chat.tick(11)
    assert [c.status for c in changes_of(chat, booking_id)] == ["declined"]
    b = row(chat, booking_id)
    assert (b.status, b.starts_at, b.housekeeper_id) == ("confirmed", before.starts_at, before.housekeeper_id)
    msgs = text(await chat.inbox("c-3", wait=1))
    assert "没能改期" in msgs and "11月19日（周四）10:00" in msgs


async def test_step_by_step_hours_with_price_difference(chat: Chat) -> None:
    booking_id, hk = await confirmed_booking(chat, "c-4")
    assert "改成几个小时" in text(await chat.say("我想改一下时长", "c-4"))
    r = text(await chat.say("4", "c-4"))  # a bare number answers "how many hours"
    assert "3 → 4 小时" in r and "150 → 200元" in r and "+50" in r
    await chat.say("确认", "c-4")
    offer = change_offer(chat, booking_id)
    assert offer is not None  # a longer visit needs her new slot: asked first
    await chat.say(f'/accept_offer{{"offer_id": {offer.id}}}', hk)
    b = row(chat, booking_id)
    assert (b.hours, b.price_estimate, b.ends_at.hour) == (4.0, 200, 6)


async def test_address_change_applies_after_confirmation_and_she_is_told(chat: Chat) -> None:
    booking_id, hk = await confirmed_booking(chat, "c-5")
    assert "新地址" in text(await chat.say("地址改一下", "c-5"))
    r = text(await chat.say("海淀区学院路20号5号楼301", "c-5"))
    assert "海淀区学院路20号5号楼301" in r and "确认修改吗" in r
    assert row(chat, booking_id).address == "朝阳区建国路88号3号楼501"
    assert "已修改" in text(await chat.say("/change_confirm", "c-5"))
    b = row(chat, booking_id)
    assert (b.address, b.city, b.district, b.status) == ("海淀区学院路20号5号楼301", "北京市", "海淀区", "confirmed")
    assert change_offer(chat, booking_id) is None
    assert "海淀区学院路20号5号楼301" in text(await chat.inbox(hk))


async def test_an_address_outside_the_service_area_is_refused_and_nothing_changes(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-10")
    await chat.say("地址改一下", "c-10")
    r = text(await chat.say("广州市天河区体育西路100号2栋1203", "c-10"))
    assert "不在我们的服务范围" in r and "北京" in r and "上海" in r
    b = row(chat, booking_id)
    assert (b.address, b.city) == ("朝阳区建国路88号3号楼501", "北京市") and not changes_of(chat, booking_id)
    r = text(await chat.say("海淀区学院路20号5号楼301", "c-10"))  # the address question stays open
    assert "确认修改吗" in r


async def test_a_way_out_keeps_the_booking(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-6")
    await chat.say("我想改个时间", "c-6")
    assert "保持不变" in text(await chat.say("算了", "c-6"))
    await chat.say("改到周五下午3点", "c-6")
    assert "保持不变" in text(await chat.say("/change_keep", "c-6"))
    b = row(chat, booking_id)
    assert b.status == "confirmed" and b.starts_at.day == 19 and not changes_of(chat, booking_id)


async def test_several_bookings_ask_which_then_a_time_without_date_keeps_its_date(chat: Chat) -> None:
    first = await book_cleaning_zh(chat, "c-7")
    await chat.say("再约一次保洁，后天下午两点", "c-7")
    await chat.say("2小时", "c-7")
    await chat.say("没有", "c-7")
    await chat.say("/affirm", "c-7")
    r = await chat.say("改到下午4点", "c-7")
    assert "哪个预约" in text(r) and len(buttons(r)) == 2
    second_button = buttons(r)[1]["payload"]
    t = text(await chat.say(second_button, "c-7"))
    assert "11月20日（周五）14:00 → 11月20日（周五）16:00" in t
    assert "已修改" in text(await chat.say("确认", "c-7"))  # nobody accepted it yet: applied, matching again
    with chat.app.backend.db.uow() as s:
        second = s.scalar(select(Booking).where(Booking.client_id == row(chat, first).client_id,
                                                Booking.id != first))
        assert second.starts_at.astimezone(chat.app.backend.ctx.tz).hour == 16 and second.starts_at.day == 20
        pending = s.scalars(select(Offer).where(Offer.booking_id == second.id)).all()
        assert [o.status for o in pending].count("pending") == 1 and "withdrawn" in [o.status for o in pending]
    assert row(chat, first).starts_at.day == 19


async def test_en_the_change_mid_booking_form_keeps_the_draft(chat: Chat) -> None:
    booking_id, _ = await confirmed_booking(chat, "c-8")
    await chat.say("I need a cleaning on Saturday at 9am", "c-8")
    r = text(await chat.say("Can I move my booking to Friday at 3pm?", "c-8"))
    assert "Fri 20 Nov, 15:00" in r
    r = text(await chat.say("/change_keep", "c-8"))
    assert "stays as it was" in r and "hours" in r  # the draft resumes at its question
    assert "Anything we should know" in text(await chat.say("3 hours", "c-8"))
    summary = text(await chat.say("No", "c-8"))
    assert "Sat 21 Nov, 9:00" in summary and "Hours: 3" in summary  # the change's Friday never entered the draft
    with chat.app.backend.db.uow() as s:
        assert not s.scalars(select(Notification).where(Notification.template == "change_offer")).all()
    assert row(chat, booking_id).starts_at.day == 19 and not changes_of(chat, booking_id)


async def test_which_booking_by_digit_then_the_address_step_by_step_in_traditional(chat: Chat) -> None:
    first = await book_cleaning_zh(chat, "c-9")
    for m in ("再约一次保洁，后天下午两点", "2小时", "没有", "/affirm"):
        await chat.say(m, "c-9")
    r = text(await chat.say("我想改一下預約的地址", "c-9"))
    assert "哪個預約" in r  # Traditional in, Traditional out
    assert "新地址" in text(await chat.say("1", "c-9"))  # a digit picks the first booking
    r = text(await chat.say("海淀區學院路20號5號樓301", "c-9"))
    assert "確認修改嗎" in r and "海淀區學院路20號5號樓301" in r
    assert "已修改" in text(await chat.say("/change_confirm", "c-9"))
    assert row(chat, first).address == "海淀區學院路20號5號樓301"


async def test_offers_lists_a_change_offer_at_the_new_time(chat: Chat) -> None:
    booking_id, hk = await confirmed_booking(chat, "c-9")
    await chat.say("把周四的保洁改到周五下午3点", "c-9")
    await chat.say("/change_confirm", "c-9")
    await chat.inbox(hk)
    listed = text(await chat.say("/offers", hk))
    assert "客户想改时间" in listed and "11月19日（周四）10:00 → 11月20日（周五）15:00" in listed
    other = await chat.say(f'/decline_offer{{"offer_id": {change_offer(chat, booking_id).id}}}', hk)
    assert other
    nxt = change_offer(chat, booking_id)
    listed = text(await chat.say("/offers", rest_id(chat, nxt.housekeeper_id)))
    assert f"#{booking_id}" in listed and "11月20日（周五）15:00" in listed and "11月19日" not in listed
