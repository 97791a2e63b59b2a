"""Changing a booking in place (backend/services/changes.py) on SQLite and on PostgreSQL, on the test clock.

Reference time: Wednesday 2026-11-18 10:30 Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, BookingChange, Offer, TimeOff
from backend.services import privacy
from dialogs.tracker_store import TrackerStore

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TZ)


def pending(be: Backend, booking_id: int, kind: str = "job") -> Offer | None:
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending",
                                         Offer.kind == kind))
        if o is not None:
            s.expunge(o)
        return o


def confirmed(be: Backend, name: str = "amy", service: str = "cleaning", **kw) -> tuple[int, dict, int]:
    c = be.client_for("rest", name, "zh")
    be.set_client(c.id, phone="13812345678")
    b = be.book(c.id, Request(service, at(19, 10), address="朝阳区建国路88号3号楼501", notes="有猫", **kw))
    o = pending(be, b["id"])
    be.accept_offer(o.housekeeper_id, o.id)
    be.pull("client", c.id)
    be.pull("housekeeper", o.housekeeper_id)
    return c.id, be.booking(b["id"]), o.housekeeper_id


def news(be: Backend, kind: str, person_id: int) -> list[str]:
    """The templates of this change's messages (those before it are the booking's own)."""
    return [n["template"] for n in be.pull(kind, person_id) if n["template"].startswith("change_")]


def changes(be: Backend, booking_id: int) -> list[str]:
    with be.db.uow() as s:
        return list(s.scalars(select(BookingChange.status).where(BookingChange.booking_id == booking_id)
                              .order_by(BookingChange.id)))


def test_the_plan_is_validated_like_a_new_booking_and_shows_the_price(be: Backend) -> None:
    client, b, _ = confirmed(be, hours=3)
    p = be.change_plan(client, b["id"], hours=4)
    assert (p["old_price"], p["price"], p["difference"], p["needs_slot"]) == (150, 200, 50, True)
    assert be.change_plan(client, b["id"], address="海淀区学院路20号")["needs_slot"] is False
    for kw, code in (({"starts_at": at(18, 11)}, "time_too_soon"), ({"starts_at": at(20, 22)}, "outside_hours"),
                     ({"hours": 20}, "duration_range"), ({"address": "这"}, "invalid_address"),
                     ({"starts_at": at(19, 10)}, "no_change")):
        with pytest.raises(DomainError, match=code):
            be.change_plan(client, b["id"], **kw)
    with pytest.raises(DomainError, match="booking_not_found"):
        be.change_plan(client + 999, b["id"], hours=4)
    assert changes(be, b["id"]) == []  # a plan stores nothing


def test_she_accepts_the_new_time_and_the_booking_moves_in_place(be: Backend) -> None:
    client, b, hk = confirmed(be, hours=3)
    ch = be.change_booking(client, b["id"], starts_at=at(20, 15).isoformat())
    assert ch["status"] == "pending" and ch["asking"] == "same"
    assert be.booking(b["id"])["starts_at"] == b["starts_at"]  # the old slot holds until she answers
    o = pending(be, b["id"], "change")
    assert o.housekeeper_id == hk and o.change_id == ch["id"]
    card = be.pull("housekeeper", hk)
    assert [n["template"] for n in card][-1] == "change_offer"
    assert card[-1]["params"]["old_starts_at"] == b["starts_at"]
    r = be.accept_offer(hk, o.id)
    assert r["error"] is None
    with be.db.uow() as s:
        row = s.get(Booking, b["id"])
        assert (row.starts_at, row.status, row.housekeeper_id, row.notes, row.address) == (
            at(20, 15), "confirmed", hk, "有猫", "朝阳区建国路88号3号楼501")
    assert changes(be, b["id"]) == ["applied"]
    assert news(be, "client", client) == ["change_applied"]
    assert [n["template"] for n in be.pull("housekeeper", hk)][-1] == "job_changed"


def test_expiry_goes_to_the_next_housekeeper_who_takes_the_job_over(be: Backend) -> None:
    client, b, hk = confirmed(be, hours=3)
    be.change_booking(client, b["id"], starts_at=at(20, 15).isoformat())
    first = pending(be, b["id"], "change")
    be.ctx.clock.advance(minutes=9)
    assert be.run_due_timers() == 0
    be.ctx.clock.advance(minutes=2)
    assert be.run_due_timers() == 1
    assert news(be, "client", client) == ["change_searching"]
    nxt = pending(be, b["id"], "change")
    assert nxt.housekeeper_id != hk and nxt.change_id == first.change_id
    assert be.booking(b["id"])["status"] == "confirmed" and be.booking(b["id"])["starts_at"] == b["starts_at"]
    with pytest.raises(DomainError, match="offer_expired"):
        be.accept_offer(hk, first.id)
    be.accept_offer(nxt.housekeeper_id, nxt.id)
    with be.db.uow() as s:
        row = s.get(Booking, b["id"])
        assert (row.housekeeper_id, row.starts_at) == (nxt.housekeeper_id, at(20, 15))
    assert "job_moved_away" in [n["template"] for n in be.pull("housekeeper", hk)]
    assert "job_confirmed" in [n["template"] for n in be.pull("housekeeper", nxt.housekeeper_id)]


def test_nobody_free_declines_the_change_and_keeps_the_booking(be: Backend) -> None:
    client, b, hk = confirmed(be, "bea", "butler")  # one butler in the demo roster
    be.change_booking(client, b["id"], starts_at=at(21, 9).isoformat())
    o = pending(be, b["id"], "change")
    be.decline_offer(hk, o.id)
    assert changes(be, b["id"]) == ["declined"]
    assert pending(be, b["id"], "change") is None
    after = be.booking(b["id"])
    assert (after["status"], after["starts_at"]) == ("confirmed", b["starts_at"])
    assert news(be, "client", client) == ["change_searching", "change_declined"]


def test_address_and_notes_apply_at_once_and_she_is_told(be: Backend) -> None:
    client, b, hk = confirmed(be, hours=3)
    ch = be.change_booking(client, b["id"], address="海淀区学院路20号5号楼301", notes="有狗")
    assert ch["status"] == "applied" and pending(be, b["id"], "change") is None
    with be.db.uow() as s:
        row = s.get(Booking, b["id"])
        assert (row.address, row.district, row.notes, row.housekeeper_id) == ("海淀区学院路20号5号楼301", "海淀区",
                                                                             "有狗", hk)
    msg = be.pull("housekeeper", hk)
    assert msg[-1]["template"] == "job_changed" and msg[-1]["params"]["address"] == "海淀区学院路20号5号楼301"


def test_a_booking_nobody_accepted_is_changed_and_matched_again(be: Backend) -> None:
    c = be.client_for("rest", "cat", "zh")
    b = be.book(c.id, Request("cleaning", at(19, 10), hours=2, address="朝阳区建国路88号"))
    first = pending(be, b["id"])
    ch = be.change_booking(c.id, b["id"], starts_at=at(20, 14).isoformat())
    assert ch["status"] == "applied"
    with be.db.uow() as s:
        assert s.get(Offer, first.id).status == "withdrawn"
    again = pending(be, b["id"])
    assert again is not None and again.id != first.id
    assert datetime.fromisoformat(be.booking(b["id"])["starts_at"]) == at(20, 14)
    assert "change_offer_withdrawn" in [n["template"] for n in be.pull("housekeeper", first.housekeeper_id)]


def test_a_newer_change_replaces_the_open_one_and_cancelling_withdraws_it(be: Backend) -> None:
    client, b, hk = confirmed(be, hours=3)
    be.change_booking(client, b["id"], starts_at=at(20, 15).isoformat())
    first = pending(be, b["id"], "change")
    be.change_booking(client, b["id"], starts_at=at(20, 16).isoformat())
    assert changes(be, b["id"]) == ["cancelled", "pending"]
    with pytest.raises(DomainError, match="offer_withdrawn"):
        be.accept_offer(hk, first.id)
    be.cancel(client, b["id"])
    assert pending(be, b["id"], "change") is None


def test_erasure_blanks_the_changes_words(be: Backend) -> None:
    client, b, _ = confirmed(be, hours=3)
    be.change_booking(client, b["id"], address="海淀区学院路20号5号楼301", notes="有狗")
    TrackerStore(be.db.engine).create_tables()  # the dialogue's tables, which erasure empties too
    with be.db.uow() as s:
        privacy.erase(be.ctx, s, client)
    with be.db.uow() as s:
        ch = s.scalar(select(BookingChange).where(BookingChange.booking_id == b["id"]))
        assert (ch.address, ch.notes) == (None, None)


def test_her_time_off_skips_her_and_a_butler_nobody_can_cover_is_declined_at_once(be: Backend) -> None:
    client, b, hk = confirmed(be, hours=3)
    with be.db.uow() as s:
        s.add(TimeOff(housekeeper_id=hk, starts_at=at(20, 0), ends_at=at(21, 0)))
    ch = be.change_booking(client, b["id"], starts_at=at(20, 15).isoformat())
    assert ch["asking"] == "other" and pending(be, b["id"], "change").housekeeper_id != hk
    assert be.booking(b["id"])["starts_at"] == b["starts_at"]  # still hers at the old time

    client, b, hk = confirmed(be, "bea", "butler")
    with be.db.uow() as s:
        s.add(TimeOff(housekeeper_id=hk, starts_at=at(21, 0), ends_at=at(22, 0)))
    ch = be.change_booking(client, b["id"], starts_at=at(21, 9).isoformat())
    assert (ch["status"], ch["asking"]) == ("declined", None)
    assert be.booking(b["id"])["starts_at"] == b["starts_at"] and news(be, "client", client) == ["change_declined"]


def test_a_holiday_surcharge_follows_the_changed_date(be: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace as dc_replace
    from datetime import date

    from backend.catalogue import Surcharge

    holiday = Surcharge({"zh": "节日", "en": "holiday"}, date(2026, 11, 20), date(2026, 11, 21), {"*": 2.0})
    monkeypatch.setattr(be, "catalogue", dc_replace(be.catalogue, surcharges=(holiday,)))
    monkeypatch.setattr(be.ctx, "catalogue", be.catalogue)
    client, b, _ = confirmed(be, hours=3)  # Thursday 19th: no surcharge
    assert be.change_plan(client, b["id"], starts_at=at(20, 10).isoformat())["price"] == 300  # into the holiday: ×2
    be.change_booking(client, b["id"], starts_at=at(20, 10).isoformat())
    o = pending(be, b["id"], "change")
    be.accept_offer(o.housekeeper_id, o.id)
    with be.db.uow() as s:
        row = s.get(Booking, b["id"])
        assert (row.price_estimate, row.surcharge_cents) == (300, 15000)
    assert be.change_plan(client, b["id"], notes="两只猫")["price"] == 300  # notes only: the price stays
