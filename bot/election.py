"""One leader among the workers, through a Redis lease: who polls Telegram when several workers run.

A lease is a key set with ``SET NX PX`` holding this process's random token (``dialogs.locks.TAKE``, which also
finds the key already ours when a retried call's first answer was lost). The holder extends it
every lease/3 with a compare-and-extend script (only while the key still holds its token), so a
leader that stalls or dies loses the key when the lease runs out and another worker takes it within
about one lease. A leader that cannot renew steps down at once; if Redis cannot be reached it steps
down as soon as its lease may have run out, since someone else may hold the key by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dialogs.locks import EXTEND, RELEASE, TAKE

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


class Leadership:
    """A campaign for one lease key. ``campaign()`` runs until ``stop`` is set, calling ``on_elected``
    when this process takes the lease and ``on_deposed`` when it loses it (or stops)."""

    def __init__(self, redis: Any, key: str, lease: float = 5.0, retry: float = 1.0) -> None:
        self.redis, self.key = redis, key
        self.lease_ms = int(lease * 1000)
        self.retry = retry
        self.token = f"{os.getpid()}:{secrets.token_hex(8)}"  # the pid helps whoever reads the key
        self.leading = False
        self._renewed = 0.0  # monotonic time of the last successful take or renewal
        self._failing = False
        self._take = redis.register_script(TAKE)
        self._extend = redis.register_script(EXTEND)
        self._release = redis.register_script(RELEASE)

    @classmethod
    def from_url(cls, url: str, key: str, lease: float = 5.0, retry: float = 1.0) -> Leadership:
        from redis.asyncio import Redis

        timeout = max(0.5, lease / 3)  # a call slower than that would let the lease run out unnoticed
        return cls(Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout), key, lease, retry)

    async def try_acquire(self) -> bool:
        began = time.monotonic()
        if await self._take(keys=[self.key], args=[self.token, self.lease_ms]):
            self.leading, self._renewed = True, began
        return self.leading

    async def renew(self) -> bool:
        """Extend the lease; False (and no longer leading) when the key is no longer ours."""
        began = time.monotonic()
        if await self._extend(keys=[self.key], args=[self.token, self.lease_ms]):
            self._renewed = began
            return True
        self.leading = False
        return False

    async def release(self) -> None:
        if self.leading:
            self.leading = False
            await self._release(keys=[self.key], args=[self.token])

    def expired(self) -> bool:
        """Our lease may have run out in Redis (counted from before the last successful call)."""
        return time.monotonic() - self._renewed >= self.lease_ms / 1000

    async def campaign(self, on_elected: Hook, on_deposed: Hook, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self._step(on_elected, on_deposed)
                wait = self.lease_ms / 3000 if self.leading else self.retry
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            try:
                if self.leading:
                    await on_deposed()  # polling stops (its batch in hand done) before another may start
            finally:
                with contextlib.suppress(Exception):
                    await self.release()  # the next worker need not wait out the lease

    async def _step(self, on_elected: Hook, on_deposed: Hook) -> None:
        try:
            if not self.leading:
                took = await self.try_acquire()
            elif not await self.renew():
                log.warning("worker %d lost the lease %s: stepping down", os.getpid(), self.key)
                await on_deposed()
                took = False
            else:
                took = False
        except Exception as e:  # Redis down or slow: keep the lease only while it surely holds
            if self.leading and self.expired():
                self.leading = False
                log.warning("worker %d cannot renew the lease %s (%s): stepping down", os.getpid(), self.key,
                            type(e).__name__)
                await on_deposed()
            elif not self._failing:  # once per outage, not once a second
                log.warning("lease %s: Redis call failed (%s); retrying", self.key, type(e).__name__)
            self._failing = True
            return
        self._failing = False
        if took:
            log.warning("worker %d took the lease %s", os.getpid(), self.key)
            await on_elected()

    async def close(self) -> None:
        await self.redis.aclose()
