"""The on-call view: what the workers still have to do, and how late it is (`frontdesk status`).

Lag is measured from when a piece of work became due, not from when it was written: a reminder
scheduled for tomorrow is not late today, and an outbox row waiting out a retry back-off is due only
when its next attempt is. Read-only, a handful of aggregate queries, safe to run every minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.orm import InboxMessage, Notification, Timer
from backend.services import inbox, outbox

GAVE_UP = ("failed", "undeliverable")
RECENT = timedelta(hours=24)  # rows given up on are counted over the last day (``outbox.give_up`` stamps when)


def _late(now: datetime, due: datetime | None) -> float | None:
    return None if due is None else max(0.0, round((now - due).total_seconds(), 1))


def backlog(session: Session, now: datetime, push_channels: list[str]) -> dict[str, Any]:
    """Outbox, inbox and timers: counts, and the lateness in seconds of the most overdue item (None when
    nothing is due). ``push_channels``: the channels the dispatchers deliver to. The inbox's ``failed``
    counts every message its workers gave up on (kept for managers), not only the last day's."""
    pending = session.scalar(select(func.count()).where(Notification.status == "pending"))
    heads, oldest = outbox.push_backlog(session, now, push_channels)
    gave_up = dict(session.execute(
        select(Notification.status, func.count()).where(Notification.status.in_(GAVE_UP),
                                                        Notification.next_attempt_at >= now - RECENT)
        .group_by(Notification.status)).all())
    due_inbox = inbox.due_head(now)  # as for the outbox: what a worker may claim, not rows behind it
    inbox_pending, inbox_due, inbox_oldest = session.execute(
        select(func.count(), func.count().filter(due_inbox), func.min(InboxMessage.next_attempt_at).filter(due_inbox))
        .where(InboxMessage.status == "pending")).one()
    inbox_failed = session.scalar(select(func.count()).where(InboxMessage.status == "failed"))
    overdue = Timer.due_at <= now  # among the pending (the statement's WHERE)
    timers_pending, timers_overdue, timer_oldest, next_due = session.execute(
        select(func.count(), func.count().filter(overdue), func.min(Timer.due_at).filter(overdue),
               func.min(Timer.due_at).filter(Timer.due_at > now))
        .where(Timer.status == "pending")).one()
    return {
        "now": now.isoformat(),
        "outbox": {"pending": pending, "due_push": heads, "late_seconds": _late(now, oldest),
                   "failed_24h": gave_up.get("failed", 0), "undeliverable_24h": gave_up.get("undeliverable", 0)},
        "inbox": {"pending": inbox_pending, "due": inbox_due, "late_seconds": _late(now, inbox_oldest),
                  "failed": inbox_failed},
        "timers": {"pending": timers_pending, "overdue": timers_overdue, "late_seconds": _late(now, timer_oldest),
                   "next_due": next_due.isoformat() if next_due else None},
    }


def behind(report: dict[str, Any], max_lag: float) -> list[str]:
    """The queues whose most overdue item is later than ``max_lag`` seconds, e.g. ["outbox 143 s"]."""
    return [f"{queue} {report[queue]['late_seconds']:.0f} s" for queue in ("outbox", "inbox", "timers")
            if (report[queue]["late_seconds"] or 0.0) > max_lag]
