"""Time expressions resolved against a fixed reference: Wednesday 2026-11-18 10:30 Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.nlu.normalize import normalize
from dialogs.nlu.timeparse import parse_times

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def T(day: str, hm: str = "00:00") -> str:
    return f"{day}T{hm}:00+08:00"


# (text, value, grain, to)
TABLE = [
    # the issue's own examples
    ("下周三下午两点", T("2026-11-25", "14:00"), "hour", None),
    ("后天早上9点", T("2026-11-20", "09:00"), "hour", None),
    ("这周六上午", T("2026-11-21", "08:00"), "part_of_day", T("2026-11-21", "12:00")),
    ("3月5号下午", T("2027-03-05", "12:00"), "part_of_day", T("2027-03-05", "18:00")),
    ("明晚七点半", T("2026-11-19", "19:30"), "minute", None),
    ("12月3号上午10点", T("2026-12-03", "10:00"), "hour", None),
    ("下下周二", T("2026-12-01"), "day", None),
    ("今晚", T("2026-11-18", "18:00"), "part_of_day", T("2026-11-18", "22:00")),
    ("tomorrow at 2pm", T("2026-11-19", "14:00"), "hour", None),
    ("this Saturday morning", T("2026-11-21", "08:00"), "part_of_day", T("2026-11-21", "12:00")),
    ("next Monday", T("2026-11-23"), "day", None),
    ("Dec 5", T("2026-12-05"), "day", None),
    # Simplified Chinese
    ("明天", T("2026-11-19"), "day", None),
    ("后天", T("2026-11-20"), "day", None),
    ("大后天", T("2026-11-21"), "day", None),
    ("今天下午3点", T("2026-11-18", "15:00"), "hour", None),
    ("明天上午十点", T("2026-11-19", "10:00"), "hour", None),
    ("周五", T("2026-11-20"), "day", None),
    ("周一", T("2026-11-23"), "day", None),
    ("星期天", T("2026-11-22"), "day", None),
    ("礼拜六下午", T("2026-11-21", "12:00"), "part_of_day", T("2026-11-21", "18:00")),
    ("这周一", T("2026-11-23"), "day", None),  # this week's Monday is past: the next one
    ("下周末", T("2026-11-28"), "day", None),
    ("下个月5号", T("2026-12-05"), "day", None),
    ("5号", T("2026-12-05"), "day", None),
    ("20号", T("2026-11-20"), "day", None),
    ("1月10号", T("2027-01-10"), "day", None),
    ("2027年2月1日", T("2027-02-01"), "day", None),
    ("下午三点到五点", T("2026-11-18", "15:00"), "hour", T("2026-11-18", "17:00")),
    ("9点到11点", T("2026-11-19", "09:00"), "hour", T("2026-11-19", "11:00")),
    ("明天上午9点半", T("2026-11-19", "09:30"), "minute", None),
    ("晚上八点", T("2026-11-18", "20:00"), "hour", None),
    ("中午12点", T("2026-11-18", "12:00"), "hour", None),
    ("中午1点", T("2026-11-18", "13:00"), "hour", None),
    ("凌晨两点", T("2026-11-19", "02:00"), "hour", None),
    ("8点", T("2026-11-19", "08:00"), "hour", None),  # already past today
    ("3点", T("2026-11-18", "15:00"), "hour", None),  # a bare 3 is the afternoon
    ("14:30", T("2026-11-18", "14:30"), "minute", None),
    ("明天下午两点一刻", T("2026-11-19", "14:15"), "minute", None),
    ("后天傍晚", T("2026-11-20", "17:00"), "part_of_day", T("2026-11-20", "19:00")),
    ("3天后", T("2026-11-21"), "day", None),
    ("两个小时后", T("2026-11-18", "12:30"), "minute", None),
    ("下周三", T("2026-11-25"), "day", None),
    ("明早", T("2026-11-19", "06:00"), "part_of_day", T("2026-11-19", "09:00")),
    ("十二月二十号", T("2026-12-20"), "day", None),
    # Traditional Chinese
    ("下週三下午兩點", T("2026-11-25", "14:00"), "hour", None),
    ("後天早上9點", T("2026-11-20", "09:00"), "hour", None),
    ("這週六上午", T("2026-11-21", "08:00"), "part_of_day", T("2026-11-21", "12:00")),
    ("明晚七點半", T("2026-11-19", "19:30"), "minute", None),
    ("禮拜天晚上", T("2026-11-22", "18:00"), "part_of_day", T("2026-11-22", "22:00")),
    ("12月3號上午10點", T("2026-12-03", "10:00"), "hour", None),
    ("下個月5號", T("2026-12-05"), "day", None),
    # English
    ("tomorrow morning", T("2026-11-19", "08:00"), "part_of_day", T("2026-11-19", "12:00")),
    ("tonight", T("2026-11-18", "18:00"), "part_of_day", T("2026-11-18", "22:00")),
    ("this afternoon", T("2026-11-18", "12:00"), "part_of_day", T("2026-11-18", "18:00")),
    ("next Friday", T("2026-11-27"), "day", None),
    ("Friday", T("2026-11-20"), "day", None),
    ("this Friday at 10am", T("2026-11-20", "10:00"), "hour", None),
    ("Saturday 3pm", T("2026-11-21", "15:00"), "hour", None),
    ("December 24th", T("2026-12-24"), "day", None),
    ("5 Jan", T("2027-01-05"), "day", None),
    ("March 5th afternoon", T("2027-03-05", "12:00"), "part_of_day", T("2027-03-05", "18:00")),
    ("at 9:30am tomorrow", T("2026-11-19", "09:30"), "minute", None),
    ("2-4pm", T("2026-11-18", "14:00"), "hour", T("2026-11-18", "16:00")),
    ("the day after tomorrow", T("2026-11-20"), "day", None),
    ("in 3 days", T("2026-11-21"), "day", None),
    ("next Wednesday at 3pm", T("2026-11-25", "15:00"), "hour", None),
    ("tmrw 9am", T("2026-11-19", "09:00"), "hour", None),
    ("noon tomorrow", T("2026-11-19", "12:00"), "hour", None),
    ("this weekend", T("2026-11-21"), "day", None),
    ("2026-12-20", T("2026-12-20"), "day", None),
    ("12/24", T("2026-12-24"), "day", None),
]


def parse(text: str) -> list[dict]:
    return parse_times(normalize(text).text, NOW)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 60


@pytest.mark.parametrize(("text", "value", "grain", "to"), TABLE, ids=[t[0] for t in TABLE])
def test_time_expression(text: str, value: str, grain: str, to: str | None) -> None:
    found = parse(text)
    assert len(found) == 1, found
    got = found[0]
    assert (got["value"], got["grain"], got.get("to")) == (value, grain, to)
    assert got["end"] - got["start"] >= len(normalize(text).text) - 3  # covers the expression


@pytest.mark.parametrize("text", ["便宜一点吗", "建国路88号", "120平", "3个小时", "4 out of 5", "我有2个孩子",
                                  "13812345678", "5号楼3单元", "给5分", "早点来", "能快一点吗"])
def test_not_a_time(text: str) -> None:
    assert parse(text) == []


@pytest.mark.parametrize(("text", "days"), [
    ("往后推一点 11点来", [None]),  # "a little later, at 11": the clock, not one o'clock
    ("周四改到周五 时间照旧", ["day", "day"]),  # Friday, not 5 o'clock
])
def test_a_little_and_weekday_numbers_are_no_clock(text: str, days: list[str | None]) -> None:
    found = parse(text)
    assert [f["grain"] if f["grain"] == "day" else None for f in found] == days, found
    if days == [None]:
        assert found[0]["value"][11:16] == "11:00"


def test_time_inside_a_sentence_keeps_its_span() -> None:
    text = "明早8点能来人打扫吗"
    (got,) = parse(text)
    assert text[got["start"]:got["end"]] == "明早8点"


def test_every_value_is_in_the_future() -> None:
    for text, *_ in TABLE:
        for got in parse(text):
            if text != "这周一":
                assert datetime.fromisoformat(got.get("to") or got["value"]) > NOW, text


def test_reference_on_a_saturday() -> None:
    sat = datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert parse_times("这周六下午", sat)[0]["value"] == T("2026-11-21", "12:00")
    assert parse_times("周六", sat)[0]["value"] == T("2026-11-28")  # a bare weekday is the next one
    assert parse_times("下周六", sat)[0]["value"] == T("2026-11-28")
