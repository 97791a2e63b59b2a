"""What a housekeeper types about her leave and working hours, read into values for the backend.

* Leave: "下周三请假", "明天下午请假", "12月24日到26日请假", "I need leave next Wednesday" → a period
  (dates through dialogs.nlu.timeparse; a whole day is 00:00 to the next midnight; 全天 says so).
* Hours: "我周末不接单" (those days off), "以后周一到周五9点到18点" (exactly those days and hours),
  "周六也接单 9点到15点" (a day added), "以后9点到18点" (her days, new hours).

Pure functions over text and a reference time; nothing here talks to the backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.nlu.normalize import normalize
from dialogs.nlu.numerals import to_number
from dialogs.nlu.timeparse import parse_times

# Words that make a housekeeper's message a request (matched on the normalised text: Simplified, lower case).
# English "leave" only in phrases about time off ("I'll leave at 5" is not a request).
LEAVE_WORDS = ("请假", "请个假", "休假", "放假一天", "day off", "days off", "time off", "vacation", "need leave",
               "take leave", "request leave", "ask for leave", "on leave", "annual leave", "sick leave", "leave on",
               "leave from", "leave next", "leave tomorrow", "leave this", "leave for")
HOURS_WORDS = ("不接单", "接单", "上班时间", "工作时间", "不上班", "不工作", "只上", "只做", "以后", "每周",
               "working hours", "work hours", "hours", "don't work", "do not work", "not work", "only work",
               "available", "i work", "weekends off")
# Said alone these are about her hours even without days or times (she is then asked which).
HOURS_TOPIC = ("接单时间", "工作时间", "上班时间", "my hours", "working hours", "work hours", "my schedule")
OFF_WORDS = ("不接单", "不上班", "不工作", "不做", "休息", "不干", "don't work", "do not work", "not work",
             "not available", "off", "no work")
ADD_WORDS = ("也接单", "也可以", "也上班", "也做", "加上", "增加", "also", "as well", "too")
FULL_DAY = (8 * 60, 20 * 60)  # 全天 / all day in working hours: the longest day the catalogue's services run

_WD_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2,
          "4": 3, "5": 4, "6": 5, "7": 6}
_WD_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ZH_DAY = r"(?:周|星期|礼拜)([一二三四五六日天1-7])"
_EN_DAY = r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"
_SEP = r"\s*(?:到|至|-|–|—|~|～|to|through|thru|until)\s*"
_ZH_RANGE = re.compile(_ZH_DAY + _SEP + r"(?:周|星期|礼拜)?([一二三四五六日天1-7])")
_EN_RANGE = re.compile(_EN_DAY + _SEP + _EN_DAY)
_ZH_ONE = re.compile(_ZH_DAY)
_EN_ONE = re.compile(_EN_DAY)
_ALL_DAYS = re.compile(r"每天|天天|一周七天|every ?day|daily|7 days")
_WEEKDAYS = re.compile(r"工作日|weekdays")
_WEEKEND = re.compile(r"周末|双休|星期六日|weekends?\b")
_FULL = re.compile(r"全天|整天|all day|full day")
_PART = r"(上午|早上|早晨|中午|下午|晚上|傍晚)?"
_CN_NUM = r"\d{1,2}|[零一二两三四五六七八九十]{1,3}"
_CLOCK = rf"{_PART}\s*({_CN_NUM})\s*(?:[:：点](\d{{2}})?|点半)?\s*(am|pm|a\.m\.|p\.m\.)?"
_TIME_RANGE = re.compile(_CLOCK + _SEP + _CLOCK)


@dataclass(frozen=True)
class HoursChange:
    mode: str  # set | off | add | times (her days, new hours)
    days: tuple[int, ...]
    start: int | None = None  # minutes after midnight
    end: int | None = None


def kind_of(text: str) -> str | None:
    """"leave", "hours" or None: what a housekeeper's free text asks for."""
    t = normalize(text).text.lower()
    if any(w in t for w in LEAVE_WORDS):
        return "leave"
    if any(w in t for w in HOURS_TOPIC) or (any(w in t for w in HOURS_WORDS) and (weekdays(t) or time_range(t))):
        return "hours"
    return None


# --- leave ----------------------------------------------------------------------------------
def _day_start(v: datetime) -> datetime:
    return v.replace(hour=0, minute=0, second=0, microsecond=0)


def leave_period(text: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The period a leave request names, or None when it names no date or time."""
    t = normalize(text).text.lower()
    found = parse_times(t, now)
    if not found:
        return None
    first = found[0]
    start = datetime.fromisoformat(first["value"])
    if len(found) >= 2 and first["grain"] == "day" and found[1]["grain"] == "day":
        last = datetime.fromisoformat(found[1]["value"])
        if last < start:  # "12月24日到26日": the second day is in the first one's month
            try:
                last = start.replace(day=last.day)
            except ValueError:
                return None
            if last < start:
                return None
        return start, _day_start(last) + timedelta(days=1)
    if first["grain"] == "day" or _FULL.search(t):
        return _day_start(start), _day_start(start) + timedelta(days=1)
    if first.get("to"):
        return start, datetime.fromisoformat(first["to"])
    return start, _day_start(start) + timedelta(days=1)  # "明天10点以后请假": from then to the end of the day


# --- working hours ---------------------------------------------------------------------------
def weekdays(t: str) -> list[int]:
    """Weekdays named in normalised text: 周末, 周一到周五, 工作日, 周三, every day, Mon-Fri …"""
    days: set[int] = set()
    if _ALL_DAYS.search(t):
        days.update(range(7))
    if _WEEKDAYS.search(t):
        days.update(range(5))
    if _WEEKEND.search(t):
        days.update((5, 6))
    rest = t
    for rx, table in ((_ZH_RANGE, _WD_ZH), (_EN_RANGE, _WD_EN)):
        for m in rx.finditer(rest):
            a, b = table[m.group(1)], table[m.group(2)]
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        rest = rx.sub(" ", rest)
    for m in _ZH_ONE.finditer(rest):
        days.add(_WD_ZH[m.group(1)])
    for m in _EN_ONE.finditer(rest):
        days.add(_WD_EN[m.group(1)])
    return sorted(days)


def _minutes(part: str | None, hour: str, minute: str | None, half: bool, ampm: str | None) -> int | None:
    h = to_number(hour)
    if h is None or not 0 <= h <= 24 or h != int(h):
        return None
    h = int(h)
    pm = (ampm or "").startswith("p") or part in ("下午", "晚上", "傍晚") or (part == "中午" and h < 3)
    if pm and h < 12:
        h += 12
    m = int(minute) if minute else (30 if half else 0)
    return h * 60 + m if m < 60 else None


def time_range(t: str) -> tuple[int, int] | None:
    """"9点到18点", "9:00-18:00", "早上9点到晚上6点", "9am to 6pm", 全天 → (start, end) minutes."""
    if _FULL.search(t):
        return FULL_DAY
    m = _TIME_RANGE.search(t)
    if m is None:
        return None
    whole = m.group(0)
    halves = re.split(_SEP, whole, maxsplit=1)
    a = _minutes(m.group(1), m.group(2), m.group(3), "点半" in halves[0], m.group(4))
    b = _minutes(m.group(5) or m.group(1), m.group(6), m.group(7), len(halves) > 1 and "点半" in halves[1],
                 m.group(8))
    if a is None or b is None:
        return None
    if b <= a and b + 12 * 60 <= 24 * 60 and b + 12 * 60 > a:  # "9点到6点": six in the evening
        b += 12 * 60
    return (a, b) if a < b <= 24 * 60 else None


def hours_change(text: str) -> HoursChange | None:
    """The change of weekly hours a message asks for, or None when it cannot be read."""
    t = normalize(text).text.lower()
    days, span = weekdays(t), time_range(t)
    adding = any(w in t for w in ADD_WORDS)
    if span is not None:
        if not days:
            return HoursChange("times", (), *span)
        return HoursChange("add" if adding else "set", tuple(days), *span)
    if days and not adding and any(w in t for w in OFF_WORDS):
        return HoursChange("off", tuple(days))
    return None
