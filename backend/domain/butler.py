"""The butler's clock (issue 12): on site within 15 minutes, a first plan within 1 hour (config/butler.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ButlerPolicy:
    onsite_minutes: int = 15
    plan_minutes: int = 60

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ButlerPolicy:
        return cls(**raw)
