"""Is a housekeeper free for a job? Pure function over plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Schedule:
    skills: frozenset[str]
    certificates: dict[str, date]  # kind → expiry date
    working_hours: dict[int, list[tuple[int, int]]]  # weekday → [(start minute, end minute)] local time
    time_off: list[tuple[datetime, datetime]]
    jobs: list[tuple[datetime, datetime]]  # confirmed / in-progress jobs (aware datetimes)
    active: bool = True


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime], buffer: timedelta) -> bool:
    return a[0] < b[1] + buffer and b[0] < a[1] + buffer


def unavailable_reason(s: Schedule, service: str, required_certs: Iterable[str], start: datetime, end: datetime,
                       buffer: timedelta) -> str | None:
    """None when free; otherwise the first reason she is not (shown to managers)."""
    if not s.active:
        return "inactive"
    if service not in s.skills:
        return "skill"
    for cert in required_certs:
        expiry = s.certificates.get(cert)
        if expiry is None or expiry < end.date():
            return f"certificate:{cert}"
    local_start, local_end = start, end
    day_slots = s.working_hours.get(local_start.weekday(), [])
    start_min = local_start.hour * 60 + local_start.minute
    end_min = start_min + int((local_end - local_start).total_seconds() // 60)
    if not any(a <= start_min and end_min <= b for a, b in day_slots):
        return "hours"
    if any(overlaps((start, end), off, timedelta(0)) for off in s.time_off):
        return "time_off"
    if any(overlaps((start, end), job, buffer) for job in s.jobs):
        return "busy"
    return None
