"""Retention: conversation history and delivery bookkeeping are kept only as long as configured.

A durable timer (``retention_prune``) runs once a day at 04:00 local time and re-schedules itself.
Bookings, cases (escalations), privacy requests, the audit log, client profiles (客户档案: kept for
every future visit until the client removes an item or asks for erasure) and call-back surveys (the
housekeepers' ratings rest on them) are business records and stay;
what goes is what only served a conversation: old tracker events, conversations idle for the whole
retention period, delivered or failed notifications, processed-message ids, finished inbox rows,
spent invites and button payload references — and the files clients sent, once their case has been
closed for the whole retention period (or when they never joined a case) — and the personal fields of
job applications hired or rejected longer ago than the retention period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, Text, and_, column, delete, or_, select, table, update
from sqlalchemy.orm import Session

from backend.orm import EncryptedJSON, InboxMessage, Invite, Notification, Timer
from backend.services import applications, attachments
from backend.services.timers import handler, schedule

log = logging.getLogger(__name__)

KIND = "retention_prune"
PROCESSED_DAYS = 3  # platform retries come within minutes; a few days of ids is plenty for de-duplication
# Notification states after which a row only records history (anything else may still be sent).
FINISHED = ("delivered", "failed", "stale", "undeliverable", "cancelled", "skipped")

# The conversation store and the Telegram button references live in the same database, written by the
# dialogue layer and the channels (dialogs/tracker_store.py, bot/telegram/common.py); the backend only
# prunes them, so it names their columns here instead of importing those layers.
conversations = table("conversations", column("sender_key", String), column("state", Text),
                      column("updated_at", DateTime(timezone=True)))
processed_messages = table("processed_messages", column("channel", String), column("sender_id", String),
                           column("at", DateTime(timezone=True)))
callback_refs = table("callback_refs", column("ref", String), column("created_at", DateTime(timezone=True)))


RUN_AT_HOUR = 4  # local time: the prune runs in the quietest hour of the night
EVENTS_BATCH = 500  # conversations locked and rewritten per statement (an IN list of keys)


def timer_key(day: datetime) -> str:
    return f"{KIND}:{day.date().isoformat()}"


def next_run(now: datetime, tz: Any) -> datetime:
    """The next 04:00 local time after ``now``."""
    local = now.astimezone(tz)
    at = local.replace(hour=RUN_AT_HOUR, minute=0, second=0, microsecond=0)
    return (at if at > local else at + timedelta(days=1)).astimezone(UTC)


def ensure(session: Session, now: datetime, tz: Any) -> None:
    """At start-up: one pending prune exists (idempotent; the prune re-schedules itself after each run)."""
    if session.scalar(select(Timer.id).where(Timer.kind == KIND, Timer.status.in_(("pending", "running")))):
        return
    due = next_run(now, tz)
    schedule(session, KIND, 0, due, timer_key(due.astimezone(tz)))


@handler(KIND)
def run(ctx: Any, session: Session, _ref: int) -> None:
    now = ctx.clock.now()
    counts = prune(session, now, ctx.retention_days)
    due = next_run(now, ctx.tz)
    schedule(session, KIND, 0, due, timer_key(due.astimezone(ctx.tz)))
    log.info("retention prune: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))


def prune(session: Session, now: datetime, retention_days: int) -> dict[str, int]:
    """Delete what is older than the retention period; returns rows touched per kind."""
    now = now.astimezone(UTC)
    cutoff = now - timedelta(days=retention_days)
    recent = now - timedelta(days=PROCESSED_DAYS)
    counts = {"conversations": session.execute(
        delete(conversations).where(conversations.c.updated_at < cutoff)).rowcount}
    counts["processed_messages"] = session.execute(
        delete(processed_messages).where(processed_messages.c.at < recent)).rowcount
    counts["notifications"] = session.execute(delete(Notification).where(
        Notification.status.in_(FINISHED), Notification.created_at < cutoff,
        or_(Notification.delivered_at.is_(None), Notification.delivered_at < cutoff))).rowcount
    counts["inbox"] = session.execute(delete(InboxMessage).where(or_(
        and_(InboxMessage.status == "done", InboxMessage.received_at < recent),
        and_(InboxMessage.status != "pending", InboxMessage.received_at < cutoff)))).rowcount
    counts["invites"] = session.execute(delete(Invite).where(
        or_(Invite.used_at.is_not(None), Invite.expires_at < now))).rowcount
    counts["callback_refs"] = session.execute(
        delete(callback_refs).where(callback_refs.c.created_at < cutoff)).rowcount
    counts["attachments"] = attachments.prune(session, now, retention_days)
    counts["job_applications"] = applications.prune(session, cutoff)
    # Last: it locks conversations still in use, and a turn of one of them waits until the prune commits.
    counts["events"] = _prune_events(session, cutoff)
    return counts


def _prune_events(session: Session, cutoff: datetime) -> int:
    """Drop tracker events older than the cutoff from conversations that are still in use."""
    limit = cutoff.timestamp()
    return _drop_old_events(session, _with_old_events(session, limit), limit)


def _with_old_events(session: Session, limit: float) -> list[str]:
    """The conversations holding an event older than the limit, read without locks (turns go on)."""
    codec = EncryptedJSON()
    return [key for key, raw in session.execute(select(conversations.c.sender_key, conversations.c.state))
            if any(_older(e, limit) for e in (codec.process_result_value(raw, None) or {}).get("events") or ())]


def _drop_old_events(session: Session, keys: list[str], limit: float) -> int:
    """Rewrite each conversation from a copy read under its row lock, so that a turn that saved since the
    first read keeps what it saved. A conversation whose turn holds the lock is skipped, not waited for
    (PostgreSQL; SQLite has one writer at a time): its old events go at the next prune."""
    codec, dropped = EncryptedJSON(), 0
    for i in range(0, len(keys), EVENTS_BATCH):
        locked = (select(conversations.c.sender_key, conversations.c.state)
                  .where(conversations.c.sender_key.in_(keys[i:i + EVENTS_BATCH])).with_for_update(skip_locked=True))
        for key, raw in session.execute(locked).all():
            state = codec.process_result_value(raw, None) or {}
            events = state.get("events") or []
            kept = [e for e in events if not _older(e, limit)]
            if len(kept) == len(events):
                continue
            dropped += len(events) - len(kept)
            state["events"] = kept
            session.execute(update(conversations).where(conversations.c.sender_key == key)
                            .values(state=codec.process_bind_param(state, None)))
    return dropped


def _older(event: Any, limit: float) -> bool:
    """An event stamped before the limit; one without a readable stamp is kept."""
    try:
        return float(event.get("timestamp")) < limit
    except (AttributeError, TypeError, ValueError):
        return False
