"""Exactly once: a turn is one transaction with its message id; submissions are idempotent; offer
races lock the offer row; the backend validates whatever path a value came by. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend import testhooks
from backend.api import Backend, DomainError, Request
from backend.clock import FakeClock
from backend.orm import Booking, Client, Notification, Offer, Timer
from config import load_settings
from dialogs.messages import IncomingMessage
from dialogs.tracker_store import processed_messages
from tests.conftest import TEST_KEY, make_app

TZ = ZoneInfo("Asia/Shanghai")
CLEANING = ("我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有")


# --- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def app(tmp_path: Path, db_url: str, trained_model: Path):
    a = make_app(tmp_path, db_url, model=trained_model)
    yield a
    a.backend.db.dispose()




def _backend(db_url: str, tmp_path: Path, clock: Any) -> Backend:
    settings = load_settings(data_dir=tmp_path, data_key=TEST_KEY)
    return Backend.from_settings(settings, clock=clock, db_url=db_url)


def say(app: Any, words: str, sender: str = "c1", mid: str | None = None, channel: str = "rest") -> str:
    replies = asyncio.run(app.desk.handle(IncomingMessage(channel, sender, words, message_id=mid)))
    return "\n".join(r.get("text", "") for r in replies)


def up_to_summary(app: Any, sender: str = "c1") -> None:
    for i, words in enumerate(CLEANING):
        out = say(app, words, sender, f"{sender}-{i}")
    assert "150元" in out and "确认" in out


def count(be: Backend, model: Any, *where: Any) -> int:
    with be.db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def processed(be: Backend, sender: str, mid: str) -> bool:
    with be.db.uow() as s:
        return s.execute(select(processed_messages).where(processed_messages.c.sender_id == sender,
                                                          processed_messages.c.message_id == mid)).first() is not None


def state_of(app: Any, sender: str, channel: str = "rest") -> dict[str, Any]:
    return app.desk.engine.store.load(f"{channel}:{sender}")


def fail_at(monkeypatch: pytest.MonkeyPatch, name: str, times: int = 1) -> list[str]:
    """Make ``crash_point(name)`` raise (instead of kill) the next ``times`` times it is reached."""
    hit: list[str] = []

    def crash(point: str) -> None:
        if point == name and len(hit) < times:
            hit.append(point)
            raise RuntimeError(f"simulated crash at {point}")

    monkeypatch.setattr(testhooks, "crash_point", crash)
    return hit


def tomorrow(hour: int = 10) -> datetime:
    return datetime(2026, 11, 19, hour, 0, tzinfo=TZ)


# --- one turn, one transaction -------------------------------------------------------------------
def test_a_turn_that_dies_before_commit_leaves_nothing_and_its_retry_books(app: Any, monkeypatch) -> None:
    be = app.backend
    up_to_summary(app)
    hit = fail_at(monkeypatch, "mid_turn")
    assert "系统出了点问题" in say(app, "/affirm", mid="confirm-1")  # the user hears of a problem
    assert hit == ["mid_turn"]
    # Rolled back as one: no booking, no offer, no outbox row, no mark, the tracker still at the summary.
    assert count(be, Booking) == 0 and count(be, Offer) == 0 and count(be, Notification) == 0
    assert not processed(be, "c1", "confirm-1")
    assert state_of(app, "c1")["slots"]["awaiting_confirmation"] is True
    # The platform's retry of the same message id is processed in full.
    done = say(app, "/affirm", mid="confirm-1")
    assert re.search(r"#\d+", done), done
    assert count(be, Booking) == 1 and count(be, Offer) == 1
    assert processed(be, "c1", "confirm-1")
    assert say(app, "/affirm", mid="confirm-1") == ""  # and a third delivery is dropped
    assert count(be, Booking) == 1


def test_an_action_that_raises_once_is_retried_cleanly(app: Any, monkeypatch) -> None:
    be = app.backend
    up_to_summary(app)
    real, calls = Backend.book, []

    def flaky(self: Backend, *a: Any, **kw: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            real(self, *a, **kw)  # the booking is written … and then the action fails
            raise RuntimeError("action server hiccup")
        return real(self, *a, **kw)

    monkeypatch.setattr(Backend, "book", flaky)
    say(app, "/affirm", mid="m-confirm")
    assert count(be, Booking) == 0 and count(be, Notification) == 0 and not processed(be, "c1", "m-confirm")
    assert re.search(r"#\d+", say(app, "/affirm", mid="m-confirm"))
    assert count(be, Booking) == 1 and count(be, Notification, Notification.template == "offer_new") == 1


def test_a_domain_error_rolls_back_only_its_own_call(be: Backend) -> None:
    c = be.client_for("rest", "dora", "zh")
    with be.db.turn():
        be.set_client(c.id, name="Dora")
        with pytest.raises(DomainError, match="invalid_phone"):
            be.set_client(c.id, phone="12345")
        with pytest.raises(DomainError, match="booking_not_found"):
            be.cancel(c.id, 999)
        be.set_client(c.id, address="朝阳区建国路88号")
    assert be.client(c.id)["name"] == "Dora" and be.client(c.id)["address"] == "朝阳区建国路88号"
    with pytest.raises(RuntimeError), be.db.turn():
        be.set_client(c.id, name="Someone else")
        raise RuntimeError("the turn dies")
    assert be.client(c.id)["name"] == "Dora"


def test_the_same_message_id_from_another_sender_is_not_a_duplicate(app: Any) -> None:
    assert say(app, "你好", "alice", mid="42")
    assert say(app, "你好", "bob", mid="42")  # ids are unique per sender, not globally
    assert say(app, "你好", "alice", mid="42") == ""  # alice's own redelivery is dropped
    assert say(app, "你好", "alice", mid="42", channel="telegram")  # and per channel


def test_staff_turns_mark_their_message_ids_too(app: Any) -> None:
    be = app.backend
    up_to_summary(app)
    booking_id = int(re.search(r"#(\d+)", say(app, "/affirm", mid="ok")).group(1))
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == booking_id))
        offer_id, hk = offer.id, offer.housekeeper_id
    be.bind("housekeeper", hk, "telegram_staff", "hk-chat")
    accept = IncomingMessage("telegram_staff", "hk-chat", f'/accept_offer{{"offer_id": {offer_id}}}', message_id="7")
    first = asyncio.run(app.desk.handle_staff(accept))
    assert f"#{booking_id}" in first[0]["text"]
    assert asyncio.run(app.desk.handle_staff(accept)) == []  # the redelivery changes nothing
    assert be.booking(booking_id)["status"] == "confirmed"


# --- idempotent submission -----------------------------------------------------------------------
def test_two_confirms_in_a_row_make_one_booking(app: Any) -> None:
    be = app.backend
    up_to_summary(app)
    first = say(app, "/affirm", mid="tap-1")
    say(app, "/affirm", mid="tap-2")
    assert re.search(r"#\d+", first)
    assert count(be, Booking) == 1 and count(be, Offer) == 1
    assert count(be, Notification, Notification.template == "offer_new") == 1
    assert state_of(app, "c1")["slots"].get("form_key") is None  # the next booking gets a new key


def test_a_failure_after_the_booking_commit_never_books_twice(app: Any, monkeypatch) -> None:
    be = app.backend
    up_to_summary(app)
    hit = fail_at(monkeypatch, "after_booking_commit")
    say(app, "/affirm", mid="confirm")
    assert hit == ["after_booking_commit"]
    assert count(be, Booking) == 1 and processed(be, "c1", "confirm")
    assert say(app, "/affirm", mid="confirm") == ""  # the platform's retry: already done, dropped
    say(app, "确认", mid="confirm-again")  # the user, not seeing an answer, confirms again
    assert count(be, Booking) == 1 and count(be, Offer) == 1


def test_the_action_server_path_returns_the_same_booking_for_a_second_submit(app: Any) -> None:
    """Real Rasa keeps its own tracker: a crash between our commit and its reply leaves the form
    open, so the same submit arrives again — with the same form key, it is the same booking."""
    be = app.backend
    up_to_summary(app)
    state = state_of(app, "c1")
    key = state["slots"]["form_key"]
    assert key and len(key) == 32
    call = {"next_action": "action_submit_booking", "sender_id": "rest:c1", "version": "3",
            "domain": app.desk.engine.domain.raw,
            "tracker": {"sender_id": "rest:c1", "slots": state["slots"], "latest_message": {}, "events": [],
                        "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None}}
    first = asyncio.run(app.desk.engine.executor.run(call))
    second = asyncio.run(app.desk.engine.executor.run(call))
    assert first.responses == second.responses  # the same confirmation, the same booking number
    assert first.responses[0]["response"] == "utter_booking_submitted"
    assert count(be, Booking) == 1 and count(be, Notification, Notification.template == "offer_new") == 1
    with be.db.uow() as s:
        assert s.scalar(select(Booking.request_key)) == key


def test_book_with_a_request_key_is_idempotent(be: Backend) -> None:
    c = be.client_for("rest", "erin", "zh")
    req = Request("cleaning", tomorrow(), hours=2, address="朝阳区建国路88号")
    a = be.book(c.id, req, request_key="form-1")
    notes = count(be, Notification)
    b = be.book(c.id, req, request_key="form-1")
    assert a["id"] == b["id"] and count(be, Booking) == 1 and count(be, Offer) == 1
    assert count(be, Notification) == notes
    assert be.book(c.id, req, request_key="form-2")["id"] != a["id"]  # another form, another booking
    other = be.client_for("rest", "mallory", "zh")
    with pytest.raises(DomainError, match="request_key_taken"):
        be.book(other.id, req, request_key="form-1")  # nobody reads another client's booking by its key


def test_concurrent_double_submit_makes_exactly_one_booking(be: Backend) -> None:
    c = be.client_for("rest", "fay", "zh")
    req = Request("cleaning", tomorrow(), hours=2, address="朝阳区建国路88号")
    gate = threading.Barrier(6)

    def submit(_: int) -> int:
        gate.wait()
        return be.book(c.id, req, request_key="double-tap")["id"]

    with ThreadPoolExecutor(6) as pool:
        ids = list(pool.map(submit, range(6)))
    assert len(set(ids)) == 1
    assert count(be, Booking) == 1 and count(be, Offer) == 1
    assert count(be, Notification, Notification.template == "offer_new") == 1


# --- offer races lock the offer row --------------------------------------------------------------
def race(before: Backend, after: Backend, hk: int, offer_id: int) -> str:
    """The housekeeper accepts (on a clock just before expiry) while the timer worker (just after) runs."""
    gate = threading.Barrier(2)

    def accept() -> str:
        gate.wait()
        try:
            return "accepted" if before.accept_offer(hk, offer_id)["error"] is None else "slot_taken"
        except DomainError as e:
            return e.code

    def expire() -> int:
        gate.wait()
        return after.run_due_timers()

    try:
        with ThreadPoolExecutor(2) as pool:
            a, t = pool.submit(accept), pool.submit(expire)
            t.result()
            return a.result()
    finally:
        before.db.dispose()
        after.db.dispose()


def test_accept_racing_expiry_has_exactly_one_outcome(be: Backend, db_url: str, tmp_path: Path) -> None:
    """The housekeeper taps 接单 a second before the offer runs out while the timer worker, whose clock
    already says it has, expires it: whichever takes the offer row first wins, the other sees it."""
    outcomes = []
    for i in range(6):
        c = be.client_for("rest", f"race-{i}", "zh")
        b = be.book(c.id, Request("cleaning", tomorrow(9 + i), hours=2))
        with be.db.uow() as s:
            offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
            offer_id, hk, expires = offer.id, offer.housekeeper_id, offer.expires_at
        result = race(_backend(db_url, tmp_path, FakeClock(expires - timedelta(seconds=1))),
                      _backend(db_url, tmp_path, FakeClock(expires + timedelta(seconds=1))), hk, offer_id)
        with be.db.uow() as s:
            offer = s.get(Offer, offer_id)
            booking = s.get(Booking, b["id"])
            pending = s.scalars(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending")).all()
            if result == "accepted":
                assert offer.status == "accepted" and booking.status == "confirmed" and booking.housekeeper_id == hk
                assert pending == []
            else:
                assert result == "offer_expired", result
                assert offer.status == "expired" and booking.status in ("offered", "unassigned")
                assert booking.housekeeper_id is None and len(pending) == (booking.status == "offered")
                assert all(p.housekeeper_id != hk for p in pending)
            timer = s.scalar(select(Timer).where(Timer.key == f"offer_expiry:{offer_id}"))
            assert timer.status in ("done", "cancelled")
        outcomes.append(result)
    assert set(outcomes) <= {"accepted", "offer_expired"}


def test_a_timer_killed_mid_run_rolls_back_and_runs_again(be: Backend, monkeypatch) -> None:
    c = be.client_for("rest", "gus", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=2))
    be.ctx.clock.advance(minutes=11)
    hit = fail_at(monkeypatch, "timer_run")
    with pytest.raises(RuntimeError):
        be.run_due_timers()
    assert hit == ["timer_run"]
    with be.db.uow() as s:
        assert s.scalar(select(Offer.status).where(Offer.booking_id == b["id"])) == "pending"
    assert count(be, Notification, Notification.template == "offer_expired") == 0
    assert be.run_due_timers() >= 1
    with be.db.uow() as s:
        assert "expired" in s.scalars(select(Offer.status).where(Offer.booking_id == b["id"])).all()


# --- validation in the backend, whatever the path ------------------------------------------------
@pytest.mark.parametrize(("field", "value", "code"), [
    ("phone", "12345", "invalid_phone"), ("phone", "2381234567x", "invalid_phone"),
    ("phone", "1" * 2000, "invalid_phone"), ("address", "ab", "invalid_address"),
    ("address", "路" * 201, "invalid_address"), ("address", "朝阳区\x00建国路", "invalid_address"),
    ("name", "", "invalid_name"), ("name", "名" * 51, "invalid_name"), ("lang", "fr", "invalid_lang"),
    ("phone", 13812345678, "invalid_phone"),
])
def test_set_client_refuses_bad_values(be: Backend, field: str, value: Any, code: str) -> None:
    c = be.client_for("rest", "hal", "zh")
    with pytest.raises(DomainError) as e:
        be.set_client(c.id, **{field: value})
    assert e.value.code == code
    assert be.client(c.id)[field] in (None, "zh")  # nothing stored


def test_set_client_keeps_good_values_normalised(be: Backend) -> None:
    c = be.client_for("rest", "ivy", "zh")
    be.set_client(c.id, phone="+86 138-1234-5678", address=" 海淀区学院路20号 ", name="王小明")
    assert be.client(c.id) == {"id": c.id, "lang": "zh", "name": "王小明", "phone": "13812345678",
                               "address": "海淀区学院路20号"}
    with pytest.raises(DomainError, match="unknown_field"):
        be.set_client(c.id, never_again=[1])


@pytest.mark.parametrize(("change", "code"), [
    ({"notes": "备" * 501}, "invalid_notes"), ({"address": "x"}, "invalid_address"),
    ({"address": "朝阳区" * 100}, "invalid_address"), ({"district": "区" * 65}, "invalid_district"),
])
def test_bookings_refuse_bad_free_text(be: Backend, change: dict[str, Any], code: str) -> None:
    c = be.client_for("rest", "jo", "zh")
    req = Request(**{**Request("cleaning", tomorrow(), hours=2).__dict__, **change})
    with pytest.raises(DomainError) as e:
        be.book(c.id, req)
    assert e.value.code == code and count(be, Booking) == 0


def test_a_forged_action_call_cannot_store_a_bad_phone(app: Any) -> None:
    """An action-server call (or a button payload) carrying a phone the form never validated."""
    be = app.backend
    up_to_summary(app)
    state = state_of(app, "c1")
    slots = {**state["slots"], "phone": "not a phone"}
    call = {"next_action": "action_submit_booking", "sender_id": "rest:c1", "version": "3",
            "domain": app.desk.engine.domain.raw,
            "tracker": {"sender_id": "rest:c1", "slots": slots, "latest_message": {}, "events": [],
                        "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None}}
    result = asyncio.run(app.desk.engine.executor.run(call))
    assert result.responses[0]["response"] == "utter_invalid_phone"
    assert any(e.get("event") == "slot" and e.get("name") == "phone" and e.get("value") is None
               for e in result.events)
    assert count(be, Booking) == 0
    with be.db.uow() as s:
        assert s.scalar(select(Client.phone).where(Client.id == slots["client_id"])) is None


# --- storage hygiene ---------------------------------------------------------------------------
def test_the_sqlite_file_is_private_and_parameters_stay_out_of_errors(be: Backend, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert be.db.engine.hide_parameters
    c = be.client_for("rest", "kim", "zh")
    be.book(c.id, Request("cleaning", tomorrow(), hours=2), request_key="secret-key-13812345678")
    with pytest.raises(IntegrityError) as e, be.db.uow() as s:
        s.add(Booking(client_id=c.id, service="cleaning", starts_at=tomorrow(), ends_at=tomorrow(12),
                      request_key="secret-key-13812345678"))
        s.flush()
    assert "SQL parameters hidden" in str(e.value)
    if db_url.startswith("sqlite"):  # PostgreSQL's own DETAIL line names a duplicate key's value
        assert "13812345678" not in str(e.value)


def test_reads_take_no_write_lock(be: Backend) -> None:
    """While a writer holds SQLite's write lock, a poll's read session still answers at once."""
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with be.db.uow() as s:
            s.add(Client(lang="en"))
            s.flush()  # SQLite: the write lock is held from BEGIN IMMEDIATE; PostgreSQL: a row written
            holding.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert holding.wait(10)
    try:
        started = time.monotonic()
        with be.db.read() as s:
            assert s.scalar(select(func.count()).select_from(Client).where(Client.lang == "en")) == 0
        assert time.monotonic() - started < 2
    finally:
        release.set()
        t.join()
