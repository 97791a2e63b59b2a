"""Several workers share one PostgreSQL database through FOR UPDATE SKIP LOCKED: three outbox
dispatchers, three timer runners and three inbox workers, each in its own thread with its own Backend
(engine and connection pool), as separate `frontdesk serve` workers would be. Every row is taken
exactly once, each queue keeps its order, and the work is really spread over them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backend.api import Backend, Request
from backend.orm import AuditLog, InboxMessage, Notification, Offer, Timer
from backend.services import timers
from backend.services.outbox import notify
from bot.workers import Dispatcher
from dialogs.domain import Domain
from dialogs.notify import Notifier

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = 60.0  # a bound for a stuck run, never a timing assertion


def run_together(backends: list[Backend], work: Callable[[int, Backend], None]) -> None:
    """``work(index, backend)`` in one thread per backend, released at the same instant; re-raises the
    first failure of any of them."""
    start = threading.Barrier(len(backends))
    errors: list[BaseException] = []

    def body(i: int, be: Backend) -> None:
        try:
            start.wait()
            work(i, be)
        except BaseException as e:  # reported to the test below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i, be), name=f"worker-{i}") for i, be in enumerate(backends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE + 10)
    assert not any(t.is_alive() for t in threads), "a worker thread is stuck"
    if errors:
        raise errors[0]


# --- the outbox --------------------------------------------------------------------------------------
class Platform:
    """A push platform shared by the dispatchers: who sent which row, in the order the platform got them,
    and whether one queue ever had two messages in flight at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []  # (dispatcher, notification id)
        self.in_flight: Counter[tuple[Any, ...]] = Counter()
        self.overlap = False
        self.lock = threading.Lock()

    def pusher(self, dispatcher: int) -> Callable[..., Any]:
        platform = self

        async def push(external_id: str, msg: dict[str, Any], row: dict[str, Any]) -> str:
            queue = (row["person_kind"], row["person_id"], row["subject"], row["urgent"])
            with platform.lock:
                platform.in_flight[queue] += 1
                platform.overlap |= platform.in_flight[queue] > 1
                platform.sent.append((dispatcher, row["id"]))
            await asyncio.sleep(0.003)  # a platform round trip: the other dispatchers claim meanwhile
            with platform.lock:
                platform.in_flight[queue] -= 1
            return f"{external_id}:{row['id']}"

        push.wants_row = True  # type: ignore[attr-defined]  # bot.workers passes the row to such pushers
        return push


def pending_rows(be: Backend) -> int:
    with be.db.read() as s:
        return s.scalar(select(func.count()).select_from(Notification).where(Notification.status == "pending")) or 0


def test_three_dispatchers_deliver_every_row_once_in_queue_order(backends: list[Backend]) -> None:
    be = backends[0]
    queues: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for p in range(8):
        person = be.client_for("telegram", f"95{p}", "zh").id
        with be.db.uow() as s:
            for seq in range(12):  # three queues each: two subjects, and urgent rows of the first
                subject, urgent = (f"booking:{p}", False) if seq % 3 == 0 else \
                    (f"booking:{p}", True) if seq % 3 == 1 else (f"case:{p}", False)
                notify(s, be.now, "client", person, "job_started", f"share:{p}:{seq}", subject=subject,
                       urgent=urgent, booking_id=seq)
    with be.db.read() as s:
        for n in s.scalars(select(Notification).order_by(Notification.id)):
            queues[(n.person_kind, n.person_id, n.subject, n.urgent)].append(n.id)
    assert len(queues) == 24 and sum(map(len, queues.values())) == 96
    platform = Platform()
    notifier = Notifier(Domain.load(), be.catalogue, TZ)

    def dispatch(i: int, mine: Backend) -> None:
        d = Dispatcher(mine, notifier, {"telegram": platform.pusher(i)})

        async def until_empty() -> None:
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                if await d.run_once() == 0:
                    if pending_rows(mine) == 0:
                        return
                    await asyncio.sleep(0.005)
            raise AssertionError("the outbox did not drain")

        asyncio.run(until_empty())

    run_together(backends, dispatch)

    sent = [nid for _, nid in platform.sent]
    every = sorted(nid for ids in queues.values() for nid in ids)
    assert sorted(sent) == every, "a row was sent twice or never"
    for queue, ids in queues.items():
        assert [nid for nid in sent if nid in ids] == ids, f"queue {queue} went out of order"
    assert not platform.overlap, "two rows of one queue were in flight at once"
    with be.db.read() as s:
        rows = [(n.status, n.attempts, n.platform_ref, n.key, n.id) for n in s.scalars(select(Notification))]
    assert {(status, attempts) for status, attempts, *_ in rows} == {("delivered", 1)}, "a row was claimed twice"
    assert all(ref == f"95{key.split(':')[1]}:{nid}" for *_, ref, key, nid in rows), "delivered without its reference"
    per_dispatcher = Counter(d for d, _ in platform.sent)
    assert sorted(per_dispatcher) == [0, 1, 2], f"the claims were not spread: {per_dispatcher}"


# --- timers ------------------------------------------------------------------------------------------
def test_three_timer_runners_run_every_due_timer_once(backends: list[Backend],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    be = backends[0]
    bookings: list[int] = []
    for i in range(15):  # fifteen clients, each with a visit at its own hour over five days
        client = be.client_for("rest", f"share-t{i}", "zh").id
        starts = datetime(2026, 11, 19 + i // 3, 9 + 3 * (i % 3), tzinfo=TZ)
        b = be.book(client, Request("cleaning", starts, hours=2, address="朝阳区建国路88号", district="朝阳"))
        bookings.append(b["id"])
    with be.db.read() as s:
        found = {b: s.scalar(select(Offer).where(Offer.booking_id == b)) for b in bookings}
        first = {b: (o.id, o.housekeeper_id) for b, o in found.items() if o is not None and o.status == "pending"}
    assert list(first) == bookings, "every booking has its first offer pending"
    expiry = {f"offer_expiry:{oid}" for oid, _ in first.values()}
    be.ctx.clock.advance(minutes=11)  # the shared clock: every first offer is past its 10 minutes
    with be.db.read() as s:
        due = set(s.scalars(select(Timer.key).where(Timer.status == "pending", Timer.due_at <= be.now)))
    assert due == expiry, due ^ expiry

    ran: list[tuple[str, int]] = []  # (runner thread, offer id), from inside the timer's transaction
    original = timers.HANDLERS["offer_expiry"]

    def recording(ctx: Any, session: Any, ref_id: int) -> None:
        ran.append((threading.current_thread().name, ref_id))
        original(ctx, session, ref_id)
        time.sleep(0.01)  # hold the claim a moment, so the runners overlap as busy workers do

    monkeypatch.setitem(timers.HANDLERS, "offer_expiry", recording)
    counts = [0] * len(backends)

    def run(i: int, mine: Backend) -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if mine.run_due_timers(limit=1) == 0:
                return  # nothing claimable: every due timer is done or running in another runner
            counts[i] += 1

    run_together(backends, run)

    assert sorted(ref for _, ref in ran) == sorted(oid for oid, _ in first.values()), "a timer ran twice or never"
    assert sum(counts) == len(expiry)
    assert all(counts), f"the timers were not spread over the runners: {counts}"
    with be.db.read() as s:
        states = {t.key: (t.status, t.attempts) for t in s.scalars(select(Timer).where(Timer.key.in_(expiry)))}
        assert set(states.values()) == {("done", 1)}, states
        for b, (oid, hk) in first.items():
            offers = list(s.scalars(select(Offer).where(Offer.booking_id == b).order_by(Offer.id)))
            assert [x.status for x in offers] == ["expired", "pending"], (b, [x.status for x in offers])
            assert offers[1].housekeeper_id != hk  # the next housekeeper, once
            expired = s.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.entity == "offer", AuditLog.entity_id == oid, AuditLog.new == "expired"))
            assert expired == 1
            assert s.scalar(select(Notification.id).where(Notification.key == f"offer:{oid}:expired")) is not None
            nxt = s.scalar(select(Timer).where(Timer.key == f"offer_expiry:{offers[1].id}"))
            assert nxt is not None and (nxt.status, nxt.attempts) == ("pending", 0)


# --- the durable inbox ---------------------------------------------------------------------------------
def test_three_inbox_workers_take_each_senders_messages_once_and_in_order(backends: list[Backend]) -> None:
    be = backends[0]
    order: dict[str, list[str]] = {}
    for p in range(6):
        sender = f"wx-{p}"
        order[sender] = [f"{sender}-m{seq}" for seq in range(6)]
        for mid in order[sender]:
            assert be.inbox_accept("wechat", sender, mid, {"text": "你好"})
    taken: list[tuple[int, str, str]] = []  # (worker, sender, message id)
    in_flight: Counter[str] = Counter()
    lock = threading.Lock()
    overlap: list[str] = []

    def work(i: int, mine: Backend) -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            rows = mine.inbox_claim(limit=3)
            if not rows:
                if mine.inbox_pending() == 0:
                    return
                time.sleep(0.005)
                continue
            for r in rows:
                with lock:
                    in_flight[r["sender_id"]] += 1
                    if in_flight[r["sender_id"]] > 1:
                        overlap.append(r["sender_id"])
                    taken.append((i, r["sender_id"], r["message_id"]))
            time.sleep(0.003)  # the turn
            for r in rows:
                with lock:
                    in_flight[r["sender_id"]] -= 1
                mine.inbox_done(r["id"])
        raise AssertionError("the inbox did not drain")

    run_together(backends, work)

    assert not overlap, f"two messages of one sender ran at once: {overlap}"
    for sender, mids in order.items():
        assert [m for _, s, m in taken if s == sender] == mids, f"{sender}'s messages ran twice or out of order"
    with be.db.read() as s:
        assert {(m.status, m.attempts) for m in s.scalars(select(InboxMessage))} == {("done", 1)}
    per_worker = Counter(i for i, _, _ in taken)
    assert sorted(per_worker) == [0, 1, 2], f"the messages were not spread: {per_worker}"

