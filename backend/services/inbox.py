"""The durable inbox: messages a channel acknowledged before their turn ran (WeChat answers within
5 seconds), kept encrypted until a worker has run them through the normal turn.

A row is claimed with a lease (``next_attempt_at``): a worker that dies leaves it to come back after
the lease. Only the head of each sender's queue is claimable, so several workers never reorder one
conversation. The platform message id is also marked processed by the turn itself, so running a row
twice (lease expired while the first run was committing) still changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from backend.once import insert_once
from backend.orm import InboxMessage

MAX_ATTEMPTS = 5


def accept(session: Session, now: datetime, channel: str, sender_id: str, message_id: str,
           payload: dict[str, Any], hold: timedelta | None = None) -> bool:
    """Keep a message; False when this (channel, sender, message id) was accepted before. ``hold``: no
    worker claims it before then (the channel runs it itself and answers in its own reply)."""
    return insert_once(session, InboxMessage, ("channel", "sender_id", "message_id"), channel=channel,
                       sender_id=sender_id, message_id=message_id, payload=payload, status="pending", attempts=0,
                       next_attempt_at=now + hold if hold else now, received_at=now)


def id_of(session: Session, channel: str, sender_id: str, message_id: str) -> int | None:
    return session.scalar(select(InboxMessage.id).where(InboxMessage.channel == channel,
                                                        InboxMessage.sender_id == sender_id,
                                                        InboxMessage.message_id == message_id))


def is_head(session: Session, message_id: int) -> bool:
    """No earlier message of the same sender is still pending (so running this one now keeps order)."""
    m = session.get(InboxMessage, message_id)
    if m is None or m.status != "pending":
        return False
    earlier = select(InboxMessage.id).where(InboxMessage.channel == m.channel, InboxMessage.sender_id == m.sender_id,
                                            InboxMessage.status == "pending", InboxMessage.id < m.id).limit(1)
    return session.execute(earlier).first() is None


def release(session: Session, now: datetime, message_id: int) -> None:
    """A channel that held a row for itself (to answer it in its own reply) lets the worker have it."""
    m = session.get(InboxMessage, message_id, with_for_update=True)
    if m is not None and m.status == "pending":
        m.next_attempt_at = min(m.next_attempt_at, now)
        m.payload = {k: v for k, v in (m.payload or {}).items() if k != "hold_seconds"}


def due_head(now: datetime) -> Any:
    """SQL: a pending row due now with no earlier pending row of its sender (what a worker may claim)."""
    earlier = aliased(InboxMessage)
    head = ~exists().where(and_(earlier.channel == InboxMessage.channel, earlier.sender_id == InboxMessage.sender_id,
                                earlier.status == "pending", earlier.id < InboxMessage.id))
    return and_(InboxMessage.status == "pending", InboxMessage.next_attempt_at <= now, head)


def claim(session: Session, now: datetime, limit: int, lease: timedelta) -> list[InboxMessage]:
    """Claim due rows, at most one per sender (the oldest pending), leased until ``now + lease``."""
    rows = list(session.scalars(
        select(InboxMessage).where(due_head(now))
        .order_by(InboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)))
    for m in rows:
        m.next_attempt_at = now + lease
        m.attempts += 1
        if (m.payload or {}).get("hold_seconds"):  # a worker runs it: nobody waits to answer it passively
            m.payload = {k: v for k, v in m.payload.items() if k != "hold_seconds"}
    return rows


def done(session: Session, message_id: int) -> None:
    """The turn ran: the row stays (a redelivery is still a duplicate) but its content goes."""
    m = session.get(InboxMessage, message_id, with_for_update=True)
    if m is not None:
        m.status, m.payload = "done", {}


def failed(session: Session, now: datetime, message_id: int) -> bool:
    """A run failed: retry with backoff; True when it has failed for good (status "failed")."""
    m = session.get(InboxMessage, message_id, with_for_update=True)
    if m is None or m.status != "pending":
        return False
    if m.attempts >= MAX_ATTEMPTS:
        m.status = "failed"
        return True
    m.next_attempt_at = now + timedelta(seconds=min(300.0, 2.0 ** m.attempts))
    return False


def pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.status == "pending")) or 0
