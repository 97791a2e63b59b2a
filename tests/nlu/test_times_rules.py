"""The markers the time parser gives the booking form (issue 10, "times keep the thread"): a part of
the day without a clock, a clock hour without am/pm, a weekday that contradicts its date.

Reference: Wednesday 2026-11-18 10:30 Asia/Shanghai; 2026-12-05 is a Saturday.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.actions.times import day_text, in_part
from dialogs.nlu.normalize import normalize
from dialogs.nlu.timeparse import parse_times

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=TZ)


def one(text: str) -> dict:
    found = parse_times(normalize(text).text, NOW)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("text", "part"), [("周六下午", [12, 18, "pm"]), ("明天晚上", [18, 22, "pm"]),
                                            ("saturday afternoon", [12, 18, "pm"]), ("今天上午", [8, 12, "am"])])
def test_part_of_day_without_a_clock_is_marked(text: str, part: list) -> None:
    got = one(text)
    assert got["grain"] == "part_of_day" and got["additional_info"]["part_of_day"] == part


@pytest.mark.parametrize(("text", "ambiguous"), [("3点", True), ("下午3点", False), ("3pm", False), ("15点", False),
                                                 ("at 8", True), ("周六上午10点", False)])
def test_clock_without_am_pm_is_marked(text: str, ambiguous: bool) -> None:
    assert one(text)["additional_info"].get("ambiguous_hour", False) is ambiguous


@pytest.mark.parametrize(("text", "value", "other"), [
    ("12月5日周三下午3点", "2026-12-05T15:00:00+08:00", "2026-12-02T15:00:00+08:00"),
    ("周三12月5日", "2026-12-05T00:00:00+08:00", "2026-12-02T00:00:00+08:00"),
    ("12月5日（周三）", "2026-12-05T00:00:00+08:00", "2026-12-02T00:00:00+08:00"),
    ("Wednesday, Dec 5 at 3pm", "2026-12-05T15:00:00+08:00", "2026-12-02T15:00:00+08:00"),
    ("dec 5 (wed) 10am", "2026-12-05T10:00:00+08:00", "2026-12-02T10:00:00+08:00"),
    # the weekday's own week is past: the one after
    ("11月16日周二", "2027-11-16T00:00:00+08:00", "2027-11-16T00:00:00+08:00"),
])
def test_weekday_contradicting_its_date_is_marked(text: str, value: str, other: str) -> None:
    got = one(text)
    conflict = got["additional_info"].get("weekday_conflict")
    assert got["value"] == value
    if value == other:  # 2027-11-16 is a Tuesday: no conflict at all
        assert conflict is None
    else:
        assert conflict["value"] == other and conflict["weekday"] == 2


@pytest.mark.parametrize("text", ["12月5日周六", "Saturday, Dec 5", "周六 12月5号"])
def test_weekday_agreeing_with_its_date_is_one_plain_time(text: str) -> None:
    got = one(text)
    assert got["value"].startswith("2026-12-05") and "weekday_conflict" not in got["additional_info"]


def test_conflict_weekday_in_a_past_week_moves_a_week_on() -> None:
    got = parse_times(normalize("11月23日周六").text, NOW)[0]  # Monday the 23rd; its Saturday is the 28th
    assert got["additional_info"]["weekday_conflict"]["value"] == "2026-11-28T00:00:00+08:00"
    got = parse_times(normalize("11月19日周一").text, NOW)[0]  # Thursday; that week's Monday (16th) is past
    assert got["additional_info"]["weekday_conflict"]["value"] == "2026-11-23T00:00:00+08:00"


def test_a_bare_hour_is_read_inside_the_part_asked() -> None:
    eight = datetime(2026, 11, 19, 8, 0, tzinfo=TZ)
    assert in_part(eight, [18, 22, "pm"], ambiguous=True).hour == 20
    assert in_part(eight, [18, 22, "pm"], ambiguous=False).hour == 8  # "上午8点" said so
    three_pm = datetime(2026, 11, 19, 15, 0, tzinfo=TZ)
    assert in_part(three_pm, [12, 18, "pm"], ambiguous=True).hour == 15
    assert in_part(three_pm, None, ambiguous=True).hour == 15


def test_day_text_in_both_languages() -> None:
    d = datetime(2026, 12, 5).date()
    assert day_text(d, "zh") == "12月5日（周六）" and day_text(d, "en") == "Sat 5 Dec"
