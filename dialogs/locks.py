"""One conversation, one writer: a lock per conversation, like Rasa's lock store.

In-process for the embedded default (one process); Redis when several workers share the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.exceptions import LockError

log = logging.getLogger(__name__)


class ConversationBusy(LockError):
    """Another turn of this conversation held its lock for the whole wait: the message was not handled,
    and the sender should send it again shortly (REST answers 503 with Retry-After)."""

    retry_after = 5


class InProcessLocks:
    """An asyncio lock per conversation; FIFO, so messages are handled in arrival order."""

    def __init__(self, size: int = 10_000) -> None:
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()
        self._size = size

    def lock(self, key: str) -> AbstractAsyncContextManager[Any]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > self._size:  # forget idle conversations' locks
                old_key, old = next(iter(self._locks.items()))
                if old.locked():
                    break
                del self._locks[old_key]
        self._locks.move_to_end(key)
        return lock


class RedisLocks:
    """A Redis lock per conversation, shared by every worker. The lock has a short lease, renewed while
    the turn runs: a worker that dies mid-turn holds its conversation for ``lease`` seconds at most
    (the client's retry waits that long, not the length of the longest turn)."""

    def __init__(self, client: Any, lease: float = 5.0, wait: float = 60.0) -> None:
        self.client, self.lease, self.wait = client, lease, wait

    @classmethod
    def from_url(cls, url: str) -> RedisLocks:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url))  # connects lazily, on first use

    @staticmethod
    def name(key: str) -> str:
        """The Redis key of a conversation's lock (``key`` is "channel:sender")."""
        return f"frontdesk:conversation:{key}"

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        held = self.client.lock(self.name(key), timeout=self.lease, blocking_timeout=self.wait, sleep=0.01)
        if not await held.acquire():
            raise ConversationBusy(f"conversation busy for over {self.wait:g} s")
        # Most turns end well within lease/3: a timer, not a task, until one does not.
        loop = asyncio.get_running_loop()
        renewal: list[asyncio.Task[None]] = []
        timer = loop.call_later(self.lease / 3, lambda: renewal.append(loop.create_task(self._renew(held))))
        try:
            yield
        finally:
            timer.cancel()
            for task in renewal:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            try:  # the turn has committed: a lock that expired meanwhile must not turn it into an error
                await held.release()
            except Exception:
                log.warning("conversation lock was lost before its turn ended (Redis slow or unreachable)")

    async def _renew(self, held: Any) -> None:
        """Back to a full lease now and every lease/3 (only turns longer than that get here). A failed renewal is
        retried, never raised: the turn goes on, and at worst the lease runs out as if we had died."""
        while True:
            try:
                await held.reacquire()
            except Exception:
                log.warning("conversation lock renewal failed; retrying")
            await asyncio.sleep(self.lease / 3)
