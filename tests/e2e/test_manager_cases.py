"""The managers' side of cases over the real REST staff path, on the fake clock: cards to every on-duty
manager, claim, reply (the clock stops), close (the client is told), stale buttons, rework, emergencies
repeated until acknowledged, a breach to the supervisor. MGR01 reads Chinese, MGR02 English."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

import backend.services.refunds  # noqa: F401  (timer handlers; api.py imports them once H1 wires them)
from backend.api import Request
from backend.orm import AccessLog, Booking, Escalation, Manager, Notification, Offer
from backend.services import staff
from tests.e2e.conftest import Chat, buttons, text

ADDRESS = "上海市静安区南京西路1号"
M1, M2 = "staff:MGR01", "staff:MGR02"


async def call(fn: Any, *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


async def client_with_job(chat: Chat, sender: str = "client-1", lang: str = "zh") -> tuple[int, int, str]:
    """(client id, booking id, housekeeper's REST sender) for a booking a housekeeper accepted, tomorrow 9:00."""
    be = chat.app.backend
    c = await call(be.client_for, "rest", sender, lang)
    await call(be.set_client, c.id, name="王先生" if lang == "zh" else "Mia Wong", phone="13912345678")
    start = (be.now + timedelta(days=1)).astimezone(be.ctx.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    b = await call(be.book, c.id, Request("cleaning", start, hours=3, address=ADDRESS, district="静安"))
    offer_id, hk = chat.offer_for(b["id"])
    assert "订单" in text(await chat.say(f'/accept_offer{{"offer_id": {offer_id}}}', hk))
    await chat.inbox(hk)
    await chat.inbox(hk)  # her job card is read and acknowledged
    return c.id, b["id"], hk


async def at_job(chat: Chat, booking: int, minutes: float) -> None:
    """Move the clock to this many minutes after the booking's start."""
    start = datetime.fromisoformat((await call(chat.app.backend.booking, booking))["starts_at"])
    chat.app.clock.set(start + timedelta(minutes=minutes))


def payload_of(replies: list[dict[str, Any]], intent: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["payload"].startswith(f"/{intent}"))


def rows(chat: Chat, template: str, **where: Any) -> list[Notification]:
    with chat.app.backend.db.uow() as s:
        q = select(Notification).where(Notification.template == template)
        for k, v in where.items():
            q = q.where(getattr(Notification, k) == v)
        got = list(s.scalars(q.order_by(Notification.id)))
        s.expunge_all()
        return got


def case_row(chat: Chat, case_id: int) -> Escalation:
    with chat.app.backend.db.uow() as s:
        e = s.get(Escalation, case_id)
        s.expunge(e)
        return e


def manager_id(chat: Chat, code: str) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == code))


async def test_claim_reply_close_with_cards_kept_current_for_both_managers(chat: Chat) -> None:
    client, booking, _ = await client_with_job(chat)
    case = await call(chat.app.backend.open_case, "complaint", client, booking, by_client=True, category="damage",
                      text="阿姨把木地板划伤了", lang="zh")
    cid = case["id"]
    zh, en = await chat.inbox(M1), await chat.inbox(M2)
    assert f"投诉 #{cid}" in text(zh) and "王先生" in text(zh) and "13912345678" in text(zh)  # full phone
    assert ADDRESS in text(zh) and f"预约 #{booking}" in text(zh) and "阿姨把木地板划伤了" in text(zh)
    assert f"complaint #{cid}" in text(en) and "severity high" in text(en) and "First answer due by" in text(en)
    claim = payload_of(en, "claim_case")
    assert json.loads(claim.removeprefix("/claim_case")) == {"case_id": cid}

    assert f"案件 #{cid} 已由您负责" in text(await chat.say(payload_of(zh, "claim_case"), M1))
    assert case_row(chat, cid).manager_id == manager_id(chat, "MGR01")
    card = await chat.inbox(M2)  # her card is replaced: no claim button, the owner named
    assert "Handled by 周经理" in text(card) and not any("claim_case" in b["payload"] for b in buttons(card))
    alert = rows(chat, "case_alert", person_kind="manager", person_id=manager_id(chat, "MGR02"))[-1]
    update = rows(chat, "case_card", person_kind="manager", person_id=manager_id(chat, "MGR02"))[-1]
    assert update.replaces_key == alert.key and update.params["case_id"] == cid

    stale = await chat.say(claim, M2)  # her old card's button: a clear answer, nothing changes
    assert "already handled by 周经理" in text(stale)
    assert case_row(chat, cid).manager_id == manager_id(chat, "MGR01")

    assert "已发送" in text(await chat.say(f"/reply {cid} 您好，我们明天上午上门查看地板", M1))
    got = await chat.inbox("client-1")
    assert "周经理：您好，我们明天上午上门查看地板" in text(got)
    await chat.inbox("client-1")  # acknowledged: the answer reached the client
    assert case_row(chat, cid).first_response_at is not None
    await asyncio.to_thread(chat.tick, 120)  # past the 1-hour promise: answered, so no breach
    assert case_row(chat, cid).breached_at is None
    assert not [n for n in rows(chat, "case_alert") if n.params["reason"] in ("breach", "warn")]

    closed = await chat.say(f"/close {cid} resolved 已上门修复地板", M1)
    assert f"案件 #{cid} 已结案：已解决" in text(closed)
    e = case_row(chat, cid)
    assert e.status == "closed" and e.outcome == "resolved"
    told = await chat.inbox("client-1")
    assert f'/case_feedback{{"case_id": {cid}, "satisfied": true}}' in [b["payload"] for b in buttons(told)]
    last = await chat.inbox(M2)
    assert last and not buttons(last[-1:]) and "Closed by 周经理: resolved" in text(last)
    again = await chat.say(claim, M2)
    assert f"Case #{cid} is already closed by 周经理 (resolved)" in text(again)
    assert case_row(chat, cid).status == "closed"


async def test_errors_are_clear_and_change_nothing(chat: Chat) -> None:
    client, booking, hk = await client_with_job(chat)
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    photo = await call(chat.app.backend.store_attachment, client, "image/jpeg", jpeg, "kitchen.jpg")
    cid = (await call(chat.app.backend.open_case, "complaint", client, booking, category="quality",
                      text="没擦干净", lang="zh", attachments=[photo]))["id"]
    assert "没有案件 #999" in text(await chat.say("/claim 999", M1))
    assert "There is no case #999" in text(await chat.say('/claim_case{"case_id": 999}', M2))
    assert "用法：/close" in text(await chat.say("/close", M1))
    choose = await chat.say(f'/close_case{{"case_id": {cid}}}', M1)  # the close button asks for the outcome
    assert "处理结果" in text(choose) and len(buttons(choose)) == 7
    assert "“great”不是有效的处理结果" in text(await chat.say(f"/close {cid} great", M1))
    assert "is not an amount" in text(await chat.say(f"/refund {cid} abc broken", M2))
    assert "/reply" in text(await chat.say(f'/reply_case{{"case_id": {cid}}}', M2))  # explains the command
    assert "Severity must be" in text(await chat.say(f"/severity {cid} extreme", M2))
    assert "只有经理" in text(await chat.say(f"/claim {cid}", hk))
    e = case_row(chat, cid)
    assert e.status == "open" and e.manager_id is None and e.severity == "normal"
    listing = await chat.say("/cases", M2)
    assert f"#{cid}" in text(listing) and payload_of(listing, "open_case") == f'/open_case{{"case_id": {cid}}}'
    with chat.app.backend.db.uow() as s:
        seen = s.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.client_id == client))
    full = await chat.say(f"/case {cid}", M1)
    assert "处理记录" in text(full) and "没擦干净" in text(full) and "客户文件：1 个" in text(full)
    assert full[-1]["files"] == [{"id": photo, "content_type": "image/jpeg", "filename": "kitchen.jpg"}]
    assert "kitchen.jpg" in full[-1]["text"]  # channels that cannot upload show a list line
    with chat.app.backend.db.uow() as s:  # the full card showed the client's phone: logged
        assert s.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.client_id == client)) > seen
    assert "用法：/called" in text(await chat.say(f"/called {cid}", M1))  # the note is required
    assert "没有工号为 nope 的在职经理" in text(await chat.say(f"/reassign {cid} nope", M1))
    assert "已转给Alex Chen" in text(await chat.say(f"/reassign {cid} MGR02", M1))
    assert case_row(chat, cid).manager_id == manager_id(chat, "MGR02")
    other = "staff:HK001" if hk != "staff:HK001" else "staff:HK002"  # no job today: asked which one
    assert "是哪个订单" in text(await chat.say("/emergency 有人摔倒了", other))
    raised = await chat.say(f"/severity {cid} high", M2)
    assert f"Case #{cid} severity is now high; first answer due by" in text(raised)
    assert case_row(chat, cid).severity == "high"


async def test_a_free_rework_visit_is_booked_and_offered(chat: Chat) -> None:
    client, booking, _ = await client_with_job(chat)
    await at_job(chat, booking, 240)  # the visit is over
    cid = (await call(chat.app.backend.open_case, "complaint", client, booking, category="quality",
                      text="厨房没打扫干净", lang="zh", remedy="rework"))["id"]
    when = (chat.app.backend.now + timedelta(days=2)).astimezone(chat.app.backend.ctx.tz)
    got = await chat.say(f"/rework {cid} {when:%Y-%m-%d} 14:00", M1)
    assert "已安排免费返工" in text(got)
    with chat.app.backend.db.uow() as s:
        b = s.scalar(select(Booking).where(Booking.rework_of == booking))
        assert b is not None and b.price_estimate == 0 and b.case_id == cid
        assert b.starts_at.astimezone(chat.app.backend.ctx.tz).strftime("%H:%M") == "14:00"
        new_id = b.id
        assert s.scalar(select(Offer).where(Offer.booking_id == new_id)) is not None
    _, to = chat.offer_for(new_id)
    offers = await chat.inbox(to)
    assert f"新订单 #{new_id}" in text(offers) or f"New job #{new_id}" in text(offers)


async def test_a_housekeepers_emergency_alerts_every_3_minutes_until_acknowledged(chat: Chat) -> None:
    _, booking, hk = await client_with_job(chat)
    await at_job(chat, booking, 5)
    await chat.say(f'/arrived{{"booking_id": {booking}}}', hk)
    sent = await chat.say("/emergency 客户家厨房漏煤气", hk)  # no booking given: her job in progress
    assert f"#{booking}" in text(sent) and "119" in text(sent)
    case = next(e for e in rows(chat, "case_alert") if e.params["card"]["kind"] == "emergency")
    cid = case.params["case_id"]
    alert = await chat.inbox(M1)
    assert alert[0]["text"].startswith("🚨") and "13912345678" in text(alert) and ADDRESS in text(alert)
    assert "客户家厨房漏煤气" in text(alert) and payload_of(alert, "ack_case") == f'/ack_case{{"case_id": {cid}}}'
    assert case.urgent
    before = len(rows(chat, "case_alert"))
    await asyncio.to_thread(chat.tick, 3.1)
    assert len(rows(chat, "case_alert")) > before  # repeated
    assert "提醒已停止" in text(await chat.say(payload_of(alert, "ack_case"), M1))
    # Acknowledging stops the repeats; the call to the client (within the 5-minute promise) stops the clock.
    assert "电话联系" in text(await chat.say(f"/called {cid} 已电话联系客户，燃气阀已关闭，已开窗通风", M1))
    after = len(rows(chat, "case_alert"))
    await asyncio.to_thread(chat.tick, 3.1)
    await asyncio.to_thread(chat.tick, 3.1)
    assert len(rows(chat, "case_alert")) == after  # acknowledged: quiet


async def test_an_unanswered_complaint_breaches_to_the_supervisor(chat: Chat) -> None:
    be = chat.app.backend
    row = staff.parse_row(1, {"code": "SUP01", "role": "supervisor", "name": "Grace Lin", "phone": "13800000009",
                              "lang": "en"}, be.catalogue)
    chat.app.tokens.update(await call(be.import_staff, [row]))
    client, booking, _ = await client_with_job(chat)
    cid = (await call(be.open_case, "complaint", client, booking, category="safety", text="阿姨没锁门",
                      lang="zh"))["id"]
    await chat.say(f"/claim {cid}", M2)  # claimed but never answered: it still breaches
    await asyncio.to_thread(chat.tick, 61)
    assert case_row(chat, cid).breached_at is not None
    card = await chat.inbox("staff:SUP01")
    assert "DEADLINE MISSED" in text(card) and f"#{cid}" in text(card)
    assert payload_of(card, "ack_case") == f'/ack_case{{"case_id": {cid}}}'
    assert f"alerts for case #{cid} stopped" in text(await chat.say(f"/ack {cid}", "staff:SUP01"))


async def test_done_paid_in_cash_finishes_the_job_and_records_the_payment(chat: Chat) -> None:
    be = chat.app.backend
    _, booking, hk = await client_with_job(chat)
    await at_job(chat, booking, 5)
    card = await chat.say(f'/arrived{{"booking_id": {booking}}}', hk)
    cash = payload_of(card, "finished_cash")
    await at_job(chat, booking, 180)
    done = await chat.say(cash, hk)
    price = (await call(be.booking, booking))["price"]
    assert f"#{booking}" in text(done) and "现金" in text(done)
    assert (await call(be.booking, booking))["status"] == "completed"
    paid = await call(be.payments, booking)
    assert price > 0 and [(p["amount_cents"], p["method"]) for p in paid] == [(price * 100, "cash")]
    assert f"¥{price}" in text(done)  # the amount she collected, in yuan
    await chat.say(cash, hk)  # pressed twice: no second payment
    assert len(await call(be.payments, booking)) == 1

