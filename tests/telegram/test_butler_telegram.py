"""The butler's clock on Telegram, through both real bots and the fake Bot API server: a butler client's
"客厅漏水了" offered to the butler, one tap, the butler's alert on the staff bot with 已到场 / 发方案, her
已到场 tap, and the client told she is there; then her plan typed after tapping 发方案 reaches the client."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.orm import ButlerRequest, Placement
from backend.services import staff
from tests.telegram.conftest import CLIENT, CUSTOMER, FAR, STAFF, Env

TZ = ZoneInfo("Asia/Shanghai")
BUTLER_CHAT = 603
BUTLER = {"code": "HKC", "name": "陈管家", "phone": "13900000103", "skills": ["butler"], "rating": 4.8,
          "days": "mon;tue;wed;thu;fri;sat;sun", "hours": "07:00-21:00", "certificates": [f"health:{FAR}"]}


def give_butler(tg: Env, client_chat: int) -> int:
    """The Telegram client gets an active butler placement with 陈管家: the client's id."""
    be = tg.app.backend
    person = be.identify("telegram", str(client_chat))
    assert person is not None
    hk = be.staff_by_code("HKC")
    start = be.now.astimezone(TZ).date() - timedelta(days=2)
    with be.db.uow() as s:
        s.add(Placement(client_id=person.id, service="butler", status="active", start_date=start,
                        end_date=start + timedelta(days=89), term_days=90, housekeeper_id=hk.id))
    be.set_client(person.id, phone="13812345678", address="朝阳区建国路88号")
    return person.id


async def test_butler_alert_and_her_onsite_tap_on_the_staff_bot(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await asyncio.to_thread(be.import_staff, [staff.parse_row(1, BUTLER, be.catalogue)])
    await tg.bind("HKC", BUTLER_CHAT)
    await tg.client_says("/start")
    await f.wait_for(CLIENT, CUSTOMER, "家政服务前台")
    client_id = await asyncio.to_thread(give_butler, tg, CUSTOMER)
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.client_says("客厅漏水了")
    await f.wait_for(CLIENT, CUSTOMER, "交给管家", after=n)
    assert [t for t, _ in f.buttons(CLIENT, CUSTOMER)] == ["交给管家", "不用"]
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.tap(CLIENT, CUSTOMER, "交给管家")
    promise = await f.wait_for(CLIENT, CUSTOMER, "15分钟内", after=n)
    assert "60分钟内" in promise
    alert = await f.wait_for(STAFF, BUTLER_CHAT, "管家请求 #")
    assert "客厅漏水了" in alert and "13812345678" in alert and "建国路88号" in alert
    assert [t for t, _ in f.buttons(STAFF, BUTLER_CHAT)] == ["已到场", "发方案"]
    n_staff, n = tg.sent(STAFF, BUTLER_CHAT), tg.sent(CLIENT, CUSTOMER)
    await tg.tap(STAFF, BUTLER_CHAT, "已到场")
    await f.wait_for(STAFF, BUTLER_CHAT, "已通知客户", after=n_staff)
    await f.wait_for(CLIENT, CUSTOMER, "已到场处理您的请求", after=n)
    with be.db.uow() as s:
        r = s.scalar(select(ButlerRequest).where(ButlerRequest.client_id == client_id))
        assert r.status == "on_site" and r.onsite_at is not None
    n_staff, n = tg.sent(STAFF, BUTLER_CHAT), tg.sent(CLIENT, CUSTOMER)
    await tg.tap(STAFF, BUTLER_CHAT, "发方案")
    await f.wait_for(STAFF, BUTLER_CHAT, "请直接回复", after=n_staff)
    await tg.staff_says("已关闭总阀，水电师傅下午两点上门维修，预计四点前修好", BUTLER_CHAT)
    await f.wait_for(STAFF, BUTLER_CHAT, "方案已发给客户", after=n_staff)
    plan = await f.wait_for(CLIENT, CUSTOMER, "处理方案", after=n)
    assert "已关闭总阀" in plan
