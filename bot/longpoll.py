"""Idle long-polls cost (almost) nothing: one watcher per process looks for new outbox rows and wakes only
the polls of the people they are for.

Without it every idle poll would query the database a few times a second; 300 open polls would then
be the load that slows everybody else. The watcher runs one small read per interval while anybody
waits, whatever the number of waiters, and re-reads the last ``LOOKBACK`` ids so a row PostgreSQL
commits out of id order is not passed over. Only polls of people not known yet (a new visitor who
has not spoken) re-check on their own, every ``RECHECK`` seconds or so.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from backend.db import READ_ONLY
from backend.orm import Notification
from backend.services import people

INTERVAL = 0.25
RECHECK = 10.0
LOOKBACK = 50  # ids below the newest seen, re-read because PostgreSQL may commit them out of order


class Waiter:
    def __init__(self, recheck: float | None) -> None:
        self.event = asyncio.Event()
        self.recheck = recheck  # None for a known person: the watcher's word is enough
        self._due = time.monotonic() + recheck if recheck is not None else math.inf

    async def wait(self, timeout: float) -> bool:
        """True when something may have arrived for this person (or a re-check is due); False when
        ``timeout`` passed quietly. Callers wait in short slices to notice a client hanging up."""
        step = max(0.0, min(timeout, self._due - time.monotonic()))
        try:
            await asyncio.wait_for(self.event.wait(), step)
        except TimeoutError:
            if time.monotonic() < self._due:
                return False
            self._due = time.monotonic() + (self.recheck or math.inf)
            return True
        self.event.clear()
        return True


class PollHub:
    def __init__(self, engine: Engine, interval: float = INTERVAL) -> None:
        self.engine, self.interval = engine, interval
        self.waiters: dict[tuple[str, int] | None, set[Waiter]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._last: int | None = None
        self._seen: set[int] = set()

    @contextlib.asynccontextmanager
    async def watch(self, backend: Any, channel: str, sender: str) -> AsyncIterator[Waiter]:
        """Register before the first pull, so nothing written in between is missed."""
        person = await asyncio.to_thread(_identify, backend, channel, sender)
        key = (person.kind, person.id) if person is not None else None
        # Somebody not known yet (a new visitor) cannot be matched to outbox rows: re-check now and then.
        waiter = Waiter(None if key is not None else RECHECK * (1 + random.random()))
        self.waiters[key].add(waiter)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="long-poll watcher")
        try:
            yield waiter
        finally:
            self.waiters[key].discard(waiter)
            if not self.waiters[key]:
                del self.waiters[key]

    async def _run(self) -> None:
        while self.waiters:
            try:
                for key in await asyncio.to_thread(self._changes):
                    for w in self.waiters.get(key, ()):
                        w.event.set()
            except Exception:  # the database away for a moment: waiters fall back to their re-check
                pass
            await asyncio.sleep(self.interval)

    def _changes(self) -> list[tuple[str, int]]:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as c:  # SQLite: no write lock
            if self._last is None:
                self._last = c.scalar(select(func.coalesce(func.max(Notification.id), 0))) or 0
                return []
            rows = c.execute(select(Notification.id, Notification.person_kind, Notification.person_id)
                             .where(Notification.id > self._last - LOOKBACK).order_by(Notification.id)).all()
        fresh = [(r.person_kind, r.person_id) for r in rows if r.id not in self._seen]
        for r in rows:
            self._seen.add(r.id)
            self._last = max(self._last, r.id)
        self._seen = {i for i in self._seen if i > self._last - LOOKBACK}
        return fresh


def _identify(backend: Any, channel: str, sender: str) -> Any:
    """Who polls, read without the write lock (SQLite): a poll must answer while a writer holds it."""
    with backend.db.read() as s:
        return people.identify(s, channel, sender)
