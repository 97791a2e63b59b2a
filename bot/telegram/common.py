"""What both Telegram bots share: short callback references, message splitting, rate limits."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)
MAX_TEXT = 4096
# A stored file's name when the client's had none (staff chats: the Telegram staff bot and WeCom).
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic",
              "application/pdf": ".pdf", "video/mp4": ".mp4"}
metadata = MetaData()
callback_refs = Table(
    "callback_refs", metadata,
    Column("ref", String(16), primary_key=True),
    Column("payload_hash", String(64), nullable=False, unique=True),  # keyed hash: find a payload's ref
    Column("payload", Text, nullable=False),  # encrypted: a payload may carry what a client typed
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class CallbackRefs:
    """Button payloads can be any length; Telegram's callback_data holds 64 bytes. A button carries
    a short reference to the payload, stored in SQL so it survives restarts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[str, str] = OrderedDict()

    def ref(self, payload: str) -> str:
        digest = _cipher().digest(payload)
        with self.engine.connect() as c:
            row = c.execute(select(callback_refs.c.ref).where(callback_refs.c.payload_hash == digest)).first()
        if row:
            return f"r:{row[0]}"
        ref = secrets.token_urlsafe(9)[:12]
        try:
            with self.engine.begin() as c:
                c.execute(insert(callback_refs).values(ref=ref, payload_hash=digest, payload=_cipher().encrypt(payload),
                                                       created_at=datetime.now(UTC)))
        except IntegrityError:  # the same payload stored by someone else meanwhile
            return self.ref(payload)
        return f"r:{ref}"

    def resolve(self, data: str | None) -> str | None:
        if not data or not data.startswith("r:") or len(data) > 64:
            return None
        key = data[2:]
        if key in self._cache:
            return self._cache[key]
        with self.engine.connect() as c:
            row = c.execute(select(callback_refs.c.payload).where(callback_refs.c.ref == key)).first()
        if not row:
            return None
        payload = _cipher().decrypt(row[0])
        self._cache[key] = payload
        while len(self._cache) > 5000:
            self._cache.popitem(last=False)
        return payload


def _cipher():  # type: ignore[no-untyped-def]
    from backend.orm import Encrypted

    if Encrypted.cipher is None:
        raise RuntimeError("no data key configured")
    return Encrypted.cipher


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut at paragraph, line or word boundaries so no message exceeds Telegram's limit."""
    text = text or " "
    parts = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    parts.append(text)
    return [p for p in parts if p] or [" "]


def keyboard_rows(buttons: list[dict[str, str]], refs: CallbackRefs) -> list[list[tuple[str, str]]]:
    """(title, callback_data) rows: two buttons a row, long titles alone."""
    rows: list[list[tuple[str, str]]] = []
    for b in buttons:
        item = (b["title"][:64], refs.ref(b["payload"]))
        if rows and len(rows[-1]) < 2 and len(b["title"]) <= 12 and len(rows[-1][0][0]) <= 12:
            rows[-1].append(item)
        else:
            rows.append([item])
    return rows


class RateLimiter:
    """Telegram's limits: about one message a second per chat and 30 a second overall."""

    def __init__(self, per_chat_interval: float = 1.0, per_second: float = 30.0) -> None:
        self.per_chat_interval = per_chat_interval
        self.min_gap = 1.0 / per_second if per_second > 0 else 0.0
        self._next_chat: dict[Any, float] = {}
        self._next_global = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: Any) -> None:
        async with self._lock:
            now = time.monotonic()
            # The overall slot is booked on its own: a chat waiting for its own interval (the second
            # part of a reply) must not hold every other chat up behind it.
            slot = max(now, self._next_global)
            self._next_global = slot + self.min_gap
            at = max(slot, self._next_chat.get(chat_id, 0.0))
            self._next_chat[chat_id] = at + self.per_chat_interval
            if len(self._next_chat) > 50_000:
                self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        if at > now:
            await asyncio.sleep(at - now)


# Telegram's limits hold per bot whatever the number of workers, so with REDIS_URL the workers book
# their sends in Redis: the same reservation as RateLimiter (next free time per chat and overall, booked
# apart), in
# one script on Redis's clock so that every worker agrees.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local at = math.max(slot, tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('SET', KEYS[1], slot + gap, 'PX', slot + gap - now + 1000)
redis.call('SET', KEYS[2], at + interval, 'PX', at + interval - now + 1000)
return at - now
"""


class SharedRateLimiter(RateLimiter):
    """RateLimiter with its reservations in Redis, shared by all workers. Chat ids are hashed (no
    platform id sits readable in Redis). When Redis fails, this process falls back to its own limiter."""

    def __init__(self, redis_url: str, per_chat_interval: float = 1.0, per_second: float = 30.0,
                 prefix: str = "frontdesk:telegram:rate") -> None:
        super().__init__(per_chat_interval, per_second)
        from redis.asyncio import Redis

        self.prefix = prefix
        self._failing = False
        self.redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._reserve = self.redis.register_script(RESERVE)

    def _chat_key(self, chat_id: Any) -> str:
        digest = hashlib.blake2b(repr(chat_id).encode(), digest_size=12).hexdigest()
        return f"{self.prefix}:chat:{digest}"

    async def reserve(self, chat_id: Any) -> float:
        """Book the next send to ``chat_id``: the seconds to wait before it (Redis raises through)."""
        ms = await self._reserve(keys=[f"{self.prefix}:all", self._chat_key(chat_id)],
                                 args=[int(self.min_gap * 1000), int(self.per_chat_interval * 1000)])
        return max(0, int(ms)) / 1000

    async def wait(self, chat_id: Any) -> None:
        try:
            seconds = await self.reserve(chat_id)
        except Exception as e:  # a limit store that is down must not stop the replies
            if not self._failing:  # once per outage
                log.warning("telegram rate limits: Redis unavailable (%s); limiting this process only",
                            type(e).__name__)
            self._failing = True
            await super().wait(chat_id)
            return
        self._failing = False
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        await self.redis.aclose()


class Poller:
    """A getUpdates long-poll loop for one bot. Telegram forgets updates below the next call's offset,
    so a batch is confirmed only once every update in it has been handled (its turn committed and its
    replies sent): chats run side by side, each chat's updates in order.

    ``stop()`` cancels a long-poll in flight at once but lets a batch being handled finish (up to
    ``grace`` seconds): a turn cut between its commit and its reply would lose the reply, since the
    update read again by the next poller is dropped as a duplicate by its message id."""

    def __init__(self, name: str, fetch: Callable[[int | None], Awaitable[list[Any]]],
                 process: Callable[[Any], Awaitable[None]], chat_of: Callable[[Any], object]) -> None:
        self.name, self.fetch, self.process, self.chat_of = name, fetch, process, chat_of
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fetching = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, grace: float = 20.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._fetching:
            task.cancel()  # nothing is being handled: no need to wait out the long-poll
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:
            log.warning("%s: a batch was still being handled after %.0f s; cancelled", self.name, grace)
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("%s: polling failed", self.name)

    async def _run(self) -> None:
        offset: int | None = None
        while not self._stopping:
            self._fetching = True
            try:
                updates = await self.fetch(offset)
            finally:
                self._fetching = False
            if not updates:
                continue
            by_chat: dict[object, list[Any]] = {}
            for u in updates:
                by_chat.setdefault(self.chat_of(u), []).append(u)
            await asyncio.gather(*(self._in_order(batch) for batch in by_chat.values()))
            offset = updates[-1].update_id + 1

    async def _in_order(self, updates: list[Any]) -> None:
        for u in updates:
            try:
                await self.process(u)
            except Exception:
                log.exception("%s: an update failed", self.name)


def retry_seconds(value: Any) -> float:
    """PTB gives retry_after as seconds or a timedelta, depending on version and settings."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


# How a platform error should be handled: ("wait", seconds) for rate limits, ("network", None) for
# transient failures, ("unreachable", None) for a blocked chat, ("refused", None) for a bad request.
Verdict = tuple[str, float | None]


async def send_reply(text: str, markup: Any, send_part: Callable[[str, Any], Awaitable[None]]) -> None:
    """Split a reply at Telegram's limit; the keyboard goes with the last part."""
    parts = split_text(text)
    for i, part in enumerate(parts):
        await send_part(part, markup if i == len(parts) - 1 else None)


async def with_retries(send: Callable[[], Awaitable[Any]], classify: Callable[[Exception], Verdict | None],
                       retries: int) -> None:
    """Send, waiting out retry_after and backing off on network errors up to ``retries`` times, then
    raise what the outbox understands (Retry, Unreachable, Permanent)."""
    from bot.workers import Permanent, Retry, Unreachable

    attempt = 0
    while True:
        try:
            await send()
            return
        except Exception as e:
            verdict = classify(e)
            if verdict is None:
                raise
            kind, seconds = verdict
            if kind == "unreachable":
                raise Unreachable(str(e)) from e
            if kind == "refused":
                raise Permanent(str(e)) from e
            if attempt >= retries:
                raise Retry(f"{kind}: {e}", seconds) from e
            await asyncio.sleep(seconds if seconds is not None else min(0.2 * 2 ** attempt, 5.0))
        attempt += 1


class PolledBot:
    """Polling switched on and off by the worker elected to poll (bot/telegram/runner.py); each bot
    has its ``_poller`` and clears its webhook again (``_webhook_cleared``) when polling starts."""

    _poller: Poller
    _webhook_cleared: bool

    @property
    def polling(self) -> bool:
        return self._poller.running

    def start_polling(self) -> None:
        self._webhook_cleared = False
        self._poller.start()

    async def stop_polling(self) -> None:
        await self._poller.stop()
