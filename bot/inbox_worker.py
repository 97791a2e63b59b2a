"""The durable inbox's worker: messages a channel acknowledged before their turn ran (WeChat must
answer within 5 seconds) go through the same exactly-once turn as any other message.

A channel calls ``InboxWorker.accept(msg)`` and acknowledges the platform once it returns: the message
is then in the database (encrypted) and a crash loses nothing. The worker claims one message per
sender at a time (in arrival order), runs ``FrontDesk.handle(msg, inbox_id=…)`` — which queues the
replies to the outbox and closes the row in the turn's own transaction — and on failure leaves the
row for a retry with backoff; the turn rolled back, so the retry starts clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from dialogs.desk import FrontDesk
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)


def payload_of(msg: IncomingMessage) -> dict[str, Any]:
    """What the inbox keeps of a message besides its (channel, sender, message id) key."""
    return {"text": msg.text, "lang_hint": msg.lang_hint, "contact_phone": msg.contact_phone,
            "metadata": msg.metadata}


def message_of(row: dict[str, Any]) -> IncomingMessage:
    p = row["payload"]
    return IncomingMessage(row["channel"], row["sender_id"], str(p.get("text") or ""), message_id=row["message_id"],
                           lang_hint=p.get("lang_hint"), contact_phone=p.get("contact_phone"),
                           metadata=dict(p.get("metadata") or {}))


class InboxWorker:
    def __init__(self, desk: FrontDesk, concurrency: int = 8, batch: int = 20) -> None:
        self.desk, self.be, self.batch = desk, desk.be, batch
        self.sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    async def accept(self, msg: IncomingMessage) -> bool:
        """Keep a message durably (before the channel acknowledges it); False for a redelivery."""
        if not msg.message_id:
            raise ValueError("an inbox message needs the platform's message id")
        fresh = await asyncio.to_thread(self.be.inbox_accept, msg.channel, msg.sender_id, str(msg.message_id),
                                        payload_of(msg))
        if fresh:
            self._wake.set()
        return fresh

    async def accept_held(self, msg: IncomingMessage, hold_seconds: float) -> tuple[int, bool]:
        """Keep a message the channel will run itself (``run_held``) to answer in its own reply: workers
        leave it for ``hold_seconds``, and after a crash they run it then. (row id, whether new)."""
        if not msg.message_id:
            raise ValueError("an inbox message needs the platform's message id")
        return await asyncio.to_thread(self.be.inbox_accept_held, msg.channel, msg.sender_id, str(msg.message_id),
                                       payload_of(msg), hold_seconds)

    async def run_held(self, inbox_id: int, msg: IncomingMessage) -> None:
        """Run a held message now, as a worker would (a failure is recorded for the worker's retry)."""
        await self._run({"id": inbox_id, "attempts": 0}, msg)

    async def run_once(self) -> int:
        """Run the messages that are due (one per sender); how many were claimed."""
        rows = await asyncio.to_thread(self.be.inbox_claim, self.batch)
        await asyncio.gather(*(self._run(r) for r in rows))
        return len(rows)

    async def _run(self, row: dict[str, Any], msg: IncomingMessage | None = None) -> None:
        async with self.sem:
            msg = msg or message_of(row)
            try:
                await self.desk.handle(msg, inbox_id=row["id"])
            except Exception:
                log.exception("inbox message %s failed; it will be retried", row["id"])
                try:
                    await self._failed(row, msg)
                except Exception:  # the row's lease brings it back
                    log.exception("recording the failure of inbox message %s failed", row["id"])

    async def _failed(self, row: dict[str, Any], msg: IncomingMessage) -> None:
        if not await asyncio.to_thread(self.be.inbox_failed, row["id"]):
            return
        # Failed for good: the sender still hears from us rather than nothing.
        log.error("inbox message %s failed for good after %s attempts", row["id"], row["attempts"])
        hint = (msg.lang_hint or "")[:2]
        person = await asyncio.to_thread(self.be.client_for, msg.channel, msg.sender_id,
                                         hint if hint in ("zh", "en") else "zh")  # staff are found, not made
        reply = self.desk.notifier.text("utter_error", person.lang)
        await asyncio.to_thread(self.be.relay, person.kind, person.id, "reply", **reply)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the pass: a message accepted during it wakes the next wait
            try:
                n = await self.run_once()
            except Exception:
                log.exception("inbox pass failed; retrying")
                n = 0
            if n == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, self._wake), interval)


async def _first(*events: asyncio.Event) -> None:
    """Return when any of the events is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
