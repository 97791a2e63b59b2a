"""Retention: a daily durable timer prunes conversation history and delivery bookkeeping older than
``privacy.retention_days``; bookings, cases, privacy requests and the audit log stay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from backend.orm import AuditLog, Booking, Escalation, InboxMessage, Invite, Notification, Timer
from backend.services import retention
from tests.privacy.conftest import Desk, book

OLD, NEW = "720000001", "720000002"


def count(d: Desk, table: str) -> int:
    with d.be.db.engine.connect() as c:
        return c.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def counts(d: Desk) -> dict[str, int]:
    return {t: count(d, t) for t in ("conversations", "processed_messages", "notifications", "inbox", "invites",
                                     "callback_refs", "bookings", "escalations", "audit_log", "clients")}


async def old_activity(d: Desk) -> dict[str, str]:
    await book(d, OLD, "浦东新区张江路100弄5号", "13812345678", "没有")
    await d.say(OLD, "阿姨把我的地板划坏了，我要投诉")
    for step in ('/inform{"booking_id": "none"}', '/inform{"complaint_category": "damage"}',
                 '/inform{"remedy": "apology"}', "/affirm"):  # the complaint form (issue 8), then the case
        await d.say(OLD, step)
    with d.be.db.uow() as s:
        ids = list(s.scalars(select(Notification.id).order_by(Notification.id)))
    d.be.delivered(ids[0])
    d.be.failed(ids[1], "chat not found", permanent=True)
    assert d.be.inbox_accept("telegram", OLD, "wx-1", {"text": "老消息"})
    [row] = d.be.inbox_claim()
    d.be.inbox_done(row["id"])
    used = d.be.create_invite("housekeeper", 1)
    assert d.be.redeem_invite(used, "telegram", "880000001") is not None
    expired = d.be.create_invite("housekeeper", 2, days=1)
    fresh = d.be.create_invite("housekeeper", 3, days=400)
    d.refs.ref('/inform{"notes": "an old button"}')
    return {"used": used, "expired": expired, "fresh": fresh}


async def test_retention_prunes_history_and_keeps_records(desk: Desk) -> None:
    invites = await old_activity(desk)
    before = counts(desk)
    with desk.be.db.uow() as s:  # ensured at start-up: the next 04:00 local time
        due = s.scalar(select(Timer.due_at).where(Timer.kind == retention.KIND, Timer.status == "pending"))
        assert due.astimezone(desk.be.ctx.tz).isoformat() == "2026-11-19T04:00:00+08:00"
        pruned = retention.prune(s, desk.be.now, desk.be.ctx.retention_days)  # nothing is old yet
    assert {k: v for k, v in pruned.items() if v} == {"invites": 1}  # only the used invite went
    assert {k: v for k, v in counts(desk).items() if k != "invites"} == \
        {k: v for k, v in before.items() if k != "invites"}
    with desk.be.db.uow() as s:
        assert set(s.scalars(select(Invite.token))) == {invites["expired"], invites["fresh"]}

    # Past the retention period (also past the real time at which Telegram stamped its button refs).
    clock = desk.app.clock
    target = max(clock.now(), datetime.now(UTC)) + timedelta(days=desk.be.ctx.retention_days + 1)
    clock.set(target)
    await desk.say(NEW, "你好")  # a conversation that is still in use
    pending_before = count_pending(desk)
    desk.be.run_due_timers()

    after = counts(desk)
    with desk.be.db.engine.connect() as c:
        keys = {r[0] for r in c.execute(text("SELECT sender_key FROM conversations"))}
        processed = {r[0] for r in c.execute(text("SELECT sender_id FROM processed_messages"))}
    assert keys == {f"telegram:{NEW}"} and processed == {NEW}
    assert after["callback_refs"] == 0 and after["inbox"] == 0
    assert count_pending(desk) >= pending_before  # what may still be sent is never pruned
    with desk.be.db.uow() as s:
        assert set(s.scalars(select(Invite.token))) == {invites["fresh"]}
        old_done = select(func.count()).select_from(Notification).where(
            Notification.status.in_(("delivered", "failed")), Notification.created_at < target - timedelta(days=1))
        assert s.scalar(old_done) == 0
        assert s.scalar(select(func.count()).select_from(InboxMessage)) == 0
        # business records stay
        assert s.scalar(select(func.count()).select_from(Booking)) == before["bookings"]
        assert s.scalar(select(func.count()).select_from(Escalation)) >= before["escalations"]
        assert s.scalar(select(func.count()).select_from(AuditLog)) >= before["audit_log"]
        # the prune re-scheduled itself for the next 04:00, once
        nxt = retention.next_run(desk.be.now, desk.be.ctx.tz)
        assert s.scalar(select(Timer.status).where(Timer.due_at == nxt, Timer.kind == retention.KIND)) == "pending"
    desk.be.ensure_retention()
    desk.be.ensure_retention()
    with desk.be.db.uow() as s:
        assert s.scalar(select(func.count()).select_from(Timer).where(Timer.kind == retention.KIND,
                                                                      Timer.status == "pending")) == 1


def count_pending(d: Desk) -> int:
    with d.be.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Notification).where(Notification.status == "pending"))


async def aged(d: Desk, sender: str, said: str) -> str:
    """A conversation in use whose history starts with something said before the retention period."""
    await d.say(sender, "你好")
    store, key = d.app.desk.engine.store, f"telegram:{sender}"
    state = store.load(key)
    old = d.be.now.timestamp() - (d.be.ctx.retention_days + 2) * 86400
    state["events"] = [{"event": "user", "text": said, "timestamp": old}] + state["events"]
    store.save(key, state)
    return key


async def test_old_events_leave_a_conversation_that_is_still_in_use(desk: Desk) -> None:
    key = await aged(desk, NEW, "很久以前说的话")
    with desk.be.db.uow() as s:
        dropped = retention.prune(s, desk.be.now, desk.be.ctx.retention_days)
    assert dropped["events"] == 1 and dropped["conversations"] == 0
    events = desk.app.desk.engine.store.load(key)["events"]
    assert events and all(e.get("text") != "很久以前说的话" for e in events)


def texts(d: Desk, key: str) -> list[str]:
    return [e.get("text") for e in d.app.desk.engine.store.load(key)["events"]]


async def test_a_turn_saved_after_the_prune_read_the_conversation_keeps_its_events(desk: Desk) -> None:
    """The prune finds conversations with old events without locking them, then rewrites each from a copy
    read again under its row lock: a turn that saved in between is not undone by a stale copy."""
    key = await aged(desk, NEW, "很久以前说的话")
    limit = (desk.be.now - timedelta(days=desk.be.ctx.retention_days)).timestamp()
    with desk.be.db.uow() as s:
        assert retention._with_old_events(s, limit) == [key]
    await desk.say(NEW, "我想约保洁")  # the client writes while the prune is under way
    with desk.be.db.uow() as s:
        assert retention._drop_old_events(s, [key], limit) == 1
    said = texts(desk, key)
    assert "我想约保洁" in said and "很久以前说的话" not in said


async def test_the_prune_does_not_wait_for_a_conversation_whose_turn_is_under_way(desk: Desk) -> None:
    """A turn holds its conversation's row until it commits; the prune skips that conversation (its old
    events go the next night) instead of waiting for it, up to the 30 s lock timeout, or failing."""
    if desk.be.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: a turn never holds a row while the prune runs")
    busy, idle = await aged(desk, OLD, "忙的旧话"), await aged(desk, NEW, "闲的旧话")
    turn = create_engine(desk.be.db.engine.url)
    try:
        with turn.connect() as c:
            c.execute(text("SELECT 1 FROM conversations WHERE sender_key = :k FOR UPDATE"), {"k": busy})
            started = time.monotonic()
            with desk.be.db.uow() as s:
                assert retention.prune(s, desk.be.now, desk.be.ctx.retention_days)["events"] == 1
            assert time.monotonic() - started < 10
            c.rollback()
    finally:
        turn.dispose()
    assert "忙的旧话" in texts(desk, busy) and "闲的旧话" not in texts(desk, idle)
    with desk.be.db.uow() as s:  # the next night
        assert retention.prune(s, desk.be.now, desk.be.ctx.retention_days)["events"] == 1
    assert "忙的旧话" not in texts(desk, busy)
