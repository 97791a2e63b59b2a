"""One conversation, one writer: a lock per conversation, like Rasa's lock store.

In-process for the embedded default (one process); Redis when several workers share the load.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from typing import Any


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
    """A Redis lock per conversation, shared by every worker. The lock has a lease, so a worker that
    dies mid-turn blocks its conversation for `lease` seconds at most, never for good."""

    def __init__(self, client: Any, lease: float = 30.0, wait: float = 60.0) -> None:
        self.client, self.lease, self.wait = client, lease, wait

    @classmethod
    def from_url(cls, url: str) -> RedisLocks:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url))  # connects lazily, on first use

    def lock(self, key: str) -> AbstractAsyncContextManager[Any]:
        return self.client.lock(f"frontdesk:conversation:{key}", timeout=self.lease,
                                blocking_timeout=self.wait, sleep=0.01)
