"""Working days and service-desk hours: the mainland calendar (chinesecalendar), config/holidays.yaml
overrides, the Monday–Friday fallback with its warnings, and the desk hours from config/cases.yaml."""

from __future__ import annotations

import logging
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.domain.clock import DeskHours, WorkCalendar
from backend.holidays import load_calendar
from backend.policy import load_policy
from config.settings import ROOT

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_calendar(ROOT / "config" / "holidays.yaml", warn=False)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_national_day_2026_and_its_swapped_saturday(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2026, 9, 30))
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_holiday(date(2026, 10, 1)) and cal.is_workday(date(2026, 10, 10))  # Saturday, swapped
    assert not cal.is_workday(date(2026, 10, 11))
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    # the refund promise: end of the 3rd working day after the request's local day
    assert cal.working_days_due(at(2026, 9, 30, 10), 3, TZ) == at(2026, 10, 11)
    assert cal.working_days_due(at(2026, 9, 30, 23, 59), 1, TZ) == at(2026, 10, 9)
    # a request at 00:30 local on 10-01 is still the 10-01 local day (UTC says 09-30)
    assert cal.working_days_due(at(2026, 10, 1, 0, 30), 1, TZ) == at(2026, 10, 9)
    assert cal.working_days_between(at(2026, 9, 30, 10), at(2026, 10, 9, 15), TZ) == 2
    assert cal.working_days_between(at(2026, 9, 30, 10), at(2026, 9, 30, 18), TZ) == 0


def test_an_ordinary_week_and_a_weekend(cal: WorkCalendar) -> None:
    assert cal.working_days_due(at(2026, 11, 18, 10, 30), 3, TZ) == at(2026, 11, 24)  # Wed → end of Mon
    assert cal.working_days_due(at(2026, 11, 21, 12), 1, TZ) == at(2026, 11, 24)  # Sat → end of Mon
    assert cal.working_days_between(at(2026, 11, 20, 9), at(2026, 11, 23, 9), TZ) == 1


def test_uncovered_year_falls_back_to_monday_to_friday(cal: WorkCalendar) -> None:
    # 2027: config/holidays.yaml knows its statutory days but not yet its swapped working days
    assert 2026 in cal.covered and 2027 not in cal.covered
    assert not cal.is_workday(date(2027, 1, 1))  # New Year's Day, listed ahead
    assert cal.is_workday(date(2027, 1, 4)) and not cal.is_workday(date(2027, 1, 2))
    assert cal.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 5)  # 12-31, 01-04, 01-05
    assert cal.is_workday(date(2028, 1, 3))  # a year nobody listed: Monday–Friday


def test_start_up_warns_when_next_year_is_not_covered(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="backend.holidays"):
        load_calendar(None, today=date(2026, 11, 18))
    assert any("2027" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="backend.holidays"):
        load_calendar(None, today=date(2025, 3, 1))  # 2025 and 2026 are both known
    assert caplog.records == []


def test_holidays_yaml_extends_and_overrides_the_package(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "holidays.yaml"
    f.write_text("holidays: [2026-11-20, 2027-01-01]\nworkdays: ['2026-11-22']\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="backend.holidays"):
        cal = load_calendar(f, today=date(2026, 11, 18))
    assert not cal.is_workday(date(2026, 11, 20)) and cal.is_workday(date(2026, 11, 22))  # closure, Sunday worked
    assert not cal.is_workday(date(2027, 1, 1)) and 2027 not in cal.covered  # its swapped days still unknown
    assert any("2027" in r.getMessage() for r in caplog.records)
    caplog.clear()
    f.write_text("holidays: [2027-01-01]\nworkdays: ['2027-02-20']\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="backend.holidays"):
        cal = load_calendar(f, today=date(2026, 11, 18))
    assert 2027 in cal.covered and cal.is_workday(date(2027, 2, 20))
    assert caplog.records == []  # 2027's arrangement listed: no warning
    f.write_text("holidays: [2026-11-20]\nworkdays: ['2026-11-22']\n", encoding="utf-8")
    cal = load_calendar(f, warn=False)
    assert cal.working_days_due(at(2026, 11, 19, 9), 2, TZ) == at(2026, 11, 24)  # 11-22, 11-23
    f.write_text("holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a date"):
        load_calendar(f, warn=False)


def test_without_the_package_every_year_is_monday_to_friday(monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "chinese_calendar", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="backend.holidays"):
        cal = load_calendar(None, today=date(2026, 11, 18))
    assert any("Monday–Friday" in r.getMessage() and "chinesecalendar" in r.getMessage() for r in caplog.records)
    assert cal.covered == frozenset() and cal.is_workday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 10))


def test_desk_hours_follow_the_weekday_holidays_and_swapped_days(cal: WorkCalendar) -> None:
    _, desk = load_policy(ROOT / "config" / "cases.yaml", cal, TZ)
    assert isinstance(desk, DeskHours)
    assert desk.is_open(at(2026, 11, 18, 8)) and not desk.is_open(at(2026, 11, 18, 21))
    assert desk.is_open(at(2026, 11, 21, 17, 59)) and not desk.is_open(at(2026, 11, 21, 18))  # Saturday 09–18
    assert not desk.is_open(at(2026, 10, 3, 12))  # National Day: closed
    assert desk.next_open(at(2026, 9, 30, 22)) == at(2026, 10, 8, 8)
    assert desk.is_open(at(2026, 10, 10, 20))  # swapped Saturday keeps weekday hours (to 21:00)
    assert desk.next_open(at(2026, 11, 18, 12)) == at(2026, 11, 18, 12)
    # "within 30 minutes" asked at 20:50: 10 minutes tonight, 20 after opening
    assert desk.add_open_minutes(at(2026, 11, 18, 20, 50), 30) == at(2026, 11, 19, 8, 20)
    assert desk.add_open_minutes(at(2026, 9, 30, 20, 45), 30) == at(2026, 10, 8, 8, 15)
