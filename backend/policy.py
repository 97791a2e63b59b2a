"""Reading `config/cases.yaml` into the case policy and the service-desk hours (checked at start-up:
a bad file stops `serve` with one line naming the problem)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.area import ServiceArea
from backend.domain.butler import ButlerPolicy
from backend.domain.cancellation import CancellationPolicy
from backend.domain.cases import CasePolicy
from backend.domain.clock import WEEKDAY_NAMES, DeskHours, WorkCalendar, parse_window
from backend.domain.day_of_job import DayOfJobPolicy
from backend.domain.placements import PlacementPolicy
from backend.domain.profile import Vocabulary
from backend.domain.series import SeriesPolicy
from backend.domain.surveys import SurveyPolicy
from backend.domain.vetting import VettingPolicy
from config import yamlfile


def load_policy(path: Path, calendar: WorkCalendar, tz: ZoneInfo) -> tuple[CasePolicy, DeskHours]:
    raw = yamlfile.read(path) if path.exists() else {}
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    try:
        policy = CasePolicy.from_dict(raw)
        desk_raw = raw.get("service_desk") or {}
        windows: dict[int, tuple[int, int]] = {}
        for name, window in (desk_raw.get("hours") or {}).items():
            if str(name)[:3].lower() not in WEEKDAY_NAMES:
                raise ValueError(f"service_desk.hours: {name!r} is not a weekday (mon..sun)")
            if window in (None, "", "closed"):
                continue
            windows[WEEKDAY_NAMES.index(str(name)[:3].lower())] = parse_window(str(window))
        if not desk_raw.get("hours"):
            windows = {d: (0, 1440) for d in range(7)}
        desk = DeskHours(windows, calendar, tz, closed_on_holidays=not desk_raw.get("open_on_holidays", False))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
    return policy, desk


def _mapping(path: Path) -> dict:
    raw = yamlfile.read(path) if path.exists() else {}
    if not isinstance(raw or {}, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return raw or {}


def _from_file(policy: Any, path: Path) -> Any:
    """``policy.from_dict`` of a YAML file (missing: the defaults); its errors name the file."""
    try:
        return policy.from_dict(_mapping(path))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


def load_surveys(path: Path) -> SurveyPolicy:
    """`config/surveys.yaml`; a missing file means the defaults (the service standard's figures)."""
    return _from_file(SurveyPolicy, path)


def load_day_of_job(path: Path) -> DayOfJobPolicy:
    """`config/day_of_job.yaml`; a missing file means the defaults."""
    return _from_file(DayOfJobPolicy, path)


def load_cancellation(path: Path) -> CancellationPolicy:
    """`config/cancellation.yaml`; a missing file means the defaults."""
    return _from_file(CancellationPolicy, path)


def load_series(path: Path) -> SeriesPolicy:
    """`config/series.yaml`; a missing file means the defaults."""
    return _from_file(SeriesPolicy, path)


def load_area(path: Path) -> ServiceArea:
    """`config/service_area.yaml`; a missing file means no limit (every city and district served)."""
    return _from_file(ServiceArea, path)


def load_vocabulary(path: Path) -> Vocabulary:
    return _from_file(Vocabulary, path)


def load_placements(path: Path) -> PlacementPolicy:
    """`config/placements.yaml`; a missing file means the defaults."""
    return _from_file(PlacementPolicy, path)


def load_vetting(path: Path) -> VettingPolicy:
    """`config/vetting.yaml`; a missing file means the defaults."""
    return _from_file(VettingPolicy, path)


def load_butler(path: Path) -> ButlerPolicy:
    """`config/butler.yaml`; a missing file means the defaults."""
    return _from_file(ButlerPolicy, path)
