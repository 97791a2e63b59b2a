"""The front desk with its WeChat Official Account channel against a fake WeChat platform on 127.0.0.1
(tests/fake_wechat.py), and the staff on the Telegram staff bot against the fake Telegram server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backend.services import staff
from bot.server import make_app
from config.settings import TelegramSettings, WeChatSettings, WeComSettings
from tests.conftest import make_app as make_frontdesk
from tests.fake_telegram import FakeTelegram
from tests.fake_wechat import (
    AGENT_ID,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    FakeWeChat,
    FakeWeChatUser,
    Reply,
)
from tests.telegram.conftest import ROSTER, STAFF
from tests.wechat.wecom_conftest import AES_KEY as WECOM_KEY
from tests.wechat.wecom_conftest import TOKEN as WECOM_TOKEN
from tests.wechat.wecom_conftest import WeComEnv

TOKEN = "wechat-callback-token-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console makes them
OPENID = "oClient00000000000000000001"
REMINDER = "TPL-REMINDER-0001"


@dataclass
class Env:
    wx: FakeWeChat
    tg: FakeTelegram
    app: Any
    server: TestServer
    user: FakeWeChatUser

    def person(self, openid: str = OPENID, mode: str = "safe") -> FakeWeChatUser:
        return FakeWeChatUser(str(self.server.make_url("/")).rstrip("/"), token=TOKEN, app_id=APP_ID,
                              aes_key=AES_KEY, mode=mode, openid=openid)

    async def says(self, text: str, user: FakeWeChatUser | None = None) -> Reply:
        return await (user or self.user).text(text)

    async def hears(self, text: str, user: FakeWeChatUser | None = None) -> str:
        """What the client read in answer: the passive reply, or, when a loaded machine made the turn
        outlast the reply budget, the customer-service message the app sends instead."""
        user = user or self.user
        before = len(self.wx.texts(user.openid))
        said = await user.text(text)
        return said.text if said.text is not None else await self.wx.wait_for(user.openid, "", after=before)

    @property
    def wecom(self) -> WeComEnv:
        """The staff side, with the WeCom helpers of tests/wechat/wecom_conftest.py (same app and server)."""
        return WeComEnv(self.wx, self.app, self.server, None)  # type: ignore[arg-type]

    async def bind(self, code: str, chat: int) -> None:
        person = await asyncio.to_thread(self.app.backend.staff_by_code, code)
        token = await asyncio.to_thread(self.app.backend.create_invite, person.kind, person.id)
        await self.tg.send_text(STAFF, chat, f"/start {token}")
        await self.tg.wait_for(STAFF, chat, "欢迎")


async def start_env(tmp_path: Path, trained_model: Path, db_url: str | None = None, budget: float = 2.0,
                    **wechat: Any) -> Env:
    wx, tg = FakeWeChat(), FakeTelegram()
    tg.add_bot(STAFF, "frontdesk_staff_bot")
    wx_base, tg_base = await wx.start(), await tg.start()
    app = make_frontdesk(tmp_path, db_url=db_url, model=trained_model, roster=False)
    app.backend.import_staff([staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(ROSTER, 1)])
    app.settings.telegram = TelegramSettings(staff_token=STAFF, api_base=tg_base, per_chat_interval=0.01,
                                             per_second=500, polling_timeout=1)
    settings: dict[str, Any] = {
        "app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY,
        "api_base": wx_base, "reply_budget_seconds": budget,
        "templates": {"job_reminder_client": {"template_id": REMINDER,
                                                     "fields": {"thing1": "{text}", "thing2": "{reply_hint}"}}}}
    app.settings.wechat = WeChatSettings(**{**settings, **wechat})
    app.settings.wecom = WeComSettings(corp_id=CORP_ID, agent_id=AGENT_ID, secret=CORP_SECRET, token=WECOM_TOKEN,
                                       encoding_aes_key=WECOM_KEY, api_base=wx_base)
    server = TestServer(make_app(app), host="127.0.0.1")
    await server.start_server()
    env = Env(wx, tg, app, server, None)  # type: ignore[arg-type]
    env.user = env.person()
    return env


async def stop_env(env: Env) -> None:
    await env.server.close()
    await env.wx.stop()
    await env.tg.stop()
    env.app.backend.db.dispose()


@pytest.fixture
async def wechat(tmp_path: Path, trained_model: Path):
    env = await start_env(tmp_path, trained_model)
    yield env
    await stop_env(env)


@pytest.fixture
async def wechat_db(tmp_path: Path, trained_model: Path, db_url: str):
    """On SQLite and on PostgreSQL: the flows whose clocks and storage matter."""
    env = await start_env(tmp_path, trained_model, db_url=db_url)
    yield env
    await stop_env(env)
