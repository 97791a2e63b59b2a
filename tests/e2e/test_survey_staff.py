"""Ratings and survey follow-ups on the staff desk, over the real REST channel: a housekeeper's /me, the
managers' /ratings and /surveys (zh and en), and the notice of a job finished automatically."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.api import Backend, Request
from backend.orm import Housekeeper, Offer
from tests.e2e.conftest import Chat, text

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


def job(be: Backend, sender: str, day: int, finish: bool = True) -> tuple[int, int, str, str]:
    """A cleaning done by whoever accepted it: (client id, booking id, her code, her name)."""
    c = be.client_for("rest", sender, "zh")
    b = be.book(c.id, Request("cleaning", at(day, 10), hours=2, address="朝阳区建国路88号", district="朝阳"))
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        offer_id, hk_id = o.id, o.housekeeper_id
        hk = s.get(Housekeeper, hk_id)
        code, name = hk.code, hk.name
    be.accept_offer(hk_id, offer_id)
    be.ctx.clock.set(at(day, 10))
    be.arrive(hk_id, b["id"])
    if finish:
        be.ctx.clock.set(at(day, 12))
        be.finish(hk_id, b["id"])
    return c.id, b["id"], code, name


def surveyed_low(be: Backend) -> tuple[int, str, str]:
    cid, bid, code, name = job(be, "st-client", 19)
    be.ctx.clock.set(at(19, 14))
    be.run_due_timers()
    sv = be.open_survey(cid)
    be.answer_survey(cid, sv["id"], {"attitude": 2, "skill": 3, "result": 3}, comment="来晚了半小时")
    return bid, code, name


async def test_me_ratings_and_followups_on_the_staff_desk(chat: Chat) -> None:
    be = chat.app.backend
    bid, code, name = await asyncio.to_thread(surveyed_low, be)
    me = text(await chat.say("/me", sender=chat.token(code)))
    assert "1 份客户回访" in me and "态度 2.0" in me and "技能 3.0" in me and "效果 3.0" in me
    ratings = text(await chat.say("/ratings", sender=chat.token("MGR01")))
    mine = next(line for line in ratings.splitlines() if f"({code})" in line or f"（{code}）" in line)
    assert name in mine and "1 份回访" in mine and "态度 2.0" in mine
    lines = [line for line in ratings.splitlines() if line[:1].isdigit()]
    assert len(lines) == 32 and lines.index(mine) > 0  # her low survey pulled her down the list
    en = text(await chat.say("/ratings", sender=chat.token("MGR02")))  # Alex Chen reads English
    assert "Housekeeper ratings (32)" in en and "surveys: 1 · attitude 2.0" in en
    followups = text(await chat.say("/surveys", sender=chat.token("MGR01")))
    assert f"预约 #{bid}" in followups and "态度2 技能3 效果3" in followups and "来晚了半小时" in followups
    refused = text(await chat.say("/ratings", sender=chat.token(code)))
    assert "经理" in refused and "份回访" not in refused


async def test_a_new_housekeeper_sees_her_roster_rating_and_no_followups_is_said(chat: Chat) -> None:
    me = text(await chat.say("/me", sender=chat.token("HK001")))
    assert "暂无客户回访" in me
    assert "暂无待跟进的回访" in text(await chat.say("/surveys", sender=chat.token("MGR01")))
    assert "No survey follow-ups open" in text(await chat.say("/surveys", sender=chat.token("MGR02")))


async def test_managers_are_told_when_a_job_is_finished_automatically(chat: Chat) -> None:
    be = chat.app.backend
    _cid, bid, code, _name = await asyncio.to_thread(job, be, "st-auto", 19, False)
    await chat.inbox("staff:MGR01")  # whatever came before (none expected about this job)
    await asyncio.to_thread(chat.app.clock.set, at(19, 13))
    await asyncio.to_thread(be.run_due_timers)
    got = text(await chat.inbox("staff:MGR01"))
    assert f"预约 #{bid}" in got and "自动标记为完成" in got and code in got
    assert be.booking(bid)["status"] == "completed"
