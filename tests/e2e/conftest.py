from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from backend.orm import Offer
from bot.server import make_app
from tests.conftest import make_app as make_frontdesk


class Chat:
    """A real HTTP client talking to the front desk's REST channel on 127.0.0.1."""

    def __init__(self, app: Any, session: ClientSession, base: str) -> None:
        self.app, self.http, self.base = app, session, base

    async def say(self, text: str, sender: str = "client-1", **extra: Any) -> list[dict[str, Any]]:
        async with self.http.post(f"{self.base}/webhooks/rest/webhook",
                                  json={"sender": sender, "message": text, **extra}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        assert all(m["recipient_id"] == sender for m in body)
        return body

    async def inbox(self, sender: str, wait: float = 0) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/webhooks/rest/messages",
                                 params={"sender": sender, "wait": str(wait)}) as r:
            assert r.status == 200
            return await r.json()

    def token(self, code: str) -> str:
        return self.app.tokens[code]

    def offer_for(self, booking_id: int) -> tuple[int, str]:
        """(offer id, REST sender id of the housekeeper it went to) of the booking's pending offer."""
        with self.app.backend.db.uow() as s:
            o = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))
            assert o is not None, "no pending offer"
            offer_id, hk_id = o.id, o.housekeeper_id
        return offer_id, self.app.backend.rest_id_of("housekeeper", hk_id)

    def tick(self, minutes: float) -> int:
        self.app.clock.advance(minutes=minutes)
        return self.app.backend.run_due_timers()


def text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [b for r in replies for b in r.get("buttons") or []]


@pytest.fixture
async def chat(tmp_path: Path, trained_model: Path):
    app = make_frontdesk(tmp_path, model=trained_model)
    server = TestServer(make_app(app, workers=False), host="127.0.0.1")
    await server.start_server()
    async with ClientSession() as session:
        yield Chat(app, session, str(server.make_url("")).rstrip("/"))
    await server.close()
    app.backend.db.dispose()
