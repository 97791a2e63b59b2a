"""Cases (issue 8): open and join, claim, reply, call, reassign, close, satisfaction, cards and the
access log, on SQLite and a real PostgreSQL, on the fake clock (Wednesday 2026-11-18 10:30 +08:00)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from backend.api import Backend, DomainError, Request
from backend.orm import AccessLog, Attachment, AuditLog, CaseEvent, Escalation, Notification, Takeover, Timer
from backend.services import staff

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "地板被划了一道很深的口子"


# --- helpers shared with test_case_clock ---------------------------------------------------------
def with_supervisor(be: Backend, **extra: Any) -> int:
    """Add SUP01 (role supervisor) to the demo roster; returns her manager id."""
    be.import_staff([staff.parse_row(1, {"code": "SUP01", "role": "supervisor", "name": "钱主管", **extra},
                                     be.catalogue)])
    with be.db.uow() as s:
        return s.scalar(text("SELECT id FROM managers WHERE code = 'SUP01'"))


def client(be: Backend, ext: str = "alice", lang: str = "zh") -> int:
    c = be.client_for("rest", ext, lang)
    be.set_client(c.id, name="王女士", phone="13812345678", address="朝阳区建国路88号")
    be.seen("rest", ext)
    return c.id


def booking(be: Backend, client_id: int, hour: int = 10) -> dict[str, Any]:
    b = be.book(client_id, Request("cleaning", datetime(2026, 11, 19, hour, 0, tzinfo=TZ), hours=2,
                                   address="朝阳区建国路88号", district="朝阳"))
    with be.db.uow() as s:  # confirmed by its housekeeper: the case then concerns her
        offer_hk = s.scalar(text(f"SELECT housekeeper_id FROM offers WHERE booking_id = {b['id']}"))
        offer_id = s.scalar(text(f"SELECT id FROM offers WHERE booking_id = {b['id']}"))
    return be.accept_offer(offer_hk, offer_id)["booking"]


def rows(be: Backend, kind: str, pid: int, template: str | None = None) -> list[dict[str, Any]]:
    with be.db.uow() as s:
        q = select(Notification).where(Notification.person_kind == kind, Notification.person_id == pid)
        if template:
            q = q.where(Notification.template == template)
        return [{"id": n.id, "key": n.key, "template": n.template, "params": n.params, "urgent": n.urgent,
                 "replaces_key": n.replaces_key, "status": n.status} for n in s.scalars(q.order_by(Notification.id))]


def alerts(be: Backend, manager_id: int, reason: str | None = None) -> list[dict[str, Any]]:
    return [r for r in rows(be, "manager", manager_id, "case_alert")
            if reason is None or r["params"]["reason"] == reason]


def tick(be: Backend, minutes: float) -> int:
    be.ctx.clock.advance(minutes=minutes)
    return be.run_due_timers()


def pending_timers(be: Backend, case_id: int) -> set[str]:
    with be.db.uow() as s:
        return {t.kind for t in s.scalars(select(Timer).where(Timer.ref_id == case_id, Timer.status == "pending",
                                                              Timer.key.like(f"case:{case_id}:%")))}


# --- open and join -------------------------------------------------------------------------------
def test_a_complaint_opens_a_case_with_its_deadline_and_alerts_the_on_duty_managers(be: Backend) -> None:
    cid = client(be)
    b = booking(be, cid)
    case = be.open_case("complaint", cid, b["id"], by_client=True, category="damage", remedy="refund", text=SECRET,
                        lang="zh")
    assert case["joined"] is False and case["status"] == "open" and case["severity"] == "high"  # damage: high
    assert case["due_at"] == "2026-11-18T03:30:00+00:00"  # 10:30 + 1 h, in UTC
    assert case["housekeeper_id"] is not None and case["remedy"] == "refund" and case["text"] == SECRET
    for mid in (1, 2):
        [a] = alerts(be, mid)
        assert a["params"]["reason"] == "new" and a["params"]["case_id"] == case["id"]
        card = a["params"]["card"]
        assert card["client_phone"] == "13812345678" and card["client_name"] == "王女士"
        assert card["booking"]["id"] == b["id"] and card["housekeeper_name"] and card["text"] == SECRET
    assert pending_timers(be, case["id"]) == {"case_due", "case_warn", "case_realert"}
    with be.db.uow() as s:
        assert [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"]))] == ["opened"]
        audit = s.scalar(select(AuditLog).where(AuditLog.entity == "case", AuditLog.entity_id == case["id"]))
        assert audit.new == "open" and audit.actor == f"client:{cid}"
        assert s.scalar(select(Escalation.case_key).where(Escalation.id == case["id"])) == f"complaint:{cid}:{b['id']}"


def test_a_second_message_joins_the_open_case_and_two_bookings_are_two_cases(be: Backend) -> None:
    cid = client(be)
    b1, b2 = booking(be, cid, 10), booking(be, cid, 15)
    first = be.open_case("complaint", cid, b1["id"], by_client=True, category="quality", text="没擦干净")
    again = be.open_case("complaint", cid, b1["id"], by_client=True, text="厨房也没擦")
    other = be.open_case("complaint", cid, b2["id"], by_client=True, category="lateness", text="迟到一小时")
    assert again["joined"] is True and again["id"] == first["id"] and other["id"] != first["id"]
    assert [c["id"] for c in be.open_cases_of(cid)] == [other["id"], first["id"]]
    assert [a["params"]["reason"] for a in alerts(be, 1)] == ["new", "joined", "new"]
    events = be.case(first["id"], viewer=1)["events"]
    assert [(e["kind"], e["text"]) for e in events] == [("opened", "没擦干净"), ("message", "厨房也没擦")]
    be.add_to_case(cid, first["id"], "还有窗户")
    be.add_to_case(cid, first["id"], "还有门")  # the same instant: still its own alert
    assert [a["params"]["reason"] for a in alerts(be, 1)[-2:]] == ["client_message", "client_message"]
    with pytest.raises(DomainError, match="case_not_found"):
        be.add_to_case(client(be, "mallory"), first["id"], "not mine")


def test_the_hourly_cap_applies_to_new_cases_not_to_joins_nor_emergencies(be: Backend) -> None:
    be.ctx.escalations_per_client_hour = 2
    cid = client(be)
    be.open_case("complaint", cid, None, by_client=True, text="one")
    be.open_case("human_requested", cid, None, by_client=True)
    with pytest.raises(DomainError, match="escalation_limit"):
        be.open_case("customization", cid, None, by_client=True, text="three")
    assert be.open_case("complaint", cid, None, by_client=True, text="more")["joined"] is True
    assert be.open_case("emergency", cid, None, by_client=True, text="厨房着火了")["kind"] == "emergency"
    be.ctx.clock.advance(minutes=61)
    assert be.open_case("customization", cid, None, by_client=True, text="three")["joined"] is False


def test_the_clients_words_are_encrypted_at_rest(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    be.add_to_case(cid, case["id"], SECRET + "二")
    be.reply_to_client(1, case["id"], "王女士您好，我们马上处理")
    with be.db.uow() as s:
        raw = [str(r) for t in ("escalations", "case_events", "notifications", "audit_log", "access_log")
               for r in s.execute(text(f"SELECT * FROM {t}")).all()]
    assert raw and not any(SECRET in r or "王女士" in r or "13812345678" in r for r in raw)


# --- the managers' actions -----------------------------------------------------------------------
def test_reply_claims_and_the_delivered_message_stops_the_clock(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text=SECRET)
    view = be.reply_to_client(2, case["id"], "We are on it")
    assert view["owner_id"] == 2 and view["status"] == "claimed" and view["first_response_at"] is None
    [msg] = rows(be, "client", cid, "manager_message")
    assert msg["params"] == {"manager": "Alex Chen", "text": "We are on it", "case_id": case["id"]}
    assert pending_timers(be, case["id"]) == {"case_due", "case_warn"}  # claimed: no more re-alerts
    tick(be, 20)
    be.delivered(msg["id"], "900:1")  # a push channel sent it
    view = be.case(case["id"])
    assert view["status"] == "answered" and view["first_response_at"] == "2026-11-18T02:50:00+00:00"
    assert pending_timers(be, case["id"]) == set()
    assert tick(be, 60) == 0 and be.case(case["id"])["breached_at"] is None
    assert [e["kind"] for e in view["events"]] == ["opened", "claimed", "replied", "first_response"]


def test_a_pulled_and_acknowledged_message_stops_the_clock(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    be.reply_to_client(1, case["id"], "您好")
    shown = be.pull_for("rest", "alice")
    assert be.case(case["id"])["first_response_at"] is None  # shown is not yet read
    be.pull_for("rest", "alice", ack=[r["id"] for r in shown["rows"]])
    assert be.case(case["id"])["status"] == "answered"


def test_a_logged_call_is_a_first_response_and_claiming_is_not(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text=SECRET)
    be.claim(1, case["id"])
    assert be.case(case["id"])["first_response_at"] is None
    view = be.log_call(1, case["id"], "电话沟通，约好明天上门查看")
    assert view["status"] == "answered" and view["first_response_at"] == be.now.isoformat()
    assert be.case(case["id"], viewer=1)["events"][-2]["note"] == "电话沟通，约好明天上门查看"


def test_errors_name_what_is_wrong(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    with pytest.raises(DomainError, match="case_not_found"):
        be.claim(1, 999)
    with pytest.raises(DomainError, match="unknown_manager"):
        be.claim(99, case["id"])
    with pytest.raises(DomainError, match="invalid_severity"):
        be.set_severity(1, case["id"], "urgent")
    with pytest.raises(DomainError, match="unknown_manager"):
        be.reassign(1, case["id"], "NOBODY")
    be.claim(1, case["id"])
    with pytest.raises(DomainError, match="taken_by_other"):
        be.claim(2, case["id"])
    with pytest.raises(DomainError, match="not_your_case"):
        be.reply_to_client(2, case["id"], "hello")
    with pytest.raises(DomainError, match="invalid_outcome"):
        be.close_case(1, case["id"], "whatever")
    be.close_case(1, case["id"], "resolved")
    for act in (lambda: be.claim(1, case["id"]), lambda: be.reply_to_client(1, case["id"], "x"),
                lambda: be.close_case(1, case["id"], "resolved"), lambda: be.acknowledge_alert(1, case["id"])):
        with pytest.raises(DomainError, match="case_closed"):
            act()


def test_reassign_gives_the_case_to_another_manager_who_is_alerted(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    be.claim(1, case["id"])
    view = be.reassign(1, case["id"], "mgr02")
    assert view["owner_id"] == 2 and view["owner_name"] == "Alex Chen"
    assert alerts(be, 2)[-1]["params"]["reason"] == "reassigned"
    be.reply_to_client(2, case["id"], "Hello, I'm taking over")  # now hers


def test_close_tells_the_client_and_no_answers_reopens_one_level_up(be: Backend) -> None:
    sup = with_supervisor(be)
    cid = client(be, "bob", "en")
    case = be.open_case("complaint", cid, None, by_client=True, category="quality", text=SECRET)
    be.log_call(1, case["id"], "called")
    closed = be.close_case(1, case["id"], "apologised", "We are sorry")
    assert closed["status"] == "closed" and closed["outcome"] == "apologised"
    [told] = rows(be, "client", cid, "case_closed")
    assert told["params"] == {"case_id": case["id"], "kind": "complaint", "outcome": "apologised",
                              "note": "We are sorry"}
    assert pending_timers(be, case["id"]) == set()
    assert [c["id"] for c in be.open_cases_of(cid)] == [case["id"]]  # awaiting the satisfaction answer
    be.ctx.clock.advance(minutes=5)
    reopened = be.case_satisfaction(cid, case["id"], False)
    assert reopened["status"] == "open" and reopened["level"] == 1 and reopened["satisfied"] is False
    assert reopened["owner_id"] is None and reopened["severity"] == "high"
    assert reopened["due_at"] == "2026-11-18T06:35:00+00:00"  # satisfaction policy: 4 h from the answer
    assert len(alerts(be, sup, "reopened")) == 1 and alerts(be, 1, "reopened") == []  # the next level only
    assert be.case_satisfaction(cid, case["id"], True)["satisfied"] is False  # not closed: nothing to answer
    for outcome in ("compensation", "refund", "rework"):  # the client would be told it is arranged: it is not
        with pytest.raises(DomainError, match=f"no_{outcome}_on_record"):
            be.close_case(sup, case["id"], outcome)
    be.compensate(sup, case["id"], 5000, "致歉补偿")
    be.close_case(sup, case["id"], "compensation")
    assert be.case_satisfaction(cid, case["id"], True)["satisfied"] is True
    assert be.case_satisfaction(cid, case["id"], False)["satisfied"] is True  # a second tap changes nothing
    assert be.open_cases_of(cid) == []


def test_cards_replace_each_managers_latest_card_and_closed_cards_refresh(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    first = {m: alerts(be, m)[0]["key"] for m in (1, 2)}
    be.claim(1, case["id"])
    cards = {m: rows(be, "manager", m, "case_card") for m in (1, 2)}
    for m in (1, 2):
        [card] = cards[m]
        assert card["replaces_key"] == first[m] and card["params"]["reason"] == "update"
        assert card["params"]["change"] == "claimed" and card["params"]["card"]["owner_id"] == 1
    be.ctx.clock.advance(minutes=1)
    be.close_case(1, case["id"], "resolved")
    for m in (1, 2):
        last = rows(be, "manager", m, "case_card")[-1]
        assert last["replaces_key"] == cards[m][0]["key"] and last["params"]["card"]["status"] == "closed"


def test_every_managers_view_of_client_data_is_logged(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)
    be.case(case["id"])  # no viewer: no client data, no log
    with be.db.uow() as s:
        before = s.scalar(text("SELECT count(*) FROM access_log"))
    assert before == 2  # the two alerts
    view = be.case(case["id"], viewer=2)
    assert view["client_phone"] == "13812345678" and view["client_address"] == "朝阳区建国路88号"
    listed = be.cases(1)
    assert [c["id"] for c in listed] == [case["id"]] and listed[0]["client_name"] == "王女士"
    with be.db.uow() as s:
        logs = [(a.actor, a.what, a.ref, a.client_id) for a in s.scalars(select(AccessLog).order_by(AccessLog.id))]
    assert logs[-2:] == [("manager:2", "case_card", f"case:{case['id']}", cid),
                         ("manager:1", "case_list", f"case:{case['id']}", cid)]


def test_cases_list_breaches_first_then_by_due_time(be: Backend) -> None:
    a, b, c = client(be, "a"), client(be, "b"), client(be, "c")
    normal = be.open_case("complaint", a, None, by_client=True, category="quality", text="x")  # due in 24 h
    late = be.open_case("complaint", b, None, by_client=True, category="damage", text="y")  # due in 1 h
    tick(be, 61)  # the high one breaches
    fresh = be.open_case("complaint", c, None, by_client=True, category="safety", text="z")  # due in 1 h from now
    assert [x["id"] for x in be.cases(1)] == [late["id"], fresh["id"], normal["id"]]
    assert be.cases(1)[0]["breached_at"] is not None


def test_attachments_are_linked_to_the_case_and_listed(be: Backend) -> None:
    cid = client(be)
    with be.db.uow() as s:
        att = Attachment(client_id=cid, content_type="image/jpeg", size=3, sha256="0" * 64, filename="floor.jpg",
                         data=b"jpg", created_at=be.now)
        s.add(att)
        s.flush()
        att_id = att.id
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET, attachments=[att_id])
    assert be.case(case["id"], viewer=1)["attachments"] == [
        {"id": att_id, "content_type": "image/jpeg", "size": 3, "filename": "floor.jpg"}]
    be.add_to_case(cid, case["id"], None, attachments=[att_id])
    assert alerts(be, 1)[-1]["params"]["reason"] == "attachment"


def test_a_housekeepers_emergency_alerts_at_once_with_everything_needed(be: Backend) -> None:
    cid = client(be)
    b = booking(be, cid)
    with be.db.uow() as s:
        hk = s.scalar(text(f"SELECT housekeeper_id FROM bookings WHERE id = {b['id']}"))
    with pytest.raises(DomainError, match="not_your_job"):
        be.housekeeper_emergency(hk + 1, b["id"], "老人摔倒了")
    case = be.housekeeper_emergency(hk, b["id"], "老人摔倒了")
    assert case["kind"] == "emergency" and case["housekeeper_id"] == hk and case["client_id"] == cid
    [a] = alerts(be, 1)
    card = a["params"]["card"]
    assert a["urgent"] is True and a["params"]["reason"] == "emergency"
    assert (card["client_name"], card["client_phone"], card["client_address"]) == ("王女士", "13812345678",
                                                                                   "朝阳区建国路88号")
    assert card["booking"]["id"] == b["id"] and card["housekeeper_name"]
    assert card["housekeeper_name"] == card["booking"]["housekeeper"]
    with be.db.uow() as s:
        assert s.scalar(select(CaseEvent.actor).where(CaseEvent.case_id == case["id"])) == f"housekeeper:{hk}"


def test_a_takeover_relay_carries_the_case_and_stops_its_clock(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("human_requested", cid, None, by_client=True)
    be.take_over(1, case["id"])
    assert be.case(case["id"])["owner_id"] == 1
    be.relay("client", cid, "manager_message", manager="周经理", text="您好，我是周经理")
    msg = rows(be, "client", cid, "manager_message")[-1]
    assert msg["params"]["case_id"] == case["id"]
    be.delivered(msg["id"])
    assert be.case(case["id"])["status"] == "answered"
    with be.db.uow() as s:
        assert s.scalar(select(Takeover.escalation_id).where(Takeover.client_id == cid)) == case["id"]


def test_old_escalation_calls_still_work_on_cases(be: Backend) -> None:
    cid = client(be)
    esc = be.escalate("human_requested", client_id=cid, text="找人工")
    assert [e["id"] for e in be.escalations()] == [esc]
    assert be.acknowledge(2, esc)["status"] == "claimed"
    assert be.resolve(2, esc)["status"] == "closed"
    assert be.resolve(2, esc)["status"] == "closed"  # twice is harmless
    assert be.escalations() == []
    with pytest.raises(DomainError, match="escalation_not_found"):
        be.acknowledge(1, 999)


def test_two_managers_claiming_at_once_give_one_owner(be: Backend) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text=SECRET)

    def claim(mid: int) -> str:
        try:
            be.claim(mid, case["id"])
            return "ok"
        except DomainError as e:
            return e.code

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(claim, (1, 2)))
    assert results == ["ok", "taken_by_other"]
    with be.db.uow() as s:
        claims = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case["id"], CaseEvent.kind == "claimed"))
        assert len(list(claims)) == 1


def test_the_satisfaction_question_closes_after_its_wait(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="quality", text="没擦干净")
    be.close_case(1, case["id"], "apologised")
    be.ctx.clock.advance(days=3, minutes=1)  # satisfaction_wait: 3d
    with pytest.raises(DomainError, match="satisfaction_closed"):
        be.case_satisfaction(cid, case["id"], False)
    view = be.case(case["id"])
    assert view["status"] == "closed" and view["satisfied"] is None and be.open_cases_of(cid) == []
