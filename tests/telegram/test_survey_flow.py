"""The call-back survey on Telegram, end to end through the real library and the fake Bot API server: the
job is finished from the staff bot, the survey arrives on the client's chat after the delay with an
inline keyboard, taps answer it one question at a time, and the answer is in storage."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from sqlalchemy import select

from backend.orm import Booking, Survey
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, HK_B, STAFF, Env
from tests.telegram.test_telegram import book_via_telegram


def _rows(tg: Env) -> tuple[Booking, Survey | None]:
    with tg.app.backend.db.uow() as s:
        b = s.scalars(select(Booking).order_by(Booking.id.desc())).first()
        sv = s.scalar(select(Survey).where(Survey.booking_id == b.id))
        s.expunge_all()
        return b, sv


async def _advance_until(tg: Env, needle: str, minutes: float, step: float = 30) -> str:
    """Move the test clock on in steps (the workers run the due timers and deliver the outbox) until the
    client's chat shows ``needle``."""
    moved = 0.0
    while moved < minutes:
        tg.app.clock.advance(minutes=step)
        moved += step
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            found = [t for t in tg.fake.texts(CLIENT, CUSTOMER) if needle in t]
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
    raise AssertionError(f"{needle!r} never reached the client")


async def test_the_survey_arrives_with_an_inline_keyboard_and_taps_answer_it(tg: Env) -> None:
    f = tg.fake
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    await book_via_telegram(tg)
    await f.wait_for(STAFF, HK_A, "新订单 #")
    await tg.tap(STAFF, HK_A, "接单")
    await f.wait_for(STAFF, HK_A, "接单成功")
    booking, _ = await asyncio.to_thread(_rows, tg)
    # the morning of the visit: she checks in, then finishes
    ahead = (booking.starts_at - tg.app.clock.now()).total_seconds()
    tg.app.clock.advance(seconds=ahead)
    await tg.staff_says(f'/arrived{{"booking_id": {booking.id}}}', HK_A)
    await f.wait_for(STAFF, HK_A, "已签到")
    tg.app.clock.advance(hours=3)
    await tg.tap(STAFF, HK_A, "已完成")
    await f.wait_for(CLIENT, CUSTOMER, "稍后会请您评价")
    booking, survey = await asyncio.to_thread(_rows, tg)
    assert booking.status == "completed" and survey is not None and survey.status == "scheduled"

    question = await _advance_until(tg, "服务态度", minutes=180)
    assert f"#{booking.id}" in question and "王阿姨" in question
    assert [t for t, _ in f.buttons(CLIENT, CUSTOMER)] == ["1", "2", "3", "4", "5"]
    sent = [m for m in f.bots[CLIENT].sent if m.get("chat_id") == CUSTOMER and "服务态度" in m.get("text", "")][-1]
    assert sent["reply_markup"]["inline_keyboard"]  # an inline keyboard, not reply buttons

    for title, next_question in (("5", "专业技能"), ("4", "服务效果"), ("5", "还有什么想说的")):
        n = tg.sent(CLIENT, CUSTOMER)
        await tg.tap(CLIENT, CUSTOMER, title)
        await f.wait_for(CLIENT, CUSTOMER, next_question, after=n)
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "跳过")
    await f.wait_for(CLIENT, CUSTOMER, "感谢您对预约", after=n)
    _, survey = await asyncio.to_thread(_rows, tg)
    assert (survey.status, survey.attitude, survey.skill, survey.result, survey.step) == ("answered", 5, 4, 5, None)
    assert survey.sent_at is not None and survey.answered_at is not None
    assert isinstance(survey.answered_at, datetime)
