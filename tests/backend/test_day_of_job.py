"""The day of the job on the fake clock (SQLite and PostgreSQL): reminders the day before (and silence
for cancelled or moved jobs), the check-in window, the no-check-in alarm with its `no_show` case,
lateness, "can't come" back to matching, worked time and full phone numbers while the job is hers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, CaseEvent, Client, Escalation, Housekeeper, MatchCandidate, Notification, Offer
from backend.services import day_of_job

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # Friday; the test clock starts Wed 11-18 10:30
PHONE = "13812345678"


def confirmed(be: Backend, start: datetime = START, sender: str = "dj-client") -> tuple[int, int, int]:
    """A cleaning confirmed to the first candidate: (client id, booking id, housekeeper id)."""
    c = be.client_for("rest", sender, "zh")
    be.set_client(c.id, phone=PHONE)
    b = be.book(c.id, Request("cleaning", start, hours=2, address="朝阳区建国路88号", district="朝阳",
                              notes="钥匙在门卫"))
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        hk_id, offer_id = o.housekeeper_id, o.id
    assert be.accept_offer(hk_id, offer_id)["error"] is None
    return c.id, b["id"], hk_id


def rows(be: Backend, template: str, booking_id: int | None = None) -> list[Notification]:
    with be.db.uow() as s:
        out = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
    return [n for n in out if booking_id is None or (n.params or {}).get("booking_id") == booking_id]


def at(when: datetime, be: Backend) -> None:
    be.ctx.clock.set(when)
    be.run_due_timers()


def test_confirmation_cards_carry_full_phone_numbers_on_both_sides(be: Backend) -> None:
    _cid, bid, hk_id = confirmed(be)
    with be.db.uow() as s:
        hk_phone = s.get(Housekeeper, hk_id).phone
    assert rows(be, "job_confirmed", bid)[0].params["client_phone"] == PHONE
    assert rows(be, "booking_confirmed", bid)[0].params["housekeeper_phone"] == hk_phone and "*" not in hk_phone
    assert be.job_of(hk_id, bid)["client_phone"] == PHONE  # /jobs while the job is hers


def test_reminders_the_day_before_with_address_notes_and_phones(be: Backend) -> None:
    _cid, bid, hk_id = confirmed(be)
    at(START - timedelta(hours=24, minutes=1), be)
    assert not rows(be, "job_reminder_client", bid)
    at(START - timedelta(hours=24), be)
    client, hers = rows(be, "job_reminder_client", bid), rows(be, "job_reminder_housekeeper", bid)
    assert len(client) == 1 and len(hers) == 1
    with be.db.uow() as s:
        hk = s.get(Housekeeper, hk_id)
        assert client[0].person_id == s.get(Booking, bid).client_id
        assert client[0].params["housekeeper_phone"] == hk.phone
        assert client[0].params["housekeeper"]  # her first name (contact.first_name), not the full name
    assert hers[0].person_id == hk_id
    assert hers[0].params["address"] == "朝阳区建国路88号" and hers[0].params["client_phone"] == PHONE
    assert "钥匙在门卫" in hers[0].params["notes"]
    be.run_due_timers()
    assert len(rows(be, "job_reminder_client", bid)) == 1  # once


def test_reminders_carry_the_standing_notes_too(be: Backend) -> None:
    c = be.client_for("rest", "dj-notes", "zh")
    be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": "家里有只猫"}])
    _cid, bid, _hk = confirmed(be, sender="dj-notes")
    at(START - timedelta(hours=23), be)
    notes = rows(be, "job_reminder_housekeeper", bid)[0].params["notes"]
    assert notes == "家里有只猫；钥匙在门卫"


def test_a_cancelled_job_gets_no_reminder_and_no_alarm(be: Backend) -> None:
    cid, bid, _hk = confirmed(be)
    be.cancel(cid, bid)
    at(START + timedelta(minutes=30), be)
    assert not rows(be, "job_reminder_client", bid) and not rows(be, "job_reminder_housekeeper", bid)
    assert not rows(be, "job_no_checkin_client", bid)
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "no_show")) is None


def test_a_moved_job_is_reminded_for_its_new_time_only(be: Backend) -> None:
    _cid, bid, _hk = confirmed(be)
    later = START + timedelta(days=1)
    with be.db.uow() as s:  # what a change of time does to the row; then it arms the new time
        b = s.get(Booking, bid)
        b.starts_at, b.ends_at = later, later + timedelta(hours=2)
        day_of_job.arm(be.ctx, s, b)
    at(START - timedelta(hours=24), be)  # the old timer fires: the job is not tomorrow any more
    assert not rows(be, "job_reminder_client", bid)
    at(START + timedelta(minutes=20), be)  # nor is the old start's alarm
    assert not rows(be, "job_no_checkin_client", bid)
    at(later - timedelta(hours=24), be)
    reminded = rows(be, "job_reminder_client", bid)
    assert len(reminded) == 1 and datetime.fromisoformat(reminded[0].params["starts_at"]) == later


def test_check_in_is_refused_before_the_window_and_stamped_inside_it(be: Backend) -> None:
    _cid, bid, hk_id = confirmed(be)
    be.ctx.clock.set(START - timedelta(hours=15))  # the evening before
    with pytest.raises(DomainError) as e:
        be.arrive(hk_id, bid)
    assert e.value.code == "checkin_too_early"
    be.ctx.clock.set(START - timedelta(minutes=61))
    with pytest.raises(DomainError):
        be.arrive(hk_id, bid)
    with be.db.uow() as s:
        assert s.get(Booking, bid).status == "confirmed"
    be.ctx.clock.set(START - timedelta(minutes=60))
    assert be.arrive(hk_id, bid)["status"] == "in_progress"
    with be.db.uow() as s:
        assert s.get(Booking, bid).arrived_at == START - timedelta(minutes=60)


def test_no_check_in_tells_the_client_pings_her_and_opens_a_no_show_case(be: Backend) -> None:
    cid, bid, hk_id = confirmed(be)
    at(START + timedelta(minutes=14), be)
    assert not rows(be, "job_no_checkin_client", bid)
    at(START + timedelta(minutes=15), be)
    told = rows(be, "job_no_checkin_client", bid)
    pinged = rows(be, "job_no_checkin_housekeeper", bid)
    assert len(told) == 1 and told[0].person_id == cid and len(pinged) == 1 and pinged[0].person_id == hk_id
    with be.db.uow() as s:
        case = s.scalar(select(Escalation).where(Escalation.kind == "no_show", Escalation.booking_id == bid))
        assert case is not None and case.status == "open" and case.severity == "high"
        assert case.detail["reason"] == "no_checkin"
        case_id = case.id
    assert [n for n in rows(be, "case_alert") if n.params.get("case_id") == case_id]  # managers alerted
    at(START + timedelta(minutes=40), be)  # her late check-in shows on the case timeline
    be.arrive(hk_id, bid)
    with be.db.uow() as s:
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))]
        assert "checked_in" in kinds
        assert s.get(Escalation, case_id).status == "open"  # closing it is the manager's call
    assert len(rows(be, "job_no_checkin_client", bid)) == 1


def test_lateness_is_stored_the_client_told_and_the_alarm_moved(be: Backend) -> None:
    cid, bid, hk_id = confirmed(be)
    be.ctx.clock.set(START - timedelta(minutes=30))
    with pytest.raises(DomainError):
        be.report_late(hk_id, bid, 0)
    with pytest.raises(DomainError):
        be.report_late(hk_id, bid, 600)
    be.report_late(hk_id, bid, 20)
    with be.db.uow() as s:
        assert s.get(Booking, bid).late_minutes == 20
    told = rows(be, "job_running_late", bid)
    assert len(told) == 1 and told[0].person_id == cid
    assert datetime.fromisoformat(told[0].params["expected_at"]) == START + timedelta(minutes=20)
    at(START + timedelta(minutes=16), be)  # the original alarm time: she said she would be late
    assert not rows(be, "job_no_checkin_client", bid)
    at(START + timedelta(minutes=35), be)
    assert len(rows(be, "job_no_checkin_client", bid)) == 1


def test_cannot_come_goes_back_to_matching_at_once_inside_the_lead_time(be: Backend) -> None:
    cid, bid, hk_id = confirmed(be)
    be.ctx.clock.set(START - timedelta(minutes=90))  # well inside the client's 2-hour lead time
    be.cannot_come(hk_id, bid)
    with be.db.uow() as s:
        b = s.get(Booking, bid)
        assert b.status == "offered" and b.housekeeper_id is None
        offer = s.scalar(select(Offer).where(Offer.booking_id == bid, Offer.status == "pending"))
        assert offer is not None and offer.housekeeper_id != hk_id
        mine = s.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == bid,
                                                       MatchCandidate.housekeeper_id == hk_id)).all()
        assert all(c.state in ("excluded", "offered") for c in mine) and any(c.state == "excluded" for c in mine)
        case = s.scalar(select(Escalation).where(Escalation.kind == "no_show", Escalation.booking_id == bid))
        assert case is not None and case.detail["reason"] == "cannot_come"
    told = rows(be, "job_cannot_come_client", bid)
    assert len(told) == 1 and told[0].person_id == cid
    # her old alarm says nothing; the new housekeeper gets the job with her own timers
    be.accept_offer(offer.housekeeper_id, offer.id)
    with pytest.raises(DomainError):
        be.cannot_come(hk_id, bid)
    at(START + timedelta(minutes=15), be)
    alarms = rows(be, "job_no_checkin_housekeeper", bid)
    assert [n.person_id for n in alarms] == [offer.housekeeper_id]


def test_worked_time_is_recorded_next_to_booked_time_and_phones_masked_after(be: Backend) -> None:
    _cid, bid, hk_id = confirmed(be)
    be.ctx.clock.set(START + timedelta(minutes=5))
    be.arrive(hk_id, bid)
    be.ctx.clock.set(START + timedelta(minutes=120))
    be.finish(hk_id, bid)
    t = be.job_times(bid)
    assert (t["booked_minutes"], t["worked_minutes"], t["finished_by"]) == (120, 115, "housekeeper")
    view = be.job_of(hk_id, bid)
    assert view["client_phone"] != PHONE and "****" in view["client_phone"]  # the job is over
    assert be.current_job(hk_id) is None


def test_current_job_and_its_valid_actions(be: Backend) -> None:
    _cid, bid, hk_id = confirmed(be)
    job = be.current_job(hk_id)
    assert job["booking_id"] == bid and not job["can_arrive"] and job["can_be_late"] and job["can_cancel"]
    be.ctx.clock.set(START - timedelta(minutes=45))
    assert be.current_job(hk_id)["can_arrive"]
    be.arrive(hk_id, bid)
    job = be.current_job(hk_id)
    assert job["can_finish"] and not job["can_arrive"] and not job["can_cancel"] and not job["can_be_late"]
    with be.db.uow() as s:
        other = s.scalar(select(Housekeeper.id).where(Housekeeper.id != hk_id))
        assert s.get(Client, s.get(Booking, bid).client_id).phone == PHONE
    with pytest.raises(DomainError):
        be.job_of(other, bid)


def test_a_reminder_queued_before_a_cancellation_is_not_delivered(be: Backend) -> None:
    cid, bid, _hk = confirmed(be)
    at(START - timedelta(hours=24), be)
    assert "job_reminder_client" in [r["template"] for r in be.pull_for("rest", "dj-client")["rows"]]
    be.cancel(cid, bid)
    assert "job_reminder_client" not in [r["template"] for r in be.pull_for("rest", "dj-client")["rows"]]
    with be.db.uow() as s:
        assert s.scalar(select(Notification.status).where(Notification.template == "job_reminder_client")) == "stale"


def test_cannot_come_with_nobody_else_free_is_unassigned_and_escalated(be: Backend) -> None:
    cid, bid, hk_id = confirmed(be)
    with be.db.uow() as s:  # nobody else can take it
        for h in s.scalars(select(Housekeeper).where(Housekeeper.id != hk_id)):
            h.status = "suspended_from_matching"
    be.ctx.clock.set(START - timedelta(minutes=30))
    be.cannot_come(hk_id, bid)
    with be.db.uow() as s:
        b = s.get(Booking, bid)
        assert b.status == "unassigned" and b.housekeeper_id is None
        kinds = {e.kind for e in s.scalars(select(Escalation).where(Escalation.booking_id == bid))}
        assert kinds == {"no_show", "unassigned"}
        assert s.scalar(select(Offer).where(Offer.booking_id == bid, Offer.status == "pending")) is None
    assert [n.person_id for n in rows(be, "job_cannot_come_client", bid)] == [cid]
    assert [n.person_id for n in rows(be, "booking_unassigned", bid)] == [cid]
