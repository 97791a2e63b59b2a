"""The shortlist's edges (issue 12): a willing answer from someone no longer free, asks gone stale before
they were sent, the interview limit and a moved interview, what a housekeeper sees of a placement."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError
from backend.orm import Booking, Interview, Notification
from backend.services import outbox
from tests.backend.test_placements import DEC_1, _client, _notes, _request

TZ = ZoneInfo("Asia/Shanghai")


def test_willing_but_no_longer_free_asks_the_next_one(be: Backend) -> None:
    be.ctx.placements = replace(be.ctx.placements, shortlist_size=1)
    cid = _client(be)
    pl = _request(be, cid, "nanny", term_days=30)
    ask = _notes(be, "placement_ask")[0]
    with be.db.uow() as s:  # she took a job inside the term after she was asked
        s.add(Booking(client_id=cid, service="nanny", starts_at=datetime(2026, 12, 5, 8, tzinfo=TZ),
                      ends_at=datetime(2026, 12, 5, 16, tzinfo=TZ), status="confirmed", housekeeper_id=ask.person_id))
    out = be.answer_placement_ask(ask.person_id, ask.params["candidate_id"], True)
    assert out["state"] == "excluded" and out["hold_expires_at"] is None
    mine = next(c for c in be.placement_candidates(pl["id"]) if c["housekeeper_id"] == ask.person_id)
    assert mine["reasons"]["excluded"] == "busy"
    assert len(_notes(be, "placement_ask")) == 2  # the next one ranked is asked
    assert be.shortlist(cid, pl["id"]) == []


def test_asks_and_cards_go_stale_once_answered_or_released(be: Backend) -> None:
    cid = _client(be)
    pl = _request(be, cid, "nanny", term_days=30)
    asks = _notes(be, "placement_ask")
    be.answer_placement_ask(asks[0].person_id, asks[0].params["candidate_id"], True)
    be.answer_placement_ask(asks[1].person_id, asks[1].params["candidate_id"], True)
    be.choose_candidate(cid, pl["id"], asks[0].person_id)
    with be.db.read() as s:
        rows = {n.key: n for n in s.scalars(select(Notification))}
        assert outbox.is_stale(s, rows[f"placement_ask:{asks[0].params['candidate_id']}"])  # answered
        assert outbox.is_stale(s, rows[f"placement_ask:{asks[2].params['candidate_id']}"])  # released
        cards = [n for n in rows.values() if n.template == "placement_candidate"]
        assert {outbox.is_stale(s, n) for n in cards} == {True}  # one chosen, one released
        released = rows[f"placement_released:{asks[2].params['candidate_id']}"]
        assert released.replaces_key == f"placement_ask:{asks[2].params['candidate_id']}"


def test_interview_limit_a_moved_interview_and_the_housekeeper_view(be: Backend) -> None:
    be.ctx.placements = replace(be.ctx.placements, max_interviews=1)
    cid = _client(be)
    pl = _request(be, cid, "housekeeper", date(2026, 12, 10), term_days=30)
    asks = _notes(be, "placement_ask")
    for n in asks[:2]:
        be.answer_placement_ask(n.person_id, n.params["candidate_id"], True)
    at = datetime(2026, 11, 20, 10, tzinfo=TZ)
    first = be.schedule_interview(cid, pl["id"], asks[0].person_id, at)
    with pytest.raises(DomainError) as e:
        be.schedule_interview(cid, pl["id"], asks[1].person_id, at + timedelta(hours=3))
    assert e.value.code == "interview_limit"
    moved = be.schedule_interview(cid, pl["id"], asks[0].person_id, at + timedelta(days=1), "in_person")
    assert moved["id"] == first["id"] and moved["mode"] == "in_person"
    assert len(be.placement_interviews(pl["id"])) == 1
    with pytest.raises(DomainError) as e:
        be.schedule_interview(cid, pl["id"], asks[0].person_id, at, "phone")
    assert e.value.code == "invalid_mode"
    # her hold now lasts until a day after the interview
    held = next(c for c in be.placement_candidates(pl["id"]) if c["housekeeper_id"] == asks[0].person_id)
    assert datetime.fromisoformat(held["hold_expires_at"]) == at + timedelta(days=2, hours=1)
    seen = be.housekeeper_placements(asks[2].person_id)
    assert seen[0]["state"] == "asked" and seen[0]["address"] is None and seen[0]["candidate_id"]
    with be.db.read() as s:
        assert s.scalar(select(Interview.mode).where(Interview.id == first["id"])) == "in_person"


def test_a_quote_and_terms_for_each_placement_service(be: Backend) -> None:
    t = be.placement_terms("maternity_nurse")
    assert (t["unit"], t["default_term_days"], t["live_in"], t["deposit"]) == ("month", 26, "yes", 3000)
    q = be.placement_quote("elderly_care", DEC_1, 14)
    assert (q["price_estimate"], q["settlement"], q["unit"], q["deposit"]) == (4200, "weekly", "day", 1000)
    assert be.placement_start_for_due(date(2027, 3, 1)) == date(2027, 3, 1)
    with pytest.raises(DomainError) as e:
        be.placement_terms("cleaning")
    assert e.value.code == "not_a_placement"


def test_baby_early_while_shortlisting_lets_go_whoever_is_not_free_for_the_new_days(be: Backend) -> None:
    cid = _client(be)
    pl = be.request_placement(cid, "maternity_nurse", None, due_date=date(2026, 12, 20))
    asks = _notes(be, "placement_ask")
    held, other = asks[0], asks[1]
    be.answer_placement_ask(held.person_id, held.params["candidate_id"], True)
    be.answer_placement_ask(other.person_id, other.params["candidate_id"], True)
    with be.db.uow() as s:  # she is busy on the 15th: free for the planned term, not for the new one
        s.add(Booking(client_id=cid, service="maternity_nurse", starts_at=datetime(2026, 12, 15, 8, tzinfo=TZ),
                      ends_at=datetime(2026, 12, 15, 20, tzinfo=TZ), status="confirmed", housekeeper_id=held.person_id))
    be.ctx.clock.set(datetime(2026, 12, 14, 9, tzinfo=TZ))
    out = be.baby_arrived(cid, pl["id"], date(2026, 12, 14))
    assert out["moved"] and out["start_date"] == "2026-12-14"
    states = {c["housekeeper_id"]: (c["state"], c["reasons"].get("released"))
              for c in be.placement_candidates(pl["id"])}  # let go (never asked again), with why
    assert states[held.person_id] == ("released", "busy") and states[other.person_id][0] == "willing"
    assert [n.person_id for n in _notes(be, "placement_released")] == [held.person_id]
    assert [c["housekeeper_id"] for c in be.shortlist(cid, pl["id"])] == [other.person_id]
