"""The case clock on the fake clock: re-alerts, warning, breach to the next level with repeats until
acknowledged, emergencies, service-desk hours and on-duty managers (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update

from backend.api import Backend
from backend.orm import CaseEvent, Timer
from backend.services import case_cards, staff
from tests.backend.test_cases import alerts, client, pending_timers, tick, with_supervisor

TZ = ZoneInfo("Asia/Shanghai")


def reasons(be: Backend, manager_id: int) -> list[str]:
    return [a["params"]["reason"] for a in alerts(be, manager_id)]


def test_realerts_every_15_minutes_until_claimed_then_warn_goes_to_the_owner(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text="划痕")
    assert tick(be, 14) == 0
    tick(be, 1)
    assert reasons(be, 1) == reasons(be, 2) == ["new", "realert"]
    tick(be, 15)
    assert reasons(be, 2) == ["new", "realert", "realert"]
    be.claim(1, case["id"])  # at 30 minutes: re-alerts stop, the clock does not
    assert "case_realert" not in pending_timers(be, case["id"])
    tick(be, 14)
    assert reasons(be, 2) == ["new", "realert", "realert"]
    tick(be, 1)  # 45 minutes: the warning, to the owner only
    assert reasons(be, 1)[-1] == "warn" and "warn" not in reasons(be, 2)


def test_unclaimed_warning_goes_to_the_on_duty_managers(be: Backend) -> None:
    cid = client(be)
    be.open_case("complaint", cid, None, by_client=True, category="safety", text="燃气味")
    for _ in range(3):
        tick(be, 15)
    assert reasons(be, 1) == reasons(be, 2) == ["new", "realert", "realert", "warn"]  # at 45: the warning only


def test_a_claimed_but_unanswered_case_breaches_to_the_supervisor_until_acknowledged(be: Backend) -> None:
    sup = with_supervisor(be, days="sat;sun")  # off duty on a Wednesday: she hears only of breaches
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text="划痕")
    be.claim(1, case["id"])
    tick(be, 59)
    assert reasons(be, sup) == [] and be.case(case["id"])["breached_at"] is None
    tick(be, 1)
    view = be.case(case["id"])
    assert view["breached_at"] == "2026-11-18T03:30:00+00:00" and view["level"] == 1
    assert [e["kind"] for e in view["events"]][-1] == "breach"
    [alert] = alerts(be, sup)
    assert alert["urgent"] is True and alert["params"]["reason"] == "breach"
    assert reasons(be, 1)[-1] == "breach" and "breach" not in reasons(be, 2)  # the owner knows too
    tick(be, 30)
    tick(be, 30)
    assert reasons(be, sup) == ["breach", "repeat", "repeat"]
    be.acknowledge_alert(sup, case["id"])
    assert be.case(case["id"])["owner_id"] == 1  # acknowledging does not take it from its owner
    tick(be, 30)
    tick(be, 30)
    assert reasons(be, sup) == ["breach", "repeat", "repeat"]
    assert pending_timers(be, case["id"]) == set()


def test_without_a_supervisor_a_breach_goes_to_every_manager(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text="划痕")
    tick(be, 60)
    assert reasons(be, 1)[-1] == reasons(be, 2)[-1] == "breach"
    assert be.case(case["id"])["level"] == 1


def test_normal_severity_is_due_in_24_hours(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="quality", text="没擦干净")
    assert case["severity"] == "normal" and case["due_at"] == "2026-11-19T02:30:00+00:00"
    tick(be, 30)
    assert reasons(be, 1) == ["new", "realert"]
    be.claim(2, case["id"])
    tick(be, 20 * 60 - 30)
    assert reasons(be, 2)[-1] == "warn"
    tick(be, 4 * 60)
    assert be.case(case["id"])["breached_at"] == "2026-11-19T02:30:00+00:00"


def test_a_request_for_a_person_at_night_is_due_after_the_desk_opens(be: Backend) -> None:
    be.ctx.clock.set(datetime(2026, 11, 18, 23, 0, tzinfo=TZ))
    cid = client(be)
    case = be.open_case("human_requested", cid, None, by_client=True)
    assert datetime.fromisoformat(case["due_at"]).astimezone(TZ) == datetime(2026, 11, 19, 8, 30, tzinfo=TZ)
    assert tick(be, 9 * 60) == 0  # 08:00: opened, nothing due yet
    tick(be, 10)
    assert reasons(be, 1) == ["new", "realert"]


def test_set_severity_moves_the_deadline_from_the_opening_time(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text="划痕")
    tick(be, 10)
    lowered = be.set_severity(1, case["id"], "normal")
    assert lowered["due_at"] == "2026-11-19T02:30:00+00:00" and lowered["severity"] == "normal"
    tick(be, 60)
    assert be.case(case["id"])["breached_at"] is None
    raised = be.set_severity(1, case["id"], "high")  # 80 minutes old: already past the 1 h promise
    assert raised["due_at"] == "2026-11-18T03:30:00+00:00"
    be.run_due_timers()
    assert be.case(case["id"])["breached_at"] is not None
    cards = [r["params"]["change"] for r in _cards(be, 1)]
    assert cards == ["severity", "severity"]


def _cards(be: Backend, manager_id: int) -> list[dict]:
    from tests.backend.test_cases import rows

    return rows(be, "manager", manager_id, "case_card")


def test_an_emergency_repeats_every_few_minutes_until_acknowledged(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("emergency", cid, None, by_client=True, text="厨房着火了")
    [first] = alerts(be, 1)
    assert first["urgent"] is True and first["params"]["reason"] == "emergency"
    tick(be, 3)
    tick(be, 1)
    assert reasons(be, 1) == reasons(be, 2) == ["emergency", "repeat"]
    be.acknowledge_alert(2, case["id"])
    be.log_call(2, case["id"], "已电话联系，119已到")
    tick(be, 30)
    assert reasons(be, 1) == ["emergency", "repeat"]
    view = be.case(case["id"])
    assert view["owner_id"] == 2 and view["breached_at"] is None and view["status"] == "answered"


def test_stale_timers_do_nothing_after_the_case_is_closed(be: Backend) -> None:
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="damage", text="划痕")
    be.close_case(1, case["id"], "no_action")
    with be.db.uow() as s:  # as if a worker had missed the cancellation
        s.execute(update(Timer).where(Timer.key.like(f"case:{case['id']}:%")).values(status="pending"))
    tick(be, 120)
    assert reasons(be, 1) == ["new"] and be.case(case["id"])["breached_at"] is None
    with be.db.uow() as s:
        kinds = list(s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case["id"])))
    assert kinds == ["opened", "closed"]


def test_on_duty_managers_by_roster_window_with_fallbacks(be: Backend) -> None:
    rows = [{"code": "MGR01", "days": "mon;tue;wed;thu;fri", "hours": "09:00-18:00"},
            {"code": "MGR02", "days": "sat;sun", "hours": "09:00-18:00"},
            {"code": "SUP01", "role": "supervisor", "name": "钱主管", "days": "mon;tue;wed;thu;fri",
             "hours": "09:00-18:00"}]
    be.import_staff([staff.parse_row(i, r, be.catalogue) for i, r in enumerate(rows, 1)])

    def codes(level: int, when: datetime) -> list[str]:
        with be.db.uow() as s:
            return [m.code for m in case_cards.recipients(be.ctx, s, level, when)]

    wed_day, wed_night, sat = (datetime(2026, 11, 18, 10, 30, tzinfo=TZ), datetime(2026, 11, 18, 20, 0, tzinfo=TZ),
                               datetime(2026, 11, 21, 12, 0, tzinfo=TZ))
    assert codes(0, wed_day) == ["MGR01", "SUP01"]
    assert codes(0, sat) == ["MGR02"]
    assert codes(0, wed_night) == ["MGR01", "MGR02"]  # nobody on duty: every manager
    assert codes(1, wed_night) == ["SUP01"]
    be.deactivate_staff("MGR02")
    be.deactivate_staff("MGR01")
    assert codes(0, wed_night) == ["SUP01"]  # no manager left: the supervisor
    assert codes(0, sat) == ["SUP01"]
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, text="x")
    assert alerts(be, 1) == [] and reasons(be, 3) == ["new"]  # deactivated managers are never alerted
    with be.db.uow() as s:
        assert s.scalar(text(f"SELECT level FROM escalations WHERE id = {case['id']}")) == 0


def test_an_unclaimed_complaint_at_night_waits_for_the_desk_to_realert(be: Backend) -> None:
    be.ctx.clock.set(datetime(2026, 11, 18, 20, 40, tzinfo=TZ))
    cid = client(be)
    case = be.open_case("complaint", cid, None, by_client=True, category="quality", text="没擦干净")
    tick(be, 30)  # 21:10: the desk has closed, so no re-alert at 21:10 … 07:40
    tick(be, 10 * 60)  # 07:10
    assert reasons(be, 1) == ["new"]
    tick(be, 60)  # 08:10: the desk opened at 08:00
    assert reasons(be, 1) == ["new", "realert"]
    assert be.case(case["id"])["breached_at"] is None


def test_a_damage_complaint_at_night_keeps_realerting_before_its_one_hour_promise(be: Backend) -> None:
    be.ctx.clock.set(datetime(2026, 11, 18, 23, 0, tzinfo=TZ))
    cid = client(be)
    be.open_case("complaint", cid, None, by_client=True, category="damage", text="花瓶碎了")
    tick(be, 15)
    tick(be, 15)
    assert reasons(be, 1) == ["new", "realert", "realert"]  # due at 00:00: nobody waits for the morning


def test_after_an_emergency_breaches_the_supervisors_get_one_alarm_not_two(be: Backend) -> None:
    sup = with_supervisor(be)
    cid = client(be)
    case = be.open_case("emergency", cid, None, by_client=True, text="厨房着火了")
    tick(be, 5)  # the 5-minute promise runs out: breach to the supervisor
    assert be.case(case["id"])["breached_at"] is not None
    before = len(alerts(be, sup))
    tick(be, 3)
    tick(be, 3)
    assert len(alerts(be, sup)) - before == 2  # one repeat every 3 minutes, not two
    be.acknowledge_alert(sup, case["id"])
    tick(be, 10)
    assert len(alerts(be, sup)) - before == 2
    assert be.case(case["id"])["acknowledged_at"] is not None
