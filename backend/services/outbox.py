"""The outbox: notifications written in the transaction that causes them, delivered later."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.orm import Identity, Notification

MAX_ATTEMPTS = 8


def notify(session: Session, now: datetime, person_kind: str, person_id: int, template: str, key: str,
           **params: Any) -> None:
    """Queue a message; the same ``key`` twice is one message (idempotent retries of a command)."""
    exists = session.scalar(select(Notification.id).where(Notification.key == key))
    if exists is None:
        session.add(Notification(key=key, person_kind=person_kind, person_id=person_id, template=template,
                                 params=params, created_at=now, next_attempt_at=now))


def pull(session: Session, now: datetime, person_kind: str, person_id: int, limit: int = 50) -> list[Notification]:
    """Claim a person's pending notifications for a pull channel (REST long-poll / SSE)."""
    rows = list(session.scalars(
        select(Notification).where(Notification.person_kind == person_kind, Notification.person_id == person_id,
                                   Notification.status == "pending")
        .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)))
    for n in rows:
        n.status, n.delivered_at, n.attempts = "delivered", now, n.attempts + 1
    return rows


def claim_for_channels(session: Session, now: datetime, channels: list[str], limit: int = 50,
                       lease: timedelta = timedelta(minutes=2)) -> list[tuple[Notification, Identity]]:
    """Claim due notifications of people reachable on a push channel; the lease makes a crashed
    dispatcher's claim come back after ``lease`` instead of being lost."""
    q = (select(Notification, Identity)
         .join(Identity, (Identity.person_kind == Notification.person_kind)
               & (Identity.person_id == Notification.person_id))
         .where(Notification.status == "pending", Notification.next_attempt_at <= now,
                Identity.channel.in_(channels), Identity.unreachable.is_(False))
         .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True, of=Notification))
    out, seen = [], set()
    for n, ident in session.execute(q):
        if n.id in seen:
            continue
        seen.add(n.id)
        n.next_attempt_at = now + lease
        n.attempts += 1
        out.append((n, ident))
    return out


def delivered(session: Session, now: datetime, notification_id: int) -> None:
    session.execute(update(Notification).where(Notification.id == notification_id)
                    .values(status="delivered", delivered_at=now, last_error=None))


def failed(session: Session, now: datetime, notification_id: int, error: str, retry_after: float | None = None,
           permanent: bool = False) -> None:
    n = session.get(Notification, notification_id)
    if n is None:
        return
    n.last_error = error[:500]
    if permanent or n.attempts >= MAX_ATTEMPTS:
        n.status = "failed"
        return
    backoff = retry_after if retry_after is not None else min(300.0, 2.0 ** n.attempts)
    n.next_attempt_at = now + timedelta(seconds=backoff)
