"""The REST channel's edges: bad input gets a clear error, duplicates are dropped, SSE delivers."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.conftest import API_KEY, Chat, text


async def post_raw(chat: Chat, data: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    async with chat.http.post(f"{chat.base}/webhooks/rest/webhook", data=data,
                              headers={"Content-Type": content_type, "X-Api-Key": API_KEY}) as r:
        return r.status, await r.json()


async def test_bad_requests_get_a_clear_error(chat: Chat) -> None:
    cases = [
        (b"{not json", 400, "JSON"),
        (b"[1, 2]", 400, "object"),
        (json.dumps({"message": "hi"}).encode(), 400, "sender"),
        (json.dumps({"sender": "", "message": "hi"}).encode(), 400, "sender"),
        (json.dumps({"sender": "x" * 200, "message": "hi"}).encode(), 400, "sender"),
        (json.dumps({"sender": "a", "message": 42}).encode(), 400, "message"),
        (json.dumps({"sender": "a", "message": "长" * 5000}).encode(), 413, "4096"),
        (b"\xff\xfe\x00garbage", 400, "JSON"),
    ]
    for body, status, word in cases:
        code, payload = await post_raw(chat, body)
        assert code == status and word in payload["error"], (body[:40], code, payload)
    code, payload = await post_raw(chat, b"x" * (70 * 1024))
    assert code == 413
    assert "家政服务前台" in text(await chat.say("你好"))  # and the server is still fine


async def test_health(chat: Chat) -> None:
    async with chat.http.get(f"{chat.base}/health") as r:
        assert r.status == 200 and (await r.json())["status"] == "ok"


async def test_duplicate_deliveries_are_processed_once(chat: Chat) -> None:
    first = await chat.say("约个保洁", message_id="m-1")
    assert "什么时间" in text(first)
    assert await chat.say("约个保洁", message_id="m-1") == first  # the retry gets the same answer, once run
    assert "几个小时" in text(await chat.say("明天上午10点", message_id="m-2"))


async def test_messages_of_one_conversation_are_processed_in_order(chat: Chat) -> None:
    answers = await asyncio.gather(*(chat.say(m, "ordered") for m in
                                     ("约个保洁", "明天上午10点", "3个小时", "朝阳区建国路88号")))
    # whatever the arrival order, each answer is a coherent next question, none is lost or repeated
    assert len(answers) == 4 and all(a for a in answers)
    r = text(await chat.say("13812345678", "ordered"))
    assert "注意" in r or "手机号" in r or "地址" in r


async def test_long_poll_waits_for_proactive_messages(chat: Chat) -> None:
    assert await chat.inbox("nobody-here", wait=0) == []
    key = {"X-Api-Key": API_KEY}
    for wait in ("zz", "nan", "inf", "-inf", "-1", "61", "1e308", ""):
        async with chat.http.get(f"{chat.base}/webhooks/rest/messages", params={"sender": "x", "wait": wait},
                                 headers=key) as r:
            assert r.status == 400 and "wait" in (await r.json())["error"], wait
    async with chat.http.get(f"{chat.base}/webhooks/rest/messages", headers=key) as r:
        assert r.status == 400  # a trusted back end names the sender


async def test_server_sent_events_deliver_notifications(chat: Chat) -> None:
    await chat.say("你好", "sse-client")
    client_id = chat.app.backend.identify("rest", "sse-client").id
    chat.app.backend.escalate("human_requested", client_id=client_id)
    headers = {"Authorization": f"Bearer {chat.token('MGR01')}"}
    async with chat.http.get(f"{chat.base}/webhooks/rest/stream", headers=headers) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        line = b""
        while not line.startswith(b"data:"):
            line = await asyncio.wait_for(r.content.readline(), 5)
        event = json.loads(line[5:])
    assert "客户要求人工服务" in event["text"] and event["buttons"]


async def test_long_polls_and_streams_stop_when_the_client_hangs_up(chat: Chat) -> None:
    """aiohttp's default (production) policy does not cancel handlers on disconnect: they notice it."""
    from aiohttp import ClientSession, web

    from bot.server import REST, make_app

    web_app = make_app(chat.app, workers=False, telegram=False)
    runner = web.AppRunner(web_app, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/webhooks/rest"  # type: ignore[union-attr]
    hub = web_app[REST].hub
    try:
        await chat.say("你好", "leaver")
        key = {"X-Api-Key": API_KEY}
        for path in ("/messages", "/stream"):
            async with ClientSession() as http:
                task = asyncio.create_task(http.get(base + path, params={"sender": "leaver", "wait": "60"},
                                                    headers=key))
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if hub.waiters:
                        break
                assert hub.waiters, path  # the poll is open and waiting
                task.cancel()
            for _ in range(60):
                await asyncio.sleep(0.1)
                if not hub.waiters:
                    break
            assert not hub.waiters, path  # the handler has stopped within seconds, not after 60
    finally:
        await runner.cleanup()
