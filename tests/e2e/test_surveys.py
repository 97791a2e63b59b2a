"""Call-back surveys (回访) through the REST channel on the fake clock: the job finished → the survey after
the delay (and after quiet hours) → answered by buttons or typed in one message → stored; a low score opens
a follow-up case whose due time the client is told, and the never-again offer, once tapped, keeps her off
the client's next booking; the reminder at 24 h and the expiry at 72 h; feedback typed outside a survey.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.orm import Booking, Client, Escalation, Offer, Survey
from tests.e2e.conftest import Chat, buttons, text
from tests.e2e.test_complaints import client_of, confirmed_booking


def housekeeper_sender(chat: Chat, booking_id: int) -> str:
    be = chat.app.backend
    with be.db.uow() as s:
        return be.rest_id_of("housekeeper", s.get(Booking, booking_id).housekeeper_id)


async def finished_visit(chat: Chat, sender: str, lang: str = "zh", when: str = "明天上午10点",
                         work_minutes: int = 180) -> int:
    """Booked, accepted, checked in at the booked start, finished ``work_minutes`` later."""
    booking_id = await confirmed_booking(chat, sender, lang, when)
    hk = housekeeper_sender(chat, booking_id)
    start = datetime.fromisoformat(chat.app.backend.booking(booking_id)["starts_at"])
    chat.tick((start - chat.app.clock.now()).total_seconds() / 60)
    await chat.say(f'/arrived{{"booking_id": {booking_id}}}', hk)
    chat.tick(work_minutes)
    await chat.say(f'/finished{{"booking_id": {booking_id}}}', hk)
    assert chat.app.backend.booking(booking_id)["status"] == "completed"
    return booking_id


def survey_row(chat: Chat, booking_id: int) -> Survey:
    with chat.app.backend.db.uow() as s:
        sv = s.scalar(select(Survey).where(Survey.booking_id == booking_id))
        assert sv is not None
        s.expunge(sv)
        return sv


def the_survey(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in messages if any(b["payload"].startswith("/survey_score") for b in m.get("buttons") or []))


def press(replies: list[dict[str, Any]], title: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["title"] == title)


async def test_the_survey_comes_after_the_delay_and_is_answered_with_buttons(chat_db: Chat) -> None:
    chat = chat_db
    booking_id = await finished_visit(chat, "sv-1")
    assert "稍后会请您评价" in text(await chat.inbox("sv-1"))  # the promise: kept below
    assert survey_row(chat, booking_id).status == "scheduled"
    chat.tick(119)
    assert not any(m.get("buttons") for m in await chat.inbox("sv-1"))  # not before the delay
    chat.tick(2)
    survey = the_survey(await chat.inbox("sv-1"))
    assert f"#{booking_id}" in survey["text"] and "服务态度" in survey["text"] and "态度5 技能4 效果5" in survey["text"]
    assert [b["title"] for b in survey["buttons"]] == ["1", "2", "3", "4", "5"]
    r = await chat.say(next(b["payload"] for b in survey["buttons"] if b["title"] == "5"), "sv-1")
    assert "专业技能" in text(r) and [b["title"] for b in buttons(r)] == ["1", "2", "3", "4", "5"]
    r = await chat.say(press(r, "4"), "sv-1")
    assert "服务效果" in text(r)
    r = await chat.say(press(r, "5"), "sv-1")
    assert "还有什么想说的" in text(r) and "跳过" in [b["title"] for b in buttons(r)]
    sv = survey_row(chat, booking_id)
    assert (sv.status, sv.attitude, sv.skill, sv.result) == ("answered", 5, 4, 5)
    r = await chat.say("阿姨很细心，下次还想请她", "sv-1")
    assert "态度5分" in text(r) and "技能4分" in text(r)
    assert survey_row(chat, booking_id).comment == "阿姨很细心，下次还想请她"
    assert survey_row(chat, booking_id).followup_case_id is None


async def test_all_three_typed_at_once_with_a_comment_and_all_fives_offer_her_again(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-2")
    chat.tick(121)
    the_survey(await chat.inbox("sv-2"))
    r = await chat.say("态度5分技能5分效果5分，阿姨特别细心", "sv-2")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result, sv.status) == (5, 5, 5, "answered")
    assert sv.comment and "细心" in sv.comment
    assert "下次还请这位阿姨" in [b["title"] for b in buttons(r)]
    r = await chat.say(press(r, "下次还请这位阿姨"), "sv-2")
    assert "常用阿姨" in text(r)
    with chat.app.backend.db.uow() as s:
        assert s.get(Client, client_of(chat, "sv-2")).preferred == [sv.housekeeper_id]


async def test_free_form_answers_words_out_of_range_and_a_way_out(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-3")
    chat.tick(121)
    the_survey(await chat.inbox("sv-3"))
    r = await chat.say("6分", "sv-3")
    assert "1到5分" in text(r) and "服务态度" in text(r)
    r = await chat.say("三项都很好", "sv-3")
    assert "具体" in text(r) or "打个分" in text(r)
    r = await chat.say("技能一般", "sv-3")
    assert "专业技能" in text(r)
    assert "日常保洁" in text(await chat.say("保洁多少钱一小时", "sv-3"))  # another intent goes where it belongs
    assert survey_row(chat, booking_id).status == "sent"  # and the survey stays open
    r = await chat.say("5", "sv-3")  # a bare digit while the attitude question is pending
    assert survey_row(chat, booking_id).attitude == 5 and "专业技能" in text(r)
    r = await chat.say("技能4分 效果4分", "sv-3")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result, sv.status) == (5, 4, 4, "answered")
    r = await chat.say(press(r, "跳过"), "sv-3")
    assert "感谢您对预约" in text(r)
    assert survey_row(chat, booking_id).step is None


async def test_english_all_fives_but_late(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-en", lang="en")
    chat.tick(121)
    survey = the_survey(await chat.inbox("sv-en"))
    assert "service attitude" in survey["text"]
    r = await chat.say("all fives but she was late", "sv-en")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result) == (5, 5, 5) and sv.comment and "late" in sv.comment
    assert "Thank you" in text(r)


async def test_a_low_score_opens_a_followup_with_its_due_time_and_never_again_is_honoured(chat_db: Chat) -> None:
    chat = chat_db
    booking_id = await finished_visit(chat, "sv-4")
    chat.tick(121)
    the_survey(await chat.inbox("sv-4"))
    r = await chat.say("态度2分技能3分效果3分", "sv-4")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result) == (2, 3, 3) and sv.followup_case_id is not None
    with chat.app.backend.db.uow() as s:
        assert s.get(Escalation, sv.followup_case_id).kind == "followup"
    due = chat.app.backend.case(sv.followup_case_id)["due_at"]
    due_local = datetime.fromisoformat(due).astimezone(chat.app.backend.ctx.tz)
    assert "客服经理会在" in text(r) and f"{due_local:%H:%M}" in text(r)
    r = await chat.say(press(r, "跳过"), "sv-4")
    assert "以后不再安排这位阿姨" in [b["title"] for b in buttons(r)]
    r = await chat.say(press(r, "以后不再安排这位阿姨"), "sv-4")
    assert "不会再安排" in text(r)
    hk_id = sv.housekeeper_id
    with chat.app.backend.db.uow() as s:
        assert hk_id in (s.get(Client, client_of(chat, "sv-4")).never_again or [])
    # the client's next booking never offers her
    chat.tick(60)
    for m in ("我想约后天上午10点的保洁", "3个小时", "没有"):
        r = await chat.say(m, "sv-4")
        if "/affirm" in [b["payload"] for b in buttons(r)]:
            break
    nxt = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "sv-4"))).group(1))
    for _ in range(6):  # every offer, as each times out
        with chat.app.backend.db.uow() as s:
            offered = set(s.scalars(select(Offer.housekeeper_id).where(Offer.booking_id == nxt)))
        assert hk_id not in offered
        chat.tick(11)


async def test_reminder_once_at_24h_and_expiry_at_72h(chat_db: Chat) -> None:
    chat = chat_db
    booking_id = await finished_visit(chat, "sv-5")
    chat.tick(121)
    the_survey(await chat.inbox("sv-5"))
    chat.tick(24 * 60 - 5)
    assert survey_row(chat, booking_id).status == "sent"
    chat.tick(10)
    reminder = await chat.inbox("sv-5")
    assert "温馨提醒" in text(reminder) and survey_row(chat, booking_id).status == "reminded"
    r = await chat.say(next(b["payload"] for b in buttons(reminder) if b["title"] == "现在评价"), "sv-5")
    assert "服务态度" in text(r)  # rate now: the pending question
    chat.tick(24 * 60)
    assert "温馨提醒" not in text(await chat.inbox("sv-5"))  # once
    chat.tick(24 * 60)
    assert survey_row(chat, booking_id).status == "expired"
    await chat.say("5", "sv-5")  # no question pending any more: a bare digit is not a score
    assert survey_row(chat, booking_id).attitude is None


async def test_a_job_finished_at_2030_is_surveyed_at_nine_next_morning(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-6", when="明天下午5点", work_minutes=210)  # finished 20:30
    tz = chat.app.backend.ctx.tz
    assert chat.app.clock.now().astimezone(tz).strftime("%H:%M") == "20:30"
    sv = survey_row(chat, booking_id)
    assert sv.send_at.astimezone(tz).strftime("%H:%M") == "09:00"
    chat.tick(12 * 60 + 29)  # 08:59 the next morning
    assert not any(m.get("buttons") for m in await chat.inbox("sv-6"))
    chat.tick(1)
    the_survey(await chat.inbox("sv-6"))
    assert survey_row(chat, booking_id).sent_at.astimezone(tz).strftime("%H:%M") == "09:00"


async def test_feedback_typed_outside_a_survey_goes_to_the_visit(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-7")
    name = chat.app.backend.open_survey(client_of(chat, "sv-7"))  # not sent yet: the delay runs
    assert name is None
    hk = survey_row(chat, booking_id)
    with chat.app.backend.db.uow() as s:
        from backend.orm import Housekeeper
        surname = s.get(Housekeeper, hk.housekeeper_id).name[0]
    r = await chat.say(f"给{surname}阿姨打5分", "sv-7")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result) == (5, 5, 5) and sv.source in ("survey", "client")
    assert "还有什么想说的" in text(r) or "感谢" in text(r)
    chat.tick(121)
    assert not any(m.get("buttons") and "/survey_score" in str(m["buttons"]) for m in await chat.inbox("sv-7"))


async def test_very_satisfied_asks_for_the_three_scores_of_the_latest_visit(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-8")
    r = await chat.say("很满意，谢谢阿姨", "sv-8")
    assert f"#{booking_id}" in text(r) and "服务态度" in text(r)
    r = await chat.say(press(r, "4"), "sv-8")
    assert survey_row(chat, booking_id).attitude == 4 and "专业技能" in text(r)


async def test_a_traditional_chinese_client_gets_the_survey_in_traditional_and_answers_in_it(chat: Chat) -> None:
    booking_id = await finished_visit(chat, "sv-9")
    await chat.app.desk.set_language("rest", "sv-9", "zh-Hant")
    chat.tick(121)
    survey = the_survey(await chat.inbox("sv-9"))
    assert "服務態度" in survey["text"]
    r = await chat.say("技能四分 態度五分 效果三分", "sv-9")
    sv = survey_row(chat, booking_id)
    assert (sv.attitude, sv.skill, sv.result) == (5, 4, 3)
    assert "謝謝" in text(r) or "感謝" in text(r)
