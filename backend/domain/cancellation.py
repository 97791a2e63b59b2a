"""Cancelling a booking as policy (config/cancellation.yaml): free until some hours before the start,
then a fee recorded on the booking's payment record. Pure rules; backend/services/cancellation.py
applies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class Quote:
    """What cancelling now costs: ``fee_cents`` 0 means free; ``free_until`` is when free ends."""

    fee_cents: int
    free_until: datetime

    @property
    def free(self) -> bool:
        return self.fee_cents == 0


def quote(policy: CancellationPolicy, price_cents: int, starts_at: datetime, now: datetime) -> Quote:
    """Free while ``now`` is at least ``free_until_hours`` before the start; later ``fee_percent`` of the
    price, rounded to whole fen (a booking that costs nothing costs nothing to cancel)."""
    free_until = starts_at - timedelta(hours=policy.free_until_hours)
    if now <= free_until or price_cents <= 0:
        return Quote(0, free_until)
    return Quote(round(price_cents * policy.fee_percent / 100), free_until)
