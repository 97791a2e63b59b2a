"""The butler's clock (issue 12): a butler client's request is on site within 15 minutes and has a first
plan within 1 hour, on durable timers; a miss opens (then escalates) a butler_breach case. SQLite and
PostgreSQL (the ``be`` fixture's db_url)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError
from backend.orm import AccessLog, Booking, ButlerRequest, Escalation, Housekeeper, Notification, Placement, Timer

TZ = ZoneInfo("Asia/Shanghai")


def butler_of(be: Backend) -> int:
    with be.db.uow() as s:
        return next(h.id for h in s.scalars(select(Housekeeper).order_by(Housekeeper.id)) if "butler" in h.skills)


def butler_client(be: Backend, sender: str = "bt-client", status: str = "active", *, start: date | None = None,
                  days: int = 90) -> tuple[int, int, int]:
    """A client with a butler placement covering today: (client id, placement id, butler id)."""
    c = be.client_for("rest", sender, "zh")
    be.set_client(c.id, phone="13812345678", name="王女士", address="朝阳区建国路88号")
    hk = butler_of(be)
    start = start or be.now.astimezone(TZ).date() - timedelta(days=3)
    with be.db.uow() as s:
        p = Placement(client_id=c.id, service="butler", status=status, start_date=start,
                      end_date=start + timedelta(days=days - 1), term_days=days, housekeeper_id=hk,
                      address="朝阳区建国路88号")
        s.add(p)
        s.flush()
        pid = p.id
    return c.id, pid, hk


def rows(be: Backend, template: str, **match: object) -> list[Notification]:
    with be.db.uow() as s:
        out = list(s.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))
        s.expunge_all()
    return [n for n in out if all((n.params or {}).get(k) == v for k, v in match.items())]


def later(be: Backend, minutes: float) -> None:
    be.ctx.clock.advance(minutes=minutes)
    be.run_due_timers()


def test_a_request_stores_both_due_times_arms_timers_and_tells_the_butler_and_managers(be: Backend) -> None:
    cid, pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    now = be.now
    assert r["status"] == "open" and r["placement_id"] == pid and r["butler_id"] == hk
    assert datetime.fromisoformat(r["onsite_due_at"]) == now + timedelta(minutes=15)
    assert datetime.fromisoformat(r["plan_due_at"]) == now + timedelta(minutes=60)
    with be.db.uow() as s:
        keys = {t.key: t.due_at for t in s.scalars(select(Timer).where(Timer.key.like(f"butler:{r['id']}:%")))}
        assert s.get(ButlerRequest, r["id"]).text == "客厅漏水了"
    assert keys == {f"butler:{r['id']}:onsite": now + timedelta(minutes=15),
                    f"butler:{r['id']}:plan": now + timedelta(minutes=60)}
    to_her = rows(be, "butler_request_new", request_id=r["id"])
    assert len(to_her) == 1 and to_her[0].person_id == hk and to_her[0].urgent
    assert to_her[0].params["address"] == "朝阳区建国路88号" and to_her[0].params["client_phone"] == "13812345678"
    managers = rows(be, "butler_request_manager", request_id=r["id"])
    assert {n.person_kind for n in managers} == {"manager"} and len(managers) >= 1
    with be.db.uow() as s:  # the managers saw the client's phone and address: logged
        assert s.scalar(select(AccessLog).where(AccessLog.ref == f"butler:{r['id']}")) is not None


def test_on_site_in_time_means_no_breach(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "马桶堵了")
    later(be, 10)
    v = be.butler_onsite("housekeeper", hk, r["id"])
    assert v["status"] == "on_site" and v["onsite_at"] is not None
    assert len(rows(be, "butler_onsite_client", request_id=r["id"])) == 1
    later(be, 10)  # past the on-site due time
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "butler_breach")) is None
    assert rows(be, "butler_breach_onsite_client") == []
    assert be.butler_onsite("housekeeper", hk, r["id"])["onsite_at"] == v["onsite_at"]  # a second tap: nothing


def test_on_site_missed_opens_a_case_and_alerts_managers_urgently(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    later(be, 14)
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "butler_breach")) is None
    later(be, 2)  # 16 minutes: missed
    with be.db.uow() as s:
        esc = s.scalar(select(Escalation).where(Escalation.kind == "butler_breach"))
        assert esc is not None and esc.client_id == cid and esc.severity == "high"
        assert esc.detail["request_id"] == r["id"] and esc.detail["breach"] == "onsite"
        assert s.get(ButlerRequest, r["id"]).case_id == esc.id
        case_id = esc.id
    alerts = [n for n in rows(be, "case_alert") if n.params.get("case_id") == case_id]
    assert alerts and all(n.urgent and n.person_kind == "manager" for n in alerts)
    told = rows(be, "butler_breach_onsite_client", request_id=r["id"])
    assert len(told) == 1 and told[0].person_id == cid and told[0].params["case_id"] == case_id
    pinged = rows(be, "butler_breach_onsite_butler", request_id=r["id"])
    assert len(pinged) == 1 and pinged[0].person_id == hk and pinged[0].urgent
    # she arrives late: on the case's timeline, and the client told
    be.butler_onsite("housekeeper", hk, r["id"])
    with be.db.uow() as s:
        from backend.orm import CaseEvent

        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))]
    assert "butler_onsite" in kinds


def test_plan_missed_at_one_hour_escalates_the_same_case_a_level_up(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "need a dinner for 8 on Saturday", "en")
    later(be, 16)
    be.butler_onsite("housekeeper", hk, r["id"])
    later(be, 43)  # 59 minutes (the case's own clock may have gone up a level by now)
    with be.db.uow() as s:
        esc = s.scalar(select(Escalation).where(Escalation.kind == "butler_breach"))
        case_id, level = esc.id, esc.level
    later(be, 2)  # 61 minutes: no plan
    with be.db.uow() as s:
        esc = s.get(Escalation, case_id)
        assert esc.level == level + 1
        others = select(Escalation.id).where(Escalation.kind == "butler_breach", Escalation.id != case_id)
        assert s.scalar(others) is None
    breach_alerts = [n for n in rows(be, "case_alert") if n.params.get("case_id") == case_id
                     and n.params.get("reason") == "breach"]
    assert breach_alerts and all(n.urgent for n in breach_alerts)
    assert len(rows(be, "butler_breach_plan_client", request_id=r["id"])) == 1


def test_plan_missed_without_an_earlier_miss_opens_the_case(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "空调不制冷了")
    later(be, 5)
    be.butler_onsite("housekeeper", hk, r["id"])
    later(be, 56)
    with be.db.uow() as s:
        esc = s.scalar(select(Escalation).where(Escalation.kind == "butler_breach"))
        assert esc is not None and esc.detail["breach"] == "plan" and esc.level == 0


def test_the_plan_reaches_the_client_and_closing_needs_it(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    with pytest.raises(DomainError) as e:
        be.butler_close("housekeeper", hk, r["id"])
    assert e.value.code == "butler_plan_missing"
    be.butler_onsite("housekeeper", hk, r["id"])
    v = be.butler_post_plan("housekeeper", hk, r["id"], "已关总阀，水电师傅14:00到，预计16:00前修好")
    assert v["status"] == "planned" and v["plan"].startswith("已关总阀")
    sent = rows(be, "butler_plan_client", request_id=r["id"])
    assert len(sent) == 1 and sent[0].person_id == cid and sent[0].params["plan"].startswith("已关总阀")
    later(be, 70)  # the plan clock was stopped
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "butler_breach")) is None
    done = be.butler_close("housekeeper", hk, r["id"])
    assert done["status"] == "closed" and len(rows(be, "butler_done_client", request_id=r["id"])) == 1
    assert be.butler_open_requests(hk) == []


def test_another_housekeeper_cannot_act_on_her_request(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    with be.db.uow() as s:
        other = s.scalar(select(Housekeeper.id).where(Housekeeper.id != hk).limit(1))
    with pytest.raises(DomainError) as e:
        be.butler_onsite("housekeeper", other, r["id"])
    assert e.value.code == "not_your_butler_request"


def test_the_plan_by_reply_after_tapping_post_plan(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    assert be.butler_prompted(hk) is None
    be.butler_prompt_plan(hk, r["id"])
    assert be.butler_prompted(hk)["id"] == r["id"]
    be.ctx.clock.advance(minutes=31)
    assert be.butler_prompted(hk) is None  # the tap is forgotten after plan_reply_minutes


def test_a_client_without_a_butler_contract_cannot_raise_one(be: Backend) -> None:
    c = be.client_for("rest", "plain-client", "zh")
    assert be.butler_contract(c.id) is None
    with pytest.raises(DomainError) as e:
        be.raise_butler_request(c.id, "客厅漏水了")
    assert e.value.code == "not_butler_client"


def test_an_ended_placement_is_no_longer_a_butler_contract(be: Backend) -> None:
    cid, pid, hk = butler_client(be)
    assert be.butler_contract(cid) == {"butler_id": hk, "butler": be.butler_contract(cid)["butler"],
                                       "placement_id": pid, "booking_id": None}
    with be.db.uow() as s:
        s.get(Placement, pid).status = "ended"
    assert be.butler_contract(cid) is None
    with pytest.raises(DomainError):
        be.raise_butler_request(cid, "客厅漏水了")


def test_a_placement_whose_term_is_over_or_not_started_does_not_count(be: Backend) -> None:
    today = be.now.astimezone(TZ).date()
    cid, _pid, _hk = butler_client(be, "bt-past", start=today - timedelta(days=40), days=30)
    assert be.butler_contract(cid) is None
    cid2, _pid2, _hk2 = butler_client(be, "bt-future", start=today + timedelta(days=2))
    assert be.butler_contract(cid2) is None


def test_a_butler_booking_covering_now_is_a_contract(be: Backend) -> None:
    c = be.client_for("rest", "bt-booking", "zh")
    hk = butler_of(be)
    now = be.now
    with be.db.uow() as s:
        b = Booking(client_id=c.id, service="butler", starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(hours=7), status="in_progress", housekeeper_id=hk)
        s.add(b)
        s.flush()
        bid = b.id
    r = be.raise_butler_request(c.id, "need a dinner for 8 on Saturday")
    assert r["booking_id"] == bid and r["butler_id"] == hk


def test_the_client_cancels_and_no_clock_runs(be: Backend) -> None:
    cid, _pid, hk = butler_client(be)
    r = be.raise_butler_request(cid, "客厅漏水了")
    assert [x["id"] for x in be.client_butler_requests(cid)] == [r["id"]]
    v = be.cancel_butler_request(cid, r["id"])
    assert v["status"] == "cancelled"
    assert len(rows(be, "butler_request_cancelled", request_id=r["id"])) == 1
    later(be, 70)
    with be.db.uow() as s:
        assert s.scalar(select(Escalation).where(Escalation.kind == "butler_breach")) is None
    assert be.client_butler_requests(cid) == []
    with pytest.raises(DomainError):
        be.butler_onsite("housekeeper", hk, r["id"])
    with pytest.raises(DomainError) as e:
        be.cancel_butler_request(cid + 1000, r["id"])
    assert e.value.code == "butler_request_not_found"


def test_an_ended_placement_s_term_booking_does_not_keep_the_contract(be: Backend) -> None:
    cid, pid, hk = butler_client(be)
    now = be.now
    with be.db.uow() as s:
        b = Booking(client_id=cid, service="butler", starts_at=now - timedelta(days=3),
                    ends_at=now + timedelta(days=80), status="in_progress", housekeeper_id=hk)
        s.add(b)
        s.flush()
        s.get(Placement, pid).booking_id = b.id
    assert be.butler_contract(cid)["placement_id"] == pid
    with be.db.uow() as s:
        s.get(Placement, pid).status = "ended"  # the trial ended; its booking not (yet) closed
    assert be.butler_contract(cid) is None
