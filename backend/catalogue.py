"""The service catalogue (config/services.yaml) and price estimates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from config import yamlfile


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
    # Placements (unit day | month; issue 12). Ignored for visits.
    min_term_days: int = 1
    default_term_days: int = 30
    days_per_unit: int = 1  # a "month" of 月嫂 is 26 days (一单); of a nanny, 30
    live_in: str = "either"  # yes | no | either
    days_per_week: int = 6
    daily_hours: float = 8
    days_off_per_month: int = 4
    trial_days: int = 0
    deposit_cny: int = 0  # a fixed deposit …
    deposit_months: float = 0  # … or so many units' price (a month's pay is usual)
    settlement: str = "per_visit"  # per_visit (visits) | weekly | monthly

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

    def term_price(self, term_days: int) -> int:
        """A placement's price for ``term_days`` at the unit price (a month is ``days_per_unit`` days)."""
        return round(self.price * term_days / max(self.days_per_unit, 1))

    @property
    def deposit(self) -> int:
        """The deposit in CNY: fixed, or a number of units' price."""
        return self.deposit_cny or round(self.price * self.deposit_months)


@dataclass(frozen=True)
class Surcharge:
    """A holiday surcharge (services.yaml ``surcharges:``): visits starting from ``first`` to ``last``
    (local dates, inclusive) cost ``factor`` times the estimate; ``factors`` per service, "*" for the rest."""

    name: dict[str, str]
    first: date
    last: date
    factors: dict[str, float]

    def factor(self, service: str, day: date) -> float:
        if not self.first <= day <= self.last:
            return 1.0
        return float(self.factors.get(service, self.factors.get("*", 1.0)))


@dataclass(frozen=True)
class Catalogue:
    services: dict[str, Service] = field(default_factory=dict)
    surcharges: tuple[Surcharge, ...] = ()

    def surcharge(self, service: str, day: date) -> tuple[float, Surcharge | None]:
        """The factor for a visit of ``service`` starting on local ``day`` (1.0: none) and the surcharge
        it comes from; overlapping ranges: the highest factor applies, never a product."""
        best: tuple[float, Surcharge | None] = (1.0, None)
        for s in self.surcharges:
            f = s.factor(service, day)
            if f > best[0]:
                best = (f, s)
        return best

    def __getitem__(self, service_id: str) -> Service:
        return self.services[service_id]

    def __contains__(self, service_id: object) -> bool:
        return service_id in self.services


def load_catalogue(path: Path) -> Catalogue:
    raw = yamlfile.read(path) or {}
    surcharges = tuple(_surcharge(i, spec) for i, spec in enumerate(raw.pop("surcharges", None) or []))
    services = {}
    for sid, spec in raw.items():
        hours = spec.get("hours")
        services[sid] = Service(
            id=sid, name=dict(spec["name"]), unit=spec["unit"], price=int(spec["price"]),
            certificates=tuple(spec.get("certificates", ())), min_hours=float(spec.get("min_hours", 0)),
            max_hours=float(spec.get("max_hours", 24)), min_price=int(spec.get("min_price", 0)),
            sqm_per_hour=float(spec.get("sqm_per_hour", 25)), hours=tuple(hours) if hours else None,
            **_placement_terms(sid, spec))
    return Catalogue(services, surcharges)


LIVE_IN = ("yes", "no", "either")
SETTLEMENT = ("per_visit", "weekly", "monthly")


def _placement_terms(sid: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The placement keys of a service (issue 12), checked: a catalogue that breaks them does not load."""
    if spec["unit"] not in ("day", "month"):
        return {"settlement": str(spec.get("settlement", "per_visit"))}
    unit_days = 26 if sid == "maternity_nurse" else 30 if spec["unit"] == "month" else 1
    deposit = spec.get("deposit", 0)
    live_in = spec.get("live_in", "either")  # YAML 1.1 reads a bare yes/no as a boolean
    live_in = {True: "yes", False: "no"}.get(live_in, live_in) if isinstance(live_in, bool) else live_in
    months = float(deposit["months"]) if isinstance(deposit, dict) else 0.0
    out = {"min_term_days": int(spec.get("min_term_days", 1)),
           "default_term_days": int(spec.get("default_term_days", 30)),
           "days_per_unit": int(spec.get("days_per_unit", unit_days)),
           "live_in": str(live_in), "days_per_week": int(spec.get("days_per_week", 6)),
           "daily_hours": float(spec.get("daily_hours", 8)),
           "days_off_per_month": int(spec.get("days_off_per_month", 4)), "trial_days": int(spec.get("trial_days", 0)),
           "deposit_cny": 0 if isinstance(deposit, dict) else int(deposit),
           "deposit_months": months, "settlement": str(spec.get("settlement", "monthly"))}
    where = f"services.yaml {sid}"
    if out["live_in"] not in LIVE_IN or out["settlement"] not in SETTLEMENT[1:]:
        raise ValueError(f"{where}: live_in is yes|no|either, settlement weekly|monthly")
    if not 1 <= out["min_term_days"] <= out["default_term_days"] or out["days_per_unit"] < 1:
        raise ValueError(f"{where}: min_term_days must be between 1 and default_term_days")
    if not 1 <= out["days_per_week"] <= 7 or not 0 < out["daily_hours"] <= 24 or out["trial_days"] < 0:
        raise ValueError(f"{where}: days_per_week 1–7, daily_hours up to 24, trial_days ≥ 0")
    if out["trial_days"] >= out["min_term_days"] > 1 or out["deposit_cny"] < 0 or months < 0:
        raise ValueError(f"{where}: the trial must be shorter than the minimum term; deposits are not negative")
    return out


def _surcharge(i: int, spec: Any) -> Surcharge:
    where = f"services.yaml surcharges[{i}]"
    try:
        first, last = spec["from"], spec["to"]
        first = first if isinstance(first, date) else date.fromisoformat(str(first))
        last = last if isinstance(last, date) else date.fromisoformat(str(last))
        factors = {str(k): float(v) for k, v in dict(spec["factors"]).items()}
        name = dict(spec["name"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: needs name {{zh, en}}, from/to dates (YYYY-MM-DD) and factors: {e}") from None
    if last < first:
        raise ValueError(f"{where}: 'to' is before 'from'")
    if any(not 1 <= f <= 10 for f in factors.values()):
        raise ValueError(f"{where}: a factor must be between 1 and 10")
    return Surcharge(name, first, last, factors)
