"""Exactly once over the real REST channel: retried deliveries, double taps and a turn that fails."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from backend import testhooks
from backend.orm import Booking, Notification
from tests.e2e.conftest import Chat, text

CLEANING = ("我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有")


async def up_to_summary(chat: Chat, sender: str) -> None:
    for i, words in enumerate(CLEANING):
        out = await chat.say(words, sender, message_id=f"{sender}-{i}")
    assert "150元" in text(out)


def bookings(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Booking)) or 0


def offers_sent(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Notification)
                        .where(Notification.template == "offer_new")) or 0


async def test_a_double_tap_on_confirm_books_once(chat: Chat) -> None:
    await up_to_summary(chat, "tap")
    first, second = await asyncio.gather(chat.say("/affirm", "tap", message_id="t1"),
                                         chat.say("/affirm", "tap", message_id="t2"))
    confirmations = [r for r in (text(first), text(second)) if re.search(r"预约单 #\d+ 已提交", r)]
    assert len(confirmations) == 1, (text(first), text(second))
    # the other tap is told the booking is already in, not shown the menu
    assert any("已经提交过了" in r for r in (text(first), text(second)))
    assert bookings(chat) == 1 and offers_sent(chat) == 1


async def test_a_retried_delivery_is_answered_once(chat: Chat) -> None:
    await up_to_summary(chat, "retry")
    answer = await chat.say("/affirm", "retry", message_id="confirm")
    assert re.search(r"#\d+", text(answer))
    assert await chat.say("/affirm", "retry", message_id="confirm") == answer  # the retry: same answer, no rerun
    assert "已经提交过了" in text(await chat.say("/affirm", "retry", message_id="tap-2"))  # a second tap
    assert "请问" in text(await chat.say("/affirm", "retry", message_id="tap-3"))  # then the menu again
    assert bookings(chat) == 1 and offers_sent(chat) == 1


async def test_a_turn_that_fails_is_processed_when_retried(chat: Chat, monkeypatch) -> None:
    await up_to_summary(chat, "crash")
    hit: list[str] = []

    def crash(point: str) -> None:
        if point == "mid_turn" and not hit:
            hit.append(point)
            raise RuntimeError("dies before commit")

    monkeypatch.setattr(testhooks, "crash_point", crash)
    assert "系统出了点问题" in text(await chat.say("/affirm", "crash", message_id="confirm"))
    assert hit and bookings(chat) == 0 and offers_sent(chat) == 0
    assert re.search(r"#\d+", text(await chat.say("/affirm", "crash", message_id="confirm")))
    assert bookings(chat) == 1 and offers_sent(chat) == 1


async def test_the_same_message_id_from_two_senders_is_two_messages(chat: Chat) -> None:
    a = await chat.say("你好", "ann", message_id="1")
    b = await chat.say("你好", "ben", message_id="1")
    assert text(a) and text(a) == text(b)
    assert await chat.say("你好", "ann", message_id="1") == a
