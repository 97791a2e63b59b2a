"""Cancelling a booking as policy (config/cancellation.yaml): free until some hours before the start,
then a fee recorded on the booking's payment record. Pure rules; backend/services/cancellation.py
applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CancellationPolicy:
    free_until_hours: float = 24  # cancelling at least this long before the start costs nothing
    fee_percent: float = 20  # later than that: this share of the booking's price

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CancellationPolicy:
        known = {"free_until_hours", "fee_percent"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        d = cls()
        p = cls(free_until_hours=float(raw.get("free_until_hours", d.free_until_hours)),
                fee_percent=float(raw.get("fee_percent", d.fee_percent)))
        if p.free_until_hours < 0 or not 0 <= p.fee_percent <= 100:
            raise ValueError("free_until_hours must not be negative and fee_percent must be 0–100")
        return p
