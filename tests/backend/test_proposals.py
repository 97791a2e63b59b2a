"""Custom requests answered with proposals (SQLite and PostgreSQL): stored, on the case's timeline, sent
to the client; reaching the client stops the case clock; accepted into a booking at the proposal's price
with the case closed; declined with the case left open; expired on the fake clock with both sides told."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, CaseEvent, Escalation, Manager, Notification, Proposal, Timer

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "上海市静安区南京西路1号"


def mgr(be: Backend, code: str = "MGR01") -> int:
    with be.db.uow() as s:
        return s.scalar(select(Manager.id).where(Manager.code == code))


def custom_request(be: Backend, address: str | None = ADDRESS) -> tuple[int, int]:
    c = be.client_for("rest", "vera", "zh")
    if address:
        be.set_client(c.id, address=address, phone="13912345678")
    case = be.open_case("custom_request", c.id, by_client=True, text="别墅每周深度保洁，想要一个方案和报价")
    return c.id, case["id"]


def notes(be: Backend, template: str, kind: str | None = None) -> list[Notification]:
    with be.db.uow() as s:
        q = select(Notification).where(Notification.template == template)
        if kind:
            q = q.where(Notification.person_kind == kind)
        rows = list(s.scalars(q.order_by(Notification.id)))
        s.expunge_all()
        return rows


def tomorrow_9() -> datetime:
    return datetime(2026, 11, 19, 9, 0, tzinfo=TZ)


def test_propose_stores_tells_the_client_and_the_delivery_stops_the_clock(be: Backend) -> None:
    client, case_id = custom_request(be)
    p = be.propose(mgr(be), case_id, "别墅每周深度保洁，含厨房除油和玻璃", 128000, service="deep_cleaning",
                   starts_at=tomorrow_9(), area=300)
    assert p["status"] == "sent" and p["price_cents"] == 128000
    assert datetime.fromisoformat(p["expires_at"]) == be.now + timedelta(days=7)
    sent = notes(be, "proposal", "client")
    assert len(sent) == 1 and sent[0].person_id == client and sent[0].params["proposal_id"] == p["id"]
    assert sent[0].params["description"] == "别墅每周深度保洁，含厨房除油和玻璃"
    m = mgr(be)
    with be.db.uow() as s:
        esc = s.get(Escalation, case_id)
        assert esc.manager_id == m and esc.first_response_at is None  # claimed; not yet answered
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))]
        assert "proposal" in kinds
        assert s.scalar(select(Timer).where(Timer.key == f"proposal:{p['id']}:expire")).status == "pending"
    be.delivered(sent[0].id)
    with be.db.uow() as s:
        esc = s.get(Escalation, case_id)
        assert esc.first_response_at is not None and esc.status == "answered"


def test_accept_makes_a_booking_at_the_proposal_price_and_closes_the_case(be: Backend) -> None:
    client, case_id = custom_request(be)
    p = be.propose(mgr(be), case_id, "周四上午深度保洁 120 平", 99950, service="deep_cleaning",
                   starts_at=tomorrow_9(), area=120)
    r = be.accept_proposal(client, p["id"])
    assert r["missing"] == [] and r["booking"] is not None
    assert r["proposal"]["status"] == "accepted" and r["proposal"]["booking_id"] == r["booking"]["id"]
    with be.db.uow() as s:
        b = s.get(Booking, r["booking"]["id"])
        assert (b.price_estimate, b.service, b.area, b.address, b.case_id) == (1000, "deep_cleaning", 120.0,
                                                                              ADDRESS, case_id)
        assert b.status in ("offered", "requested", "unassigned")
        esc = s.get(Escalation, case_id)
        assert esc.status == "closed" and esc.outcome == "resolved"
        assert s.scalar(select(Timer.status).where(Timer.key == f"proposal:{p['id']}:expire")) == "cancelled"
    told = notes(be, "proposal_answer_accepted", "manager")
    assert told[-1].params["outcome"] == "accepted" and told[-1].person_id == mgr(be)
    again = be.accept_proposal(client, p["id"])  # a second tap: the same booking, no second one
    assert again["booking"]["id"] == r["booking"]["id"]
    with be.db.uow() as s:
        assert len(list(s.scalars(select(Booking).where(Booking.client_id == client)))) == 1


def test_incomplete_proposal_says_what_is_missing_then_books_from_the_form(be: Backend) -> None:
    client, case_id = custom_request(be)
    p = be.propose(mgr(be), case_id, "照护卧床老人的住家方案", 800000, schedule="每周一至周五")
    r = be.accept_proposal(client, p["id"])
    assert r["booking"] is None and r["missing"] == ["service_type", "time"]
    assert be.proposal(p["id"], client)["status"] == "sent"  # nothing changed
    req = Request("elderly_care", tomorrow_9(), address=ADDRESS)
    try:
        r = be.accept_proposal(client, p["id"], req, request_key="form-1")
    except DomainError as e:  # the service may need details the catalogue asks for
        pytest.fail(f"booking refused: {e.code}")
    assert r["booking"]["price"] == 8000 and r["proposal"]["status"] == "accepted"


def test_decline_leaves_the_case_open_and_tells_the_manager(be: Backend) -> None:
    client, case_id = custom_request(be)
    p = be.propose(mgr(be), case_id, "方案A", 50000)
    assert be.decline_proposal(client, p["id"])["status"] == "declined"
    with be.db.uow() as s:
        assert s.get(Escalation, case_id).status != "closed"
    assert notes(be, "proposal_answer_declined", "manager")[-1].params["outcome"] == "declined"
    with pytest.raises(DomainError) as e:
        be.accept_proposal(client, p["id"])
    assert e.value.code == "proposal_declined"


def test_expiry_on_the_fake_clock_tells_both_sides(be: Backend) -> None:
    client, case_id = custom_request(be)
    p = be.propose(mgr(be), case_id, "方案B", 30000)
    be.ctx.clock.advance(days=7, minutes=1)
    be.run_due_timers()
    assert be.proposal(p["id"])["status"] == "expired"
    assert notes(be, "proposal_expired", "client")[-1].params["proposal_id"] == p["id"]
    assert notes(be, "proposal_answer_expired", "manager")[-1].params["outcome"] == "expired"
    with pytest.raises(DomainError) as e:
        be.accept_proposal(client, p["id"])
    assert e.value.code == "proposal_expired"


def test_a_newer_proposal_withdraws_the_standing_one_and_rules_hold(be: Backend) -> None:
    client, case_id = custom_request(be)
    first = be.propose(mgr(be), case_id, "方案一", 30000)
    second = be.propose(mgr(be), case_id, "方案二", 28000)
    assert be.proposal(first["id"])["status"] == "withdrawn" and second["status"] == "sent"
    assert [x["id"] for x in be.client_proposals(client)] == [second["id"]]
    with pytest.raises(DomainError) as e:
        be.accept_proposal(client, first["id"])
    assert e.value.code == "proposal_withdrawn"
    for bad, code in (({"price_cents": 0}, "invalid_price"), ({"description": " "}, "invalid_description"),
                      ({"service": "yacht"}, "unknown_service")):
        kw = {"description": "x", "price_cents": 100, **bad}
        with pytest.raises(DomainError) as e:
            be.propose(mgr(be), case_id, kw.pop("description"), kw.pop("price_cents"), **kw)
        assert e.value.code == code
    with pytest.raises(DomainError) as e:  # another manager's case
        be.propose(mgr(be, "MGR02"), case_id, "x", 100)
    assert e.value.code in ("not_your_case",)
    other = be.client_for("rest", "walt", "en")
    with pytest.raises(DomainError) as e:
        be.accept_proposal(other.id, second["id"])
    assert e.value.code == "proposal_not_found"
    complaint = be.open_case("complaint", client, category="quality", text="不满意")
    with pytest.raises(DomainError) as e:
        be.propose(mgr(be), complaint["id"], "x", 100)
    assert e.value.code == "not_a_custom_request"
    with be.db.uow() as s:
        assert s.scalar(select(Proposal.description).where(Proposal.id == second["id"])) == "方案二"
