"""Repeat-visit phrases → a ``recurrence`` entity (issue 10): "每周三" / "every Wednesday" (weekly),
"每两周 / 每隔一周 / 隔周 / every other / biweekly" (every N weeks), "共6次 / 6 times / for 6 weeks"
(a count), "到1月底 / until end of January / until Jan 31" (an end date).

Value: {"interval_weeks": int, "weekday": int | None (0 = Monday), "count": int | None,
"until": "YYYY-MM-DD" | None}. Two different weekdays ("每周二周五", "every Tuesday and Friday") are not
one series: no entity (that is a custom request). Time entities that lie wholly inside the phrase
("两周" in "每两周", "1月31日" in "到1月31日") are dropped: they are not the visit's time.

``annotate`` is called once by ``NLU.parse_text``; a recurrence with a clock time read as a custom request
or not understood is a booking (``book_service``), unless the words ask for a plan (CUSTOM_CUES).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Any

from dialogs.nlu.normalize import Normalized

ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
EN_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "other": 2, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
ZH_WD = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": None}
EN_WD = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | \
         {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
# Words that make a repeat a plan to discuss, not a booking to make now.
CUSTOM_CUES = ("方案", "定制", "报价", "长期", "同一个阿姨", "固定阿姨", "plan", "quote", "same housekeeper",
               "same cleaner", "long-term", "long term")
BOOKABLE_FROM = ("customize_service", "nlu_fallback", "inform")

_ZN = r"[一二两三四五六七八九十\d]{1,3}(?![\d])"  # a count, a week, a month: never 20 digits
_EN_WD = (r"(monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|saturday|sat|sunday"
          r"|sun)")
_EN_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))

ZH_INTERVAL = [
    (re.compile(rf"每隔\s*({_ZN})\s*个?\s*(?:周|星期|礼拜)"), lambda m: _zh_int(m.group(1)) + 1),
    (re.compile(rf"每\s*({_ZN})\s*个?\s*(?:周|星期|礼拜)"), lambda m: _zh_int(m.group(1))),
    (re.compile(r"隔周|双周|每隔一周"), lambda m: 2),
    (re.compile(r"每个?(?=周|星期|礼拜)"), lambda m: 1),
]
ZH_WEEKDAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])(?!次|个)")
ZH_COUNT = [
    (re.compile(rf"(?:一共|总共|共)\s*({_ZN})\s*次"), "times"),
    (re.compile(rf"(?:连续|一共|共)\s*({_ZN})\s*(?:个)?(?:周|星期)"), "weeks"),
]
ZH_UNTIL = re.compile(rf"(?:到|至|直到|截止到?)\s*(明年)?\s*(?:({_ZN})\s*月\s*(?:({_ZN})\s*[日号]|(底|末))?|(年底))")
EN_INTERVAL = [
    (re.compile(r"\bevery\s+(other|second|2nd|third|3rd|two|three|four|[2-4])\s+(weeks?|" + _EN_WD + r")\b"),
     lambda m: EN_NUM.get(m.group(1)) or int(m.group(1))),
    (re.compile(r"\b(?:bi-?weekly|fortnightly)\b"), lambda m: 2),
    (re.compile(r"\b(?:every|each)\s+(?:week|" + _EN_WD + r")\b|\bweekly\b|\bon\s+" + _EN_WD + r"s\b"),
     lambda m: 1),
]
EN_WEEKDAY = re.compile(r"\b(?:every|each|other|second|on)\s+" + _EN_WD + r"\b|\b" + _EN_WD + r"s\b")
EN_WEEKDAYS_ANY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b")
EN_COUNT = [
    (re.compile(r"\b(\d{1,2}|" + "|".join(k for k in EN_NUM if k.isalpha()) + r")\s+(?:times|visits)\b"), "times"),
    (re.compile(r"\bfor\s+(?:the\s+next\s+)?(\d{1,2}|" + "|".join(k for k in EN_NUM if k.isalpha()) + r")\s+weeks\b"),
     "weeks"),
]
EN_UNTIL = re.compile(
    r"\b(?:until|till|til|through|up to)\s+(?:the\s+)?(?:(end\s+of\s+(?:the\s+)?year)|end\s+of\s+(" + _EN_MONTH
    + r")\b|(" + _EN_MONTH + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b|(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?("
    + _EN_MONTH + r")\b)")


def _zh_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    if s.startswith("十"):
        return 10 + ZH_NUM.get(s[1:], 0) if len(s) > 1 else 10
    if "十" in s:
        a, _, b = s.partition("十")
        return ZH_NUM.get(a, 1) * 10 + (ZH_NUM.get(b, 0) if b else 0)
    return ZH_NUM.get(s, 0)


def _en_int(s: str) -> int:
    return int(s) if s.isdigit() else EN_NUM.get(s, 0)


def _next_date(today: date, month: int, day: int | None, next_year: bool) -> date | None:
    year = today.year + (1 if next_year else 0)
    for y in (year, year + 1):
        last = calendar.monthrange(y, month)[1]
        d = date(y, month, min(day or last, last)) if 1 <= month <= 12 else None
        if d is not None and (next_year or d >= today):
            return d
    return None


def recognise(text: str, today: date) -> tuple[dict[str, Any], list[tuple[int, int]]] | None:
    """The recurrence in normalised ``text`` and the spans of its interval/count/until phrases."""
    interval, spans = None, []
    for pattern, value in (*ZH_INTERVAL, *EN_INTERVAL):
        m = pattern.search(text)
        if m:
            interval = value(m)
            spans.append(m.span())  # "每" of 每周三 is one character: the weekday after it stays the time's
            break
    if not interval:
        return None
    weekdays = {ZH_WD[d] for d in ZH_WEEKDAY.findall(text) if ZH_WD.get(d) is not None}
    for m in EN_WEEKDAY.finditer(text):
        weekdays.add(EN_WD[next(g for g in m.groups() if g)[:3]])
    weekdays |= {EN_WD[w[:3]] for w in EN_WEEKDAYS_ANY.findall(text)}
    if re.search(r"每周[一二三四五六日天]{2,}|周[一二三四五六日天][、和及与,，]\s*(?:周)?[一二三四五六日天]", text) \
            or len(weekdays) > 1 or re.search(r"每周\s*(?:[两二三四五]|\d)\s*次|\b(?:twice|\d|two|three) times a week",
                                               text):
        return None  # several days a week: a plan, not one series
    count = until = None
    for pattern, unit in (*ZH_COUNT, *EN_COUNT):
        m = pattern.search(text)
        if m:
            n = _zh_int(m.group(1)) if not m.group(1).isascii() or m.group(1).isdigit() else _en_int(m.group(1))
            count = n if unit == "times" else -(-n // interval)
            spans.append(m.span())
            break
    m = ZH_UNTIL.search(text)
    if m:
        next_year = bool(m.group(1))
        if m.group(5):
            until = date(today.year + (1 if next_year else 0), 12, 31)
        else:
            until = _next_date(today, _zh_int(m.group(2)), _zh_int(m.group(3)) if m.group(3) else None, next_year)
        spans.append(m.span())
    m = EN_UNTIL.search(text) if until is None else None
    if m:
        if m.group(1):
            until = date(today.year, 12, 31)
        elif m.group(2):
            until = _next_date(today, MONTHS[m.group(2)], None, False)
        elif m.group(3):
            until = _next_date(today, MONTHS[m.group(3)], int(m.group(4)), False)
        else:
            until = _next_date(today, MONTHS[m.group(6)], int(m.group(5)), False)
        spans.append(m.span())
    value = {"interval_weeks": interval, "weekday": next(iter(weekdays)) if weekdays else None,
             "count": count, "until": until.isoformat() if until else None}
    return value, spans


def annotate(result: dict[str, Any], norm: Normalized, now: datetime) -> dict[str, Any]:
    """Add the ``recurrence`` entity to a parse result (Rasa format, spans in the original text)."""
    found = recognise(norm.text, now.date())
    if found is None:
        return result
    value, spans = found
    timed = any(e["entity"] == "time" and e.get("grain") in ("hour", "minute") for e in result["entities"])
    if value["weekday"] is None and not timed and value["count"] is None and value["until"] is None:
        return result  # "每周都迟到", "every week the same problem": no visit to repeat
    inside = [norm.span(a, b) for a, b in spans]
    text = norm.original

    def part_of_phrase(e: dict[str, Any]) -> bool:
        """"1月31日" in 到1月31日, "6周" in 共6周: wholly inside; "周一" of 两周一次 / 每周一次: a day
        overlapping the interval or followed by 次 — not the visit's day."""
        if e["entity"] not in ("time", "duration"):
            return False
        if any(a <= e["start"] and e["end"] <= b for a, b in inside):
            return True
        day = e["entity"] == "time" and e.get("grain") == "day"
        a, b = inside[0]
        return day and ((e["start"] < b and a < e["end"]) or text[e["end"]:e["end"] + 1] in ("次", "個", "个"))

    entities = [e for e in result["entities"] if not part_of_phrase(e)]
    start = min((a for a, _ in inside), default=0)
    end = max((b for _, b in inside), default=len(norm.original))
    entities.append({"entity": "recurrence", "value": value, "start": start, "end": end,
                     "extractor": "RecurrenceExtractor"})
    result["entities"] = sorted(entities, key=lambda e: e["start"])
    if timed and result["intent"]["name"] in BOOKABLE_FROM and not any(c in norm.text for c in CUSTOM_CUES):
        result["intent"] = {"name": "book_service", "confidence": result["intent"].get("confidence", 0.0)}
    return result
