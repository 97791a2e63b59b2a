"""The butler's clock (issue 12): on site within 15 minutes, a first plan within 1 hour (config/butler.yaml).

Pure rules, no storage: who counts as a butler client (which services, which placement and booking
states), the due times a request gets, its states and the moves between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

# open → on_site → planned → closed; a plan may come before the butler is on site (open → planned, the
# on-site clock keeps running); the client may cancel while it is not closed.
STATES = ("open", "on_site", "planned", "closed", "cancelled")
MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"on_site", "planned", "cancelled"}),
    "on_site": frozenset({"planned", "cancelled"}),
    "planned": frozenset({"planned", "closed", "cancelled"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
LIVE = ("open", "on_site", "planned")  # the request is still being handled
BREACHES = ("onsite", "plan")


@dataclass(frozen=True)
class ButlerPolicy:
    onsite_minutes: int = 15  # someone on site within this of the request (SERVICE_STANDARDS)
    plan_minutes: int = 60  # a first plan with an estimated fix time within this
    services: tuple[str, ...] = ("butler",)  # catalogue services that make a butler contract
    placement_states: tuple[str, ...] = ("trial", "active")  # a placement in these states, its term covering today
    booking_states: tuple[str, ...] = ("confirmed", "in_progress")  # a booking in these states covering now
    case_kind: str = "butler_breach"  # the case a missed clock opens (its clock: config/cases.yaml)
    severity: str = "high"
    tell_managers: bool = True  # the on-duty managers hear of every request, not only of breaches
    plan_reply_minutes: int = 30  # after tapping "post plan", her next text within this is the plan
    max_open_per_client: int = 5  # more open requests at once are refused (a runaway client or script)
    text_max_chars: int = 500

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ButlerPolicy:
        unknown = sorted(set(raw or {}) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"butler: unknown key(s) {', '.join(unknown)}")
        known = dict(raw or {})
        for k in ("services", "placement_states", "booking_states"):
            if k in known:
                known[k] = tuple(str(x) for x in known[k])
        p = cls(**known)
        if p.onsite_minutes <= 0 or p.plan_minutes <= 0:
            raise ValueError("butler: onsite_minutes and plan_minutes must be positive")
        if p.plan_minutes < p.onsite_minutes:
            raise ValueError("butler: plan_minutes must not be shorter than onsite_minutes")
        if p.severity not in ("high", "normal", "low"):
            raise ValueError(f"butler: severity {p.severity!r} is not high, normal or low")
        return p

    def onsite_due(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self.onsite_minutes)

    def plan_due(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self.plan_minutes)


def covers(start: date, end: date, today: date) -> bool:
    """A placement's term (both ends inclusive) covers ``today``."""
    return start <= today <= end


def may_move(old: str, new: str) -> bool:
    return new in MOVES.get(old, frozenset())
