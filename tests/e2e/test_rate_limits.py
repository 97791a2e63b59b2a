"""Rate limits and quotas: a flood gets a polite "slow down" and costs no database writes.

REST per sender and per client address (X-Forwarded-For believed only from trusted proxies), Telegram
per platform sender after the webhook secret, limits shared by two front desks through a real Redis,
and the cap on escalations one client can open in an hour.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select, text

from backend.api import DomainError
from backend.orm import Escalation
from tests.conftest import fresh_postgres
from tests.conftest import make_app as make_frontdesk
from tests.e2e.conftest import API_KEY, Chat, secure, serve
from tests.e2e.conftest import text as reply_text

URL = "/webhooks/rest"
COUNTED = ("conversations", "processed_messages", "clients", "identities", "notifications", "escalations")


def rows(app: Any) -> dict[str, int]:
    with app.backend.db.engine.connect() as c:
        return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


@pytest.fixture
def desk(tmp_path: Path, trained_model: Path, db_url: str) -> Callable[..., AsyncIterator[Chat]]:
    """A front desk factory with the given limits, on SQLite or PostgreSQL."""
    import contextlib

    @contextlib.asynccontextmanager
    async def start(sub: str = "a", redis_url: str | None = None, trusted: list[str] | None = None,
                    **limits: str) -> AsyncIterator[Chat]:
        url = db_url if sub == "a" else (f"sqlite:///{tmp_path / sub}.db" if db_url.startswith("sqlite")
                                         else fresh_postgres(db_url))
        app = secure(make_frontdesk(tmp_path / sub, url, model=trained_model, roster=sub == "a"), **limits)
        app.settings.redis_url = redis_url
        app.settings.auth.trusted_proxies = trusted or []
        server = await serve(app, telegram=False)
        try:
            async with ClientSession() as http:
                yield Chat(app, http, str(server.make_url("")).rstrip("/"))
        finally:
            await server.close()
            app.backend.db.dispose()

    return start


async def post(chat: Chat, body: dict[str, Any], headers: dict[str, str], path: str = "/webhook") -> tuple[int, Any]:
    async with chat.http.post(chat.base + URL + path, json=body, headers=headers) as r:
        return r.status, (await r.json(), r.headers)


async def test_per_sender_limit_answers_politely_and_writes_nothing(desk: Any) -> None:
    async with desk(rest_per_sender="3/minute") as chat:
        key = {"X-Api-Key": API_KEY}
        for _ in range(3):
            assert (await post(chat, {"sender": "flood", "message": "你好"}, key))[0] == 200
        before = rows(chat.app)
        statuses = []
        for i in range(20):
            status, (body, headers) = await post(chat, {"sender": "flood", "message": f"你好{i}",
                                                        "message_id": f"m{i}"}, key)
            statuses.append(status)
        assert set(statuses) == {429}
        assert "稍等" in body["message"]["zh"] and "wait" in body["message"]["en"]
        assert int(headers["Retry-After"]) >= 1
        assert rows(chat.app) == before  # the flood cost no database writes
        # other senders are not affected
        assert (await post(chat, {"sender": "calm", "message": "你好"}, key))[0] == 200


async def test_per_address_limit_believes_forwarded_for_only_from_trusted_proxies(desk: Any) -> None:
    async def sessions_until_refused(chat: Chat, xff: list[str]) -> list[int]:
        out = []
        for hop in xff:
            status, _ = await post(chat, {}, {"X-Forwarded-For": hop}, "/session")
            out.append(status)
        return out

    # Not behind a trusted proxy: X-Forwarded-For is a claim, every request counts for 127.0.0.1.
    async with desk("a", sessions_per_address="3/hour") as chat:
        assert await sessions_until_refused(chat, ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]) == [200] * 3 + [429]
    # Behind a trusted proxy: the right-most hop the proxy saw is the client; a forged left part does not help.
    async with desk("b", sessions_per_address="3/hour", trusted=["127.0.0.1/32"]) as chat:
        assert await sessions_until_refused(chat, ["1.1.1.1", "9.9.9.9, 1.1.1.1", "8.8.8.8,1.1.1.1",
                                                   "7.7.7.7, 1.1.1.1", "2.2.2.2"]) == [200] * 3 + [429, 200]
        # per-address limits apply to messages too, before authentication
        s = (await post(chat, {}, {"X-Forwarded-For": "5.5.5.5"}, "/session"))[1][0]
    async with desk("c", rest_per_address="4/minute", trusted=["127.0.0.0/8"]) as chat:
        statuses = []
        for i in range(6):
            st, _ = await post(chat, {"message": "你好"}, {"Authorization": f"Bearer bogus-{i}",
                                                         "X-Forwarded-For": "6.6.6.6"})
            statuses.append(st)
        assert statuses == [401] * 4 + [429] * 2  # guessing tokens is limited as well
        assert s["token"]


async def test_limits_are_shared_by_two_front_desks_through_redis(desk: Any, redis_url: str) -> None:
    sender = "shared-" + uuid.uuid4().hex[:8]
    key = {"X-Api-Key": API_KEY}
    async with desk("a", redis_url=redis_url, rest_per_sender="4/minute") as a, \
            desk("b", redis_url=redis_url, rest_per_sender="4/minute") as b:
        got = []
        for chat in (a, b, a, b, a, b):
            got.append((await post(chat, {"sender": sender, "message": "你好"}, key))[0])
        assert got == [200, 200, 200, 200, 429, 429]


async def test_a_client_opens_at_most_the_capped_number_of_escalations_an_hour(desk: Any) -> None:
    async with desk() as chat:
        chat.app.backend.ctx.escalations_per_client_hour = 2
        answers = [reply_text(await chat.say("转人工", "needy")) for _ in range(4)]
        assert "经理" in answers[0] or "人工" in answers[0]
        client = chat.app.backend.identify("rest", "needy").id
        with chat.app.backend.db.uow() as s:
            count = s.scalar(select(func.count(Escalation.id)).where(Escalation.client_id == client))
        assert count == 1  # asking again joins the open request (issue 8): one case, never four
        chat.app.backend.open_case("complaint", client, None, by_client=True, text="one")
        with pytest.raises(DomainError, match="escalation_limit"):  # a third new matter within the hour
            chat.app.backend.open_case("customization", client, None, by_client=True, text="two")
        chat.app.clock.advance(minutes=61)  # an hour later the client may open another
        chat.app.backend.open_case("customization", client, None, by_client=True, text="two")
        with chat.app.backend.db.uow() as s:
            assert s.scalar(select(func.count(Escalation.id)).where(Escalation.client_id == client)) == 3
        # the system's own escalations are never capped
        for _ in range(3):
            chat.app.backend.escalate("unassigned", client_id=client)


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_telegram_updates_are_limited_per_sender_after_the_secret(tmp_path: Path, trained_model: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        mode: str) -> None:
    from tests.telegram import conftest as tgc

    monkeypatch.setattr(tgc, "make_frontdesk", lambda *a, **k: secure(make_frontdesk(*a, **k),
                                                                         platform_per_sender="3/minute"))
    env = await tgc.start_env(tmp_path, trained_model, mode=mode)
    try:
        f = env.fake
        if mode == "webhook":
            url, _ = f.bots[tgc.CLIENT].webhook
            update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"},
                                                  "from": {"id": 42, "is_bot": False, "first_name": "x"},
                                                  "text": "你好"}}
            for i in range(10):  # forged updates are refused before they count against anybody
                assert await f.post_webhook(url, {**update, "update_id": 100 + i}, "wrong") == 403
        for _ in range(3):
            await env.client_says("你好", chat=42)
        await f.wait_for(tgc.CLIENT, 42, "家政服务前台")
        await asyncio.sleep(0.5)
        before, sent = rows(env.app), len(f.texts(tgc.CLIENT, 42))
        for i in range(15):
            await env.client_says(f"你好{i}", chat=42)
        await f.wait_for(tgc.CLIENT, 42, "稍等", after=sent)
        await asyncio.sleep(0.5)
        later = f.texts(tgc.CLIENT, 42)[sent:]
        assert len(later) == 1 and "稍等" in later[0]  # one polite word per window, nothing else
        assert rows(env.app) == before
        await env.client_says("你好", chat=43)  # another chat is not affected
        await f.wait_for(tgc.CLIENT, 43, "家政服务前台")
        # the staff bot counts per chat as well
        for i in range(6):
            await env.staff_says(f"/help {i}", chat=77)
        await f.wait_for(tgc.STAFF, 77, "稍等")
    finally:
        await env.server.close()
        await env.fake.stop()
        env.app.backend.db.dispose()
