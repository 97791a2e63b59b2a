"""Placements (issue 12): the policy (config/placements.yaml) and the pure rules of a placement's term."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any


@dataclass(frozen=True)
class PlacementPolicy:
    shortlist_size: int = 3  # candidates asked per round (2–3)
    hold_days: int = 3  # a willing candidate is held this long while the client interviews

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PlacementPolicy:
        return cls(**raw)


def term_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A term from local midnight of its first day to local midnight after its last day (inclusive dates)."""
    return (datetime.combine(start, time(0), tz), datetime.combine(end + timedelta(days=1), time(0), tz))
