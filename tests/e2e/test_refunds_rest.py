"""Refunds, compensation and payments through the REST staff path on the fake clock: a refund requested
on the eve of the National Day week, approved and paid within 3 working days with the client told each
step; a rejected refund with its reason; limits and stale buttons. MGR01 reads Chinese, MGR02 English."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

import backend.services.refunds  # noqa: F401  (timer handlers; api.py imports them once H1 wires them)
from backend.orm import Payment, Refund
from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_manager_cases import M1, M2, call, client_with_job, payload_of

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def refund_row(chat: Chat, refund_id: int) -> Refund:
    with chat.app.backend.db.uow() as s:
        r = s.get(Refund, refund_id)
        s.expunge(r)
        return r


async def paid_complaint(chat: Chat, paid: str = "300") -> tuple[int, int]:
    """(case id, booking id): a booking for Wed 30 Sep 9:00 made the day before, paid by transfer
    (recorded by MGR01 with /payment), and the client's complaint about it."""
    chat.app.clock.set(at(2026, 9, 29, 10))
    client, booking, _ = await client_with_job(chat)
    got = await chat.say(f"/payment {booking} {paid} transfer WX-778899", M1)
    assert f"已记录预约 #{booking} 的付款 ¥{paid}（转账）" in text(got)
    chat.app.clock.set(at(2026, 9, 30, 10))
    case = await call(chat.app.backend.open_case, "complaint", client, booking, by_client=True, category="damage",
                      text="花瓶被打碎了", lang="zh", remedy="refund")
    await chat.inbox("client-1")
    await chat.inbox("client-1")  # what the client was told so far is read
    return case["id"], booking


async def test_a_refund_across_the_national_day_week_is_paid_within_3_working_days(chat: Chat) -> None:
    cid, booking = await paid_complaint(chat)
    card = await chat.inbox(M2)
    assert "/refund_case" in str(buttons(card))
    assert "/refund" in text(await chat.say(payload_of(card, "refund_case"), M2))  # the button explains
    got = await chat.say(f"/refund {cid} 120 花瓶打碎，按原价退款", M1)
    assert "已登记" in text(got) and "¥120" in text(got)
    with chat.app.backend.db.uow() as s:
        r = s.scalar(select(Refund).where(Refund.case_id == cid))
        rid, due, approve_due = r.id, r.due_at.astimezone(TZ), r.approve_due_at.astimezone(TZ)
        assert r.amount_cents == 12000 and r.status == "requested" and r.booking_id == booking
    assert at(2026, 10, 8) <= approve_due < due  # no working day between 1 and 7 October
    assert due.date() <= at(2026, 10, 12).date()
    by = due - timedelta(minutes=1)  # stored as the midnight ending the last working day
    promise = f"{by.month}月{by.day}日（周{'一二三四五六日'[by.weekday()]}）23:59"
    assert promise in text(got)  # the manager reads the date the client reads
    told = text(await chat.inbox("client-1"))
    assert f"退款单 #{rid}" in told and "¥120" in told and promise in told

    alert = await chat.inbox(M2)  # the managers' refund card
    assert f"Refund #{rid}" in text(alert)
    assert payload_of(alert, "approve_refund") == f'/approve_refund{{"refund_id": {rid}}}'
    chat.app.clock.set(at(2026, 10, 8, 9, 30))  # first working day after the holiday
    approved = await chat.say(payload_of(alert, "approve_refund"), M2)
    assert f"Refund #{rid} (¥120) approved" in text(approved)
    assert refund_row(chat, rid).status == "approved"
    assert "已审批通过" in text(await chat.inbox("client-1"))

    assert "/paid" in text(await chat.say(payload_of(alert, "paid_refund"), M2))  # explains: the reference is needed
    assert refund_row(chat, rid).status == "approved"
    chat.app.clock.set(at(2026, 10, 8, 15))
    paid = await chat.say(f"/paid {rid} TX-20261008-01", M2)
    assert "marked paid, reference TX-20261008-01" in text(paid)
    r = refund_row(chat, rid)
    assert r.status == "paid" and r.reference == "TX-20261008-01" and r.paid_at <= r.due_at
    told = text(await chat.inbox("client-1"))
    assert "已支付给您" in told and "TX-20261008-01" in told

    stale = await chat.say(payload_of(alert, "approve_refund"), M1)  # an old card's button
    assert f"退款 #{rid} 已处理（已付款）" in text(stale)
    assert "没有未完成的退款" in text(await chat.say("/refunds", M1))


async def test_a_rejected_refund_tells_the_client_why(chat: Chat) -> None:
    cid, _ = await paid_complaint(chat)
    assert "more than was paid" in text(await chat.say(f"/refund {cid} 500 vase", M2))
    assert "“0”不是有效金额" in text(await chat.say(f"/refund {cid} 0 花瓶", M1))
    assert "用法：/refund" in text(await chat.say(f"/refund {cid} 100", M1))  # a reason is required
    got = await chat.say(f"/refund {cid} 100 花瓶打碎", M1)
    rid = refund_row_id(chat, cid)
    assert f"退款 #{rid}" in text(got)
    listing = await chat.say("/refunds", M2)
    assert f"#{rid} Refund ¥100" in text(listing)
    asks = await chat.say(payload_of(listing, "reject_refund"), M2)
    assert f"/reject {rid}" in text(asks) and refund_row(chat, rid).status == "requested"
    done = await chat.say(f"/reject {rid} the vase was already cracked before the visit (photo on file)", M2)
    assert "rejected; the client has been told" in text(done)
    r = refund_row(chat, rid)
    assert r.status == "rejected" and r.rejected_reason.startswith("the vase was already cracked")
    told = text(await chat.inbox("client-1"))
    assert "未能通过" in told and "the vase was already cracked" in told
    assert "已处理（已拒绝）" in text(await chat.say(f"/paid {rid} TX-1", M1))
    assert refund_row(chat, rid).status == "rejected"


def refund_row_id(chat: Chat, case_id: int) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(Refund.id).where(Refund.case_id == case_id).order_by(Refund.id.desc()))


async def test_compensation_and_payment_errors(chat: Chat) -> None:
    cid, booking = await paid_complaint(chat)
    got = await chat.say(f"/compensate {cid} 50 致歉补偿", M1)
    rid = refund_row_id(chat, cid)
    assert f"补偿 #{rid}（¥50）已批准" in text(got)
    r = refund_row(chat, rid)
    assert r.kind == "compensation" and r.status == "approved" and r.amount_cents == 5000
    assert "关于投诉" in text(await chat.inbox("client-1"))
    assert "cash, transfer or online" in text(await chat.say(f"/payment {booking} 10 cheque", M2))
    assert "There is no booking #99999" in text(await chat.say("/payment 99999 10 cash", M2))
    assert "Usage: /payment" in text(await chat.say("/payment", M2))
    await chat.say(f"/payment {booking} 3000 transfer 押金 TX-9", M2)  # a deposit (a placement's, issue 12)
    with chat.app.backend.db.uow() as s:
        dep = s.scalar(select(Payment).where(Payment.booking_id == booking, Payment.kind == "deposit"))
        assert dep is not None and dep.amount_cents == 300000 and dep.reference == "TX-9"
    assert "只有经理" in text(await asyncio.create_task(chat.say(f"/approve {rid}", "staff:HK001")))
    assert "There is no refund #4242" in text(await chat.say("/approve 4242", M2))
