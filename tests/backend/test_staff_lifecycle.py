"""Staff tokens, the staff status model and roster upsert, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text

from backend.api import Backend, DomainError, Request
from backend.orm import (
    AuditLog,
    Booking,
    Certificate,
    Escalation,
    Housekeeper,
    Identity,
    Invite,
    MatchCandidate,
    Notification,
    Offer,
    StaffToken,
    WorkingHours,
)
from backend.services import staff
from tests.conftest import TEST_KEY

TZ = ZoneInfo("Asia/Shanghai")




def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TZ)


def pending(be: Backend, booking_id: int) -> Offer | None:
    with be.db.uow() as s:
        return s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))


def hk(be: Backend, code: str) -> Housekeeper:
    with be.db.uow() as s:
        row = s.scalar(select(Housekeeper).where(Housekeeper.code == code))
        s.expunge(row)
        return row


def code_of(be: Backend, hk_id: int) -> str:
    with be.db.uow() as s:
        return s.get(Housekeeper, hk_id).code


def every_value(be: Backend) -> str:
    """Every column of every table, read through SQL, as one string."""
    out = []
    with be.db.engine.connect() as c:
        for table in inspect(c).get_table_names():
            for row in c.execute(text(f'SELECT * FROM "{table}"')):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


# --- tokens -------------------------------------------------------------------------------------
def test_tokens_are_stored_only_as_hashes_and_name_their_owner(be: Backend) -> None:
    assert set(be.tokens) == {f"HK{n:03d}" for n in range(1, 33)} | {"MGR01", "MGR02"}
    token = be.tokens["HK001"]
    assert token.startswith("fds_") and len(token) > 40 and len(set(be.tokens.values())) == 34
    dump = every_value(be)
    for t in be.tokens.values():
        assert t not in dump and t[4:] not in dump  # the raw token is in no table and no column
    with be.db.uow() as s:
        hashes = set(s.scalars(select(StaffToken.token_hash)))
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    p = be.staff_by_token(token)
    assert (p.kind, p.code, p.status) == ("housekeeper", "HK001", "active")
    assert be.staff_by_token(be.tokens["MGR01"]).kind == "manager"
    for junk in ("", "fds_", "fds_" + "x" * 43, token + "x", token.upper(), "x" * 5000, "\x00", "staff-1234"):
        assert be.staff_by_token(junk) is None
    # The REST identity is the code, with no secret in it.
    assert be.rest_id_of("housekeeper", p.id) == "staff:HK001"
    assert be.identify("rest", "staff:HK001") == p


def test_rotate_revokes_the_old_token_and_nothing_rotates_silently(be: Backend) -> None:
    old = be.tokens["HK002"]
    with pytest.raises(DomainError, match="token_exists"):
        be.issue_staff_token("HK002", rotate=False)
    assert be.staff_by_token(old).code == "HK002"
    new = be.issue_staff_token("HK002", rotate=True)
    assert new != old and be.staff_by_token(old) is None and be.staff_by_token(new).code == "HK002"
    # Importing the same roster again creates nobody and rotates nothing.
    rows = [staff.parse_row(i, r, be.catalogue) for i, r in enumerate(staff.demo_rows(be.now.date()), 1)]
    assert be.import_staff(rows) == {}
    assert be.staff_by_token(new).code == "HK002" and be.staff_by_token(be.tokens["HK003"]).code == "HK003"
    assert be.revoke_staff_tokens("HK002") == 1
    assert be.staff_by_token(new) is None and not be.has_staff_token("HK002")
    fresh = be.issue_staff_token("HK002", rotate=False)  # none live: issuing without --rotate is fine
    assert be.staff_by_token(fresh).code == "HK002"
    with pytest.raises(DomainError, match="no_such_staff"):
        be.issue_staff_token("NOBODY")
    with be.db.uow() as s:
        audit = [(a.new, a.actor) for a in s.scalars(select(AuditLog).where(AuditLog.entity == "housekeeper_token"))]
    assert ("issued", "admin") in audit and ("revoked", "admin") in audit


# --- deactivation -------------------------------------------------------------------------------
def test_deactivation_moves_pending_offers_unbinds_revokes_and_escalates_confirmed_jobs(be: Backend) -> None:
    c = be.client_for("rest", "alice", "zh")
    b1 = be.book(c.id, Request("cleaning", at(19), hours=3, address="朝阳区建国路88号", district="朝阳"))
    first = pending(be, b1["id"])
    assert be.accept_offer(first.housekeeper_id, first.id)["error"] is None
    her = first.housekeeper_id
    code = code_of(be, her)
    # Same client, another day: continuity puts her first again, so she holds a pending offer too.
    b2 = be.book(c.id, Request("cleaning", at(20), hours=3, address="朝阳区建国路88号", district="朝阳"))
    offer = pending(be, b2["id"])
    assert offer.housekeeper_id == her
    be.bind("housekeeper", her, "telegram", "777001")
    invite = be.create_invite("housekeeper", her)

    r = be.deactivate_staff(code)
    assert r["offers_moved"] == [offer.id] and r["escalated_bookings"] == [b1["id"]]
    assert r["identities_removed"] == 2 and r["tokens_revoked"] == 1

    with be.db.uow() as s:
        assert s.get(Offer, offer.id).status == "withdrawn"
        nxt = s.scalar(select(Offer).where(Offer.booking_id == b2["id"], Offer.status == "pending"))
        assert nxt is not None and nxt.housekeeper_id != her  # the next candidate has it now
        assert s.get(Booking, b2["id"]).status == "offered"
        cand = s.scalar(select(MatchCandidate).where(MatchCandidate.booking_id == b2["id"],
                                                     MatchCandidate.housekeeper_id == her))
        assert cand.state == "withdrawn"
        assert s.scalars(select(Identity).where(Identity.person_kind == "housekeeper",
                                                Identity.person_id == her)).all() == []
        assert all(t.revoked_at is not None for t in s.scalars(select(StaffToken).where(
            StaffToken.person_kind == "housekeeper", StaffToken.person_id == her)))
        esc = s.scalar(select(Escalation).where(Escalation.kind == "staff_deactivated"))
        assert esc.booking_id == b1["id"] and esc.client_id == c.id and esc.detail["housekeeper"] == code
        assert s.scalar(select(Notification).where(Notification.template == "case_alert",
                                                   Notification.person_kind == "manager")) is not None
        audit = s.scalar(select(AuditLog).where(AuditLog.entity == "housekeeper", AuditLog.entity_id == her))
        assert (audit.old, audit.new) == ("active", "deactivated")
        assert s.get(Invite, invite).used_at is not None  # an old invitation cannot bring her back
        row = s.get(Housekeeper, her)
        assert row.status == "deactivated" and row.active is False
    # The confirmed job is not silently kept away from managers, nor silently dropped.
    assert be.booking(b1["id"])["status"] == "confirmed"
    assert be.staff_by_token(be.tokens[code]) is None
    assert be.identify("telegram", "777001") is None and be.identify("rest", f"staff:{code}") is None
    assert be.redeem_invite(invite, "telegram", "777001") is None
    with pytest.raises(DomainError):
        be.client_for("rest", f"staff:{code}")  # the staff sender never turns into a client
    with pytest.raises(DomainError, match="person_deactivated"):
        be.issue_staff_token(code)
    # Out of matching: a new booking never considers her.
    b3 = be.book(c.id, Request("cleaning", at(23), hours=2, district="朝阳"))
    assert her not in {x["housekeeper_id"] for x in be.candidates(b3["id"])}
    assert be.deactivate_staff(code)["already"] is True


def test_a_deactivated_manager_hands_her_conversations_back(be: Backend) -> None:
    c = be.client_for("rest", "bob", "zh")
    esc = be.escalate("human_requested", client_id=c.id)
    mgr = be.staff_by_code("MGR01")
    be.take_over(mgr.id, esc)
    r = be.deactivate_staff("MGR01")
    assert r["takeovers_ended"] == 1 and r["tokens_revoked"] == 1
    assert be.client_turn(c.id)["manager_id"] is None
    assert be.staff_by_token(be.tokens["MGR01"]) is None and be.staff_by_code("MGR01").status == "deactivated"
    with pytest.raises(DomainError, match="managers_cannot_be_suspended"):
        be.suspend_staff("MGR02", "manager_hold")


# --- suspension ---------------------------------------------------------------------------------
def test_a_suspended_housekeeper_keeps_access_and_jobs_but_gets_no_offers(be: Backend) -> None:
    c = be.client_for("rest", "carol", "zh")
    b1 = be.book(c.id, Request("cleaning", at(19), hours=3, district="朝阳"))
    first = pending(be, b1["id"])
    be.accept_offer(first.housekeeper_id, first.id)
    her = first.housekeeper_id
    code = code_of(be, her)
    b2 = be.book(c.id, Request("cleaning", at(20), hours=3, district="朝阳"))
    assert pending(be, b2["id"]).housekeeper_id == her

    with pytest.raises(DomainError, match="bad_hold_reason"):
        be.suspend_staff(code, "bad_mood")
    r = be.suspend_staff(code, "expired_certificate")
    assert r["status"] == "suspended_from_matching" and r["hold_reasons"] == ["expired_certificate"]
    assert len(r["offers_moved"]) == 1 and pending(be, b2["id"]).housekeeper_id != her
    be.suspend_staff(code, "manager_hold")
    assert be.hold_reasons(her) == ["expired_certificate", "manager_hold"]
    # Keeps access and her confirmed job.
    assert be.staff_by_token(be.tokens[code]).status == "suspended_from_matching"
    assert be.identify("rest", f"staff:{code}").status == "suspended_from_matching"
    assert be.booking(b1["id"])["status"] == "confirmed" and be.jobs(her, 7)[0]["id"] == b1["id"]
    b3 = be.book(c.id, Request("cleaning", at(24), hours=2, district="朝阳"))
    assert her not in {x["housekeeper_id"] for x in be.candidates(b3["id"])}

    assert be.reinstate_staff(code, "manager_hold")["status"] == "suspended_from_matching"
    assert be.reinstate_staff(code)["status"] == "active"
    assert hk(be, code).hold_reasons == [] and hk(be, code).active is True
    b4 = be.book(c.id, Request("cleaning", at(25), hours=2, district="朝阳"))
    assert her in {x["housekeeper_id"] for x in be.candidates(b4["id"])}
    with be.db.uow() as s:
        moves = [(a.old, a.new) for a in s.scalars(select(AuditLog).where(
            AuditLog.entity == "housekeeper", AuditLog.entity_id == her).order_by(AuditLog.id))]
    assert moves[0] == ("active", "suspended_from_matching") and moves[-1] == ("suspended_from_matching", "active")


def test_reinstating_a_deactivated_person_gives_her_no_token_and_no_chats(be: Backend) -> None:
    be.bind("housekeeper", hk(be, "HK005").id, "telegram", "5005")
    be.deactivate_staff("HK005")
    assert be.reinstate_staff("HK005")["status"] == "active"
    assert not be.has_staff_token("HK005") and be.identify("telegram", "5005") is None
    token = be.issue_staff_token("HK005", rotate=False)
    assert be.staff_by_token(token).code == "HK005" and be.identify("rest", "staff:HK005").code == "HK005"


# --- roster upsert ------------------------------------------------------------------------------
def write(tmp_path: Path, name: str, body: str) -> Path:
    f = tmp_path / name
    f.write_text(body, encoding="utf-8")
    return f


def schedule_of(be: Backend, code: str) -> tuple[list, list]:
    with be.db.uow() as s:
        h = s.scalar(select(Housekeeper).where(Housekeeper.code == code))
        hours = sorted((w.weekday, w.start_minute, w.end_minute) for w in s.scalars(
            select(WorkingHours).where(WorkingHours.housekeeper_id == h.id)))
        certs = sorted((c.kind, c.expires_on.isoformat()) for c in s.scalars(
            select(Certificate).where(Certificate.housekeeper_id == h.id)))
        return hours, certs


def test_roster_import_updates_only_the_columns_present(be: Backend, tmp_path: Path) -> None:
    before, phone4 = hk(be, "HK001"), hk(be, "HK004").phone
    hours, certs = schedule_of(be, "HK001")
    f = write(tmp_path, "phones.csv", "# format: 1\ncode,phone\nHK001,139 1111 2222\nHK004,\n")
    assert be.import_staff(staff.read_roster(f, be.catalogue)) == {}  # nobody new, no token printed
    after = hk(be, "HK001")
    assert after.phone == "13911112222"
    for attr in ("name", "skills", "languages", "districts", "rating", "lang", "status"):
        assert getattr(after, attr) == getattr(before, attr), attr
    assert schedule_of(be, "HK001") == (hours, certs)
    assert phone4 and hk(be, "HK004").phone == phone4  # an empty cell keeps the stored value
    assert be.staff_by_token(be.tokens["HK001"]).code == "HK001"  # her token is untouched

    y = write(tmp_path, "days.yaml", "format: 1\nstaff:\n- {code: HK001, days: 'sat;sun'}\n"
                                     "- {code: HK002, hours: '09:00-17:00', phone: '-'}\n")
    be.import_staff(staff.read_roster(y, be.catalogue))
    assert {d for d, _, _ in schedule_of(be, "HK001")[0]} == {5, 6}
    assert {(a, b) for _, a, b in schedule_of(be, "HK001")[0]} == {(hours[0][1], hours[0][2])}  # hours kept
    assert {(a, b) for _, a, b in schedule_of(be, "HK002")[0]} == {(540, 1020)}
    assert hk(be, "HK002").phone is None  # "-" clears

    new = write(tmp_path, "new.csv", "code,name,skills,certificates\nHK950,周阿姨,cleaning,health:2027-06-30\n")
    tokens = be.import_staff(staff.read_roster(new, be.catalogue))
    assert list(tokens) == ["HK950"] and be.staff_by_token(tokens["HK950"]).name == "周阿姨"
    assert len(schedule_of(be, "HK950")[0]) == 5 and hk(be, "HK950").status == "active"  # defaults: mon-fri


def test_roster_errors_name_the_line_and_change_nothing(be: Backend, tmp_path: Path) -> None:
    bad_header = write(tmp_path, "a.csv", "code,name,shoe_size\nHK001,x,38\n")
    with pytest.raises(staff.RosterError, match=r"a\.csv line 1: unknown column\(s\) 'shoe_size'"):
        staff.read_roster(bad_header, be.catalogue)
    commented = write(tmp_path, "b.csv", "# format: 1\ncode,nickname\nHK001,x\n")
    with pytest.raises(staff.RosterError, match=r"b\.csv line 2: unknown column"):
        staff.read_roster(commented, be.catalogue)
    bad_entry = write(tmp_path, "c.yaml", "format: 1\nstaff:\n- {code: HK001}\n- {code: HK002, pets: cat}\n")
    with pytest.raises(staff.RosterError, match=r"c\.yaml entry 2: unknown column\(s\) pets"):
        staff.read_roster(bad_entry, be.catalogue)
    for body, word in [("format: 2\nstaff: []\n", "format"), ("version: 1\nstaff: []\n", "top-level"),
                       ("staff: [\n", "YAML")]:
        with pytest.raises(staff.RosterError, match=word):
            staff.read_roster(write(tmp_path, "d.yaml", body), be.catalogue)
    with pytest.raises(staff.RosterError, match="format"):
        staff.read_roster(write(tmp_path, "e.csv", "# format: 7\ncode\nHK001\n"), be.catalogue)

    # A valid update beside a new person without skills: nothing at all is saved.
    mixed = write(tmp_path, "f.csv", "code,name,phone\nHK001,改名,13900009999\nHK960,新阿姨,13900009960\n")
    with pytest.raises(staff.RosterError) as e:
        be.import_staff(staff.read_roster(mixed, be.catalogue))
    assert e.value.errors == ["f.csv line 3: new housekeeper HK960 needs skills"]
    assert hk(be, "HK001").name != "改名" and be.staff_by_code("HK960") is None
    role = write(tmp_path, "g.csv", "code,role\nMGR01,housekeeper\n")
    with pytest.raises(staff.RosterError, match=r"g\.csv line 2: MGR01 is a manager"):
        be.import_staff(staff.read_roster(role, be.catalogue))
    nameless = write(tmp_path, "h.yaml", "- {code: MGR09, role: manager}\n")
    with pytest.raises(staff.RosterError, match="entry 1: new manager MGR09 needs name"):
        be.import_staff(staff.read_roster(nameless, be.catalogue))


def test_a_reimport_does_not_bring_a_deactivated_person_back(be: Backend, tmp_path: Path) -> None:
    be.deactivate_staff("HK006")
    f = write(tmp_path, "r.csv", "code,rating\nHK006,4.9\n")
    assert be.import_staff(staff.read_roster(f, be.catalogue)) == {}
    assert hk(be, "HK006").status == "deactivated" and hk(be, "HK006").rating == 4.9
    assert be.identify("rest", "staff:HK006") is None and be.rest_id_of("housekeeper", hk(be, "HK006").id) is None


def test_migration_0005_replaces_secret_sender_ids(db_url: str, tmp_path: Path) -> None:
    from backend.crypto import Cipher
    from backend.db import Database
    from bot.migrate import upgrade

    db = Database(db_url, Cipher(TEST_KEY.encode()))
    upgrade(db.engine, "0004")
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO housekeepers (id, code, name, skills, languages, districts, rating, active, lang, "
                       "status, hold_reasons) VALUES (1, 'HK1', 'x', '[]', '[]', '[]', 4.5, true, 'zh', 'active', "
                       "'[]'), (2, 'HK2', 'y', '[]', '[]', '[]', 4.5, false, 'zh', 'deactivated', '[]')"))
        c.execute(text("INSERT INTO identities (person_kind, person_id, channel, external_id, unreachable) VALUES "
                       "('housekeeper', 1, 'rest', 'staff-0123456789abcdef', false), "
                       "('housekeeper', 1, 'telegram', '42', false), "
                       "('client', 9, 'rest', 'staff-looks-alike', false)"))
    upgrade(db.engine)
    with db.engine.connect() as c:
        rows = sorted(tuple(r) for r in c.execute(text("SELECT person_kind, person_id, channel, external_id "
                                                        "FROM identities")))
    assert rows == [("client", 9, "rest", "staff-looks-alike"), ("housekeeper", 1, "rest", "staff:HK1"),
                    ("housekeeper", 1, "telegram", "42")]
    db.dispose()


def accept_after(gate: Any, be: Backend, hk_id: int, offer_id: int) -> str:
    gate.wait()
    try:
        return be.accept_offer(hk_id, offer_id)["error"] or "accepted"
    except DomainError as e:
        return e.code


def deactivate_after(gate: Any, be: Backend, code: str) -> dict:
    gate.wait()
    return be.deactivate_staff(code)


def test_deactivation_racing_her_acceptance_never_leaves_a_job_unseen(be: Backend) -> None:
    """She taps Accept while a manager deactivates her: either the offer moved on, or the confirmed job
    is escalated — never a confirmed job with a deactivated housekeeper that nobody was told about."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    c = be.client_for("rest", "erin", "zh")
    outcomes = set()
    for day in (19, 20, 23, 24):
        b = be.book(c.id, Request("cleaning", at(day), hours=2, district="朝阳"))
        offer = pending(be, b["id"])
        code = code_of(be, offer.housekeeper_id)
        gate = Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(accept_after, gate, be, offer.housekeeper_id, offer.id)
            d = pool.submit(deactivate_after, gate, be, code)
            answer, result = a.result(30), d.result(30)
        booking = be.booking(b["id"])
        with be.db.uow() as s:
            escalated = s.scalar(select(Escalation).where(Escalation.kind == "staff_deactivated",
                                                          Escalation.booking_id == b["id"])) is not None
            status = s.get(Offer, offer.id).status
        if answer == "accepted":
            assert booking["status"] == "confirmed" and escalated and result["escalated_bookings"] == [b["id"]]
        else:
            assert status == "withdrawn" and not escalated and offer.id in result["offers_moved"]
            nxt = pending(be, b["id"])
            assert nxt is None or nxt.housekeeper_id != offer.housekeeper_id
        outcomes.add(answer)
    assert outcomes <= {"accepted", "offer_withdrawn"}
