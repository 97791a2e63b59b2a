"""Proactive messages over the real REST channel: ids, acknowledgement, routing to the channel the
client last wrote from, and polls that never wait for (or take) SQLite's write lock."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from typing import Any

from sqlalchemy import event, select

from backend.orm import Notification
from backend.services.outbox import notify
from tests.e2e.conftest import API_KEY, Chat, text

HEADERS = {"X-Api-Key": API_KEY}


async def poll(chat: Chat, sender: str, ack: list[int] | None = None, wait: float = 0) -> list[dict[str, Any]]:
    params = {"sender": sender, "wait": str(wait)}
    if ack:
        params["ack"] = ",".join(map(str, ack))
    async with chat.http.get(f"{chat.base}/webhooks/rest/messages", headers=HEADERS, params=params) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def queue(chat: Chat, sender: str, key: str, template: str = "takeover_ended", **params: Any) -> int:
    be = chat.app.backend
    person = be.identify("rest", sender)
    with be.db.uow() as s:
        notify(s, be.now, person.kind, person.id, template, key, **params)
    with be.db.uow() as s:
        return s.scalar(select(Notification.id).where(Notification.key == key))


async def test_a_message_comes_again_until_the_client_acknowledges_it(chat: Chat) -> None:
    await chat.say("你好", "web-1")
    await chat.say("你好", "web-2")
    first = queue(chat, "web-1", "k1")
    got = await poll(chat, "web-1")
    assert [m["id"] for m in got] == [first] and "智能助手" in text(got)
    assert [m["id"] for m in await poll(chat, "web-1")] == [first]  # not acknowledged: shown again
    other = queue(chat, "web-2", "k2")
    second = queue(chat, "web-1", "k3", "manager_message", manager="周经理", text="马上到")
    assert [m["id"] for m in await poll(chat, "web-1", ack=[first, other])] == [second]
    assert [m["id"] for m in await poll(chat, "web-2")] == [other]  # web-1 cannot acknowledge it
    async with chat.http.post(f"{chat.base}/webhooks/rest/ack", headers=HEADERS,
                              json={"sender": "web-1", "ids": [second]}) as r:
        assert r.status == 200
    assert await poll(chat, "web-1") == []
    with chat.app.backend.db.uow() as s:
        rows = {n.id: (n.status, n.channel) for n in s.scalars(select(Notification))}
    assert rows[first] == ("delivered", "rest") and rows[second] == ("delivered", "rest")
    assert rows[other] == ("pending", None)


async def test_a_long_poll_wakes_for_a_new_message(chat: Chat) -> None:
    await chat.say("你好", "web-3")
    waiting = asyncio.ensure_future(poll(chat, "web-3", wait=5))
    await asyncio.sleep(0.3)
    nid = queue(chat, "web-3", "wake")
    t = time.monotonic()
    assert [m["id"] for m in await waiting] == [nid]
    assert time.monotonic() - t < 4


async def test_messages_follow_the_channel_the_client_last_wrote_from(chat: Chat) -> None:
    be = chat.app.backend
    await chat.say("你好", "web-4")
    person = be.identify("rest", "web-4")
    be.bind("client", person.id, "telegram", "4004")
    chat.app.clock.advance(seconds=1)
    be.seen("telegram", "4004")  # she went on to write from Telegram
    nid = queue(chat, "web-4", "to-telegram")
    assert await poll(chat, "web-4") == []  # the website does not show it as well
    assert [r["id"] for r in be.claim_push(["telegram"])] == [nid]
    chat.app.clock.advance(seconds=1)
    await chat.say("在吗", "web-4")  # back on the website
    later = queue(chat, "web-4", "to-web")
    be.delivered(nid)
    assert [m["id"] for m in await poll(chat, "web-4")] == [later]
    assert be.claim_push(["telegram"]) == []


class Writes:
    def __init__(self, engine: Any) -> None:
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if re.match(r"\s*(BEGIN IMMEDIATE|INSERT|UPDATE|DELETE)", statement, re.I):
            self.statements.append(statement.split("\n")[0][:80])


async def test_idle_polls_do_not_write_to_the_outbox(chat: Chat) -> None:
    await chat.say("你好", "web-5")
    await poll(chat, "web-5")
    writes = Writes(chat.app.backend.db.engine)
    for _ in range(10):
        assert await poll(chat, "web-5") == []
    assert not [s for s in writes.statements if "notifications" in s or "identities" in s]


async def test_a_poll_answers_while_another_process_holds_the_write_lock(chat: Chat) -> None:
    await chat.say("你好", "web-6")
    nid = queue(chat, "web-6", "locked")
    db_file = chat.app.backend.db.engine.url.database
    holder = sqlite3.connect(db_file, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t = time.monotonic()
        assert [m["id"] for m in await asyncio.wait_for(poll(chat, "web-6"), 10)] == [nid]
        assert time.monotonic() - t < 5
    finally:
        holder.rollback()
        holder.close()
