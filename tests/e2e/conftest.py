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

API_KEY = "test-api-key-" + "k" * 24
SESSION_SECRET = "test-session-secret-" + "s" * 24


class Chat:
    """A real HTTP client talking to the front desk's REST channel on 127.0.0.1.

    Clients are spoken for by a trusted back end (API key); a staff member speaks with her own Bearer
    token: pass her token (or "staff:CODE") as the sender."""

    def __init__(self, app: Any, session: ClientSession, base: str) -> None:
        self.app, self.http, self.base = app, session, base
        self.unacked: dict[str, list[int]] = {}

    def identity(self, sender: str) -> tuple[str, dict[str, str]]:
        """(sender id the server will use, headers proving it)."""
        tokens: dict[str, str] = getattr(self.app, "tokens", {}) or {}
        if sender.startswith("staff:"):
            return sender, {"Authorization": f"Bearer {tokens[sender[6:]]}"}
        code = next((c for c, t in tokens.items() if t == sender), None)
        if code is not None or sender.startswith("fds_"):
            return f"staff:{code}", {"Authorization": f"Bearer {sender}"}
        return sender, {"X-Api-Key": API_KEY}

    async def say(self, text: str, sender: str = "client-1", **extra: Any) -> list[dict[str, Any]]:
        who, headers = self.identity(sender)
        async with self.http.post(f"{self.base}/webhooks/rest/webhook", headers=headers,
                                  json={"sender": who, "message": text, **extra}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        assert all(m["recipient_id"] == who for m in body)
        return body

    async def inbox(self, sender: str, wait: float = 0) -> list[dict[str, Any]]:
        """New proactive messages; what the previous call received is acknowledged by this one."""
        who, headers = self.identity(sender)
        params = {"sender": who, "wait": str(wait)}
        if self.unacked.get(who):
            params["ack"] = ",".join(map(str, self.unacked[who]))
        async with self.http.get(f"{self.base}/webhooks/rest/messages", headers=headers, params=params) as r:
            assert r.status == 200, await r.text()
            got = await r.json()
        self.unacked[who] = [m["id"] for m in got if m.get("id") is not None]
        return got

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


def secure(app: Any, **limits: str) -> Any:
    """The REST channel's secrets as a deployment sets them (environment), and generous limits for tests
    that are not about limits."""
    app.settings.auth.api_key = API_KEY
    app.settings.auth.session_secret = SESSION_SECRET
    app.settings.rate_limits = app.settings.rate_limits.model_copy(update={
        "rest_per_sender": "1000/minute", "rest_per_address": "5000/minute", "sessions_per_address": "1000/hour",
        **limits})
    return app


async def serve(app: Any, **kwargs: Any) -> TestServer:
    server = TestServer(make_app(app, workers=False, **kwargs), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def chat(tmp_path: Path, trained_model: Path):
    app = secure(make_frontdesk(tmp_path, model=trained_model))
    server = await serve(app)
    async with ClientSession() as session:
        yield Chat(app, session, str(server.make_url("")).rstrip("/"))
    await server.close()
    app.backend.db.dispose()


@pytest.fixture
async def chat_db(tmp_path: Path, trained_model: Path, db_url: str):
    """The `chat` fixture on SQLite and PostgreSQL (the `db_url` parameter)."""
    app = secure(make_frontdesk(tmp_path, db_url=db_url, model=trained_model))
    server = await serve(app)
    async with ClientSession() as session:
        yield Chat(app, session, str(server.make_url("")).rstrip("/"))
    await server.close()
    app.backend.db.dispose()


# The fake Telegram Bot API with both bots, for the end-to-end tests where buttons matter.
from tests.telegram.conftest import tg  # noqa: E402, F401


def one_cook(chat: Chat) -> None:
    """Only HK029 cooks (Wednesday to Sunday): one housekeeper for a visit service, as the single butler was
    before a butler became a long-term placement (issue 12)."""
    from backend.orm import Housekeeper

    with chat.app.backend.db.uow() as s:
        for h in s.scalars(select(Housekeeper)):
            if "cooking" in h.skills and h.code != "HK029":
                h.skills = [x for x in h.skills if x != "cooking"]
