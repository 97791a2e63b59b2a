"""Repeat visits: the series policy (config/series.yaml) and the pure rules of a series (issue 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SeriesPolicy:
    horizon_weeks: int = 8  # visits exist this far ahead (within the booking horizon)
    holiday_rule: str = "ask"  # skip | keep | ask: a visit on a statutory holiday

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SeriesPolicy:
        return cls(**raw)
