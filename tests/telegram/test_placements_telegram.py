"""A 月嫂 placement on Telegram, end to end through the real library and the fake Bot API server: the
client asks in the client bot, the maternity nurses get the willingness card on the staff bot and one taps
愿意, the client gets the shortlist card (no phone, no address) and chooses her with two taps."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from backend.orm import Placement
from backend.services import staff
from tests.telegram.conftest import CLIENT, CUSTOMER, FAR, STAFF, Env

NURSE_A, NURSE_B = 603, 604
CHECKED = "2026-06-01"
NURSES = [
    {"code": f"HKM{i}", "name": name, "phone": f"1390000020{i}", "skills": ["maternity_nurse"], "rating": rating,
     "days": "mon;tue;wed;thu;fri;sat;sun", "hours": "07:00-21:00", "districts": ["朝阳区"],
     "certificates": [f"health:{FAR}:JK2000{i}", f"maternity:{FAR}:ZS2000{i}"], "birth_year": 1980 + i,
     "experience_years": 8 + i, "identity_checked": f"{CHECKED}/周经理", "background": f"{CHECKED}:clear",
     "insurance": f"accident:PA2000{i}:{FAR};liability:LB2000{i}:{FAR}", "training_hours": 60,
     "assessment": "2026-10-20:pass"}
    for i, (name, rating) in enumerate((("孙阿姨", 4.9), ("周阿姨", 4.6)), 1)]


def _placement(tg: Env) -> Placement | None:
    with tg.app.backend.db.read() as s:
        pl = s.scalars(select(Placement).order_by(Placement.id.desc())).first()
        if pl is not None:
            s.expunge(pl)
        return pl


async def step(tg: Env, say: str, expect: str, chat: int = CUSTOMER) -> str:
    n = tg.sent(CLIENT, chat)
    await tg.client_says(say, chat)
    return await tg.fake.wait_for(CLIENT, chat, expect, after=n)


async def test_nurse_taps_willing_on_the_staff_bot_and_the_client_chooses_from_the_shortlist(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await asyncio.to_thread(be.import_staff, [staff.parse_row(i, r, be.catalogue) for i, r in enumerate(NURSES, 10)])
    await tg.bind("HKM1", NURSE_A)
    await tg.bind("HKM2", NURSE_B)
    await tg.client_says("/start")
    await f.wait_for(CLIENT, CUSTOMER, "家政服务前台")
    await step(tg, "我想请个月嫂，预产期是1月15日", "需要多长时间")
    await step(tg, "26天", "有什么要求")
    await step(tg, "没有", "地址")
    await step(tg, "朝阳区建国路88号3号楼501", "手机号")
    n = tg.sent(CLIENT, CUSTOMER)
    await f.send_contact(CLIENT, CUSTOMER, "+86 138 1234 5678")
    summary = await f.wait_for(CLIENT, CUSTOMER, "确认提交吗", after=n)
    assert "预产期：1月15日" in summary and "押金3000元" in summary
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "确认")
    assert "已询问2位" in await f.wait_for(CLIENT, CUSTOMER, "已提交", after=n)
    pl = await asyncio.to_thread(_placement, tg)
    assert pl is not None and pl.status == "shortlisting"

    # the willingness card on the staff bot, answered with a tap
    card = await f.wait_for(STAFF, NURSE_A, f"#P{pl.id}")
    assert "愿意" in dict(f.buttons(STAFF, NURSE_A)) and "客户" in card
    assert "建国路" not in card  # her card names the district, not the client's address
    n = tg.sent(STAFF, NURSE_A)
    await tg.tap(STAFF, NURSE_A, "愿意")
    await f.wait_for(STAFF, NURSE_A, "愿意接长期服务", after=n)

    # the client's shortlist: her card, no phone, with the buttons to interview or choose
    shown = await f.wait_for(CLIENT, CUSTOMER, "孙")
    assert "从业9年" in shown and "13900000201" not in shown
    titles = [t for t, _ in f.buttons(CLIENT, CUSTOMER)]
    assert {"约面试", "就选她"} <= set(titles), titles
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "就选她")
    await f.wait_for(CLIENT, CUSTOMER, "确定选择孙阿姨", after=n)
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "确定选孙阿姨")
    await f.wait_for(CLIENT, CUSTOMER, "已选定", after=n)
    chosen: Any = await asyncio.to_thread(_placement, tg)
    assert chosen.housekeeper_id == (await asyncio.to_thread(be.staff_by_code, "HKM1")).id
