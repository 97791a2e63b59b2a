"""Cases: one machinery for complaints, requests for a person, emergencies, jobs nobody took, refunds …

Pure rules: the states a case moves through, and the policy (per kind and severity, from
``config/cases.yaml``) that turns "opened at T" into deadlines. The service layer stores them as
durable timers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.domain.clock import DeskHours

STATES = ("open", "claimed", "answered", "closed")
# status → the statuses an action may move it to
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"claimed", "answered", "closed"}),
    "claimed": frozenset({"claimed", "answered", "closed"}),  # claimed → claimed: reassigned
    "answered": frozenset({"claimed", "answered", "closed"}),
    "closed": frozenset({"open"}),  # reopened when the client is not satisfied
}
CATEGORIES = ("damage", "quality", "lateness", "attitude", "safety", "billing", "other")
REMEDIES = ("apology", "rework", "refund", "compensation", "none")
OUTCOMES = ("resolved", "apologised", "rework", "refund", "compensation", "rejected", "no_action")
SEVERITIES = ("high", "normal", "low")


class CaseTransitionError(ValueError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"case is {current}, cannot become {wanted}")
        self.current, self.wanted = current, wanted


def move(current: str, wanted: str) -> str:
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise CaseTransitionError(current, wanted)
    return wanted


def case_key(client_id: int | None, kind: str, booking_id: int | None) -> str:
    """The matter a case is about: a second message with the same key joins the open case."""
    return f"{kind}:{client_id or '-'}:{booking_id or '-'}"


def _duration(v: Any) -> timedelta | None:
    """"15m", "1h", "20h", "2d", 45 (minutes) → timedelta; None/"" → None."""
    if v is None or v == "":
        return None
    if isinstance(v, int | float):
        return timedelta(minutes=v)
    s = str(v).strip().lower()
    unit = {"m": 1, "h": 60, "d": 1440}.get(s[-1])
    if unit is None:
        raise ValueError(f"a duration looks like 15m, 1h or 2d, not {v!r}")
    return timedelta(minutes=float(s[:-1]) * unit)


@dataclass(frozen=True)
class ClockPolicy:
    """The clock of one (kind, severity).

    first_response: the promise (the client is told the due time); realert: re-alert while nobody has
    claimed it, every this long; warn: a warning to the owner (or on-duty managers) at this age;
    repeat: after a breach, alerts to the next level repeat this often until acknowledged.
    desk_hours: count only service-desk hours (a request at night is due after opening)."""

    first_response: timedelta
    realert: timedelta | None = None
    warn: timedelta | None = None
    repeat: timedelta | None = None
    desk_hours: bool = False
    urgent: bool = False  # alerts pass every other message in the outbox

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClockPolicy:
        unknown = set(d) - {"first_response", "realert_unclaimed", "warn", "repeat", "desk_hours", "urgent"}
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        first = _duration(d.get("first_response"))
        if first is None:
            raise ValueError("first_response is required")
        return cls(first, _duration(d.get("realert_unclaimed")), _duration(d.get("warn")), _duration(d.get("repeat")),
                   bool(d.get("desk_hours", False)), bool(d.get("urgent", False)))


@dataclass(frozen=True)
class Deadlines:
    due: datetime  # first response
    realert: datetime | None
    warn: datetime | None


@dataclass
class CasePolicy:
    """Everything ``config/cases.yaml`` says: clocks per (kind, severity), default severities."""

    clocks: dict[tuple[str, str], ClockPolicy]
    category_severity: dict[str, str] = field(default_factory=dict)
    kind_severity: dict[str, str] = field(default_factory=dict)
    refund_approve_days: int = 1
    refund_complete_days: int = 3
    refund_remind_before: timedelta = timedelta(hours=4)
    emergency_repeat: timedelta = timedelta(minutes=3)
    satisfaction_wait: timedelta = timedelta(days=3)  # how long "were you satisfied?" stays open

    def severity_for(self, kind: str, category: str | None = None) -> str:
        if category and category in self.category_severity:
            return self.category_severity[category]
        return self.kind_severity.get(kind, "normal")

    def clock(self, kind: str, severity: str) -> ClockPolicy:
        for key in ((kind, severity), (kind, "normal"), ("default", severity), ("default", "normal")):
            if key in self.clocks:
                return self.clocks[key]
        return ClockPolicy(timedelta(hours=24))

    def deadlines(self, kind: str, severity: str, opened: datetime, desk: DeskHours | None) -> Deadlines:
        c = self.clock(kind, severity)

        def after(d: timedelta | None) -> datetime | None:
            if d is None:
                return None
            if c.desk_hours and desk is not None:
                return desk.add_open_minutes(opened, d.total_seconds() / 60)
            return opened + d

        due = after(c.first_response)
        assert due is not None
        return Deadlines(due, after(c.realert), after(c.warn))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CasePolicy:
        clocks: dict[tuple[str, str], ClockPolicy] = {}
        kind_severity: dict[str, str] = {}
        for kind, per in (raw.get("policies") or {}).items():
            if not isinstance(per, dict):
                raise ValueError(f"policies.{kind}: expected a mapping of severities")
            for sev, spec in per.items():
                if sev == "severity":
                    kind_severity[kind] = str(spec)
                    continue
                if sev not in SEVERITIES:
                    raise ValueError(f"policies.{kind}: severity must be one of {', '.join(SEVERITIES)}, not {sev!r}")
                try:
                    clocks[(kind, sev)] = ClockPolicy.from_dict(spec or {})
                except ValueError as e:
                    raise ValueError(f"policies.{kind}.{sev}: {e}") from None
        cats = {str(k): str(v) for k, v in (raw.get("categories") or {}).items()}
        bad = [c for c, s in cats.items() if s not in SEVERITIES]
        if bad:
            raise ValueError(f"categories: unknown severity for {', '.join(bad)}")
        refunds = raw.get("refunds") or {}
        return cls(clocks, cats, kind_severity,
                   int(refunds.get("approve_within_working_days", 1)),
                   int(refunds.get("complete_within_working_days", 3)),
                   _duration(refunds.get("remind_before", "4h")) or timedelta(hours=4),
                   _duration((raw.get("emergency") or {}).get("repeat", "3m")) or timedelta(minutes=3),
                   _duration(raw.get("satisfaction_wait", "3d")) or timedelta(days=3))
