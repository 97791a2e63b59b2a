"""Custom requests over REST, client and manager (staff sender) on the fake clock: a request that needs a
plan opens a custom_request case with its due time named; the manager proposes (typed or from the guide
button); the client gets the proposal with 接受 / 婉拒; accepting books at the proposal's price and closes
the case; an incomplete proposal is completed by the booking form; declining tells the manager;
an unanswered proposal expires after 7 days with both sides told.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.orm import Booking, Escalation, Proposal
from tests.e2e.conftest import Chat, buttons, text

M1 = "staff:MGR01"
ADDRESS = "朝阳区建国路88号3号楼501"


def case_of(chat: Chat, sender: str) -> Escalation:
    client = chat.app.backend.identify("rest", sender)
    with chat.app.backend.db.uow() as s:
        e = s.scalar(select(Escalation).where(Escalation.client_id == client.id,
                                              Escalation.kind == "custom_request"))
        s.expunge(e)
        return e


def proposal(chat: Chat, proposal_id: int) -> Proposal:
    with chat.app.backend.db.uow() as s:
        p = s.get(Proposal, proposal_id)
        s.expunge(p)
        return p


def booking(chat: Chat, booking_id: int) -> Booking:
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        s.expunge(b)
        return b


async def request_zh(chat: Chat, sender: str = "client-1") -> Escalation:
    be = chat.app.backend
    c = be.client_for("rest", sender, "zh")
    be.set_client(c.id, address=ADDRESS, phone="13812345678")
    r = text(await chat.say("我家老人卧床，需要护理，能给个方案吗", sender))
    case = case_of(chat, sender)
    due = case.first_response_due_at.astimezone(be.ctx.tz)
    assert due == datetime.fromisoformat("2026-11-19T10:30:00+08:00")  # 24 h: the policy's promise
    assert "需要专门制定方案和报价" in r and f"需求 #{case.id}" in r and "11月19日（周四）10:30" in r
    await chat.inbox(M1)  # the case card
    return case


async def test_proposal_accepted_into_a_booking_at_its_price(chat: Chat) -> None:
    case = await request_zh(chat)
    guide = await chat.say(f'/propose_case{{"case_id": {case.id}}}', M1)
    assert f"/propose {case.id}" in text(guide)
    sent = await chat.say(f"/propose {case.id} 卧床老人护理前的全屋深度保洁与消毒（不用刺激性药剂） ¥1280 深度保洁 "
                          f"2026-11-20 09:00 120平米", M1)
    assert "已发给" in text(sent) and "¥1280" in text(sent)
    p_id = int(re.search(r"方案 #(\d+)", text(sent)).group(1))
    p = proposal(chat, p_id)
    assert (p.status, p.price_cents, p.service, p.area) == ("sent", 128000, "deep_cleaning", 120.0)

    got = await chat.inbox("client-1")
    assert "卧床老人护理前的全屋深度保洁" in text(got) and "¥1280" in text(got) and "深度保洁" in text(got)
    titles = [b["title"] for b in buttons(got)]
    assert titles == ["接受方案", "婉拒"]
    await chat.inbox("client-1")  # acknowledged: the proposal reached the client
    assert case_of(chat, "client-1").first_response_at is not None

    accept = next(b["payload"] for b in buttons(got) if b["title"] == "接受方案")
    r = text(await chat.say(accept, "client-1"))
    assert "方案已接受" in r and "1280元" in r
    b_id = int(re.search(r"预约单 #(\d+)", r).group(1))
    b = booking(chat, b_id)
    assert (b.price_estimate, b.service, b.area, b.address) == (1280, "deep_cleaning", 120.0, ADDRESS)
    p = proposal(chat, p_id)
    assert (p.status, p.booking_id) == ("accepted", b_id)
    closed = case_of(chat, "client-1")
    assert (closed.status, closed.outcome) == ("closed", "resolved")
    told = text(await chat.inbox(M1))
    assert f"客户已接受方案 #{p_id}" in told and f"#{b_id}" in told
    assert "已经答复过" in text(await chat.say(accept, "client-1")) or \
        "方案已接受" in text(await chat.say(accept, "client-1"))
    with chat.app.backend.db.uow() as s:
        assert len(list(s.scalars(select(Booking).where(Booking.client_id == b.client_id)))) == 1
    # another client pressing (or typing) this button gets nothing of it
    assert "没有找到这个方案" in text(await chat.say(accept, "client-9"))


async def test_incomplete_proposal_is_completed_by_the_booking_form(chat: Chat) -> None:
    case = await request_zh(chat)
    sent = await chat.say(f"/propose {case.id} 住家护理阿姨试用一天，含翻身和喂饭 ¥500", M1)
    p_id = int(re.search(r"方案 #(\d+)", text(sent)).group(1))
    got = await chat.inbox("client-1")
    accept = next(b["payload"] for b in buttons(got) if b["title"] == "接受方案")
    r = text(await chat.say(accept, "client-1"))
    assert "500元" in r and "还需要确认" in r
    assert proposal(chat, p_id).status == "sent"  # nothing is booked before the details are in
    r = await chat.say("老人陪护", "client-1")
    for _ in range(4):
        if "请确认预约信息" in text(r):
            break
        if "时间" in text(r):
            r = await chat.say("后天上午9点", "client-1")
        elif "注意" in text(r):
            r = await chat.say("没有", "client-1")
        else:
            raise AssertionError(text(r))
    assert "500元" in text(r)
    done = text(await chat.say("/affirm", "client-1"))
    b_id = int(re.search(r"#(\d+)", done).group(1))
    assert booking(chat, b_id).price_estimate == 500
    assert (proposal(chat, p_id).status, proposal(chat, p_id).booking_id) == ("accepted", b_id)
    assert case_of(chat, "client-1").status == "closed"


async def test_declined_proposal_tells_the_manager_and_keeps_the_case(chat: Chat) -> None:
    be = chat.app.backend
    c = be.client_for("rest", "en-1", "en")
    be.set_client(c.id, address="Room 1203, 88 Jianguo Road", phone="13912345678")
    r = text(await chat.say("I'd like a weekly deep-clean plan for my villa, with a quote", "en-1"))
    case = case_of(chat, "en-1")
    assert "plan and a quote" in r and f"request #{case.id}" in r
    await chat.inbox("staff:MGR02")
    sent = await chat.say(f"/propose {case.id} Weekly villa deep-clean, kitchen degreasing included ¥2400",
                          "staff:MGR02")
    assert "sent to the client" in text(sent)
    got = await chat.inbox("en-1")
    assert "Weekly villa deep-clean" in text(got) and [b["title"] for b in buttons(got)] == ["Accept", "Decline"]
    decline = next(b["payload"] for b in buttons(got) if b["title"] == "Decline")
    assert "not taking this proposal" in text(await chat.say(decline, "en-1"))
    assert case_of(chat, "en-1").status != "closed"
    assert "declined proposal" in text(await chat.inbox("staff:MGR02"))


async def test_unanswered_proposal_expires_after_seven_days(chat: Chat) -> None:
    case = await request_zh(chat)
    sent = await chat.say(f"/propose {case.id} 护理方案A ¥300", M1)
    p_id = int(re.search(r"方案 #(\d+)", text(sent)).group(1))
    got = await chat.inbox("client-1")
    chat.tick(timedelta(days=7, minutes=1).total_seconds() / 60)
    assert proposal(chat, p_id).status == "expired"
    late = text(await chat.inbox("client-1"))
    assert "已过期" in late
    assert "已过期未答复" in text(await chat.inbox(M1))
    accept = next(b["payload"] for b in buttons(got) if b["title"] == "接受方案")
    assert "已过期" in text(await chat.say(accept, "client-1"))
    assert case_of(chat, "client-1").status != "closed"


async def test_manager_mistakes_are_explained(chat: Chat) -> None:
    case = await request_zh(chat)
    assert "请按格式发送" in text(await chat.say(f"/propose {case.id} 没有价格的方案", M1))
    assert "价格必须大于0" in text(await chat.say(f"/propose {case.id} 方案 ¥0", M1))
    assert "不是定制需求" in text(await chat.say("/propose 99999 方案 ¥10", M1)) or \
        "没有找到案件" in text(await chat.say("/propose 99999 方案 ¥10", M1))
