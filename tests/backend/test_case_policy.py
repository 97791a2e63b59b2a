"""config/cases.yaml → the case policy and service-desk hours: defaults from the service standard,
clear errors for a bad file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.domain.cases import CaseTransitionError, case_key, move
from backend.domain.clock import WorkCalendar
from backend.holidays import load_calendar
from backend.policy import load_policy
from config.settings import ROOT

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shipped():
    cal = load_calendar(ROOT / "config/holidays.yaml", warn=False)
    return load_policy(ROOT / "config/cases.yaml", cal, TZ)


def test_the_shipped_policy_holds_the_standards_figures(shipped) -> None:
    policy, _ = shipped
    high, normal = policy.clock("complaint", "high"), policy.clock("complaint", "normal")
    assert (high.first_response, high.realert, high.warn) == (timedelta(hours=1), timedelta(minutes=15),
                                                                timedelta(minutes=45))
    assert (normal.first_response, normal.realert, normal.warn) == (timedelta(hours=24), timedelta(minutes=30),
                                                                    timedelta(hours=20))
    assert policy.severity_for("complaint", "safety") == "high"
    assert policy.severity_for("complaint", "quality") == "normal"
    assert policy.severity_for("emergency") == "high"
    assert policy.clock("human_requested", "normal").first_response == timedelta(minutes=30)
    assert policy.refund_complete_days == 3 and policy.refund_approve_days == 1
    # a kind without its own clock falls back to the default entry
    assert policy.clock("something_new", "normal").first_response == timedelta(hours=24)


def test_a_request_for_a_person_at_night_is_due_after_the_desk_opens(shipped) -> None:
    policy, desk = shipped
    night = datetime(2026, 11, 18, 23, 0, tzinfo=TZ)  # a Wednesday; the desk opens 08:00
    assert policy.deadlines("human_requested", "normal", night, desk).due == datetime(2026, 11, 19, 8, 30, tzinfo=TZ)
    day = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)
    assert policy.deadlines("human_requested", "normal", day, desk).due == day + timedelta(minutes=30)
    # complaints run on the wall clock, day and night
    assert policy.deadlines("complaint", "high", night, desk).due == night + timedelta(hours=1)


def test_the_desk_is_closed_on_the_national_day_holiday(shipped) -> None:
    _, desk = shipped
    assert not desk.is_open(datetime(2026, 10, 3, 10, 0, tzinfo=TZ))  # a Saturday inside the holiday
    assert not desk.is_open(datetime(2026, 10, 5, 10, 0, tzinfo=TZ))  # a Monday inside the holiday
    assert desk.is_open(datetime(2026, 10, 10, 10, 0, tzinfo=TZ))  # the swapped working Saturday
    assert desk.next_open(datetime(2026, 9, 30, 22, 0, tzinfo=TZ)) == datetime(2026, 10, 8, 8, 0, tzinfo=TZ)


@pytest.mark.parametrize(("text", "problem"), [
    ("policies: {complaint: {urgent: {first_response: 1h}}}", "severity must be one of"),
    ("policies: {complaint: {high: {realert_unclaimed: 5m}}}", "first_response is required"),
    ("policies: {complaint: {high: {first_response: soon}}}", "a duration looks like"),
    ("policies: {complaint: {high: {first_response: 1h, typo: 2}}}", "unknown policy keys: typo"),
    ("service_desk: {hours: {monday: '09:00-08:00'}}", "must end after it starts"),
    ("service_desk: {hours: {holiday: '09:00-18:00'}}", "not a weekday"),
    ("categories: {damage: critical}", "unknown severity"),
    ("- a list", "expected a mapping"),
])
def test_a_bad_policy_file_is_refused_with_its_name_and_the_problem(tmp_path: Path, text: str,
                                                                    problem: str) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_policy(f, WorkCalendar(), TZ)
    assert str(f) in str(e.value) and problem in str(e.value)


def test_case_states_move_only_along_the_machine() -> None:
    assert move("open", "claimed") == "claimed"
    assert move("closed", "open") == "open"  # reopened when the client is not satisfied
    with pytest.raises(CaseTransitionError):
        move("closed", "answered")
    assert case_key(3, "complaint", 12) != case_key(3, "complaint", 13)
    assert case_key(3, "complaint", None) == "complaint:3:-"
