from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backend.services import staff
from bot.server import make_app
from config.settings import TelegramSettings
from tests.conftest import make_app as make_frontdesk
from tests.fake_telegram import FakeTelegram

CLIENT = "111111:CLIENT-TOKEN"
STAFF = "222222:STAFF-TOKEN"
SECRET = "s3cret-token_for-tests"
FAR = "2028-01-01"
ROSTER = [
    {"code": "HKA", "name": "王阿姨", "phone": "13900000101", "skills": ["cleaning"], "rating": 4.9,
     "days": "mon;tue;wed;thu;fri;sat;sun", "hours": "07:00-21:00", "certificates": [f"health:{FAR}"]},
    {"code": "HKB", "name": "李阿姨", "phone": "13900000102", "skills": ["cleaning"], "rating": 4.5,
     "days": "mon;tue;wed;thu;fri;sat;sun", "hours": "07:00-21:00", "certificates": [f"health:{FAR}"]},
    {"code": "MGR01", "role": "manager", "name": "周经理", "phone": "13800000001"},
]
HK_A, HK_B, MANAGER, CUSTOMER = 601, 602, 701, 501


@dataclass
class Env:
    fake: FakeTelegram
    app: Any
    server: TestServer

    async def client_says(self, text: str, chat: int = CUSTOMER, lang: str = "zh") -> None:
        await self.fake.send_text(CLIENT, chat, text, lang)

    async def staff_says(self, text: str, chat: int) -> None:
        await self.fake.send_text(STAFF, chat, text)

    def sent(self, token: str, chat: int) -> int:
        return len(self.fake.texts(token, chat))

    async def bind(self, code: str, chat: int) -> None:
        # Off the loop: a turn in flight holds the database until the loop lets it finish.
        person = await asyncio.to_thread(self.app.backend.staff_by_code, code)
        token = await asyncio.to_thread(self.app.backend.create_invite, person.kind, person.id)
        await self.staff_says(f"/start {token}", chat)
        await self.fake.wait_for(STAFF, chat, "欢迎")

    async def tap(self, token: str, chat: int, title: str) -> None:
        data = dict(self.fake.buttons(token, chat))[title]
        await self.fake.tap(token, chat, data)


async def start_env(tmp_path: Path, trained_model: Path, mode: str = "polling") -> Env:
    fake = FakeTelegram()
    fake.add_bot(CLIENT, "frontdesk_client_bot")
    fake.add_bot(STAFF, "frontdesk_staff_bot")
    base = await fake.start()
    app = make_frontdesk(tmp_path, model=trained_model, roster=False)
    app.backend.import_staff([staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(ROSTER, 1)])
    server = TestServer(make_app(app, telegram=False), host="127.0.0.1")  # placeholder to learn the port
    await server.start_server()
    port = server.port
    await server.close()
    app.settings.telegram = TelegramSettings(
        client_token=CLIENT, staff_token=STAFF, api_base=base, mode=mode, per_chat_interval=0.01, per_second=500,
        polling_timeout=1, webhook_base_url=f"http://127.0.0.1:{port}", webhook_secret=SECRET)
    server = TestServer(make_app(app), host="127.0.0.1", port=port)
    await server.start_server()
    return Env(fake, app, server)


@pytest.fixture
async def tg(tmp_path: Path, trained_model: Path):
    env = await start_env(tmp_path, trained_model)
    yield env
    await env.server.close()
    await env.fake.stop()
    env.app.backend.db.dispose()


@pytest.fixture
async def tg_webhook(tmp_path: Path, trained_model: Path):
    env = await start_env(tmp_path, trained_model, mode="webhook")
    yield env
    await env.server.close()
    await env.fake.stop()
    env.app.backend.db.dispose()
