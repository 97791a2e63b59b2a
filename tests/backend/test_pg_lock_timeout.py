"""On PostgreSQL a statement waits for a row lock a bounded time: a session that never finishes (a worker
frozen or cut off mid-transaction) fails the waiting turn instead of stalling its conversation."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from backend import db as dbmod
from tests.conftest import fresh_postgres


def test_a_row_lock_held_forever_fails_the_waiting_statement(postgres_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = fresh_postgres(postgres_url) + "?application_name=lock-test"  # the URL's own options still apply
    monkeypatch.setattr(dbmod, "PG_LOCK_TIMEOUT", "1s")  # the app's 30 s, shortened for the test
    app = dbmod.make_engine(url)
    holder = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with app.begin() as c:
        c.execute(text("CREATE TABLE rows (id int PRIMARY KEY, v int)"))
        c.execute(text("INSERT INTO rows VALUES (1, 0)"))
    with holder.connect() as frozen:
        frozen.execute(text("SELECT v FROM rows WHERE id = 1 FOR UPDATE"))  # and never commits
        t = time.monotonic()
        with pytest.raises(OperationalError) as failed, app.begin() as c:
            c.execute(text("SET LOCAL statement_timeout = '10s'"))  # without the lock timeout: fail, not hang
            c.execute(text("UPDATE rows SET v = 1 WHERE id = 1"))
        assert failed.value.orig.sqlstate == "55P03"  # lock_not_available, not the statement timeout
        assert time.monotonic() - t < 10
        frozen.rollback()
    with app.connect() as c:
        assert c.scalar(text("SHOW application_name")) == "lock-test"
    with app.begin() as c:  # the lock gone, the same write goes through
        c.execute(text("UPDATE rows SET v = 1 WHERE id = 1"))
        assert c.scalar(text("SELECT v FROM rows WHERE id = 1")) == 1
    for e in (app, holder):
        e.dispose()
