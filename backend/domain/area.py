"""The company's service area (config/service_area.yaml): cities and districts served (issue 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServiceArea:
    cities: tuple[str, ...] = ()  # empty: no limit

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServiceArea:
        return cls(tuple(raw.get("cities") or ()))
