"""The day of the job as policy (config/day_of_job.yaml): reminders, the check-in window, the no-show
alarm, late arrivals, and the words a housekeeper types to say she is late or cannot come. Pure rules;
backend/services/day_of_job.py applies them with durable timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.domain.cases import _duration

LATE_WORDS = ("晚到", "迟到", "堵车", "晚点到", "晚一点到", "晚些到", "running late", "be late", "am late",
              "i'm late", "minutes late", "mins late", "min late", "stuck in traffic")
CANNOT_COME_WORDS = ("去不了", "来不了", "到不了", "不能去", "去不成", "没法去", "无法前往", "can't come",
                     "cannot come", "can't make it", "cannot make it", "can not come", "cant come",
                     "can't go", "cannot go")


@dataclass(frozen=True)
class DayOfJobPolicy:
    remind_before: timedelta = timedelta(hours=24)  # client's and housekeeper's reminder before the start
    checkin_window: timedelta = timedelta(minutes=60)  # 已到达 is taken from this long before the start
    no_checkin_after: timedelta = timedelta(minutes=15)  # no check-in this long after the start: the alarm
    late_choices: tuple[int, ...] = (10, 20, 30, 60)  # the 晚到 button's minutes
    max_late_minutes: int = 240  # more than this is not "late": she is asked to use 去不了 instead
    late_words: tuple[str, ...] = LATE_WORDS  # typed words that say she is late ("我堵车了，晚到20分钟")
    cannot_come_words: tuple[str, ...] = CANNOT_COME_WORDS  # typed words that say she cannot come

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DayOfJobPolicy:
        known = {"remind_before", "checkin_window", "no_checkin_after", "late_choices", "max_late_minutes",
                 "late_words", "cannot_come_words"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        d = cls()

        def span(key: str, default: timedelta) -> timedelta:
            v = _duration(raw.get(key))
            if v is not None and v < timedelta(0):
                raise ValueError(f"{key} must not be negative")
            return default if v is None else v

        def words(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            v = raw.get(key)
            if v is None:
                return default
            if not isinstance(v, list) or not all(isinstance(w, str) and w.strip() for w in v):
                raise ValueError(f"{key} must be a list of words")
            return tuple(w.strip().lower() for w in v)

        max_late = int(raw.get("max_late_minutes", d.max_late_minutes))
        if max_late <= 0:
            raise ValueError("max_late_minutes must be positive")
        choices = tuple(int(m) for m in raw.get("late_choices", d.late_choices))
        if not choices or any(not 0 < m <= max_late for m in choices):
            raise ValueError(f"late_choices must be minutes between 1 and {max_late}")
        return cls(remind_before=span("remind_before", d.remind_before),
                   checkin_window=span("checkin_window", d.checkin_window),
                   no_checkin_after=span("no_checkin_after", d.no_checkin_after),
                   late_choices=choices, max_late_minutes=max_late,
                   late_words=words("late_words", d.late_words),
                   cannot_come_words=words("cannot_come_words", d.cannot_come_words))

    # --- times ---------------------------------------------------------------------------------------
    def checkin_opens(self, starts_at: datetime) -> datetime:
        return starts_at - self.checkin_window

    def may_check_in(self, starts_at: datetime, now: datetime) -> bool:
        return now >= self.checkin_opens(starts_at)

    def reminder_due(self, starts_at: datetime) -> datetime:
        return starts_at - self.remind_before

    def reminder_fits(self, starts_at: datetime, now: datetime) -> bool:
        """A reminder fires for the start it was armed for: not before its time (a moved booking's old
        timer fires early and says nothing), not once the job has begun."""
        return self.reminder_due(starts_at) <= now < starts_at

    def alarm_due(self, starts_at: datetime, late_minutes: int | None = None) -> datetime:
        """When a missing check-in raises the alarm: after the start (moved by the lateness she announced)."""
        return starts_at + timedelta(minutes=late_minutes or 0) + self.no_checkin_after

    def valid_late(self, minutes: int) -> bool:
        return 0 < minutes <= self.max_late_minutes

    # --- words ---------------------------------------------------------------------------------------
    def says_late(self, text: str) -> bool:
        t = text.strip().lower().replace("’", "'")
        return any(w in t for w in self.late_words)

    def says_cannot_come(self, text: str) -> bool:
        t = text.strip().lower().replace("’", "'")
        return any(w in t for w in self.cannot_come_words)


def worked_minutes(arrived_at: datetime | None, finished_at: datetime | None) -> int | None:
    """Check-in to finish, in whole minutes; None until both are known."""
    if arrived_at is None or finished_at is None:
        return None
    return max(0, int((finished_at - arrived_at).total_seconds() // 60))
