"""On PostgreSQL a turn marks its message id and reads its conversation's state in one round trip, and
writes the state with its kept answer in one more at the commit (dialogs/tracker_store.py), with the
outcomes of the statements they replace: a duplicate is found, a concurrent holder of the same id is
waited for, a state written in the turn is the one read back, and a failed turn writes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import event

from backend.crypto import Cipher
from backend.db import Database
from dialogs.tracker_store import TrackerStore, new_state
from tests.conftest import TEST_KEY


def _store(db_url: str) -> tuple[Database, TrackerStore]:
    db = Database(db_url, Cipher(TEST_KEY))
    db.create_all()
    store = TrackerStore(db.engine)
    store.create_tables()
    return db, store


def _selects(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda *a: seen.append(a[2]) if a[2].lstrip().upper().startswith("SELECT") else None)
    return seen


def test_the_state_read_with_the_mark_is_the_one_stored(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    state = {**new_state(), "slots": {"service_type": "cleaning", "hours": 3}}
    with db.turn():
        assert store.first_time("rest", "s1", "m1", "rest:s1")
        store.save("rest:s1", state)
    selects = _selects(db)
    with db.turn():
        assert store.first_time("rest", "s1", "m2", "rest:s1")
        assert store.load("rest:s1")["slots"] == state["slots"]
        assert store.load("rest:s1")["slots"] == state["slots"]
    assert len(selects) == (0 if db.is_postgres else 2)  # PostgreSQL: read with the mark, once
    with db.turn():
        assert not store.first_time("rest", "s1", "m2", "rest:s1")  # a duplicate is still found
        assert store.load("rest:s1")["slots"] == state["slots"]
    db.dispose()


def test_a_state_written_after_the_mark_is_the_one_loaded(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    with db.turn():
        assert store.first_time("rest", "s2", "m1", "rest:s2")  # a new conversation: nothing stored yet
        store.save("rest:s2", {**new_state(), "slots": {"hours": 4}})
        assert store.load("rest:s2")["slots"] == {"hours": 4}
    with db.turn():
        assert store.first_time("rest", "s3", "m1", "rest:s3")
        assert store.load("rest:s3") == new_state()
    db.dispose()


def _mark(db: Database, store: TrackerStore, mid: str, out: list[bool]) -> None:
    with db.turn():
        out.append(store.first_time("rest", "s4", mid, "rest:s4"))


def test_a_concurrent_holder_of_the_same_id_is_waited_for(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    if not db.is_postgres:  # SQLite: one writer at a time, the second BEGIN waits before any mark
        db.dispose()
        return
    results: dict[str, bool] = {}
    holding, release = threading.Event(), threading.Event()

    def first(commit: bool) -> None:
        try:
            with db.turn():
                results["first"] = store.first_time("rest", "s4", "m1" if commit else "m2", "rest:s4")
                holding.set()
                release.wait(10)
                if not commit:
                    raise RuntimeError("the turn fails")
        except RuntimeError:
            pass

    for commit, mid, expected in ((True, "m1", False), (False, "m2", True)):
        holding.clear()
        release.clear()
        t = threading.Thread(target=first, args=(commit,))
        t.start()
        assert holding.wait(10)
        waited: list[bool] = []
        u = threading.Thread(target=_mark, args=(db, store, mid, waited))
        u.start()
        time.sleep(0.3)
        assert waited == []  # blocked on the first turn's uncommitted mark
        release.set()
        t.join(10)
        u.join(10)
        assert results["first"] and waited == [expected]  # committed: a duplicate; rolled back: fresh
    db.dispose()


def _written(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda *a: seen.append(a[2]) if "conversations" in a[2] or "processed_messages" in a[2] else None)
    return seen


def test_the_state_and_the_answer_are_written_together_at_the_commit(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    replies = [{"text": "好的，几点？"}]
    statements = _written(db)
    with db.turn():
        assert store.first_time("rest", "s5", "m1", "rest:s5")
        store.save("rest:s5", {**new_state(), "slots": {"hours": 2}})
        assert store.load("rest:s5")["slots"] == {"hours": 2}  # the turn reads what it wrote
        store.remember("rest", "s5", "m1", replies)
    assert len(statements) == (2 if db.is_postgres else 5)  # PostgreSQL: mark+read, then state+answer
    assert store.load("rest:s5")["slots"] == {"hours": 2}
    assert store.answer_of("rest", "s5", "m1") == replies
    db.dispose()


def test_a_failed_turn_writes_neither_state_nor_answer(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    with db.turn():
        assert store.first_time("rest", "s6", "m1", "rest:s6")
        store.save("rest:s6", {**new_state(), "slots": {"hours": 2}})
    try:
        with db.turn():
            assert store.first_time("rest", "s6", "m2", "rest:s6")
            store.save("rest:s6", {**new_state(), "slots": {"hours": 5}})
            store.remember("rest", "s6", "m2", [{"text": "x"}])
            raise RuntimeError("the turn fails before its commit")
    except RuntimeError:
        pass
    assert store.load("rest:s6")["slots"] == {"hours": 2}
    assert store.answer_of("rest", "s6", "m2") == []
    with db.turn():  # the id was not marked: its retry runs
        assert store.first_time("rest", "s6", "m2", "rest:s6")
    db.dispose()


def test_two_conversations_saved_in_one_turn_are_both_kept(db_url: str, tmp_path: Path) -> None:
    db, store = _store(db_url)
    with db.turn():
        assert store.first_time("telegram", "a", "1", "telegram:a")
        store.save("telegram:a", {**new_state(), "slots": {"hours": 1}})
        store.save("telegram:b", {**new_state(), "slots": {"hours": 2}})  # e.g. a staff action on another chat
        assert store.load("telegram:b")["slots"] == {"hours": 2}
    assert store.load("telegram:a")["slots"] == {"hours": 1}
    assert store.load("telegram:b")["slots"] == {"hours": 2}
    db.dispose()
