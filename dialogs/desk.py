"""The intent layer's single entry point: one message in, replies out.

Routes staff to the staff desk and clients to the dialogue engine; one conversation is processed at
a time (per-sender lock, in-process or Redis), and each turn is one database transaction that also
marks the platform message id, so a duplicate delivery is dropped and a failed turn can be retried.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import DBAPIError

from backend import testhooks
from backend.api import Backend
from backend.services import DomainError
from dialogs.engine import Engine
from dialogs.linking import Linking
from dialogs.locks import InProcessLocks, RedisLocks
from dialogs.messages import IncomingMessage
from dialogs.notify import Notifier
from dialogs.staff import StaffDesk
from dialogs.threads import hop, in_turn, on_thread

log = logging.getLogger(__name__)


class FrontDesk:
    def __init__(self, backend: Backend, engine: Engine, notifier: Notifier,
                 locks: InProcessLocks | RedisLocks | None = None) -> None:
        self.be, self.engine, self.notifier = backend, engine, notifier
        self.staff = StaffDesk(backend, notifier)
        self.linking = Linking(backend, notifier)
        self.locks = locks or InProcessLocks()

    async def handle(self, msg: IncomingMessage, inbox_id: int | None = None) -> list[dict[str, Any]]:
        """One message in, replies out: lock → one transaction {message id marked; identify; dialogue
        turn; tracker saved} → commit. A duplicate id is dropped; a failed turn leaves no trace.

        From the inbox worker (``inbox_id``) the replies are queued to the outbox and the inbox row
        closed in the same transaction, and a failure is raised for the worker to retry later."""
        key = f"{msg.channel}:{msg.sender_id}"
        hint = (msg.lang_hint or "")[:2]
        lang = [hint if hint in ("zh", "en") else "zh"]
        run = on_thread if msg.raced else in_turn  # see dialogs/threads.py
        async with self.locks.lock(key), self.be.db.slot():
            return await run(lambda: self._locked(msg, key, lang, inbox_id))

    async def _locked(self, msg: IncomingMessage, key: str, lang: list[str],
                      inbox_id: int | None) -> list[dict[str, Any]]:
        """``handle`` with the conversation's lock held, every hop inline (dialogs/threads.py).

        A turn whose database connection was lost (a restart or failover: the pool pings only idle
        connections, backend/db.py) committed nothing, and runs once more on a fresh connection."""
        try:
            return await self._attempt(msg, key, lang, inbox_id)
        except DBAPIError as e:
            if not e.connection_invalidated:
                return self._failed(msg, inbox_id, lang, e)
            log.warning("a turn lost its database connection; running it again")
        try:
            return await self._attempt(msg, key, lang, inbox_id)
        except Exception as e:
            return self._failed(msg, inbox_id, lang, e)

    def _failed(self, msg: IncomingMessage, inbox_id: int | None, lang: list[str],
                e: Exception) -> list[dict[str, Any]]:
        if inbox_id is not None:
            raise e  # the inbox worker retries it later
        log.error("turn failed on channel %s", msg.channel, exc_info=e)  # sender ids stay out of logs
        return [self.notifier.text("utter_error", lang[0])]

    async def _attempt(self, msg: IncomingMessage, key: str, lang: list[str],
                       inbox_id: int | None) -> list[dict[str, Any]]:
        try:
            with self.be.db.turn() as turn:
                if not await self._first_time(msg):
                    if inbox_id is not None:  # ran before (a lease ran out mid-commit): just close it
                        self.be.inbox_done(inbox_id)
                    if msg.answer_duplicates:
                        return self.engine.store.answer_of(msg.channel, msg.sender_id, str(msg.message_id)[:128])
                    return []
                out = await self._turn(msg, key, lang)
                if msg.message_id and msg.answer_duplicates:
                    self.engine.store.remember(msg.channel, msg.sender_id, str(msg.message_id)[:128], out)
                if inbox_id is not None:
                    self.be.inbox_done(inbox_id, out)
                testhooks.crash_point("mid_turn")
            if turn.info.get("bookings"):
                testhooks.crash_point("after_booking_commit")
            return out
        except DBAPIError:
            raise  # _locked decides: once more on a lost connection, else the error reply
        except Exception as e:
            return self._failed(msg, inbox_id, lang, e)

    async def _turn(self, msg: IncomingMessage, key: str, lang: list[str]) -> list[dict[str, Any]]:
        person = await hop(self.be.message_from, msg.channel, msg.sender_id)  # the route follows too
        if person is not None and person.kind != "client":
            lang[0] = person.lang
            return await self.staff.handle(person, msg.text)
        if person is None:
            person = await hop(self.be.client_for, msg.channel, msg.sender_id, lang[0])
        lang[0] = person.lang
        linked = await self.linking.handle(msg.channel, msg.sender_id, msg.text, person)
        if linked is not None:
            return linked
        refused, msg = await self._store_files(msg, person.id, person.lang)
        if refused and not msg.text.strip():
            return refused  # only a refused file: nothing stored, nothing for the dialogue to do
        ctx = await hop(self.be.client_turn, person.id)
        if ctx["manager_id"] is not None:
            # A manager holds this conversation: the bot stays quiet and passes the words on.
            extra = {"attachment_ids": msg.metadata["attachment_ids"]} if msg.metadata.get("attachment_ids") else {}
            await hop(self.be.relay, "manager", ctx["manager_id"], "client_message",
                                    client_id=person.id, text=msg.text[:2000], **extra)
            return refused
        known = {"client_id": person.id}
        if ctx["phone"]:
            known["phone"] = ctx["phone"]  # asked once, remembered for the next bookings
        survey = ctx.get("survey")
        # This turn's survey context (dialogs/domain.d/surveys.yml): while a question is pending, a score
        # typed now ("5", "态度5 技能4") answers it, whatever the classifier read.
        # The butler's clock (dialogs/domain.d/butler.yml): whether the client has a butler now.
        butler = ctx.get("butler")
        fresh = {"survey_open": survey is not None, "survey_open_id": survey["id"] if survey else None,
                 "survey_step": survey["step"] if survey else None,
                 "butler_client": True if butler else None, "butler_name": butler["butler"] if butler else None}
        out, state = await self.engine.turn(key, msg, person.lang, known, fresh)
        new_lang = state["slots"].get("language")
        if new_lang in ("zh", "zh-Hant", "en") and new_lang != person.lang:
            await hop(self.be.set_client, person.id, lang=new_lang)
        return refused + out

    async def _store_files(self, msg: IncomingMessage, client_id: int,
                           lang: str) -> tuple[list[dict[str, Any]], IncomingMessage]:
        """Keep the message's files (in the turn's transaction) and hand the engine their ids, never the
        bytes. One refused file refuses them all, so the client resends a set that is complete."""
        reason = msg.metadata.get("attachment_refused")
        if not msg.attachments and not reason:
            return [], msg
        if reason is None:
            for f in msg.attachments:
                try:
                    self.be.check_attachment(f.data)
                except DomainError as e:
                    reason = e.code.removeprefix("attachment_")
                    break
        if reason is not None:
            log.info("refused a file on channel %s (%s)", msg.channel, reason)
            max_mb = max(1, self.be.attachment_limits.max_bytes // (1024 * 1024))
            refusal = self.notifier.text(f"attachment_refused_{reason if reason == 'too_large' else 'type'}",
                                         lang, max_mb=max_mb)
            return [refusal], replace(msg, attachments=())
        ids = []
        for f in msg.attachments:
            ids.append(await hop(self.be.store_attachment, client_id, f.content_type, f.data,
                                               f.filename))
        known = list(msg.metadata.get("attachment_ids") or [])
        return [], replace(msg, attachments=(), metadata={**msg.metadata, "attachment_ids": known + ids})

    async def _first_time(self, msg: IncomingMessage) -> bool:
        """Mark the platform message id in the turn's transaction; seen before means drop it."""
        if not msg.message_id:
            return True
        if await hop(self.engine.store.first_time, msg.channel, msg.sender_id, str(msg.message_id)[:128],
                     f"{msg.channel}:{msg.sender_id}"):  # the conversation's key: its state comes along
            return True
        log.info("dropped a duplicate %s message", msg.channel)
        return False

    async def set_language(self, channel: str, sender_id: str, lang: str) -> None:
        """An explicit choice (e.g. Telegram's /lang): stored for the client and the conversation."""
        key = f"{channel}:{sender_id}"
        async with self.locks.lock(key), self.be.db.turn():
            person = await hop(self.be.client_for, channel, sender_id, lang)
            await hop(self.be.set_client, person.id, lang=lang)
            state = await hop(self.engine.store.load, key)
            state["slots"]["language"] = lang
            await hop(self.engine.store.save, key, state)

    async def handle_staff(self, msg: IncomingMessage) -> list[dict[str, Any]] | None:
        """Staff-only channels: None for anybody who is not on the roster (the caller refuses them)."""
        async with self.locks.lock(f"{msg.channel}:{msg.sender_id}"), self.be.db.slot():
            return await in_turn(lambda: self._staff_locked(msg))

    async def _staff_locked(self, msg: IncomingMessage) -> list[dict[str, Any]] | None:
        lang = "zh"
        try:
            with self.be.db.turn():
                person = self.be.identify(msg.channel, msg.sender_id)
                if person is None or person.kind == "client":
                    return None  # nothing marked: a stranger's message changes nothing
                lang = person.lang
                if not await self._first_time(msg):
                    return []
                self.be.seen(msg.channel, msg.sender_id)
                out = await self.staff.handle(person, msg.text)
                testhooks.crash_point("mid_turn")
            return out
        except Exception:
            log.exception("staff message failed on channel %s", msg.channel)
            return [self.notifier.text("utter_error", lang)]

    async def pull(self, channel: str, sender_id: str, ack: list[int] | None = None) -> list[dict[str, Any]]:
        """Proactive messages waiting for this person on this pull channel (REST long-poll, SSE, shell),
        each with its ``id``. They stay pending until the client acknowledges them: pass the ids it
        has as ``ack`` (on the next poll or an explicit ack); other people's ids are ignored."""
        got = await hop(self.be.pull_for, channel, sender_id, ack)
        if got is None:
            return []
        # "replaces": the id of the card this row updates (a withdrawn offer), so a widget edits it in place.
        return [{**self.notifier.render(r["template"], r["params"], got["lang"]), "id": r["id"],
                 **({"replaces": r["replaces"]} if r.get("replaces") else {})}
                for r in got["rows"]]
