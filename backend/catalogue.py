"""The service catalogue (config/services.yaml) and price estimates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Service:
    id: str
    name: dict[str, str]
    unit: str  # hour | sqm | day | month
    price: int
    certificates: tuple[str, ...] = ()
    min_hours: float = 0
    max_hours: float = 24
    min_price: int = 0
    sqm_per_hour: float = 25
    hours: tuple[int, int] | None = None  # window in which a visit may start and end

    @property
    def is_visit(self) -> bool:
        """Hourly and per-area services are visits; day and month services are placements."""
        return self.unit in ("hour", "sqm")

    def visit_hours(self, hours: float | None, area: float | None) -> float:
        if self.unit == "sqm":
            return max(self.min_hours, math.ceil((area or 0) / self.sqm_per_hour))
        if self.unit == "hour":
            return max(self.min_hours, hours or self.min_hours)
        return 8.0  # a placement's first day

    def estimate(self, hours: float | None, area: float | None) -> int:
        if self.unit == "hour":
            return round(self.price * max(self.min_hours, hours or self.min_hours))
        if self.unit == "sqm":
            return int(max(self.min_price, round(self.price * (area or 0))))
        return self.price


@dataclass(frozen=True)
class Catalogue:
    services: dict[str, Service] = field(default_factory=dict)

    def __getitem__(self, service_id: str) -> Service:
        return self.services[service_id]

    def __contains__(self, service_id: object) -> bool:
        return service_id in self.services


def load_catalogue(path: Path) -> Catalogue:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    services = {}
    for sid, spec in raw.items():
        hours = spec.get("hours")
        services[sid] = Service(
            id=sid, name=dict(spec["name"]), unit=spec["unit"], price=int(spec["price"]),
            certificates=tuple(spec.get("certificates", ())), min_hours=float(spec.get("min_hours", 0)),
            max_hours=float(spec.get("max_hours", 24)), min_price=int(spec.get("min_price", 0)),
            sqm_per_hour=float(spec.get("sqm_per_hour", 25)), hours=tuple(hours) if hours else None)
    return Catalogue(services)
