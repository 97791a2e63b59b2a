"""Leave and working hours typed on the staff desk over the real REST channel (zh and en, SQLite and
PostgreSQL): the request waits for a manager, the card's 批准/拒绝 decide it and are edited in place,
approval writes TimeOff / WorkingHours that matching honours (an offer in that time goes to someone else),
and confirmed jobs in the leave are flagged to managers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, Request
from backend.orm import Housekeeper, Notification, Offer, StaffRequest, TimeOff, WorkingHours
from tests.e2e.conftest import Chat, buttons, text

TZ = ZoneInfo("Asia/Shanghai")
WED = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # next Wednesday; the clock starts Wed 11-18 10:30
SAT = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def book(be: Backend, start: datetime, sender: str) -> tuple[int, int]:
    """A cleaning at ``start``: (booking id, the housekeeper its pending offer went to)."""
    c = be.client_for("rest", sender, "zh")
    be.set_client(c.id, phone="13812345678")
    b = be.book(c.id, Request("cleaning", start, hours=2, address="朝阳区建国路88号", district="朝阳"))
    return b["id"], offered(be, b["id"])


def offered(be: Backend, booking_id: int) -> int | None:
    with be.db.uow() as s:
        return s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == booking_id, Offer.status == "pending"))


def press(replies: list[dict], title: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["title"] == title)


def card_of(replies: list[dict], request_id: int) -> list[dict]:
    return [m for m in replies if f"#{request_id}" in m.get("text", "") and m.get("buttons")]


async def test_zh_leave_approved_and_the_offer_goes_to_someone_else(chat: Chat) -> None:
    be = chat.app.backend
    bid, hk_id = await asyncio.to_thread(book, be, WED, "sr-zh")
    hk = be.rest_id_of("housekeeper", hk_id)
    sent = text(await chat.say("下周三请假", hk))
    assert "11月25日（周三）全天" in sent and "经理审批" in sent
    with be.db.uow() as s:
        req = s.scalars(select(StaffRequest)).one()
        assert (req.kind, req.status, req.housekeeper_id) == ("leave", "pending", hk_id)
        rid = req.id
    mgr = chat.token("MGR01")
    card = card_of(await chat.inbox(mgr), rid)
    assert card and "请假：11月25日（周三）全天" in card[0]["text"]
    assert offered(be, bid) == hk_id  # nothing changes before a manager decides
    done = text(await chat.say(press(card, "批准"), mgr))
    assert f"申请 #{rid} 已批准" in done
    with be.db.uow() as s:
        off = s.scalars(select(TimeOff).where(TimeOff.housekeeper_id == hk_id)).one()
        assert off.starts_at == WED.replace(hour=0)
        edited = s.scalars(select(Notification).where(Notification.template == "staff_request_decided")).all()
        assert edited and all(n.replaces_key for n in edited)  # the 批准/拒绝 card becomes the decision
    other = offered(be, bid)
    assert other is not None and other != hk_id  # the offer in her leave went to someone else
    hers = text(await chat.inbox(hk))
    assert f"申请 #{rid} 已批准" in hers
    assert "已经处理过了" in text(await chat.say(press(card, "拒绝"), mgr))
    assert "只有经理" in text(await chat.say(f'/approve_staff_request{{"request_id": {rid}}}', hk))


async def test_zh_confirmed_job_in_the_leave_is_flagged(chat: Chat) -> None:
    be = chat.app.backend
    bid, hk_id = await asyncio.to_thread(book, be, WED, "sr-flag")
    with be.db.uow() as s:
        offer_id = s.scalar(select(Offer.id).where(Offer.booking_id == bid, Offer.status == "pending"))
    assert (await asyncio.to_thread(be.accept_offer, hk_id, offer_id))["error"] is None
    hk = be.rest_id_of("housekeeper", hk_id)
    sent = text(await chat.say("12月24日到26日请假", hk))
    assert "12月24日（周四）至12月26日（周六）" in sent and "冲突" not in sent
    sent = text(await chat.say("下周三请假", hk))
    assert f"#{bid} 2026-11-25 10:00–12:00" in sent  # she is warned too
    mgr = chat.token("MGR01")
    with be.db.uow() as s:
        rid = s.scalar(select(StaffRequest.id).order_by(StaffRequest.id.desc()))
    card = card_of(await chat.inbox(mgr), rid)
    assert card and "冲突" in card[0]["text"] and f"#{bid}" in card[0]["text"]
    await chat.say(press(card, "批准"), mgr)
    flagged = text(await chat.inbox(mgr))
    assert "请安排改派" in flagged and f"#{bid} 2026-11-25 10:00–12:00" in flagged


async def test_en_weekend_hours_change_approved_and_honoured(chat: Chat) -> None:
    be = chat.app.backend
    bid, hk_id = await asyncio.to_thread(book, be, SAT, "sr-en")
    with be.db.uow() as s:
        s.get(Housekeeper, hk_id).lang = "en"
    hk = be.rest_id_of("housekeeper", hk_id)
    asked = text(await chat.say("I want to change my hours", hk))
    assert "Which days and hours" in asked
    sent = text(await chat.say("I don't work on weekends", hk))
    assert "New working hours" in sent and "waits for a manager" in sent
    with be.db.uow() as s:
        rid = s.scalar(select(StaffRequest.id))
    mgr = chat.token("MGR02")
    card = card_of(await chat.inbox(mgr), rid)
    done = text(await chat.say(press(card, "Approve"), mgr))
    assert f"Request #{rid} approved" in done
    with be.db.uow() as s:
        days = {w.weekday for w in s.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk_id))}
    assert days and not days & {5, 6}
    assert offered(be, bid) not in (None, hk_id)
    _bid2, nxt = await asyncio.to_thread(book, be, SAT.replace(day=28), "sr-en-2")
    assert nxt != hk_id
    assert "approved" in text(await chat.inbox(hk))


async def test_en_rejected_request_changes_nothing(chat: Chat) -> None:
    be = chat.app.backend
    with be.db.uow() as s:
        hk_row = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK004"))
        hk_row.lang, hk_id = "en", hk_row.id
    hk = be.rest_id_of("housekeeper", hk_id)
    sent = text(await chat.say("I need leave next Wednesday", hk))
    assert "Leave: Wed 25 Nov (all day)" in sent
    with be.db.uow() as s:
        rid = s.scalar(select(StaffRequest.id))
    mgr = chat.token("MGR01")
    card = card_of(await chat.inbox(mgr), rid)
    assert "拒绝" in text(await chat.say(press(card, "拒绝"), mgr))
    with be.db.uow() as s:
        assert s.scalars(select(TimeOff).where(TimeOff.housekeeper_id == hk_id)).all() == []
    assert "not approved" in text(await chat.inbox(hk))
    assert "no leave" in text(await chat.say("/requests", chat.token("MGR02"))).lower()
