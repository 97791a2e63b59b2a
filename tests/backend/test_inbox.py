"""The durable inbox: a message acknowledged before its turn ran is kept (encrypted), run once through
the normal turn by the worker, and survives a failure mid-run. SQLite and PostgreSQL.

``accept_and_run`` below is the REST-free harness a channel that acknowledges first (WeChat) uses:
``InboxWorker.accept(msg)`` before the acknowledgement, the worker does the rest."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from backend import testhooks
from backend.orm import Client, Identity, InboxMessage, Notification
from bot.inbox_worker import InboxWorker
from dialogs.messages import IncomingMessage
from dialogs.tracker_store import processed_messages
from tests.conftest import make_app


@pytest.fixture
def app(tmp_path: Path, db_url: str, trained_model: Path):
    a = make_app(tmp_path, db_url, model=trained_model)
    yield a
    a.backend.db.dispose()


def wechat(text_: str, mid: str, sender: str = "openid-1") -> IncomingMessage:
    return IncomingMessage("wechat", sender, text_, message_id=mid)


async def accept_and_run(app: Any, *msgs: IncomingMessage) -> tuple[list[bool], int]:
    """A channel's view: accept (then acknowledge the platform), and let one worker pass run them."""
    worker = InboxWorker(app.desk)
    fresh = [await worker.accept(m) for m in msgs]
    return fresh, await worker.run_once()


def replies_to(app: Any, sender: str, channel: str = "wechat") -> list[dict[str, Any]]:
    with app.backend.db.uow() as s:
        client_id = s.scalar(select(Identity.person_id).where(Identity.channel == channel,
                                                              Identity.external_id == sender))
        rows = s.scalars(select(Notification).where(Notification.person_kind == "client",
                                                    Notification.person_id == client_id,
                                                    Notification.template == "reply").order_by(Notification.id))
        # A turn's replies travel as one row (its parts); other rows are one reply each.
        return [dict(p) for n in rows for p in (n.params.get("parts") or [n.params])]


def rows(app: Any) -> list[InboxMessage]:
    with app.backend.db.uow() as s:
        return list(s.scalars(select(InboxMessage).order_by(InboxMessage.id)))


def test_an_accepted_message_is_answered_through_the_outbox_once(app: Any) -> None:
    fresh, ran = asyncio.run(accept_and_run(app, wechat("你好", "m1"), wechat("你好", "m1")))
    assert fresh == [True, False] and ran == 1  # the platform's redelivery is accepted once
    out = replies_to(app, "openid-1")
    assert len(out) == 1 and "家政服务前台" in out[0]["text"] and out[0]["buttons"]
    [row] = rows(app)
    assert row.status == "done" and row.payload == {}  # the text is not kept once it has run
    with app.backend.db.uow() as s:
        assert s.execute(select(processed_messages).where(processed_messages.c.message_id == "m1")).first()
    # Redelivered after it ran: still accepted once, nothing runs again.
    fresh, ran = asyncio.run(accept_and_run(app, wechat("你好", "m1")))
    assert fresh == [False] and ran == 0 and len(replies_to(app, "openid-1")) == 1
    # What the worker queued renders as the reply itself on any channel.
    assert app.notifier.render("reply", out[0], "en") == out[0]


def test_a_failure_mid_run_leaves_the_message_pending_and_it_runs_later(app: Any, monkeypatch) -> None:
    hits: list[str] = []

    def crash(point: str) -> None:
        if point == "mid_turn" and not hits:
            hits.append(point)
            raise RuntimeError("killed mid-turn")

    monkeypatch.setattr(testhooks, "crash_point", crash)
    fresh, ran = asyncio.run(accept_and_run(app, wechat("我想约明天上午10点的保洁", "m1")))
    assert fresh == [True] and ran == 1 and hits == ["mid_turn"]
    [row] = rows(app)
    assert row.status == "pending" and row.attempts == 1 and row.payload["text"]
    assert replies_to(app, "openid-1") == []  # the turn rolled back with its replies
    with app.backend.db.uow() as s:
        assert s.scalar(select(func.count()).select_from(processed_messages)) == 0
        assert s.execute(text("SELECT count(*) FROM conversations")).scalar() == 0
    assert asyncio.run(InboxWorker(app.desk).run_once()) == 0  # backing off
    app.clock.advance(seconds=5)
    assert asyncio.run(InboxWorker(app.desk).run_once()) == 1
    assert rows(app)[0].status == "done"
    out = replies_to(app, "openid-1")
    assert len(out) == 1 and "几个小时" in out[0]["text"]


def test_a_message_that_keeps_failing_gives_up_and_says_so(app: Any, monkeypatch) -> None:
    def crash(point: str) -> None:
        if point == "mid_turn":
            raise RuntimeError("always")

    monkeypatch.setattr(testhooks, "crash_point", crash)
    asyncio.run(accept_and_run(app, wechat("你好", "m1")))
    for _ in range(6):
        app.clock.advance(minutes=10)
        asyncio.run(InboxWorker(app.desk).run_once())
    assert rows(app)[0].status == "failed"
    assert ["系统出了点问题" in r["text"] for r in replies_to(app, "openid-1")] == [True]


def test_one_sender_in_order_others_in_parallel_and_leases(app: Any) -> None:
    be = app.backend
    worker = InboxWorker(app.desk)
    for m in (wechat("你好", "a1", "A"), wechat("价格", "a2", "A"), wechat("你好", "b1", "B")):
        asyncio.run(worker.accept(m))
    claimed = be.inbox_claim(10)
    assert [(r["sender_id"], r["message_id"]) for r in claimed] == [("A", "a1"), ("B", "b1")]  # heads only
    assert be.inbox_claim(10) == []  # leased, and A's second message waits behind its first
    app.clock.advance(seconds=be.inbox_lease.total_seconds() + 1)
    assert [r["message_id"] for r in be.inbox_claim(10)] == ["a1", "b1"]  # a dead worker's claims come back
    app.clock.advance(seconds=be.inbox_lease.total_seconds() + 1)
    assert asyncio.run(worker.run_once()) == 2
    assert asyncio.run(worker.run_once()) == 1  # then A's second message
    assert [r["status"] for r in map(vars, rows(app))] == ["done"] * 3
    assert len(replies_to(app, "A")) == 2 and "价" in replies_to(app, "A")[1]["text"]


def test_a_message_that_already_ran_is_closed_without_running_again(app: Any) -> None:
    """A worker's lease ran out while its turn was committing: the next claim finds the id processed."""
    asyncio.run(app.desk.handle(wechat("你好", "m1")))
    fresh, ran = asyncio.run(accept_and_run(app, wechat("你好", "m1")))
    assert fresh == [True] and ran == 1
    assert rows(app)[0].status == "done" and replies_to(app, "openid-1") == []
    assert asyncio.run(InboxWorker(app.desk).run_once()) == 0


def test_the_inbox_keeps_no_plaintext(app: Any) -> None:
    secret = "静安区南京西路1266号 13812345678"
    asyncio.run(InboxWorker(app.desk).accept(wechat(secret, "m1")))
    with app.backend.db.engine.connect() as c:
        raw = " ".join(str(v) for row in c.execute(text("SELECT * FROM inbox")) for v in row)
    for form in (secret, "13812345678", secret.encode("unicode_escape").decode(),
                 base64.b64encode(secret.encode()).decode()):
        assert form not in raw
    with app.backend.db.uow() as s:
        assert s.scalar(select(InboxMessage.payload))["text"] == secret
        assert s.scalar(select(func.count()).select_from(Client)) == 0  # nobody identified before the turn


def test_bad_keys_are_refused(app: Any) -> None:
    from backend.api import DomainError

    with pytest.raises(DomainError, match="invalid_message_id"):
        app.backend.inbox_accept("wechat", "s", "x" * 129, {"text": "hi"})
    with pytest.raises(ValueError):
        asyncio.run(InboxWorker(app.desk).accept(IncomingMessage("wechat", "s", "hi")))
