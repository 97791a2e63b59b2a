"""Durable timers: rows with a due time, claimed in one statement (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.once import insert_once
from backend.orm import Timer

# kind → handler(ctx, session, ref_id). A handler writes only the database and the outbox, inside the
# timer's own transaction, so a crash rolls the timer back instead of half-running it.
HANDLERS: dict[str, Callable[[Any, Session, int], None]] = {}


def handler(kind: str) -> Callable[[Callable[[Any, Session, int], None]], Callable[[Any, Session, int], None]]:
    def register(fn: Callable[[Any, Session, int], None]) -> Callable[[Any, Session, int], None]:
        HANDLERS[kind] = fn
        return fn

    return register


def schedule(session: Session, kind: str, ref_id: int, due_at: datetime, key: str) -> None:
    """A timer, once per ``key`` (a second call with the same key changes nothing)."""
    insert_once(session, Timer, ("key",), kind=kind, ref_id=ref_id, due_at=due_at, key=key)


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[Timer]:
    rows = list(session.scalars(
        select(Timer).where(Timer.status == "pending", Timer.due_at <= now)
        .order_by(Timer.due_at).limit(limit).with_for_update(skip_locked=True)))
    for t in rows:
        t.status = "running"
        t.attempts += 1
    return rows


def cancel(session: Session, key: str) -> None:
    """Cancel a pending timer. One locked by a worker is running right now: skip it rather than wait
    (the worker waits on the same rows as us: a deadlock); its handler re-checks the state anyway."""
    t = session.scalar(select(Timer).where(Timer.key == key, Timer.status == "pending")
                       .with_for_update(skip_locked=True))
    if t is not None:
        t.status = "cancelled"
