"""The day of the job as policy (config/day_of_job.yaml): reminders, the check-in window, the no-show
alarm, late arrivals. Pure rules; backend/services/day_of_job.py applies them with durable timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backend.domain.cases import _duration


@dataclass(frozen=True)
class DayOfJobPolicy:
    remind_before: timedelta = timedelta(hours=24)  # client's and housekeeper's reminder before the start
    checkin_window: timedelta = timedelta(minutes=60)  # 已到达 is taken from this long before the start
    no_checkin_after: timedelta = timedelta(minutes=15)  # no check-in this long after the start: the alarm

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DayOfJobPolicy:
        known = {"remind_before", "checkin_window", "no_checkin_after"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        d = cls()

        def span(key: str, default: timedelta) -> timedelta:
            v = _duration(raw.get(key))
            if v is not None and v < timedelta(0):
                raise ValueError(f"{key} must not be negative")
            return default if v is None else v

        return cls(remind_before=span("remind_before", d.remind_before),
                   checkin_window=span("checkin_window", d.checkin_window),
                   no_checkin_after=span("no_checkin_after", d.no_checkin_after))
