"""The intent layer's single entry point: one message in, replies out.

Routes staff to the staff desk and clients to the dialogue engine; one conversation is processed at
a time (per-sender lock, in-process or Redis) and duplicate platform deliveries are dropped before
processing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from backend.api import Backend
from dialogs.engine import Engine
from dialogs.locks import InProcessLocks, RedisLocks
from dialogs.messages import IncomingMessage
from dialogs.notify import Notifier
from dialogs.staff import StaffDesk

log = logging.getLogger(__name__)


class FrontDesk:
    def __init__(self, backend: Backend, engine: Engine, notifier: Notifier,
                 locks: InProcessLocks | RedisLocks | None = None) -> None:
        self.be, self.engine, self.notifier = backend, engine, notifier
        self.staff = StaffDesk(backend, notifier)
        self.locks = locks or InProcessLocks()

    async def handle(self, msg: IncomingMessage) -> list[dict[str, Any]]:
        key = f"{msg.channel}:{msg.sender_id}"
        async with self.locks.lock(key):
            if await self._duplicate(msg):
                return []
            lang = "zh"
            try:
                person = await asyncio.to_thread(self.be.identify, msg.channel, msg.sender_id)
                if person is not None and person.kind != "client":
                    return await self.staff.handle(person, msg.text)
                hint = (msg.lang_hint or "")[:2]
                if person is None:
                    person = await asyncio.to_thread(self.be.client_for, msg.channel, msg.sender_id,
                                                     hint if hint in ("zh", "en") else "zh")
                lang = person.lang
                ctx = await asyncio.to_thread(self.be.client_turn, person.id)
                if ctx["manager_id"] is not None:
                    # A manager holds this conversation: the bot stays quiet and passes the words on.
                    await asyncio.to_thread(self.be.relay, "manager", ctx["manager_id"], "client_message",
                                            client_id=person.id, text=msg.text[:2000])
                    return []
                known = {"client_id": person.id}
                if ctx["phone"]:
                    known["phone"] = ctx["phone"]  # asked once, remembered for the next bookings
                out, state = await self.engine.turn(key, msg, person.lang, known)
                new_lang = state["slots"].get("language")
                if new_lang in ("zh", "en") and new_lang != person.lang:
                    await asyncio.to_thread(self.be.set_client, person.id, lang=new_lang)
                return out
            except Exception:
                log.exception("turn failed for %s", key)
                return [self.notifier.text("utter_error", lang)]

    async def _duplicate(self, msg: IncomingMessage) -> bool:
        """A platform delivering the same message twice: seen before means drop it."""
        if not msg.message_id:
            return False
        if await asyncio.to_thread(self.engine.store.first_time, msg.channel, msg.sender_id,
                                   str(msg.message_id)):
            return False
        log.info("dropped duplicate %s message %s", msg.channel, msg.message_id)
        return True

    async def set_language(self, channel: str, sender_id: str, lang: str) -> None:
        """An explicit choice (e.g. Telegram's /lang): stored for the client and the conversation."""
        person = await asyncio.to_thread(self.be.client_for, channel, sender_id, lang)
        await asyncio.to_thread(self.be.set_client, person.id, lang=lang)
        key = f"{channel}:{sender_id}"
        async with self.locks.lock(key):
            state = await asyncio.to_thread(self.engine.store.load, key)
            state["slots"]["language"] = lang
            await asyncio.to_thread(self.engine.store.save, key, state)

    async def handle_staff(self, msg: IncomingMessage) -> list[dict[str, Any]] | None:
        """Staff-only channels: None for anybody who is not on the roster (the caller refuses them)."""
        async with self.locks.lock(f"{msg.channel}:{msg.sender_id}"):
            if await self._duplicate(msg):
                return []
            person = await asyncio.to_thread(self.be.identify, msg.channel, msg.sender_id)
            if person is None or person.kind == "client":
                return None
            try:
                return await self.staff.handle(person, msg.text)
            except Exception:
                log.exception("staff message failed for %s", msg.sender_id)
                return [self.notifier.text("utter_error", person.lang)]

    async def pull(self, channel: str, sender_id: str) -> list[dict[str, Any]]:
        """Proactive messages waiting for this person (pull channels: REST long-poll, SSE, shell)."""
        person = await asyncio.to_thread(self.be.identify, channel, sender_id)
        if person is None:
            return []
        rows = await asyncio.to_thread(self.be.pull, person.kind, person.id)
        return [self.notifier.render(r["template"], r["params"], person.lang) for r in rows]
