"""Bookings, offers, timers, escalations and the outbox on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from backend.api import Backend, DomainError, Request
from backend.crypto import Cipher
from backend.orm import AuditLog, Booking, Notification, Offer
from backend.services import staff
from tests.conftest import TEST_KEY

TZ = ZoneInfo("Asia/Shanghai")




def tomorrow(hour: int = 10) -> datetime:
    return datetime(2026, 11, 19, hour, 0, tzinfo=TZ)


def pending_offer(be: Backend, booking_id: int) -> Offer:
    with be.db.uow() as s:
        return s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))


def test_booking_is_offered_to_the_best_candidate_with_reasons(be: Backend) -> None:
    c = be.client_for("rest", "alice", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=3, address="朝阳区建国路88号", district="朝阳"))
    assert b["status"] == "offered" and b["price"] == 150
    cands = be.candidates(b["id"])
    assert cands[0]["state"] == "offered" and cands[0]["rank"] == 1
    assert cands[0]["score"] >= cands[-1]["score"]
    assert set(cands[0]["reasons"]) >= {"rating", "continuity", "language", "district", "fairness"}
    offer = pending_offer(be, b["id"])
    assert offer.housekeeper_id == cands[0]["housekeeper_id"]
    notes = be.pull("housekeeper", offer.housekeeper_id)
    assert [n["template"] for n in notes] == ["offer_new"]
    assert "address" not in notes[0]["params"] and "phone" not in str(notes[0]["params"])  # nothing private yet


def test_accept_confirms_and_tells_both_sides(be: Backend) -> None:
    c = be.client_for("rest", "bob", "en")
    be.set_client(c.id, phone="13812345678")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=2, address="Flat 5, 18 Nanjing Road"))
    offer = pending_offer(be, b["id"])
    r = be.accept_offer(offer.housekeeper_id, offer.id)
    assert r["error"] is None and r["booking"]["status"] == "confirmed"
    client_msgs = be.pull("client", c.id)
    assert client_msgs[0]["template"] == "booking_confirmed"
    # the job is hers from now until it ends: each side has the other's full number
    assert re.fullmatch(r"1[3-9]\d{9}", client_msgs[0]["params"]["housekeeper_phone"])
    hk_msgs = [n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "job_confirmed"]
    assert hk_msgs[0]["params"]["address"] == "Flat 5, 18 Nanjing Road"
    assert hk_msgs[0]["params"]["client_phone"] == "13812345678"
    with pytest.raises(DomainError, match="offer_accepted"):
        be.accept_offer(offer.housekeeper_id, offer.id)


def test_only_the_addressee_can_answer_an_offer(be: Backend) -> None:
    c = be.client_for("rest", "carol", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=2))
    offer = pending_offer(be, b["id"])
    with pytest.raises(DomainError, match="not_your_offer"):
        be.accept_offer(offer.housekeeper_id + 1, offer.id)
    with pytest.raises(DomainError, match="not_your_offer"):
        be.decline_offer(offer.housekeeper_id + 1, offer.id)


def test_decline_and_expiry_cascade_to_unassigned_and_an_escalation(be: Backend) -> None:
    c = be.client_for("rest", "dave", "zh")
    b = be.book(c.id, Request("butler", tomorrow()))  # one butler in the demo roster
    offer = pending_offer(be, b["id"])
    be.decline_offer(offer.housekeeper_id, offer.id)
    assert be.booking(b["id"])["status"] == "unassigned"
    esc = be.escalations()
    assert [(e["kind"], e["booking_id"]) for e in esc] == [("unassigned", b["id"])]
    assert {n["template"] for n in be.pull("manager", 1)} == {"case_alert"}
    assert [n["template"] for n in be.pull("client", c.id)] == ["booking_unassigned"]
    be.claim(1, esc[0]["id"])  # its re-alert timer would otherwise run below, beside the offer's

    b2 = be.book(c.id, Request("cleaning", tomorrow(14), hours=2))
    first = pending_offer(be, b2["id"])
    be.ctx.clock.advance(minutes=9)
    assert be.run_due_timers() == 0
    be.ctx.clock.advance(minutes=2)
    assert be.run_due_timers() == 1
    second = pending_offer(be, b2["id"])
    assert second.housekeeper_id != first.housekeeper_id
    with pytest.raises(DomainError, match="offer_expired"):
        be.accept_offer(first.housekeeper_id, first.id)


def test_fifty_concurrent_confirmations_give_exactly_one_job(be: Backend) -> None:
    """50 bookings for the same slot, each offered to the same housekeeper, accepted at once."""
    with be.db.uow() as s:
        hk_id = s.scalar(text("SELECT id FROM housekeepers WHERE code = 'HK001'"))
    offer_ids = []
    start = tomorrow(10)
    clients = [be.client_for("rest", f"racer{i}", "zh").id for i in range(50)]
    with be.db.uow() as s:
        for client_id in clients:
            b = Booking(client_id=client_id, service="cleaning", starts_at=start, ends_at=start + timedelta(hours=3),
                        status="offered", price_estimate=150, created_at=be.now)
            s.add(b)
            s.flush()
            o = Offer(booking_id=b.id, housekeeper_id=hk_id, created_at=be.now, expires_at=be.now + timedelta(hours=1))
            s.add(o)
            s.flush()
            offer_ids.append(o.id)

    def accept(oid: int) -> str:
        try:
            return be.accept_offer(hk_id, oid)["error"] or "confirmed"
        except DomainError as e:
            return e.code

    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(accept, offer_ids))
    assert results.count("confirmed") == 1
    assert results.count("slot_taken") == 49
    with be.db.uow() as s:
        confirmed = s.scalars(select(Booking).where(Booking.housekeeper_id == hk_id,
                                                    Booking.status == "confirmed")).all()
        assert len(confirmed) == 1


def test_personal_data_is_encrypted_at_rest(be: Backend) -> None:
    c = be.client_for("rest", "erin", "zh")
    be.set_client(c.id, phone="13912345678", name="王小明", address="海淀区学院路20号")
    with be.db.engine.connect() as conn:
        raw = conn.execute(text("SELECT phone, name, address FROM clients WHERE id = :i"), {"i": c.id}).one()
    assert "13912345678" not in str(raw) and "王小明" not in str(raw) and "学院路" not in str(raw)
    assert Cipher(TEST_KEY).decrypt(raw[0]) == "13912345678"
    assert be.client(c.id)["phone"] == "13912345678"


def test_validation_errors_have_codes(be: Backend) -> None:
    c = be.client_for("rest", "fay", "zh")
    cases = {
        "time_past": Request("cleaning", be.now - timedelta(hours=1), hours=2),
        "time_too_soon": Request("cleaning", be.now + timedelta(minutes=30), hours=2),
        "outside_hours": Request("cleaning", tomorrow(20), hours=3),
        "duration_range": Request("cleaning", tomorrow(), hours=12),
        "area_range": Request("deep_cleaning", tomorrow(), area=5),
        "unknown_service": Request("plumbing", tomorrow()),
    }
    for code, req in cases.items():
        assert be.check(c.id, req)["error"] == code
        with pytest.raises(DomainError, match=code):
            be.book(c.id, req)


def test_nobody_free_offers_the_nearest_alternatives(be: Backend) -> None:
    c = be.client_for("rest", "gus", "zh")
    assert be.check(c.id, Request("cleaning", tomorrow(10), hours=2))["ok"] is True
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # the demo roster's only butler works Wednesday to Sunday
    r = be.check(c.id, Request("butler", monday))
    assert r["error"] == "nobody_free"
    alts = [datetime.fromisoformat(a) for a in r["alternatives"]]
    assert len(alts) == 3 and alts == sorted(alts) and all(a > monday for a in alts)
    assert all(a.astimezone(TZ).weekday() in (2, 3, 4, 5, 6) for a in alts)
    for a in alts:
        assert be.check(c.id, Request("butler", a))["ok"] is True


def test_every_state_change_is_audited(be: Backend) -> None:
    c = be.client_for("rest", "hal", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=2))
    be.cancel(c.id, b["id"])
    with be.db.uow() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.entity == "booking", AuditLog.entity_id == b["id"])
                         .order_by(AuditLog.id)).all()
        assert [(r.old, r.new) for r in rows] == [(None, "requested"), ("requested", "offered"),
                                                 ("offered", "cancelled")]
    with pytest.raises(DomainError, match="booking_not_found"):
        be.cancel(c.id + 1000, b["id"])


def test_notifications_are_idempotent_and_retried_with_backoff(be: Backend) -> None:
    from backend.services.outbox import notify

    with be.db.uow() as s:
        for _ in range(3):
            notify(s, be.now, "client", 1, "job_started", "same-key", booking_id=1)
    with be.db.uow() as s:
        assert s.scalar(text("SELECT count(*) FROM notifications WHERE key = 'same-key'")) == 1
        nid = s.scalar(select(Notification.id).where(Notification.key == "same-key"))
    be.failed(nid, "429", retry_after=30)
    with be.db.uow() as s:
        n = s.get(Notification, nid)
        assert n.status == "pending" and n.next_attempt_at == be.now + timedelta(seconds=30)


def test_roster_import_reports_bad_rows_with_line_numbers(be: Backend, tmp_path) -> None:
    f = tmp_path / "roster.csv"
    f.write_text("code,role,name,phone,skills,days,hours,certificates\n"
                 "HK900,housekeeper,刘阿姨,13900000900,cleaning,mon;tue,08:00-18:00,health:2027-06-30\n"
                 "HK901,chef,许阿姨,13900000901,cleaning,mon,08:00-18:00,health:2027-06-30\n"
                 "HK902,housekeeper,陈阿姨,12345,cleaning,mon,08:00-18:00,health:2027-06-30\n"
                 "HK903,housekeeper,何阿姨,13900000903,plumbing,mon,08:00-18:00,\n"
                 "HK904,housekeeper,吴阿姨,13900000904,cleaning,funday,8-6,health:soon\n"
                 "HK900,manager,重复,13900000905,,,,\n", encoding="utf-8")
    with pytest.raises(staff.RosterError) as e:
        staff.read_roster(f, be.catalogue)
    errors = "\n".join(e.value.errors)
    for line, word in [(3, "role"), (4, "phone"), (5, "skills"), (6, "days"), (7, "twice")]:
        assert f"line {line}:" in errors and word in errors.split(f"line {line}:")[1].split("\n")[0]
    assert "line 2:" not in errors
    good = tmp_path / "ok.yaml"
    good.write_text("staff:\n- {code: HK950, name: 周阿姨, phone: '13900000950', skills: [nanny], "
                    "certificates: ['health:2027-06-30', 'childcare:2027-06-30'], days: 'mon;sat', "
                    "hours: '09:00-17:00'}\n"
                    "- {code: MGR9, role: manager, name: 老板}\n", encoding="utf-8")
    tokens = be.import_staff(staff.read_roster(good, be.catalogue))
    assert set(tokens) == {"HK950", "MGR9"} and be.staff_by_code("MGR9").kind == "manager"


def test_a_booking_saves_the_contact_details_it_was_made_with(be: Backend) -> None:
    c = be.client_for("rest", "contact-1", "zh")
    req = Request("cleaning", tomorrow(), hours=3, address="朝阳区建国路88号")
    b = be.book(c.id, req, request_key="form-c1", contact={"phone": "13812345678", "address": req.address})
    assert b["status"] == "offered"
    assert be.client(c.id)["phone"] == "13812345678" and be.client(c.id)["address"] == req.address
    # a double tap: the same booking, the details as they are
    assert be.book(c.id, req, request_key="form-c1", contact={"phone": "13812345678"})["id"] == b["id"]
    # a refused booking (here: outside the area) still keeps the details she gave, as before the booking
    far = Request("cleaning", tomorrow(14), hours=3, address="广州市天河区体育西路1号")
    with pytest.raises(DomainError, match="outside_area"):
        be.book(c.id, far, request_key="form-c2", contact={"phone": "13912345678", "address": far.address})
    assert be.client(c.id)["phone"] == "13912345678" and be.client(c.id)["address"] == far.address
    with pytest.raises(DomainError, match="invalid_phone"):  # checked before anything is written
        be.book(c.id, req, request_key="form-c3", contact={"phone": "12345"})
    assert be.client(c.id)["phone"] == "13912345678"
    with be.db.uow() as s:
        assert [x.request_key for x in s.scalars(select(Booking).where(Booking.client_id == c.id))] == ["form-c1"]


def test_timers_and_notifications_are_written_once_per_key(be: Backend) -> None:
    from backend.orm import Timer
    from backend.services import outbox, timers

    with be.db.uow() as s:
        for due in (be.now, be.now + timedelta(hours=1)):  # the second call changes nothing
            timers.schedule(s, "offer_expiry", 1, due, "once:timer")
            outbox.notify(s, be.now, "client", 1, "booking_submitted", "once:note", booking_id=int(due.timestamp()))
    with be.db.uow() as s:
        assert [t.due_at for t in s.scalars(select(Timer).where(Timer.key == "once:timer"))] == [be.now]
        notes = list(s.scalars(select(Notification).where(Notification.key == "once:note")))
        assert len(notes) == 1 and notes[0].params == {"booking_id": int(be.now.timestamp())}
        assert notes[0].status == "pending" and notes[0].attempts == 0  # the columns' defaults still apply
