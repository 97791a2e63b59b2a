"""The butler's clock over the real REST channel on the fake clock (zh and en), SQLite and PostgreSQL: a
butler client's "客厅漏水了" is offered to the butler, one tap makes the request and the client is told the
promise; the butler (staff REST chat) gets it with her buttons; 16 minutes without 已到场 open a case, the
managers' inbox has the urgent alert and the client is told; then she marks on site and posts the plan,
which the client receives."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend
from backend.orm import ButlerRequest, Escalation, Housekeeper, Placement
from tests.e2e.conftest import Chat, buttons, text

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def butler_client(be: Backend, sender: str, lang: str, butler_lang: str = "zh") -> tuple[int, int, str]:
    """A client with an active butler placement covering today: (client id, butler id, her code)."""
    c = be.client_for("rest", sender, lang)
    be.set_client(c.id, phone="13812345678", name="王女士", address="朝阳区建国路88号")
    start = be.now.astimezone(TZ).date() - timedelta(days=5)
    with be.db.uow() as s:
        hk = next(h for h in s.scalars(select(Housekeeper).order_by(Housekeeper.id)) if "butler" in h.skills)
        hk.lang = butler_lang
        s.add(Placement(client_id=c.id, service="butler", status="active", start_date=start,
                        end_date=start + timedelta(days=89), term_days=90, housekeeper_id=hk.id))
        return c.id, hk.id, hk.code


def payload_of(replies: list[dict], title: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["title"] == title)


async def tick(chat: Chat, minutes: float) -> None:
    await asyncio.to_thread(chat.tick, minutes)


async def test_zh_leak_offered_breached_escalated_then_plan_reaches_the_client(chat: Chat) -> None:
    be = chat.app.backend
    cid, _hk, code = await asyncio.to_thread(butler_client, be, "bt-zh", "zh")
    butler, manager = chat.token(code), chat.token("MGR01")
    offer = await chat.say("客厅漏水了", "bt-zh")
    assert "交给管家" in text(offer) and "客厅漏水了" in text(offer) and "120" not in text(offer)
    assert [b["title"] for b in buttons(offer)] == ["交给管家", "不用"]
    promised = text(await chat.say(payload_of(offer, "交给管家"), "bt-zh"))
    assert "15分钟内" in promised and "60分钟内" in promised and "#" in promised
    with be.db.uow() as s:
        r = s.scalar(select(ButlerRequest).where(ButlerRequest.client_id == cid))
        rid, onsite_due = r.id, r.onsite_due_at
    assert onsite_due.astimezone(TZ).strftime("%H:%M") in promised  # the stored due time, as told
    got = await chat.inbox(butler)
    card = next(m for m in got if f"管家请求 #{rid}" in m["text"])
    assert "客厅漏水了" in card["text"] and "13812345678" in card["text"] and "建国路88号" in card["text"]
    assert [b["title"] for b in card["buttons"]] == ["已到场", "发方案"]
    assert any(f"管家请求 #{rid}" in m["text"] for m in await chat.inbox(manager))
    await tick(chat, 16)  # nobody on site
    with be.db.uow() as s:
        esc = s.scalar(select(Escalation).where(Escalation.kind == "butler_breach", Escalation.client_id == cid))
        assert esc is not None and esc.detail["request_id"] == rid
        case_id = esc.id
    alerts = await chat.inbox(manager)
    assert any(f"#{case_id}" in m["text"] and "管家请求超时" in m["text"] for m in alerts)
    told = text(await chat.inbox("bt-zh"))
    assert "非常抱歉" in told and f"#{case_id}" in told
    pinged = await chat.inbox(butler)
    assert any("已超时" in m["text"] for m in pinged)
    onsite = await chat.say(payload_of([card], "已到场"), butler)
    assert "已到场" in text(onsite) and "已通知客户" in text(onsite)
    assert "已到场" in text(await chat.inbox("bt-zh"))
    prompt = await chat.say(payload_of(onsite, "发方案"), butler)
    assert "请直接回复" in text(prompt)
    sent = await chat.say("已关闭总阀，水电师傅下午两点上门维修，预计四点前修好", butler)
    assert "方案已发给客户" in text(sent)
    plan = text(await chat.inbox("bt-zh"))
    assert "处理方案" in plan and "已关闭总阀" in plan
    assert "还剩" not in text(await chat.say("/butler_requests", manager))
    done = await chat.say(payload_of(sent, "已完成"), butler)
    assert "已完成" in text(done)
    assert "已处理完毕" in text(await chat.inbox("bt-zh"))


async def test_en_dinner_by_direct_request_status_and_plan_by_command(chat: Chat) -> None:
    be = chat.app.backend
    cid, _hk, code = await asyncio.to_thread(butler_client, be, "bt-en", "en", "en")
    butler, manager = chat.token(code), chat.token("MGR02")
    promised = text(await chat.say("butler, need a dinner for 8 on Saturday", "bt-en"))
    assert "within 15 minutes" in promised and "within 60 minutes" in promised
    with be.db.uow() as s:
        r = s.scalar(select(ButlerRequest).where(ButlerRequest.client_id == cid))
        rid = r.id
        assert r.text == "need a dinner for 8 on Saturday"
    status = text(await chat.say("butler request status", "bt-en"))
    assert f"#{rid}" in status and "waiting for someone on site" in status
    card = next(m for m in await chat.inbox(butler) if f"Butler request #{rid}" in m["text"])
    assert [b["title"] for b in card["buttons"]] == ["On site", "Post plan"]
    listed = text(await chat.say("/butler_requests", manager))
    assert f"#{rid}" in listed and "min left" in listed
    await tick(chat, 16)
    alerts = await chat.inbox(manager)
    assert any("Butler clock missed" in m["text"] for m in alerts)
    assert "sorry" in text(await chat.inbox("bt-en")).lower()
    await chat.say(f'/butler_onsite{{"request_id": {rid}}}', butler)
    sent = text(await chat.say(f"/plan {rid} Chef and two helpers booked for Saturday 18:00; menu by Friday noon",
                               butler))
    assert "plan was sent" in sent
    got = text(await chat.inbox("bt-en"))
    assert "is on site" in got and "Chef and two helpers" in got


async def test_no_thanks_keeps_the_usual_flow_and_other_clients_are_unaffected(chat: Chat) -> None:
    be = chat.app.backend
    await asyncio.to_thread(butler_client, be, "bt-no", "zh")
    offer = await chat.say("马桶堵了", "bt-no")
    assert "交给管家" in text(offer)
    usual = text(await chat.say("不用", "bt-no"))  # typed: the button's word
    assert "交给管家" not in usual
    with be.db.uow() as s:
        assert s.scalar(select(ButlerRequest.id)) is None
    danger = text(await chat.say("厨房着火了，有人受伤", "bt-no"))  # people in danger: the emergency flow
    assert "119" in danger and "交给管家" not in danger
    plain = text(await chat.say("客厅漏水了", "plain-client"))  # no butler contract: as before
    assert "交给管家" not in plain



async def test_zh_menu_button_cancel_and_an_ended_placement(chat: Chat) -> None:
    be = chat.app.backend
    cid, _hk, code = await asyncio.to_thread(butler_client, be, "bt-menu", "zh")
    asked = text(await chat.say("/butler_request", "bt-menu"))
    assert "需要管家处理什么" in asked
    promised = text(await chat.say("周六晚上家里请8个人吃饭，帮忙安排", "bt-menu"))
    assert "15分钟内" in promised
    assert "进行中的管家请求" not in text(await chat.say("管家请求进度", "bt-menu"))
    which = await chat.say("取消管家请求", "bt-menu")
    assert "要取消哪个管家请求" in text(which)
    cancelled = text(await chat.say(buttons(which)[0]["payload"], "bt-menu"))
    assert "已取消管家请求" in cancelled
    assert any("客户已取消" in m["text"] for m in await chat.inbox(chat.token(code)))
    await tick(chat, 20)
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.client_id == cid)) is None
        s.scalar(select(Placement).where(Placement.client_id == cid)).status = "ended"
    assert "交给管家" not in text(await chat.say("客厅漏水了", "bt-menu"))  # no butler any more


async def test_zh_a_leak_in_the_middle_of_a_booking_waits_the_draft(chat: Chat) -> None:
    be = chat.app.backend
    await asyncio.to_thread(butler_client, be, "bt-form", "zh")
    asked = text(await chat.say("我想约明天上午10点的保洁", "bt-form"))
    assert "几个小时" in asked
    offer = await chat.say("客厅漏水了", "bt-form")
    assert "交给管家" in text(offer)
    after = text(await chat.say(payload_of(offer, "交给管家"), "bt-form"))
    assert "15分钟内" in after and "几个小时" in after  # the request made, then the booking carries on


async def test_en_dinner_read_as_a_booking_is_offered_to_the_butler(chat: Chat) -> None:
    be = chat.app.backend
    await asyncio.to_thread(butler_client, be, "bt-en-offer", "en", "en")
    offer = await chat.say("need a dinner for 8 on Saturday", "bt-en-offer")
    assert "Shall I pass this to your butler" in text(offer)
    assert [b["title"] for b in buttons(offer)] == ["Pass to butler", "No"]
    promised = text(await chat.say("Pass to butler", "bt-en-offer"))  # typed: the button's title
    assert "within 15 minutes" in promised and "within 60 minutes" in promised


async def test_people_first_a_complaint_about_her_and_second_thoughts_are_never_butler_requests(chat: Chat) -> None:
    """A person in danger keeps the emergency flow however it is worded; a complaint (it may be about the
    butler) is never handed to her; "算了" after "what do you need?" sends nothing."""
    be = chat.app.backend
    await asyncio.to_thread(butler_client, be, "bt-safe", "zh")
    for words in ("奶奶摔了一跤起不来了", "宝宝抽搐了", "管家，我爸摔了一跤头破了"):
        reply = text(await chat.say(words, "bt-safe"))
        assert "交给管家" not in reply and "15分钟内" not in reply, words
    complaint = text(await chat.say("管家今天态度很差，我要投诉", "bt-safe"))
    assert "交给管家" not in complaint
    await asyncio.to_thread(butler_client, be, "bt-no-thanks", "zh")
    assert "需要管家处理什么" in text(await chat.say("/butler_request", "bt-no-thanks"))
    assert "没有发给管家" in text(await chat.say("算了", "bt-no-thanks"))
    with be.db.uow() as s:
        assert s.scalar(select(ButlerRequest.id)) is None  # nothing stored, nobody paged
    assert "交给管家" in text(await chat.say("客厅漏水了", "bt-no-thanks"))  # the home's emergency still is
