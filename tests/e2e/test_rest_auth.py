"""Who may talk on the REST channel: public sessions, a trusted back end's API key, staff tokens, CORS.

Everything over real HTTP on 127.0.0.1; the session clock is the front desk's (fake) clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from backend.orm import Client, Identity
from tests.conftest import make_app as make_frontdesk
from tests.e2e.conftest import API_KEY, Chat, secure, serve, text

ORIGIN = "https://shop.example.com"
URL = "/webhooks/rest"


@pytest.fixture
async def rest(tmp_path: Path, trained_model: Path, db_url: str) -> AsyncIterator[Chat]:
    """The whole front desk on SQLite or PostgreSQL, with an allowed browser origin."""
    app = secure(make_frontdesk(tmp_path, db_url, model=trained_model))
    app.settings.auth.cors_origins = [ORIGIN]
    server = await serve(app)
    async with ClientSession() as http:
        yield Chat(app, http, str(server.make_url("")).rstrip("/"))
    await server.close()
    app.backend.db.dispose()


async def call(chat: Chat, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
               params: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json", **(headers or {})} if method == "POST" else (headers or {})
    async with chat.http.request(method, chat.base + URL + path, data=data, headers=hdrs, params=params) as r:
        try:
            payload = await r.json(content_type=None)
        except (json.JSONDecodeError, ValueError):
            payload = None
        return r.status, payload, r.headers


async def new_session(chat: Chat) -> dict[str, str]:
    status, body, _ = await call(chat, "POST", "/session", {})
    assert status == 200, body
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def clients(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count(Client.id)))


async def test_a_public_session_gets_its_own_sender_and_keeps_its_bookings_view(rest: Chat) -> None:
    s = await new_session(rest)
    assert s["sender"].startswith("web-") and s["token"].startswith("v1.") and s["expires_at"]
    status, body, _ = await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(s["token"]))
    assert status == 200 and "家政服务前台" in text(body) and body[0]["recipient_id"] == s["sender"]
    status, body, _ = await call(rest, "POST", "/webhook", {"sender": s["sender"], "message": "我的预约"},
                                 bearer(s["token"]))
    assert status == 200 and "没有进行中的预约" in text(body)
    # Two visitors, two clients: nobody picks a sender id.
    other = await new_session(rest)
    assert other["sender"] != s["sender"]
    before = clients(rest)
    await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(other["token"]))
    assert clients(rest) == before + 1


async def test_missing_tampered_foreign_or_expired_tokens_get_401_and_nothing_is_processed(rest: Chat) -> None:
    a, b = await new_session(rest), await new_session(rest)
    before = clients(rest)
    head, sender, exp, sig = a["token"].split(".")
    forged = ".".join([head, b["token"].split(".")[1], exp, sig])  # b's sender under a's signature
    cases = [
        ({}, {"sender": a["sender"], "message": "你好"}),  # no token: the sender is only a claim
        (bearer(a["token"][:-2] + "xx"), {"message": "你好"}),  # tampered signature
        (bearer(forged), {"message": "你好"}),
        (bearer(".".join([head, sender, str(int(exp) + 10**6), sig])), {"message": "你好"}),  # longer life
        (bearer(a["token"]), {"sender": b["sender"], "message": "你好"}),  # a's token, b's conversation
        (bearer("s1." + a["token"][3:]), {"message": "你好"}),  # a stream token is not a session token
        ({"Authorization": f"Basic {a['token']}"}, {"message": "你好"}),
    ]
    for headers, body in cases:
        status, payload, _ = await call(rest, "POST", "/webhook", body, headers)
        assert status == 401, (headers, status, payload)
        assert payload["error"] and payload["message"]["zh"] and payload["message"]["en"]
    for path in ("/messages", "/stream"):
        status, _, _ = await call(rest, "GET", path, params={"sender": b["sender"], "wait": "0"},
                                  headers=bearer(a["token"]))
        assert status == 401, path
        status, _, _ = await call(rest, "GET", path, params={"sender": a["sender"], "wait": "0"})
        assert status == 401, path
    assert clients(rest) == before  # nothing was processed

    rest.app.clock.advance(days=31)  # past the session's lifetime: a returning visitor starts anew
    status, payload, _ = await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(a["token"]))
    assert status == 401 and "session" in payload["error"]


async def test_sessions_are_renewed_on_use(rest: Chat) -> None:
    s = await new_session(rest)
    _, _, headers = await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(s["token"]))
    assert "X-Session-Token" not in headers  # fresh: nothing to renew
    rest.app.clock.advance(days=20)  # less than half of 30 days left
    status, _, headers = await call(rest, "POST", "/webhook", {"message": "我的预约"}, bearer(s["token"]))
    assert status == 200 and headers["X-Session-Token"] != s["token"]
    renewed = headers["X-Session-Token"]
    rest.app.clock.advance(days=15)  # the first token has expired, the renewed one has not
    assert (await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(s["token"])))[0] == 401
    status, body, _ = await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(renewed))
    assert status == 200 and body[0]["recipient_id"] == s["sender"]  # the same client, still


async def test_stream_takes_only_a_short_lived_stream_token_in_its_url(rest: Chat) -> None:
    s = await new_session(rest)
    status, _, _ = await call(rest, "GET", "/stream", params={"token": s["token"]})
    assert status == 401  # the long-lived session token never goes into a URL
    status, st, _ = await call(rest, "POST", "/stream-token", {}, bearer(s["token"]))
    assert status == 200 and st["token"].startswith("s1.") and st["sender"] == s["sender"]
    async with rest.http.get(f"{rest.base}{URL}/stream", params={"token": st["token"]}) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    status, _, _ = await call(rest, "POST", "/webhook", {"message": "你好"}, bearer(st["token"]))
    assert status == 401  # and a stream token does not send messages
    rest.app.clock.advance(seconds=rest.app.settings.auth.stream_token_seconds + 1)
    assert (await call(rest, "GET", "/stream", params={"token": st["token"]}))[0] == 401


async def test_a_trusted_back_end_speaks_for_any_client_but_never_for_staff(rest: Chat) -> None:
    key = {"X-Api-Key": API_KEY}
    status, body, _ = await call(rest, "POST", "/webhook", {"sender": "shop-user-42", "message": "你好"}, key)
    assert status == 200 and body[0]["recipient_id"] == "shop-user-42"
    status, body, _ = await call(rest, "POST", "/webhook", {"sender": "shop-user-42", "message": "你好"},
                                 {"Authorization": f"ApiKey {API_KEY}"})
    assert status == 200
    status, body, _ = await call(rest, "POST", "/webhook", {"sender": "shop-user-42", "message": "你好"},
                                 {"X-Api-Key": API_KEY[:-1] + "x"})
    assert status == 401
    for sender in ("staff:MGR01", "staff:HK01"):
        status, body, _ = await call(rest, "POST", "/webhook", {"sender": sender, "message": "/help"}, key)
        assert status == 403 and body["message"]["en"], sender
        status, body, _ = await call(rest, "GET", "/messages", params={"sender": sender, "wait": "0"}, headers=key)
        assert status == 403, sender


async def test_staff_authenticate_with_their_own_token_only(rest: Chat) -> None:
    token = rest.app.tokens["MGR01"]
    status, body, _ = await call(rest, "POST", "/webhook", {"message": "/help"}, bearer(token))
    assert status == 200 and body[0]["recipient_id"] == "staff:MGR01" and text(body)
    status, body, _ = await call(rest, "GET", "/messages", params={"wait": "0"}, headers=bearer(token))
    assert status == 200
    # A token is never a sender and never goes into a URL.
    before = clients(rest)
    status, body, _ = await call(rest, "POST", "/webhook", {"sender": token, "message": "/help"},
                                 {"X-Api-Key": API_KEY})
    assert status == 403
    for path, params in (("/messages", {"sender": token, "wait": "0"}), ("/stream", {"token": token}),
                         ("/messages", {"token": token, "wait": "0"})):
        assert (await call(rest, "GET", path, params=params))[0] == 401, (path, params)
    assert clients(rest) == before
    with rest.app.backend.db.uow() as s:
        assert s.scalar(select(Identity).where(Identity.external_id == token)) is None

    rest.app.backend.revoke_staff_tokens("MGR01")
    status, body, _ = await call(rest, "POST", "/webhook", {"message": "/help"}, bearer(token))
    assert status == 401 and "经理" in body["message"]["zh"] and "manager" in body["message"]["en"]

    hk = rest.app.tokens["HK01"] if "HK01" in rest.app.tokens else next(
        t for c, t in rest.app.tokens.items() if not c.startswith("MGR"))
    code = next(c for c, t in rest.app.tokens.items() if t == hk)
    assert (await call(rest, "POST", "/webhook", {"message": "/help"}, bearer(hk)))[0] == 200
    rest.app.backend.deactivate_staff(code)
    status, body, _ = await call(rest, "POST", "/webhook", {"message": "/help"}, bearer(hk))
    assert status == 401 and body["message"]["en"]


async def test_cross_site_simple_posts_are_refused(rest: Chat) -> None:
    s = await new_session(rest)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
        async with rest.http.post(f"{rest.base}{URL}/webhook", data=json.dumps({"message": "你好"}),
                                  headers={**bearer(s["token"]), "Content-Type": ctype}) as r:
            assert r.status == 415, ctype
            assert "application/json" in (await r.json())["error"]
    async with rest.http.post(f"{rest.base}{URL}/session", data="{}", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415


async def test_cors_answers_only_configured_origins(rest: Chat) -> None:
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    async with rest.http.options(f"{rest.base}{URL}/webhook", headers={"Origin": ORIGIN, **pre}) as r:
        assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == ORIGIN
        allowed = r.headers["Access-Control-Allow-Headers"]
        assert all(h in allowed for h in ("Authorization", "Content-Type", "X-Api-Key"))
    async with rest.http.options(f"{rest.base}{URL}/webhook", headers={"Origin": "https://evil.example", **pre}) as r:
        assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    async with rest.http.post(f"{rest.base}{URL}/session", json={}, headers={"Origin": ORIGIN}) as r:
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "X-Session-Token" in r.headers["Access-Control-Expose-Headers"]
    async with rest.http.post(f"{rest.base}{URL}/session", json={}, headers={"Origin": "https://evil.example"}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers
    st = await new_session(rest)
    async with rest.http.get(f"{rest.base}{URL}/stream", headers={"Origin": ORIGIN, **bearer(st["token"])}) as r:
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN  # server-sent events too


async def test_production_refuses_to_start_without_a_session_secret(tmp_path: Path, trained_model: Path) -> None:
    from bot.server import make_app

    app = make_frontdesk(tmp_path, model=trained_model, roster=False)
    app.settings.environment = "production"
    app.settings.auth.session_secret = None
    with pytest.raises(RuntimeError, match="SESSION_SECRET"):
        make_app(app, workers=False, telegram=False)
    app.settings.auth.session_secret = "short"
    with pytest.raises(RuntimeError, match="SESSION_SECRET"):
        make_app(app, workers=False, telegram=False)
    app.backend.db.dispose()


async def test_a_webhook_turn_survives_its_client_hanging_up(rest: Chat) -> None:
    """The turn runs to its end (the booking form advances) even though nobody waits for the reply."""
    key = {"X-Api-Key": API_KEY, "Content-Type": "application/json"}
    body = json.dumps({"sender": "hangs-up", "message": "我想约明天上午10点的保洁", "message_id": "h-1"}).encode()
    task = asyncio.create_task(rest.http.post(f"{rest.base}{URL}/webhook", data=body, headers=key))
    await asyncio.sleep(0.05)  # the request is on the server, its turn under way
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        (await task).release()  # (on a fast machine the turn may already be over)
    # The same delivery again waits for the conversation's lock and finds the message done: not run twice,
    # and the client that lost the answer gets it now (the form's question about the hours).
    again = await rest.say("我想约明天上午10点的保洁", "hangs-up", message_id="h-1")
    assert any('"duration"' in b["payload"] for r in again for b in r.get("buttons") or []), again
    assert "地址" in text(await rest.say("3个小时", "hangs-up"))
