"""Vetted staff (issue 12): which vetting items each service requires (config/vetting.yaml) and the pure
check of a housekeeper's file against them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VettingPolicy:
    min_training_hours: float = 40

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VettingPolicy:
        return cls(**raw)
