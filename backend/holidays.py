"""The working-day calendar from the maintained `chinesecalendar` package plus `config/holidays.yaml`.

Years the package does not cover are Monday–Friday with a logged warning; start-up warns when next year
is not covered, since refund due dates reach into it from December on.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from backend.domain.clock import WorkCalendar
from config import yamlfile

log = logging.getLogger(__name__)


def _package_days() -> tuple[dict[date, bool], set[int]]:
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - a dependency; the fallback keeps the desk running
        log.warning("chinesecalendar is not installed: working days are Monday–Friday")
        return {}, set()
    days: dict[date, bool] = {}
    for d in chinese_calendar.holidays:
        days[d] = False  # weekend ones too: the service desk closes on the whole holiday
    for d in chinese_calendar.workdays:
        if d.weekday() >= 5:
            days[d] = True
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return days, years


def _dates(raw: Any, where: str) -> list[date]:
    out = []
    for item in raw or []:
        try:
            out.append(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ValueError(f"{where}: not a date (YYYY-MM-DD): {item!r}") from None
    return out


def load_calendar(path: Path | None, today: date | None = None, warn: bool = True) -> WorkCalendar:
    days, years = _package_days()
    if path is not None and path.exists():
        raw = yamlfile.read(path) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected holidays: and workdays: lists")
        for d in _dates(raw.get("holidays"), f"{path} holidays"):
            days[d] = False  # statutory days known ahead do not make the year's arrangement complete:
        for d in _dates(raw.get("workdays"), f"{path} workdays"):  # its swapped working days do
            days[d] = True
            years.add(d.year)
    cal = WorkCalendar(days, frozenset(years))
    if warn:
        today = today or date.today()
        for year in (today.year, (today + timedelta(days=366)).year):
            if year not in cal.covered:
                log.warning("the holiday calendar does not cover %s: working days that year are Monday–Friday "
                            "until config/holidays.yaml or the chinesecalendar package adds it", year)
    return cal
