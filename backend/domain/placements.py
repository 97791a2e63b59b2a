"""Placements (issue 12): the policy (config/placements.yaml) and the pure rules of a placement's term."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

STATUSES = ("shortlisting", "interviewing", "trial", "active", "ended", "cancelled")
OPEN = ("shortlisting", "interviewing", "trial", "active")
CHOSEN = ("trial", "active")  # she is placed: the term booking exists
# Candidate states: ranked (not asked yet) | excluded (with the reason) | asked | willing (held) |
# declined | expired (ask or hold lapsed) | chosen | released (another was chosen, or the placement ended)
# | passed (seen in an earlier round: never asked again for this placement).
SEEN = ("asked", "willing", "declined", "expired", "chosen", "released", "passed")


@dataclass(frozen=True)
class PlacementPolicy:
    shortlist_size: int = 3  # candidates asked per round (2–3)
    hold_days: int = 3  # a willing candidate is held this long while the client interviews
    ask_timeout_minutes: int | None = None  # the offer clock for "are you willing?"; None: the visits' one
    interview_minutes: int = 60  # an interview's length: two of hers may not overlap
    interview_reminder_hours: float = 2  # both sides are reminded this long before
    max_interviews: int = 3  # interviews scheduled per placement at once
    checkin_weekly_days: int = 30  # weekly check-ins during the first month …
    checkin_every_days: int = 30  # … then one every 30 days
    checkin_first_days: int = 7  # the first check-in, days after the start
    end_reminder_days: int = 7  # client, housekeeper and managers reminded this many days before the end
    notify_hour: int = 9  # local hour of the day-based messages (trial end, check-ins, end reminder)
    due_date_offset_days: int = 0  # 月嫂: the start is the due date minus this
    baby_early_max_days: int = 30  # 月嫂: how far before the planned start the baby may "arrive"
    max_days_ahead: int = 300  # a start date (a due date) at most this far ahead
    allow_age_requirement: bool = False  # the company accepts an age range the client insists on
    # requirement flag → what she must have (a skill or a roster attribute)
    requirement_attributes: dict[str, str] = field(default_factory=lambda: {"twins": "twins", "cooking": "cooking"})
    # words for the candidate card (per language): certificate kinds and badges
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.shortlist_size <= 5:
            raise ValueError("placements.yaml: shortlist_size must be 1–5 (2–3 is usual)")
        if self.hold_days < 1 or self.end_reminder_days < 1 or self.max_interviews < 1:
            raise ValueError("placements.yaml: hold_days, end_reminder_days and max_interviews are at least 1")
        if self.checkin_first_days < 1 or self.checkin_every_days < 1 or not 0 <= self.notify_hour <= 23:
            raise ValueError("placements.yaml: check-in intervals are at least a day; notify_hour 0–23")
        if self.ask_timeout_minutes is not None and self.ask_timeout_minutes < 1:
            raise ValueError("placements.yaml: ask_timeout_minutes must be positive")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PlacementPolicy:
        return cls(**raw)

    def label(self, word: str, lang: str) -> str:
        return self.labels.get(word, {}).get("en" if lang == "en" else "zh", word)


def term_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A term from local midnight of its first day to local midnight after its last day (inclusive dates)."""
    return (datetime.combine(start, time(0), tz), datetime.combine(end + timedelta(days=1), time(0), tz))


def visit_days(start: datetime, end: datetime, buffer: timedelta, tz: tzinfo) -> tuple[date, date]:
    """The local days a visit from ``start`` to ``end`` touches, its travel ``buffer`` included: a term of
    inclusive dates [first, last] holds her then exactly when ``first <= days[1] and last >= days[0]`` —
    the same as ``availability.overlaps((start, end), term_bounds(first, last, tz), buffer)``, for a
    database to check on the dates (a visit ending at midnight, buffer included, does not touch the day
    that starts then: hence the microsecond)."""
    return (start - buffer).astimezone(tz).date(), (end + buffer - timedelta(microseconds=1)).astimezone(tz).date()


def end_date(start: date, term_days: int) -> date:
    return start + timedelta(days=term_days - 1)


def overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    """Two inclusive date ranges share a day."""
    return a[0] <= b[1] and b[0] <= a[1]


def age_band(birth_year: int | None, today: date) -> str | None:
    """"40-49": what a shortlist shows of her age (never the year)."""
    if not birth_year:
        return None
    decade = (today.year - birth_year) // 10 * 10
    return f"{decade}-{decade + 9}"


def age_ok(birth_year: int | None, today: date, age_min: int | None, age_max: int | None) -> bool:
    if age_min is None and age_max is None:
        return True
    if not birth_year:
        return False  # the client insists: unknown does not pass
    age = today.year - birth_year
    return (age_min is None or age >= age_min) and (age_max is None or age <= age_max)


def checkin_dates(start: date, end: date, p: PlacementPolicy) -> list[date]:
    """Check-in days: weekly in the first ``checkin_weekly_days``, then every ``checkin_every_days``,
    never on or after the last day (the end-of-contract survey covers that)."""
    out, day = [], start + timedelta(days=p.checkin_first_days)
    while day < end:
        out.append(day)
        day += timedelta(days=7 if (day - start).days < p.checkin_weekly_days else p.checkin_every_days)
    return out


def trial_end(start: date, trial_days: int) -> date | None:
    return start + timedelta(days=trial_days - 1) if trial_days > 0 else None
