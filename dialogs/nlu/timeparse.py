"""Chinese and English time expressions → ISO 8601 values resolved to the future.

Pieces (a date, a part of the day, a clock time or a clock range) are found independently,
neighbours separated only by filler (空格, 的, at, on, in the …) are joined into one expression,
and the expression is resolved against a reference time ``now`` in the configured zone:

* 下周三 is Wednesday of next week (weeks start on Monday); 这周六 / this Saturday is this week's
  Saturday if still ahead, else next week's; a bare weekday is its next occurrence after today.
* A month and day without a year is this year's if not yet past, else next year's; 5号 likewise
  rolls to next month.
* A clock time without a date is today's if still ahead, else tomorrow's. A bare hour from 1 to 6
  without 上午/下午/am/pm means the afternoon (home services do not start at 3 a.m.).
* Parts of the day are intervals: 上午 08–12, 下午 12–18, 晚上 18–22 (see ``POD``).
* A weekday next to a calendar date ("12月5日周三", "Wed, Dec 5") joins it; when the date falls on
  another weekday the entity carries ``additional_info.weekday_conflict`` (the weekday's date in the
  same week, with the same clock), so the client is asked which one was meant.
* A part of the day without a clock gives grain ``part_of_day`` and ``additional_info.part_of_day``
  ([start hour, end hour, shift]); a clock hour with nothing saying am or pm is ``ambiguous_hour``.
* Impossible dates and clocks (2月30号, 13月, 25点, a year far from now) give no time at all: they
  are found as "invalid" pieces, so that 30号 inside 2月30号 is not read as this month's 30th, and
  an expression that contains one is dropped whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from dialogs.nlu.numerals import finditer, negative_before, to_number
from dialogs.nlu.time_patterns import EN, MONTHS_EN, POD, WEEKDAY_EN, WEEKDAY_ZH, ZH

_GAP = re.compile(
    r"^[\s,，、()]*(?:(?:at|on|in|the|of|from|by|around|about|approx|在|的|约|大概|大约|左右|那天)[\s,，、()]*)*$")
_RELDAY = {"今天": 0, "今日": 0, "今儿": 0, "当天": 0, "本日": 0, "明天": 1, "明日": 1, "明儿": 1, "后天": 2,
           "大后天": 3, "大大后天": 4, "today": 0, "2day": 0, "tonight": 0, "tonite": 0}
_DATE_KINDS = ("date", "moment")
_CLOCK_KINDS = ("clock", "range")
YEARS_AROUND = 5  # a year further from now than this is a typo or a joke, not a booking
_YEAR_BEFORE = re.compile(r"[\d零〇一二三四五六七八九]\s*年\s*$")
_DIGIT = re.compile(r"\d")  # as the patterns' \d reads it
# What every match of a pattern (time_patterns.ZH, EN) contains: one of these strings, or (None) a digit
# (and md a slash). A Chinese clock needs 点 or 时 or a colon ("9:30"); English patterns are lower case.
_NEEDS: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("ZH", "fused"): ("今", "明", "后"), ("ZH", "relday"): ("天", "日", "儿"),
    ("ZH", "weekday"): ("周", "星期", "礼拜", "週"), ("ZH", "ymd"): ("月",), ("ZH", "iso"): None, ("ZH", "md"): None,
    ("ZH", "dom"): ("号", "日"), ("ZH", "in_days"): ("天", "日"), ("ZH", "in_hours"): ("小时", "钟头"),
    ("ZH", "pod"): tuple("晨早午晚夜天"), ("ZH", "range"): ("点", "时", ":"), ("ZH", "clock"): ("点", "时", ":"),
    ("EN", "relday"): ("to", "tm", "2", "day"), ("EN", "weekday"): ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    ("EN", "weekend"): ("weekend",),
    ("EN", "mdy"): tuple(MONTHS_EN), ("EN", "dmy"): tuple(MONTHS_EN), ("EN", "ordinal"): ("the",),
    ("EN", "in_days"): ("day",), ("EN", "in_hours"): ("hour",),
    ("EN", "pod"): ("morning", "noon", "midday", "lunch", "evening", "night"), ("EN", "range"): None,
    ("EN", "clock"): None, ("EN", "noon"): ("midnight",),
}
_GATES = {k: re.compile("|".join(map(re.escape, v))) if v else None for k, v in _NEEDS.items()}


@dataclass
class Part:
    kind: str  # date | moment | pod | clock | range | invalid
    start: int
    end: int
    day: date | None = None
    pod: tuple[int, int, str | None] | None = None
    clocks: tuple[dict[str, Any], ...] = ()
    moment: datetime | None = None
    weak: bool = False  # 一点/两点 may mean "a little": kept only next to a date or part of day
    wd: int | None = None  # a weekday's number (Monday 0): checked against a calendar date beside it
    calendar: bool = False  # a calendar date (month and day), which a weekday beside it must agree with


@dataclass
class Group:
    parts: list[Part] = field(default_factory=list)

    def get(self, *kinds: str) -> Part | None:
        return next((p for p in self.parts if p.kind in kinds), None)

    @property
    def start(self) -> int:
        return self.parts[0].start

    @property
    def end(self) -> int:
        return self.parts[-1].end


def _num(s: str | None) -> int | None:
    if s is None:
        return None
    v = to_number(s)
    return int(v) if v is not None and float(v).is_integer() else None


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _week_monday(d: date, weeks: int = 0) -> date:
    return d - timedelta(days=d.weekday()) + timedelta(weeks=weeks)


def _next_weekday(today: date, wd: int) -> date:
    """The next ``wd`` strictly after today."""
    return today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1)


def _weekday(today: date, wd: int, pre: str | None) -> date:
    pre = (pre or "").replace(" ", "").replace("个", "")
    if pre in ("下", "next"):
        return _week_monday(today, 1) + timedelta(days=wd)
    if pre == "下下":
        return _week_monday(today, 2) + timedelta(days=wd)
    if pre == "上":
        return _week_monday(today, -1) + timedelta(days=wd)
    if pre in ("这", "本", "this"):
        d = _week_monday(today) + timedelta(days=wd)
        return d if d >= today else d + timedelta(weeks=1)
    return _next_weekday(today, wd)


def _month_day(today: date, mo: int, d: int, year: int | None = None) -> date | None:
    if year is not None:
        return _safe_date(year, mo, d) if abs(year - today.year) <= YEARS_AROUND else None
    for y in (today.year, today.year + 1):
        cand = _safe_date(y, mo, d)
        if cand and cand >= today:
            return cand
    return None


def _day_of_month(today: date, d: int, pre: str | None) -> date | None:
    pre = (pre or "").replace("个", "")
    y, m = today.year, today.month
    if pre == "下月":
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return _safe_date(y, m, d)
    for _ in range(13):  # the next month that has day d, starting with this one
        cand = _safe_date(y, m, d)
        if cand and (cand >= today or pre in ("这月", "本月")):
            return cand
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return None


def _clock(m: re.Match[str], p: str, lang: str) -> dict[str, Any] | None:
    g = m.groupdict()
    h = _num(g.get(p + "h"))
    if h is None or not 0 <= h <= 24:
        return None
    minute, given = 0, False
    if g.get(p + "half"):
        minute, given = 30, True
    elif g.get(p + "q"):
        minute, given = (15 if g[p + "q"] == "一刻" else 45), True
    elif g.get(p + "m") is not None:
        minute, given = _num(g[p + "m"]) or 0, True
    if not 0 <= minute <= 59:
        return None
    ap = (g.get(p + "ap") or "").replace(".", "")
    hint = "am" if ap == "am" else "pm" if ap == "pm" else None
    raw_h = g.get(p + "h") or ""
    strict = h > 12 or h == 0 or (raw_h.startswith("0") and len(raw_h) == 2)
    return {"h": h, "m": minute, "minute": given, "hint": hint, "strict": strict,
            "explicit": bool(ap) or lang == "zh" or bool(g.get("at")) or g.get(p + "m") is not None}


def _scan(text: str, today: date, now: datetime) -> list[Part]:
    found: list[Part] = []

    def add(kind: str, m: re.Match[str], **kw: Any) -> None:
        found.append(Part(kind, m.start(), m.end(), **kw))

    def invalid(m: re.Match[str]) -> None:
        found.append(Part("invalid", m.start(), m.end()))

    # Each pattern is scanned only when the text has something every match of it has (NEEDS): most
    # messages name no time, and an English one spent half its parse time in the Chinese patterns.
    digit = _DIGIT.search(text) is not None

    def each(rx: re.Pattern[str], lang: str, key: str) -> Iterable[re.Match[str]]:
        gate = _GATES[lang, key]
        if gate is None:  # a number in digits
            return finditer(rx, text) if digit and (key != "md" or "/" in text) else ()
        return finditer(rx, text) if gate.search(text) else ()

    for m in each(ZH["fused"], "ZH", "fused"):
        offset = {"今": 0, "明": 1, "后": 2}[m["d"]]
        add("date", m, day=today + timedelta(days=offset), pod=POD["早上" if m["pod"] in "早晨" else "晚上"])
    for m in each(ZH["relday"], "ZH", "relday"):
        add("date", m, day=today + timedelta(days=_RELDAY[m[0]]))
    for m in each(ZH["weekday"], "ZH", "weekday"):
        wd = WEEKDAY_ZH[m["wd"]]
        add("date", m, day=_weekday(today, wd, m["pre"]), wd=None if m["wd"] == "末" else wd)
    for key in ("ymd", "iso", "md"):
        for m in each(ZH[key], "ZH", key):
            gd = m.groupdict()
            mo, d, y = _num(gd["mo"]), _num(gd["d"]), _num(gd.get("y"))
            junk_year = key == "ymd" and y is None and _YEAR_BEFORE.search(text, max(0, m.start() - 12), m.start())
            if mo and d and 1 <= mo <= 12 and not junk_year and (day := _month_day(today, mo, d, y)):
                add("date", m, day=day, calendar=True)
            elif key != "md" or (mo and d and 1 <= mo <= 12 and 1 <= d <= 31):
                invalid(m)  # 2月30号, 13月5号, 2026-02-30 (a bare 50/50 is no date at all)
    for m in each(ZH["dom"], "ZH", "dom"):
        d = _num(m["d"])
        if d and 1 <= d <= 31 and (day := _day_of_month(today, d, m["pre"])):
            add("date", m, day=day, calendar=True)  # 88号 is a house number, not an impossible date
    for m in each(ZH["in_days"], "ZH", "in_days"):
        n = _num(m["n"] or m["n2"])
        if n is not None and n < 400 and not negative_before(text, m.start()):
            add("date", m, day=today + timedelta(days=n))
    for m in each(ZH["in_hours"], "ZH", "in_hours"):
        n = 0.5 if m["n"] == "半" else _num(m["n"])
        if n is not None and n < 100 and not negative_before(text, m.start()):
            add("moment", m, moment=(now + timedelta(hours=n)).replace(second=0, microsecond=0))
    for m in each(ZH["pod"], "ZH", "pod"):
        add("pod", m, pod=POD[m[0]])
    for m in each(ZH["range"], "ZH", "range"):
        a = _clock(m, "a", "zh")
        b = _clock(m, "b", "zh")
        if a and b:
            add("range", m, clocks=(a, b))
        else:
            invalid(m)
    for m in each(ZH["clock"], "ZH", "clock"):
        c = _clock(m, "", "zh")
        if c:
            weak = m["h"] in ("一", "两", "二") and not c["minute"] and not m[0].endswith("钟")
            add("clock", m, clocks=(c,), weak=weak)
        else:
            invalid(m)

    for m in each(EN["relday"], "EN", "relday"):
        w = m[0]
        offset = 2 if "after" in w else _RELDAY.get(w, 1)
        add("date", m, day=today + timedelta(days=offset), pod=POD["tonight"] if w.startswith("toni") else None)
    for m in each(EN["weekday"], "EN", "weekday"):
        wd = WEEKDAY_EN[m["wd"][:3]]
        add("date", m, day=_weekday(today, wd, _en_pre(m["pre"])), wd=wd)
    for m in each(EN["weekend"], "EN", "weekend"):
        add("date", m, day=_weekday(today, 5, _en_pre(m["pre"])))
    for key in ("mdy", "dmy"):
        for m in each(EN[key], "EN", key):
            d, y = _num(m["d"]), _num(m["y"])
            if d and (day := _month_day(today, MONTHS_EN[m["mon"][:3]], d, y)):
                add("date", m, day=day, calendar=True)
            elif d and 1 <= d <= 31:
                invalid(m)  # feb 30, or a year far out
    for m in each(EN["ordinal"], "EN", "ordinal"):
        d = _num(m["d"])
        if d and 1 <= d <= 31 and (day := _day_of_month(today, d, None)):
            add("date", m, day=day, calendar=True)
    for m in each(EN["in_days"], "EN", "in_days"):
        n = _num(m["n"]) if m["n"].isdigit() else to_number(m["n"])
        if n is not None and n < 400 and not negative_before(text, m.start("n")):
            add("date", m, day=today + timedelta(days=int(n)))
    for m in each(EN["in_hours"], "EN", "in_hours"):
        n = 0.5 if m["n"].startswith("half") else (_num(m["n"]) if m["n"].isdigit() else to_number(m["n"]))
        if n is not None and n < 100 and not negative_before(text, m.start("n")):
            add("moment", m, moment=(now + timedelta(hours=n)).replace(second=0, microsecond=0))
    for m in each(EN["pod"], "EN", "pod"):
        add("pod", m, pod=POD[re.sub(r"\s+", " ", m["p"]).replace("lunchtime", "lunch time")])
    for m in each(EN["range"], "EN", "range"):
        a, b = _clock(m, "a", "en"), _clock(m, "b", "en")
        if a and b and (a["hint"] or b["hint"] or (a["strict"] and b["strict"])
                        or m[0].startswith(("from", "between"))):
            found.append(Part("range", m.start("ah"), m.end(), clocks=(a, b)))
    for m in each(EN["clock"], "EN", "clock"):
        c = _clock(m, "", "en")
        if c and c["explicit"]:
            found.append(Part("clock", m.start("h"), m.end(), clocks=(c,)))  # span without "at"
        elif c is None and (m["ap"] or m["m"] is not None):
            found.append(Part("invalid", m.start("h"), m.end()))  # 25pm, 9:75 (a bare 99 is just a number)
    for m in each(EN["noon"], "EN", "noon"):
        add("clock", m, clocks=({"h": 24, "m": 0, "minute": False, "hint": None, "strict": True},))
    return _non_overlapping(found)


def _en_pre(pre: str | None) -> str | None:
    if not pre:
        return None
    pre = " ".join(pre.split())
    return None if pre in ("coming", "this coming") else pre


def _non_overlapping(parts: list[Part]) -> list[Part]:
    """Longest pieces win; among equals the one found first (fused words before their parts)."""
    chosen: list[Part] = []
    taken = bytearray(max((p.end for p in parts), default=0) + 1)  # linear, however many pieces
    for p in sorted(parts, key=lambda p: (-(p.end - p.start), p.start)):
        if not any(taken[p.start:p.end]):
            chosen.append(p)
            taken[p.start:p.end] = b"\x01" * (p.end - p.start)
    return sorted(chosen, key=lambda p: p.start)


def _group(parts: list[Part], text: str) -> list[Group]:
    groups: list[Group] = []
    for p in parts:
        g = groups[-1] if groups else None
        kinds = {
            "date": _DATE_KINDS, "moment": _DATE_KINDS, "pod": ("pod",), "clock": _CLOCK_KINDS,
            "range": _CLOCK_KINDS, "invalid": ("invalid",),
        }[p.kind]
        if (g is not None and p.start - g.end <= 12 and _GAP.match(text[g.end:p.start])
                and (g.get(*kinds) is None or _pairs(g, p))
                and not (p.kind == "pod" and g.get("date") and g.get("date").pod)):
            g.parts.append(p)
        else:
            groups.append(Group([p]))
    return [g for g in groups if not (len(g.parts) == 1 and g.parts[0].weak) and g.get("invalid") is None]


def _pairs(g: Group, p: Part) -> bool:
    """A calendar date and a weekday side by side ("12月5日周三", "Wednesday, Dec 5"): one date."""
    dates = [q for q in g.parts if q.kind == "date"]
    if p.kind != "date" or len(dates) != 1 or g.get("moment") is not None:
        return False
    return (dates[0].calendar and p.wd is not None) or (dates[0].wd is not None and p.calendar)


def _date_part(g: Group) -> Part | None:
    """The group's date: the calendar date when a weekday stands beside it."""
    dates = [q for q in g.parts if q.kind in _DATE_KINDS]
    return next((q for q in dates if q.calendar), dates[0] if dates else None)


def _weekday_conflict(g: Group, today: date) -> date | None:
    """The weekday's date when it contradicts the calendar date beside it (else None): the weekday of
    the date's own week, or of the week after when that one is already past."""
    cal = next((q for q in g.parts if q.kind == "date" and q.calendar), None)
    wd = next((q.wd for q in g.parts if q.kind == "date" and q.wd is not None), None)
    if cal is None or cal.day is None or wd is None or cal.day.weekday() == wd:
        return None
    alt = _week_monday(cal.day) + timedelta(days=wd)
    return alt if alt >= today else alt + timedelta(weeks=1)


def _hour(c: dict[str, Any], pod: tuple[int, int, str | None] | None) -> int:
    h, shift = c["h"], c["hint"] or (pod[2] if pod else None)
    if shift == "pm" and h < 12:
        return h + 12
    if shift == "am":
        return 0 if h == 12 and c["hint"] == "am" else h
    if shift == "noon":
        return h + 12 if 1 <= h <= 5 else h
    if shift is None and not c["strict"] and 1 <= h <= 6:
        return h + 12
    return h


def _at(d: date, hour: int, minute: int, tz: Any) -> datetime:
    return datetime.combine(d, time(0, minute), tzinfo=tz) + timedelta(hours=hour)


def _resolve(g: Group, now: datetime, on: date | None = None) -> dict[str, Any] | None:
    """The group's time; ``on`` replaces its date (the other reading of a contradicting weekday)."""
    tz, today = now.tzinfo, now.date()
    moment = g.get("moment")
    if moment is not None and moment.moment is not None:
        return {"value": moment.moment, "grain": "minute"}
    dpart, ppart, cpart = _date_part(g), g.get("pod"), g.get(*_CLOCK_KINDS)
    day = on or (dpart.day if dpart else None)
    pod = ppart.pod if ppart else (dpart.pod if dpart else None)
    if cpart is not None:
        first = cpart.clocks[0]
        if cpart.kind == "range" and first["hint"] is None:
            first = {**first, "hint": cpart.clocks[1]["hint"]}
        start = _at(day or today, _hour(first, pod), first["m"], tz)
        if day is None and start <= now:
            start += timedelta(days=1)
        out: dict[str, Any] = {"value": start, "grain": "minute" if first["minute"] else "hour"}
        if pod is None and first["hint"] is None and not first["strict"]:
            out["ambiguous_hour"] = True  # "3点": the afternoon by default, or the part of day asked about
        if cpart.kind == "range":
            last = cpart.clocks[1]
            end = _at(start.date(), _hour(last, pod), last["m"], tz)
            if end <= start:
                end += timedelta(hours=12) if end + timedelta(hours=12) > start else timedelta(days=1)
            out["to"] = end
        return out
    if pod is not None:
        d = day or today
        if pod[0] == pod[1]:  # noon: a point in time, not an interval
            value = _at(d, pod[0], 0, tz)
            if day is None and value <= now:
                value += timedelta(days=1)
            return {"value": value, "grain": "hour"}
        start, end = _at(d, pod[0], 0, tz), _at(d, pod[1], 0, tz)
        if day is None and end <= now:
            start, end = start + timedelta(days=1), end + timedelta(days=1)
        return {"value": start, "grain": "part_of_day", "to": end, "part_of_day": list(pod)}
    if day is not None:
        return {"value": _at(day, 0, 0, tz), "grain": "day"}
    return None


def parse_times(text: str, now: datetime) -> list[dict[str, Any]]:
    """Time entities in normalised ``text`` with spans in that text and ISO values."""
    results = []
    for g in _group(_scan(text, now.date(), now), text):
        try:
            r = _resolve(g, now)
        except (OverflowError, ValueError):  # a date at the edge of the calendar: no time, not a crash
            r = None
        if r is None:
            continue
        info: dict[str, Any] = {"has_date": g.get("date", "moment") is not None}
        for k in ("ambiguous_hour", "part_of_day"):
            if k in r:
                info[k] = r[k]
        alt = _weekday_conflict(g, now.date())
        other = _resolve(g, now, on=alt) if alt is not None else None
        if other is not None:
            info["weekday_conflict"] = {"value": other["value"].isoformat(), "weekday": alt.weekday()}
        ent = {"start": g.start, "end": g.end, "value": r["value"].isoformat(), "grain": r["grain"],
               "additional_info": info}
        if "to" in r:
            ent["to"] = r["to"].isoformat()
        results.append(ent)
    return results
