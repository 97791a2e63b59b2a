"""Job seekers over the real REST channel on the fake clock (zh and en, SQLite and PostgreSQL): the form
with catalogue buttons, the summary, the record and the managers' card, /applications and /application N,
the "within N working days" promise's reminder, a way out, and "我想找阿姨" staying a booking."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.orm import JobApplication, Notification
from tests.e2e.conftest import Chat, buttons, text


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def applications(chat: Chat) -> list[JobApplication]:
    with chat.app.backend.db.uow() as s:
        out = list(s.scalars(select(JobApplication).order_by(JobApplication.id)))
        s.expunge_all()
    return out


def reminders(chat: Chat) -> list[Notification]:
    with chat.app.backend.db.uow() as s:
        out = list(s.scalars(select(Notification).where(Notification.template == "application_reminder")))
        s.expunge_all()
    return out


def press(replies: list[dict], title: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["title"] == title)


async def test_zh_application_recorded_managers_notified_and_reminded(chat: Chat) -> None:
    me = "job-zh"
    start = text(await chat.say("我想应聘阿姨", me))
    assert "感谢您想加入我们" in start and "姓名" in start
    assert "电话" in text(await chat.say("王芳", me))
    services = await chat.say("13912345678", me)
    assert "日常保洁" in [b["title"] for b in buttons(services)]
    chosen = await chat.say(press(services, "日常保洁"), me)
    assert "已选：日常保洁" in text(chosen) and "日常保洁" not in [b["title"] for b in buttons(chosen)]
    chosen = await chat.say(press(chosen, "育儿嫂"), me)
    assert "经验" in text(await chat.say(press(chosen, "选好了"), me))
    assert "证书" in text(await chat.say("做保洁5年，带过两个孩子", me))
    summary = await chat.say("没有", me)
    assert "王芳" in text(summary) and "日常保洁、育儿嫂" in text(summary) and "证书：无" in text(summary)
    assert applications(chat) == []  # nothing is sent before the summary is confirmed
    sent = text(await chat.say(press(summary, "确认提交"), me))
    assert "2个工作日内" in sent and "11月20日（周五）" in sent
    [a] = applications(chat)
    assert (a.name, a.phone, a.services, a.certificates, a.status) == \
        ("王芳", "13912345678", ["cleaning", "nanny"], "无", "new")
    assert a.client_id is not None  # the chat's client row: erasure and export find it
    mgr = chat.token("MGR01")
    card = await chat.inbox(mgr)
    assert any(f"新的应聘 #{a.id}" in m.get("text", "") and "王芳" in m.get("text", "") for m in card)
    listed = await chat.say("/applications", mgr)
    assert f"#{a.id}" in text(listed) and "已联系" in [b["title"] for b in buttons(listed)]
    chat.tick(60 * 24 * 2 - 31)  # Friday 09:59, the last promised working day
    assert reminders(chat) == []
    chat.tick(1)  # Friday 10:00: still new → managers reminded while the promise can still be kept
    assert {n.params["application_id"] for n in reminders(chat)} == {a.id}
    assert "提醒" in text(await chat.inbox(mgr))
    done = text(await chat.say(f"/application {a.id} contacted", mgr))
    assert f"应聘 #{a.id}" in done and "已联系" in done
    assert applications(chat)[0].status == "contacted"
    assert "没有新的应聘" in text(await chat.say("/applications", mgr))
    assert "用法" in text(await chat.say("/application x", mgr))


async def test_en_application_typed_services_and_contacted_before_the_reminder(chat: Chat) -> None:
    me = "job-en"
    assert "name" in text(await chat.say("I want to work as a housekeeper", me)).lower()
    await chat.say("Maria Santos", me)
    bad = text(await chat.say("12345", me))
    assert "phone number" in bad
    assert "services" in text(await chat.say("+86 139 1234 5678", me)).lower()
    assert "experience" in text(await chat.say("cleaning and cooking", me)).lower()
    await chat.say("3 years", me)
    summary = await chat.say("health certificate", me)
    assert "Regular cleaning" in text(summary) and "Send it?" in text(summary)
    sent = text(await chat.say("yes", me))
    assert "within 2 working days" in sent and "Fri 20 Nov" in sent
    [a] = applications(chat)
    assert a.services == ["cleaning", "cooking"] and a.phone == "+8613912345678" and a.lang == "en"
    mgr = chat.token("MGR02")  # the English-speaking manager
    await chat.inbox(mgr)
    card = await chat.say("/applications", mgr)
    hired = await chat.say(press(card, "Hired"), mgr)
    assert "hired" in text(hired)
    chat.tick(60 * 24 * 4)
    assert reminders(chat) == []  # someone dealt with it: no reminder


async def test_cancel_leaves_the_form_and_looking_for_a_housekeeper_is_a_booking(chat: Chat) -> None:
    me = "job-cancel"
    await chat.say("你们招保洁吗", me)
    await chat.say("李梅", me)
    out = text(await chat.say("取消", me))
    assert "已退出应聘" in out
    assert "没有待提交" in text(await chat.say("/application_confirm", me))
    assert applications(chat) == []
    trad = text(await chat.say("我想應聘育兒嫂", "job-hant"))  # Traditional in, Traditional out
    assert "感謝您想加入我們" in trad and "姓名" in trad
    booking = text(await chat.say("我想找阿姨", "job-client"))
    assert "应聘" not in booking
    with chat.app.backend.db.uow() as s:
        assert s.scalar(select(JobApplication.id)) is None
