"""The front desk with its WeCom staff channel against the fake WeChat platform on 127.0.0.1: the app's
own HTTP server (bot.server.make_app) with the channel's routes and pusher, and FakeWeComUser members
who sign and encrypt their callbacks like WeCom does. Imported by tests/wechat/test_wecom.py."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.services import staff
from backend.services.bookings import Request
from bot.server import make_app
from bot.wechat.wecom import CHANNEL, WeComChannel
from config.settings import WeComSettings
from tests.conftest import make_app as make_frontdesk
from tests.fake_wechat import AGENT_ID, CORP_ID, CORP_SECRET, FakeWeChat, FakeWeComUser, Reply
from tests.telegram.conftest import ROSTER

TOKEN = "wecom-callback-token-for-tests"
AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"  # 43 characters, as the console makes them
HKA, HKB, MGR = "hk_wang", "hk_li", "mgr_zhou"  # WeCom userids of the roster's HKA, HKB, MGR01
ADDRESS = "朝阳区建国路88号3号楼501"


@dataclass
class WeComEnv:
    wx: FakeWeChat
    app: Any
    server: TestServer
    ch: WeComChannel
    members: dict[str, FakeWeComUser] = field(default_factory=dict)

    def member(self, userid: str) -> FakeWeComUser:
        if userid not in self.members:
            self.members[userid] = FakeWeComUser(str(self.server.make_url("/")).rstrip("/"), token=TOKEN,
                                                 aes_key=AES_KEY, userid=userid)
        return self.members[userid]

    async def says(self, userid: str, text: str) -> Reply:
        return await self.member(userid).text(text)

    async def bind(self, code: str, userid: str) -> None:
        person = await asyncio.to_thread(self.app.backend.staff_by_code, code)
        token = await asyncio.to_thread(self.app.backend.create_invite, person.kind, person.id)
        n = len(self.wx.texts(userid))
        await self.says(userid, f"/start {token}")
        await self.wx.wait_for(userid, "欢迎", after=n)

    def cards(self, userid: str) -> list[dict[str, Any]]:
        """Template cards sent to ``userid``, oldest first, with their response codes."""
        return [{**s["payload"]["template_card"], "response_code": s["response_code"]}
                for s in self.wx.to(userid, "wecom_card")]

    async def card(self, userid: str, needle: str, timeout: float = 15.0) -> dict[str, Any]:
        """The latest card to ``userid`` whose title has ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c for c in self.cards(userid) if needle in c["main_title"]["title"]]
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no card with {needle!r} to {userid}; got {self.wx.texts(userid)}")

    async def click(self, userid: str, card: dict[str, Any], title: str) -> Reply:
        """A tap on the card's button ``title``: WeCom sends a template_card_event with a new code."""
        key = next(b["key"] for b in card["button_list"] if b["text"] == title)
        code = f"RC-click-{secrets.token_urlsafe(16)}"
        self.wx.cards[code] = {"to": userid, "card": card, "used": False}  # the platform issued it
        return await self.member(userid).card_click(card["task_id"], key, code)

    def updates(self, userid: str) -> list[dict[str, Any]]:
        return [s["payload"] for s in self.wx.to(userid, "update_card")]

    async def book(self, days: int = 3, web_id: str = "web-visitor-1") -> tuple[int, int]:
        """A booking placed through the backend API (as the REST widget does): (client id, booking id)."""
        be = self.app.backend
        cid = (await asyncio.to_thread(be.client_for, "rest", web_id, "zh")).id
        await asyncio.to_thread(be.set_client, cid, phone="13812345678", address=ADDRESS)
        start = be.now.astimezone(be.ctx.tz).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=days)
        b = await asyncio.to_thread(be.book, cid, Request("cleaning", start, hours=3, address=ADDRESS,
                                                          district="朝阳区"))
        return cid, b["id"]


async def start_wecom(tmp_path: Path, trained_model: Path, db_url: str | None = None,
                      **channel: Any) -> WeComEnv:
    wx = FakeWeChat()
    base = await wx.start()
    app = make_frontdesk(tmp_path, db_url=db_url, model=trained_model, roster=False)
    app.backend.import_staff([staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(ROSTER, 1)])
    cfg = WeComSettings(corp_id=CORP_ID, agent_id=AGENT_ID, secret=CORP_SECRET, token=TOKEN,
                        encoding_aes_key=AES_KEY, api_base=base, timeout_seconds=5)
    # The settings stay off app.settings.wecom, so bot.server never wires a second channel of its own.
    ch = WeComChannel(app, cfg=cfg, **channel)
    web_app = make_app(app, pushers={CHANNEL: ch.push}, telegram=False)
    ch.routes(web_app)

    async def close(_: web.Application) -> None:
        await ch.close()

    web_app.on_cleanup.append(close)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    return WeComEnv(wx, app, server, ch)


async def stop_wecom(env: WeComEnv) -> None:
    await env.server.close()
    await env.wx.stop()
    env.app.backend.db.dispose()


@pytest.fixture
async def wecom(tmp_path: Path, trained_model: Path):
    env = await start_wecom(tmp_path, trained_model)
    yield env
    await stop_wecom(env)


@pytest.fixture
async def wecom_db(tmp_path: Path, trained_model: Path, db_url: str):
    """On SQLite and on PostgreSQL: the card codes' storage and the outbox's edit path."""
    env = await start_wecom(tmp_path, trained_model, db_url=db_url)
    yield env
    await stop_wecom(env)
