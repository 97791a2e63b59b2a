"""A deactivated housekeeper on the real staff bot: refused politely, her offer goes to the next one."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.telegram.conftest import HK_A, HK_B, STAFF, Env
from tests.telegram.test_telegram import _ask, book_via_telegram


async def call(fn: Any, *args: Any) -> Any:
    """Backend calls off the event loop: the bots' turns on the loop must keep running meanwhile."""
    return await asyncio.to_thread(fn, *args)


async def bind(tg: Env, code: str, chat: int) -> str:
    person = await call(tg.app.backend.staff_by_code, code)
    token = await call(tg.app.backend.create_invite, person.kind, person.id)
    await tg.staff_says(f"/start {token}", chat)
    await tg.fake.wait_for(STAFF, chat, "欢迎")
    return await call(tg.app.backend.create_invite, person.kind, person.id)  # a spare, unused invitation


async def test_a_deactivated_housekeeper_gets_a_polite_refusal(tg: Env) -> None:
    spare_invite = await bind(tg, "HKA", HK_A)
    await bind(tg, "HKB", HK_B)
    await book_via_telegram(tg)
    await tg.fake.wait_for(STAFF, HK_A, "新订单 #")
    accept = dict(tg.fake.buttons(STAFF, HK_A))["接单"]

    r = await call(tg.app.backend.deactivate_staff, "HKA")
    assert len(r["offers_moved"]) == 1 and r["identities_removed"] == 2  # Telegram and REST
    await tg.fake.wait_for(STAFF, HK_B, "新订单 #")  # the next candidate has her offer

    assert "仅供公司员工使用" in await _ask(tg, "/today", HK_A)
    n = tg.sent(STAFF, HK_A)
    await tg.fake.tap(STAFF, HK_A, accept)  # her old Accept button
    await tg.fake.wait_for(STAFF, HK_A, "仅供公司员工使用", after=n)
    assert "仅供公司员工使用" in await _ask(tg, f"/start {spare_invite}", HK_A)  # an old invitation is void
    assert "欢迎" not in "".join(tg.fake.texts(STAFF, HK_A)[n:])
    assert (await call(tg.app.backend.booking, 1))["status"] == "offered"
    assert await call(tg.app.backend.identify, "telegram_staff", str(HK_A)) is None
