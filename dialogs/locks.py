"""One conversation, one writer: a lock per conversation, like Rasa's lock store.

In-process for the embedded default (one process); Redis when several workers share the load.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.exceptions import LockError

log = logging.getLogger(__name__)

# Extend (or delete) a key only while it still holds our token: a holder whose lease ran out and was
# taken by another worker must never extend or release the new holder's lease.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Take a free key, or find it already ours: a SET whose answer was lost (a dropped connection) is sent again
# by the client's retry, and must not leave us waiting for our own lock.
TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 1
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


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
    """A Redis lock per conversation, shared by every worker: a key set with ``SET NX PX`` to a random
    token. The lock has a short lease, renewed while the turn runs: a worker that dies mid-turn holds its
    conversation for ``lease`` seconds at most (the client's retry waits that long, not the length of the
    longest turn). The renewal runs on a thread of its own (``_Renewal``), because a turn keeps the event
    loop's thread busy until it ends (dialogs/threads.py)."""

    def __init__(self, url: str, lease: float = 5.0, wait: float = 60.0) -> None:
        from redis.asyncio import Redis

        self.url, self.lease, self.wait = url, lease, wait
        self.client = Redis.from_url(url)  # connects lazily, on first use
        self._take = self.client.register_script(TAKE)
        self._release = self.client.register_script(RELEASE)
        self._renewal = _Renewal(url, self)

    @classmethod
    def from_url(cls, url: str) -> RedisLocks:
        return cls(url)

    @staticmethod
    def name(key: str) -> str:
        """The Redis key of a conversation's lock (``key`` is "channel:sender"), hashed as the rate limits'
        keys are (bot/ratelimit.py): platform ids do not sit readable in Redis."""
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        return f"frontdesk:conversation:{digest}"

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        name, token = self.name(key), secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        # Known to the renewal before the SET goes out: should another turn keep the loop busy between the
        # SET's answer and this coroutine going on, the thread still renews it (it extends only our token).
        self._renewal.hold(name, token)
        try:
            while True:
                began = time.monotonic()
                if await self._take(keys=[name], args=[token, int(self.lease * 1000)]):
                    self._renewal.confirm(name, token, began)
                    break
                if loop.time() >= deadline:
                    raise ConversationBusy(f"conversation busy for over {self.wait:g} s")
                await asyncio.sleep(0.01)
        except BaseException:
            self._renewal.drop(name, token)
            raise
        try:
            yield
        finally:
            self._renewal.drop(name, token)
            try:  # the turn has committed: a lock that expired meanwhile must not turn it into an error
                await self._release(keys=[name], args=[token])
            except Exception:
                log.warning("conversation lock could not be released (Redis slow or unreachable); it expires")


class _Renewal:
    """Back to a full lease, every lease/3, for the locks held longer than that (most turns end well
    before). A thread with its own connection: it keeps time while a turn blocks the loop. A failed renewal
    is retried, never raised: the turn goes on, and at worst the lease runs out as if we had died. The thread
    ends when no lock has been held for a while, and starts again (in this process, after a fork) on demand.

    A lock is held from just before its SET (``hold``) and confirmed when the SET took it (``confirm``):
    renewing one not yet confirmed is harmless (the script extends only our token)."""

    def __init__(self, url: str, locks: RedisLocks) -> None:
        self.url, self.locks = url, locks
        # (name, token) -> (monotonic time of the last (re)new, confirmed): two turns of one conversation in
        # one process (one holding, one waiting) are two entries.
        self._held: dict[tuple[str, str], tuple[float, bool]] = {}
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, name: str, token: str) -> None:
        with self._mutex:
            if self._thread is None or self._pid != os.getpid():
                thread = threading.Thread(target=self._run, name="frontdesk-lock-renewal", daemon=True)
                thread.start()  # first: a thread that cannot start leaves nothing behind
                self._thread, self._pid = thread, os.getpid()
            self._held[name, token] = (time.monotonic(), False)

    def confirm(self, name: str, token: str, began: float) -> None:
        with self._mutex:
            if (name, token) in self._held:
                self._held[name, token] = (began, True)

    def drop(self, name: str, token: str) -> None:
        with self._mutex:
            self._held.pop((name, token), None)

    def _run(self) -> None:
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = None
        idle_since = time.monotonic()
        try:
            lease = self.locks.lease
            # No retries: a call that fails is tried again at the next tick, and one slow call must not hold
            # up the renewal of the others for several timeouts.
            client = Redis.from_url(self.url, socket_timeout=max(0.2, lease / 3),
                                    socket_connect_timeout=max(0.2, lease / 3), retry=Retry(NoBackoff(), 0))
            extend = client.register_script(EXTEND)
            while True:
                lease = self.locks.lease
                time.sleep(lease / 4)
                now = time.monotonic()
                with self._mutex:
                    if not self._held and now - idle_since > 4 * lease:
                        self._thread = None  # under the mutex: a hold from now on starts a new thread
                        return
                    if self._held:
                        idle_since = now
                    due = [key for key, (at, _) in self._held.items() if now - at >= lease / 3]
                for key in due:
                    self._renew(extend, key, lease)
        except Exception:  # never silently gone: the next hold starts a new thread
            log.exception("conversation lock renewal stopped")
        finally:
            with self._mutex:
                if self._thread is threading.current_thread():
                    self._thread = None
            if client is not None:
                client.close()

    def _renew(self, extend: Any, key: tuple[str, str], lease: float) -> None:
        began = time.monotonic()
        try:
            kept = extend(keys=[key[0]], args=[key[1], int(lease * 1000)])
        except Exception:
            log.warning("conversation lock renewal failed; retrying")
            return
        with self._mutex:
            if key not in self._held:
                return  # the turn ended meanwhile
            confirmed = self._held[key][1]
            if kept:
                self._held[key] = (began, True)
            elif confirmed:
                del self._held[key]
                log.warning("a conversation lock ran out before its turn ended (held past its lease)")
            else:
                self._held[key] = (began, False)  # still waiting for its SET: try again a third of a lease on
