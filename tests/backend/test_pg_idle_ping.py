"""On PostgreSQL a pooled connection is pinged before use only after sitting idle: a connection the
server dropped meanwhile (restart, failover, an idle cut) is replaced before a turn gets it, and a busy
front desk does not pay a round trip per turn for connections it used a moment ago."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from backend import db as dbmod
from tests.conftest import fresh_postgres


def _drop_connections(url: str) -> int:
    """What a server restart does to the app's pooled connections: end every other backend of the database."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        # the timeout: wait until each backend has exited, so the next use meets a dead connection
        n = c.scalar(text("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    admin.dispose()
    return int(n or 0)


@pytest.fixture
def pings(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE", 0.5)
    seen: list[float] = []
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    ping = PGDialect_psycopg.do_ping

    def counted(self, dbapi_conn):  # type: ignore[no-untyped-def]
        seen.append(time.monotonic())
        return ping(self, dbapi_conn)

    monkeypatch.setattr(PGDialect_psycopg, "do_ping", counted)
    return seen


def test_a_connection_used_a_moment_ago_is_not_pinged_an_idle_one_is(postgres_url: str, pings) -> None:  # type: ignore[no-untyped-def]
    engine = dbmod.make_engine(fresh_postgres(postgres_url))
    for _ in range(5):  # back to back, as turns under load: the same connection, no ping
        with engine.connect() as c:
            assert c.scalar(text("SELECT 1")) == 1
    assert pings == []
    time.sleep(0.7)
    with engine.connect() as c:  # idle past the limit: checked once before use
        assert c.scalar(text("SELECT 1")) == 1
    assert len(pings) == 1
    engine.dispose()


def test_connections_the_server_dropped_while_idle_are_replaced_before_use(postgres_url: str, pings) -> None:  # type: ignore[no-untyped-def]
    url = fresh_postgres(postgres_url)
    engine = dbmod.make_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE kept (v int)"))
        c.execute(text("INSERT INTO kept VALUES (7)"))
    assert _drop_connections(url) >= 1
    time.sleep(0.7)
    with engine.begin() as c:  # no error: the dead connection failed its ping and a fresh one took its place
        assert c.scalar(text("SELECT v FROM kept")) == 7
    assert len(pings) == 1
    engine.dispose()


def test_without_the_idle_ping_a_dropped_connection_fails_its_first_statement(postgres_url: str, pings,
                                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The control for the test above: what the ping saves a turn from.
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE", 1e9)
    url = fresh_postgres(postgres_url)
    engine = dbmod.make_engine(url)
    with engine.connect() as c:
        c.scalar(text("SELECT 1"))
    assert _drop_connections(url) >= 1
    with pytest.raises(OperationalError), engine.connect() as c:
        c.scalar(text("SELECT 1"))
    with engine.connect() as c:  # SQLAlchemy then invalidates the pool: the next use connects afresh
        assert c.scalar(text("SELECT 1")) == 1
    assert pings == []
    engine.dispose()


async def test_a_turn_that_loses_its_connection_runs_again_on_a_fresh_one(postgres_url: str, trained_model,
                                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A restart under load: connections used a moment ago are not pinged, so the turn's first statement
    # fails; nothing was committed, and the desk runs the turn once more instead of answering with an error.
    from dialogs.messages import IncomingMessage
    from tests.conftest import make_app

    url = fresh_postgres(postgres_url)
    app = make_app(tmp_path, db_url=url, model=trained_model)
    error = app.desk.notifier.text("utter_error", "zh")["text"]
    first = await app.desk.handle(IncomingMessage("rest", "lost-1", "你好", message_id="m1"))
    assert first and all(r.get("text") != error for r in first)
    assert _drop_connections(url) >= 1
    replies = await app.desk.handle(IncomingMessage("rest", "lost-1", "保洁多少钱", message_id="m2"))
    assert replies and all(r.get("text") != error for r in replies)
    with app.backend.db.engine.connect() as c:
        marked = c.scalar(text("SELECT count(*) FROM processed_messages WHERE sender_id = 'lost-1'"))
    assert marked == 2  # the second turn committed, once
    app.backend.db.dispose()
