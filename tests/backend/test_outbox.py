"""Outbox delivery on SQLite and a real PostgreSQL: order per person and subject, urgent rows, failures
that stop blocking, head-only claims under two dispatchers, staleness at send time, pull with
acknowledgement, routing to the channel a person last wrote from, and read-only polling."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from backend.api import Backend, Request
from backend.orm import Identity, Manager, Notification
from backend.services.outbox import notify
from bot.workers import Dispatcher, Retry, Unreachable
from dialogs.domain import Domain
from dialogs.notify import Notifier

TZ = ZoneInfo("Asia/Shanghai")




def put(be: Backend, kind: str, pid: int, key: str, subject: str = "", urgent: bool = False, **params: Any) -> int:
    with be.db.uow() as s:
        notify(s, be.now, kind, pid, "job_started", key, subject=subject, urgent=urgent, booking_id=0, **params)
    with be.db.uow() as s:
        return s.scalar(select(Notification.id).where(Notification.key == key))


def row(be: Backend, nid: int) -> Notification:
    with be.db.uow() as s:
        return s.get(Notification, nid)


def telegram_client(be: Backend, chat: str = "900") -> int:
    return be.client_for("telegram", chat, "zh").id


def said(be: Backend, channel: str, external_id: str) -> None:
    """A message from this chat identity, a second after the previous one."""
    be.ctx.clock.advance(seconds=1)
    be.seen(channel, external_id)


def claimed(be: Backend, channels: tuple[str, ...] = ("telegram",)) -> list[int]:
    return [r["id"] for r in be.claim_push(list(channels))]


def test_order_holds_within_a_subject_and_other_subjects_do_not_wait(be: Backend) -> None:
    c = telegram_client(be)
    a1 = put(be, "client", c, "a1", "booking:1")
    a2 = put(be, "client", c, "a2", "booking:1")
    b1 = put(be, "client", c, "b1", "booking:2")
    assert claimed(be) == [a1, b1]  # only the head of each queue
    assert claimed(be) == []  # a1 is in flight: a2 waits for it
    be.delivered(a1)
    assert claimed(be) == [a2]
    assert row(be, a1).channel == "telegram" and row(be, a1).status == "delivered"


def test_an_urgent_row_is_never_held_behind_others(be: Backend) -> None:
    c = telegram_client(be)
    first = put(be, "client", c, "n1", "case:1")
    assert claimed(be) == [first]  # in flight, blocking its queue
    later = put(be, "client", c, "n2", "case:1")
    alarm = put(be, "client", c, "n3", "case:1", urgent=True)
    assert claimed(be) == [alarm]
    be.failed(first, "429", retry_after=60)  # backing off still blocks the non-urgent queue
    assert claimed(be) == []
    assert later not in claimed(be)


def test_a_row_that_failed_for_good_stops_blocking_and_managers_are_told(be: Backend) -> None:
    c = telegram_client(be)
    bad = put(be, "client", c, "bad", "booking:7", address="朝阳区建国路88号")
    nxt = put(be, "client", c, "next", "booking:7")
    assert claimed(be) == [bad]
    be.failed(bad, "refused: chat not found", permanent=True)
    assert row(be, bad).status == "failed"
    assert claimed(be) == [nxt]
    with be.db.uow() as s:
        managers = set(s.scalars(select(Manager.id)))
        told = list(s.scalars(select(Notification).where(Notification.template == "delivery_failed")))
    assert {n.person_id for n in told} == managers and all(n.person_kind == "manager" for n in told)
    assert told[0].params["recipient_kind"] == "client" and told[0].params["recipient_id"] == c
    assert told[0].params["failed_template"] == "job_started" and "建国路" not in str(told[0].params)


def test_retries_back_off_then_give_up_after_max_attempts(be: Backend) -> None:
    from backend.services.outbox import MAX_ATTEMPTS

    c = telegram_client(be)
    nid = put(be, "client", c, "flaky", "booking:3")
    for _ in range(MAX_ATTEMPTS):
        assert claimed(be) == [nid]
        be.failed(nid, "timeout")
        be.ctx.clock.advance(seconds=301)
    assert row(be, nid).status == "failed" and row(be, nid).attempts == MAX_ATTEMPTS


def test_a_crashed_dispatchers_claim_comes_back_after_the_lease(be: Backend) -> None:
    c = telegram_client(be)
    nid = put(be, "client", c, "leased")
    assert be.outbox_lease == timedelta(seconds=30)  # from settings.outbox.lease_seconds
    assert claimed(be) == [nid]
    be.ctx.clock.advance(seconds=29)
    assert claimed(be) == []
    be.ctx.clock.advance(seconds=2)
    assert claimed(be) == [nid] and row(be, nid).attempts == 2


def test_unreachable_falls_back_to_the_next_identity_then_undeliverable(be: Backend) -> None:
    c = telegram_client(be, "901")
    be.bind("client", c, "rest", "web-901")
    said(be, "rest", "web-901")
    said(be, "telegram", "901")  # last wrote on Telegram: messages go there, not to the website
    nid = put(be, "client", c, "hello")
    assert be.pull("client", c, "rest") == []
    assert claimed(be) == [nid]
    assert be.unreachable(nid, "telegram", "901", "unreachable: blocked") is True
    assert [r["id"] for r in be.pull("client", c, "rest")] == [nid]  # the fallback, at once
    assert claimed(be) == []  # never on both

    lone = telegram_client(be, "902")
    n2 = put(be, "client", lone, "lone")
    assert claimed(be) == [n2]
    assert be.unreachable(n2, "telegram", "902", "unreachable: blocked") is False
    assert row(be, n2).status == "undeliverable"
    n3 = put(be, "client", lone, "later")  # rows written after that cannot block anything either
    claimed(be)
    assert row(be, n3).status == "undeliverable"
    with be.db.uow() as s:
        reasons = {n.params["reason"] for n in s.scalars(select(Notification).where(
            Notification.template == "delivery_failed"))}
    assert reasons == {"undeliverable"}
    said(be, "telegram", "902")  # she unblocked the bot and wrote again
    n4 = put(be, "client", lone, "back")
    assert claimed(be) == [n4]


def test_proactive_messages_follow_the_channel_last_written_from(be: Backend) -> None:
    c = telegram_client(be, "903")
    be.bind("client", c, "rest", "web-903")
    said(be, "rest", "web-903")
    first = put(be, "client", c, "on-rest", "booking:1")
    assert claimed(be) == []  # routed to the website (pull), not pushed
    assert [r["id"] for r in be.pull("client", c, "rest")] == [first]
    said(be, "telegram", "903")
    assert be.pull("client", c, "rest") == []
    assert claimed(be) == [first]
    second = put(be, "client", c, "second", "booking:1")
    said(be, "rest", "web-903")  # back on the website while `first` is still in flight on Telegram
    assert be.pull("client", c, "rest") == []  # `second` waits behind it: never out of order
    be.delivered(first)
    assert [r["id"] for r in be.pull("client", c, "rest")] == [second]
    with be.db.uow() as s:
        mine = select(Identity).where(Identity.person_id == c, Identity.person_kind == "client")
        idents = {i.channel: i.last_seen_at for i in s.scalars(mine)}
    assert idents["rest"] == be.now


def test_pull_returns_until_acknowledged_and_only_the_owner_can_ack(be: Backend) -> None:
    alice = be.client_for("rest", "alice", "zh").id
    bob = be.client_for("rest", "bob", "zh").id
    a1, a2 = put(be, "client", alice, "a1"), put(be, "client", alice, "a2")
    b1 = put(be, "client", bob, "b1")
    first = be.pull_for("rest", "alice")
    assert [r["id"] for r in first["rows"]] == [a1, a2]
    assert [r["id"] for r in be.pull_for("rest", "alice")["rows"]] == [a1, a2]  # not acked: again
    assert [r["id"] for r in be.pull_for("rest", "alice", ack=[a1, b1])["rows"]] == [a2]
    assert row(be, a1).status == "delivered" and row(be, a1).channel == "rest"
    assert row(be, b1).status == "pending"  # somebody else's id changes nothing
    assert [r["id"] for r in be.pull_for("rest", "bob")["rows"]] == [b1]
    assert be.pull_for("rest", "alice", ack=[a2])["rows"] == []
    assert be.pull_for("rest", "alice", ack=[a1, a2])["rows"] == []  # acked never again
    assert be.pull_for("rest", "nobody") is None


def test_a_cancelled_bookings_job_cards_are_not_sent_the_cancellation_is(be: Backend) -> None:
    client = be.client_for("rest", "carol", "zh")
    b = be.book(client.id, Request("cleaning", datetime(2026, 11, 19, 10, tzinfo=TZ), hours=2))
    with be.db.uow() as s:
        offer = s.scalar(select(Notification).where(Notification.template == "offer_new"))
        hk = offer.person_id
    be.bind("housekeeper", hk, "telegram_staff", "hk-chat")
    said(be, "telegram_staff", "hk-chat")
    be.cancel(client.id, b["id"])  # before the dispatcher got to the card
    sent = [r["template"] for r in be.claim_push(["telegram_staff"])]
    assert "offer_new" not in sent
    with be.db.uow() as s:
        assert s.scalar(select(Notification.status).where(Notification.id == offer.id)) == "stale"
    assert sent == ["offer_withdrawn"]  # what she is told instead

    b2 = be.book(client.id, Request("cleaning", datetime(2026, 11, 19, 15, tzinfo=TZ), hours=2))
    with be.db.uow() as s:
        card = s.scalar(select(Notification).where(Notification.template == "offer_new",
                                                   Notification.status == "pending"))
    be.bind("housekeeper", card.person_id, "telegram_staff", f"hk-{card.person_id}")
    said(be, "telegram_staff", f"hk-{card.person_id}")
    be.accept_offer(card.person_id, card.params["offer_id"])
    be.cancel(client.id, b2["id"])
    got = []
    while rows := be.claim_push(["telegram_staff"]):
        for r in rows:
            got.append(r["template"])
            be.delivered(r["id"])
    assert got == ["job_cancelled"]  # neither the card nor the confirmation of a cancelled job


class SlowPusher:
    """A push platform that takes its time and notes who had two messages in flight at once."""

    def __init__(self) -> None:
        self.got: dict[str, list[int]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.overlap = False
        self.lock = threading.Lock()

    async def __call__(self, external_id: str, msg: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight[external_id] += 1
            self.overlap |= self.in_flight[external_id] > 1
        await asyncio.sleep(0.02)
        with self.lock:
            self.in_flight[external_id] -= 1
            self.got[external_id].append(int(re.search(r"#(\d+)", msg["text"]).group(1)))


async def test_two_dispatchers_never_reorder_a_queue(be: Backend) -> None:
    people = {f"80{i}": telegram_client(be, f"80{i}") for i in range(4)}
    for chat, pid in people.items():
        for seq in range(6):
            with be.db.uow() as s:
                notify(s, be.now, "client", pid, "job_started", f"{chat}:{seq}", subject="booking:5", booking_id=seq)
    push = SlowPusher()
    notifier = Notifier(Domain.load(), be.catalogue, TZ)
    one, two = (Dispatcher(be, notifier, {"telegram": push}) for _ in range(2))
    for _ in range(60):
        await asyncio.gather(one.run_once(), two.run_once())
        if sum(map(len, push.got.values())) == 24:
            break
    assert {chat: push.got[chat] for chat in people} == {chat: list(range(6)) for chat in people}
    assert not push.overlap  # one message per queue in flight at any time


def test_simultaneous_claims_take_each_head_once_and_nothing_behind_it(be: Backend) -> None:
    heads = []
    for i in range(10):
        pid = telegram_client(be, f"82{i}")
        heads.append(put(be, "client", pid, f"h{i}", "booking:9"))
        put(be, "client", pid, f"h{i}-2", "booking:9")
    start = threading.Barrier(2)
    got: list[list[int]] = []

    def dispatcher() -> None:
        start.wait()
        got.append(claimed(be))

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = got[0] + got[1]
    assert sorted(both) == heads  # every head exactly once, no second row of any queue


async def test_a_crash_between_send_and_record_repeats_that_message_once(be: Backend, monkeypatch) -> None:
    import bot.workers

    class Killed(BaseException):
        pass

    def crash(name: str) -> None:
        if name == "outbox_send":
            raise Killed

    c = telegram_client(be, "810")
    nid = put(be, "client", c, "once")
    push = SlowPusher()
    d = Dispatcher(be, Notifier(Domain.load(), be.catalogue, TZ), {"telegram": push})
    monkeypatch.setattr(bot.workers, "crash_point", crash)
    with pytest.raises(Killed):
        await d.run_once()
    monkeypatch.undo()
    assert row(be, nid).status == "pending" and await d.run_once() == 0  # leased to the dead dispatcher
    be.ctx.clock.advance(seconds=31)
    assert await d.run_once() == 1
    assert row(be, nid).status == "delivered" and len(push.got["810"]) == 2


async def test_a_dispatcher_retries_later_on_a_rate_limit(be: Backend) -> None:
    c = telegram_client(be, "811")
    nid = put(be, "client", c, "limited")
    calls = []

    async def limited(external_id: str, msg: dict[str, Any]) -> None:
        calls.append(external_id)
        if len(calls) == 1:
            raise Retry("429", retry_after=10)

    d = Dispatcher(be, Notifier(Domain.load(), be.catalogue, TZ), {"telegram": limited})
    assert await d.run_once() == 1 and row(be, nid).status == "pending"
    be.ctx.clock.advance(seconds=11)
    assert await d.run_once() == 1 and row(be, nid).status == "delivered"


async def test_a_blocked_chat_falls_back_without_sending_twice(be: Backend) -> None:
    c = telegram_client(be, "812")
    be.bind("client", c, "rest", "web-812")

    async def blocked(external_id: str, msg: dict[str, Any]) -> None:
        raise Unreachable("Forbidden: bot was blocked by the user")

    d = Dispatcher(be, Notifier(Domain.load(), be.catalogue, TZ), {"telegram": blocked})
    said(be, "telegram", "812")
    nid = put(be, "client", c, "fallback")
    assert await d.run_once() == 1
    assert await d.run_once() == 0
    assert [r["id"] for r in be.pull_for("rest", "web-812")["rows"]] == [nid]


class Writes:
    """Counts statements that write or take SQLite's write lock on an engine."""

    def __init__(self, engine: Any) -> None:
        self.n = 0
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if re.match(r"\s*(BEGIN IMMEDIATE|INSERT|UPDATE|DELETE)", statement, re.I):
            self.n += 1


def test_an_idle_poll_writes_nothing(be: Backend) -> None:
    c = be.client_for("rest", "idle", "zh").id
    said(be, "rest", "idle")
    writes = Writes(be.db.engine)
    for _ in range(20):
        assert be.pull_for("rest", "idle")["rows"] == []
        said(be, "rest", "idle")  # a steady conversation on the same channel does not rewrite the route
    assert writes.n == 0
    nid = put(be, "client", c, "one")
    writes.n = 0
    for _ in range(5):
        assert [r["id"] for r in be.pull_for("rest", "idle")["rows"]] == [nid]
    assert writes.n == 0  # shown but not yet acknowledged: still no write
    be.pull_for("rest", "idle", ack=[nid])
    assert writes.n > 0


def test_a_poll_is_not_blocked_by_a_writer_holding_the_sqlite_lock(be: Backend) -> None:
    if be.db.is_postgres:
        pytest.skip("SQLite's single writer lock")
    be.client_for("rest", "poller", "zh")
    holder = sqlite3.connect(be.db.engine.url.database, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is in the middle of a turn
    try:
        done = threading.Event()
        t = threading.Thread(target=lambda: (be.pull_for("rest", "poller"), done.set()))
        t.start()
        assert done.wait(5), "the poll waited for the write lock"
        t.join()
    finally:
        holder.rollback()
        holder.close()


def test_an_emergency_alert_is_urgent_and_ordered_by_its_case(be: Backend) -> None:
    emergency = be.escalate("emergency", text="厨房着火了")
    request = be.escalate("human_requested")
    alerts = {r["params"]["case_id"]: r for r in be.pull("manager", 1)}
    assert alerts[emergency]["urgent"] is True and alerts[emergency]["subject"] == f"case:{emergency}"
    assert alerts[request]["urgent"] is False and alerts[request]["subject"] == f"case:{request}"
