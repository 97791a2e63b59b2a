"""Addresses and the service area in the booking form (issue 10), through REST.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai. config/service_area.yaml: the
company serves 北京市 and 上海市.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from backend.orm import Booking, MatchCandidate, Offer
from tests.e2e.conftest import Chat, buttons, text


def bookings(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Booking))


async def test_outside_area_zh_told_before_phone_and_no_booking(chat_db: Chat) -> None:
    chat = chat_db
    await chat.say("我想约明天上午10点的保洁")
    await chat.say("3个小时")
    r = text(await chat.say("广州市天河区体育西路1号3栋502"))
    assert "不在我们的服务范围" in r and "北京、上海" in r and "手机号" not in r
    assert "地址" in r  # asked again for an address, still before the phone
    assert bookings(chat) == 0
    assert "手机号" in text(await chat.say("北京市朝阳区建国路88号院3号楼2单元501"))
    await chat.say("13812345678")
    await chat.say("没有")
    done = text(await chat.say("/affirm"))
    booking_id = int(re.search(r"#(\d+)", done)[1])
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        assert (b.city, b.district, b.address) == ("北京市", "朝阳区", "北京市朝阳区建国路88号院3号楼2单元501")


async def test_outside_area_en_cancelled_no_booking(chat_db: Chat) -> None:
    chat = chat_db
    await chat.say("I need a cleaner tomorrow at 2pm", "en-1")
    await chat.say("3 hours", "en-1")
    r = text(await chat.say("Room 8, 12 Tianhe Road, Tianhe District, Guangzhou", "en-1"))
    assert "outside our service area" in r and "Beijing and Shanghai" in r and "mobile" not in r
    await chat.say("cancel", "en-1")
    assert bookings(chat) == 0


async def test_english_address_kept_whole_with_city(chat: Chat) -> None:
    await chat.say("I need a deep clean this Saturday at 9am, 120 sqm", "en-2")
    address = "Room 1203, Building 5, 88 Jianguo Road, Chaoyang District, Beijing"
    assert "mobile" in text(await chat.say(address, "en-2"))
    await chat.say("13912345678", "en-2")
    summary = text(await chat.say("No", "en-2"))
    assert address in summary
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "en-2")))[1])
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        assert (b.address, b.city, b.district) == (address, "北京市", "朝阳区")


async def test_no_city_asks_which_city_once_zh(chat: Chat) -> None:
    await chat.say("我想约明天上午10点的保洁")
    await chat.say("3个小时")
    r = await chat.say("建国路88号3号楼501")
    assert "哪个城市" in text(r) and [b["title"] for b in buttons(r)] == ["北京", "上海"]
    assert "手机号" in text(await chat.say(buttons(r)[1]["payload"]))
    await chat.say("13812345678")
    await chat.say("没有")
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm")))[1])
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        assert (b.address, b.city) == ("上海建国路88号3号楼501", "上海市")
        assert s.scalar(select(Offer).where(Offer.booking_id == booking_id)) is not None  # and it is offered


async def test_address_in_the_first_message_without_city(chat: Chat) -> None:
    r = await chat.say("我想约明天上午10点的保洁3个小时，地址建国路88号3号楼501", "zh-2")
    assert "哪个城市" in text(r)
    assert "手机号" in text(await chat.say("北京", "zh-2"))
    await chat.say("13812345678", "zh-2")
    await chat.say("没有", "zh-2")
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "zh-2")))[1])
    with chat.app.backend.db.uow() as s:
        assert (s.get(Booking, booking_id).address, s.get(Booking, booking_id).city) == ("北京建国路88号3号楼501",
                                                                                        "北京市")


async def test_no_city_asked_once_then_accepted_en(chat: Chat) -> None:
    await chat.say("I need a cleaner tomorrow at 2pm", "en-3")
    await chat.say("3 hours", "en-3")
    r = await chat.say("Flat 5, 18 Nanjing Road", "en-3")
    assert "Which city" in text(r) and [b["title"] for b in buttons(r)] == ["Beijing", "Shanghai"]
    assert "mobile" in text(await chat.say("downtown", "en-3"))  # asked once: the address stands
    await chat.say("13912345678", "en-3")
    await chat.say("No", "en-3")
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "en-3")))[1])
    with chat.app.backend.db.uow() as s:
        assert s.get(Booking, booking_id).address == "Flat 5, 18 Nanjing Road"
        assert s.scalar(select(func.count()).select_from(MatchCandidate)
                        .where(MatchCandidate.booking_id == booking_id)) > 0


async def test_managers_candidates_show_the_city_reason(chat: Chat) -> None:
    from backend.orm import Housekeeper

    with chat.app.backend.db.uow() as s:
        hks = [h for h in s.scalars(select(Housekeeper).order_by(Housekeeper.id)) if "cleaning" in h.skills]
        for hk in hks:
            hk.city = "上海市"
        hks[0].city, beijing = "北京市", hks[0].id
    await chat.say("我想约明天上午10点的保洁", "zh-9")
    await chat.say("3个小时", "zh-9")
    await chat.say("北京市朝阳区建国路88号", "zh-9")
    await chat.say("13812345678", "zh-9")
    await chat.say("没有", "zh-9")
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "zh-9")))[1])
    with chat.app.backend.db.uow() as s:
        assert {o.housekeeper_id for o in s.scalars(select(Offer).where(Offer.booking_id == booking_id))} == {beijing}
    why = text(await chat.say(f"/candidates {booking_id}", chat.token("MGR01")))
    assert "[offered]" in why and "[excluded] excluded city" in why
