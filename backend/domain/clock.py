"""Working days and service-desk hours: the arithmetic behind every promise with a date in it.

Pure: the statutory calendar (holidays and swapped working days) is handed in as data by
``backend.holidays``; years it does not cover fall back to Monday–Friday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkCalendar:
    """``overrides``: dates whose status differs from Monday–Friday (statutory holidays → False, swapped
    working weekends → True). ``covered``: years the source knows; others are plain Monday–Friday."""

    overrides: dict[date, bool] = field(default_factory=dict)
    covered: frozenset[int] = frozenset()

    def is_workday(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        return d.weekday() < 5

    def is_holiday(self, d: date) -> bool:
        """A statutory day off that falls on a weekday (or any listed day off)."""
        return self.overrides.get(d) is False

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself never counts)."""
        d, left = start, n
        while left > 0:
            d += timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def working_days_due(self, requested: datetime, n: int, tz: ZoneInfo) -> datetime:
        """"Within n working days of the request": the end of the n-th working day after the request's
        local day, as an aware datetime (midnight local of the day after)."""
        day = self.add_working_days(requested.astimezone(tz).date(), n)
        return datetime.combine(day + timedelta(days=1), time(0), tz)

    def working_days_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> int:
        """How many working days after ``start``'s local day ``end``'s local day is (0 = same day)."""
        a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return count


@dataclass(frozen=True)
class DeskHours:
    """When the service desk (people, not the bot) works: windows per weekday in minutes from local
    midnight; statutory holidays closed when ``closed_on_holidays``; swapped working weekends use the
    Monday window."""

    windows: dict[int, tuple[int, int]]  # weekday → (start, end) minutes; absent = closed
    calendar: WorkCalendar
    tz: ZoneInfo
    closed_on_holidays: bool = True

    def _window(self, d: date) -> tuple[int, int] | None:
        if self.closed_on_holidays and self.calendar.is_holiday(d):
            return None
        if d.weekday() >= 5 and self.calendar.overrides.get(d) is True:
            return self.windows.get(0)  # a swapped working weekend keeps weekday hours
        return self.windows.get(d.weekday())

    def is_open(self, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        w = self._window(local.date())
        minute = local.hour * 60 + local.minute
        return w is not None and w[0] <= minute < w[1]

    def next_open(self, t: datetime) -> datetime:
        """``t`` if the desk is open then, else when it next opens (within a year; else ``t``)."""
        local = t.astimezone(self.tz)
        for offset in range(0, 370):
            d = local.date() + timedelta(days=offset)
            w = self._window(d)
            if w is None:
                continue
            start = datetime.combine(d, time(0), self.tz) + timedelta(minutes=w[0])
            end = datetime.combine(d, time(0), self.tz) + timedelta(minutes=w[1])
            if offset == 0 and local >= end:
                continue
            return max(start, local) if offset == 0 else start
        return t

    def add_open_minutes(self, t: datetime, minutes: float) -> datetime:
        """``t`` plus ``minutes`` of open desk time (what a "within 30 minutes" means out of hours)."""
        left = timedelta(minutes=minutes)
        cur = self.next_open(t).astimezone(self.tz)
        for _ in range(400):
            w = self._window(cur.date())
            end = datetime.combine(cur.date(), time(0), self.tz) + timedelta(minutes=w[1]) if w else cur
            room = end - cur
            if left <= room:
                return cur + left
            left -= room
            cur = self.next_open(end + timedelta(seconds=1))
        return cur


def parse_window(text: str) -> tuple[int, int]:
    """"08:00-21:00" → (480, 1260); "24:00" is allowed as an end."""
    start, _, end = text.partition("-")

    def minutes(s: str) -> int:
        h, _, m = s.strip().partition(":")
        value = int(h) * 60 + int(m or 0)
        if not 0 <= value <= 1440:
            raise ValueError(f"not a time of day: {s!r}")
        return value

    a, b = minutes(start), minutes(end)
    if a >= b:
        raise ValueError(f"a window must end after it starts: {text!r}")
    return a, b
