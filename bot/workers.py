"""Background work of `frontdesk serve`: durable timers and the outbox dispatcher for push channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from backend.api import Backend
from backend.testhooks import crash_point
from bot.logscrub import scrub
from dialogs.notify import Notifier

log = logging.getLogger(__name__)
# A pusher delivers one rendered message to (external id) and may return the platform's reference of the
# sent message ("chat:message_id"); raises Retry/Unreachable/Permanent on failure. A row that replaces a
# message delivered on the same chat comes with ``edit_ref=`` (passed only then, so simple pushers need
# not take it): the pusher edits that message in place, or sends a new one when the edit is refused.
Pusher = Callable[..., Awaitable[str | None]]


def _reason(what: str, e: Exception) -> str:
    """What is kept in notifications.last_error (a plaintext column): library errors may carry request
    URLs (bot tokens) or chat ids, so the text is scrubbed like a log line."""
    return scrub(f"{what}: {type(e).__name__}: {e}")[:300]


class Retry(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(Exception):
    """The person blocked the bot or no longer exists on the platform."""


class Permanent(Exception):
    """The platform refused the message itself (bad request): retrying will not help."""


class Deferred(Exception):
    """The channel may send this only after the person writes again (WeChat outside its window, with
    no template for it): the row waits, counted as not delivered, until then or ``wait`` runs out."""

    def __init__(self, message: str, wait: timedelta) -> None:
        super().__init__(message)
        self.wait = wait


async def timer_worker(backend: Backend, stop: asyncio.Event, interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(backend.run_due_timers)
        except Exception:
            log.exception("timer run failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


class Dispatcher:
    """Delivers outbox rows to push channels, with retries, backoff and unreachable marking.

    Each pass claims only the head of every (person, subject) queue, so rows of one queue go out one
    at a time, in order, even with several dispatchers (processes) running. Delivery is at least
    once: a crash after the platform accepted a message but before ``delivered`` was recorded (crash
    point "outbox_send") sends it again once the lease has run out. A "sending" mark could not tell
    "sent" from "not sent" after such a crash either, so it would trade the repeat for a possible loss;
    a repeated message is the lesser harm, and it happens at most once per crash during a send."""

    def __init__(self, backend: Backend, notifier: Notifier, pushers: dict[str, Pusher],
                 concurrency: int = 8) -> None:
        self.be, self.notifier, self.pushers = backend, notifier, pushers
        self.sem = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        if not self.pushers:
            return 0
        rows = await asyncio.to_thread(self.be.claim_push, list(self.pushers))
        await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def _deliver(self, row: dict[str, Any]) -> None:
        async with self.sem:
            msg = self.notifier.render(row["template"], row["params"], row["lang"])
            extra = {"edit_ref": row["edit_ref"]} if row.get("edit_ref") else {}
            try:
                pusher = self.pushers[row["channel"]]
                if getattr(pusher, "wants_row", False):  # a channel that picks its means by the kind of message
                    extra["row"] = row
                ref = await pusher(row["external_id"], msg, **extra)
            except Unreachable as e:
                # Try the person's next identity at once; with none left managers are told.
                await asyncio.to_thread(self.be.unreachable, row["id"], row["channel"], row["external_id"],
                                        _reason("unreachable", e))
                await asyncio.to_thread(self.be.person_unreachable, row["person_kind"], row["person_id"])
            except Retry as e:
                await asyncio.to_thread(self.be.failed, row["id"], _reason("retry", e), e.retry_after)
            except Permanent as e:
                await asyncio.to_thread(self.be.failed, row["id"], _reason("refused", e), None, True)
            except Deferred as e:
                await asyncio.to_thread(self.be.deferred, row["id"], scrub(str(e)), e.wait)
            except Exception as e:
                log.exception("delivery of notification %s failed", row["id"])
                await asyncio.to_thread(self.be.failed, row["id"], _reason("error", e))
            else:
                crash_point("outbox_send")
                await asyncio.to_thread(self.be.delivered, row["id"], ref if isinstance(ref, str) else None)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                n = await self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                n = 0
            if n == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
