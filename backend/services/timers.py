"""Durable timers: rows with a due time, claimed in one statement (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Timer


def schedule(session: Session, kind: str, ref_id: int, due_at: datetime, key: str) -> None:
    if session.scalar(select(Timer.id).where(Timer.key == key)) is None:
        session.add(Timer(kind=kind, ref_id=ref_id, due_at=due_at, key=key))


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[Timer]:
    rows = list(session.scalars(
        select(Timer).where(Timer.status == "pending", Timer.due_at <= now)
        .order_by(Timer.due_at).limit(limit).with_for_update(skip_locked=True)))
    for t in rows:
        t.status = "running"
        t.attempts += 1
    return rows


def cancel(session: Session, key: str) -> None:
    t = session.scalar(select(Timer).where(Timer.key == key, Timer.status == "pending"))
    if t is not None:
        t.status = "cancelled"
