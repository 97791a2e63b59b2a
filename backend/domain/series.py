"""Repeat visits: the series policy (config/series.yaml) and the pure rules of a series (issue 10).

A series is "every ``interval_weeks`` weeks on ``weekday`` at ``start_minute``", from ``first_date``, ending
after ``count`` occurrences or on ``until`` (or open-ended). An occurrence on a statutory holiday counts
as an occurrence whatever the holiday rule does with it: "共6次" means six dates in the calendar, and a
skipped holiday is not moved to another day (the client is told which dates are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

HOLIDAY_RULES = ("skip", "keep", "ask")


@dataclass(frozen=True)
class SeriesPolicy:
    horizon_weeks: int = 8  # visits exist this far ahead (within the booking horizon)
    holiday_rule: str = "ask"  # skip | keep | ask: a visit on a statutory holiday
    ask_days_before: int = 5  # "ask": the client is asked this many days before the visit
    answer_days_before: int = 3  # "ask": no answer by this many days before → ask_default (then told)
    ask_default: str = "skip"  # "ask" unanswered: skip (cancel the held visit, free) or keep it
    plan_hour: int = 2  # local hour of the daily planning run (timer kind "series_plan")
    max_interval_weeks: int = 4  # "every N weeks" beyond this is a custom request
    max_count: int = 52

    def __post_init__(self) -> None:
        if self.holiday_rule not in HOLIDAY_RULES:
            raise ValueError(f"holiday_rule must be one of {HOLIDAY_RULES}")
        if self.ask_default not in ("skip", "keep"):
            raise ValueError("ask_default must be skip or keep")
        if not 1 <= self.horizon_weeks <= 52:
            raise ValueError("horizon_weeks must be 1..52")
        if not self.ask_days_before > self.answer_days_before >= 1:
            raise ValueError("ask_days_before must be greater than answer_days_before (≥ 1)")
        if not 0 <= self.plan_hour <= 23:
            raise ValueError("plan_hour must be 0..23")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SeriesPolicy:
        return cls(**raw)


@dataclass(frozen=True)
class Recurrence:
    """What the client asked for: every ``interval_weeks`` weeks, ended by ``count`` or ``until``."""

    interval_weeks: int = 1
    weekday: int | None = None  # 0 = Monday; None: the first visit's weekday
    count: int | None = None
    until: date | None = None

    @classmethod
    def from_slot(cls, raw: dict[str, Any] | None) -> Recurrence | None:
        if not isinstance(raw, dict):
            return None
        try:
            until = raw.get("until")
            return cls(int(raw.get("interval_weeks") or 1), None if raw.get("weekday") is None else int(raw["weekday"]),
                       None if raw.get("count") is None else int(raw["count"]),
                       date.fromisoformat(until) if until else None)
        except (TypeError, ValueError):
            return None


def problem(rec: Recurrence, first: date, policy: SeriesPolicy) -> str | None:
    """Why a recurrence cannot be a series (a code), or None."""
    if not 1 <= rec.interval_weeks <= policy.max_interval_weeks:
        return "series_interval"
    if rec.count is not None and not 2 <= rec.count <= policy.max_count:
        return "series_count"
    if rec.until is not None and rec.until <= first:
        return "series_until"
    return None


def first_date(earliest: datetime, weekday: int, start_minute: int) -> date:
    """The first date on ``weekday`` whose visit (at ``start_minute`` local) is not before ``earliest``
    (an aware local datetime: now plus the lead time)."""
    d = earliest.date() + timedelta(days=(weekday - earliest.weekday()) % 7)
    if datetime.combine(d, time(start_minute // 60, start_minute % 60), earliest.tzinfo) < earliest:
        d += timedelta(days=7)
    return d


def occurrences(first: date, interval_weeks: int, count: int | None, until: date | None,
                after: date | None, up_to: date) -> list[date]:
    """The series' dates after ``after`` (exclusive; None: from the first) up to ``up_to`` (inclusive)."""
    out, k = [], 0
    step = timedelta(weeks=interval_weeks)
    while True:
        d = first + k * step
        if (count is not None and k >= count) or (until is not None and d > until) or d > up_to:
            return out
        if after is None or d > after:
            out.append(d)
        k += 1


def last_date(first: date, interval_weeks: int, count: int | None, until: date | None) -> date | None:
    """The last occurrence, or None for an open-ended series."""
    if count is not None:
        return first + (count - 1) * timedelta(weeks=interval_weeks)
    if until is not None:
        return first + ((until - first).days // (7 * interval_weeks)) * timedelta(weeks=interval_weeks)
    return None


def plan_until(today: date, horizon_weeks: int, max_days_ahead: int) -> date:
    """How far ahead visits exist: the rolling horizon, never beyond the booking horizon."""
    return min(today + timedelta(weeks=horizon_weeks), today + timedelta(days=max_days_ahead) - timedelta(days=1))


def holiday_action(rule: str, is_holiday: bool) -> str:
    """create | skip | ask for one occurrence."""
    if not is_holiday or rule == "keep":
        return "create"
    return rule
