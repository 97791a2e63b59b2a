"""Case figures for a period (``frontdesk report cases``): what the service standard promises, measured.

Read-only: it reads the case and refund tables as they are and holds no personal data (ids, kinds,
counts and durations only), so its output may be printed, exported or mailed.

Which rows count:
- cases opened in [start, end) — by kind, category, severity; their first response, close, outcome,
  breach and satisfaction answer, as stored now;
- a case's first response is "within the deadline" when first_response_at ≤ first_response_due_at;
  an unanswered case whose due time has passed counts as missed, one not yet due is left out;
- "resolved": closed with an outcome other than rejected/no_action and not answered "not satisfied";
  the share is over closed cases (an open case is neither); complaints are the standard's "disputes";
- refunds (kind refund) requested in [start, end): completed in time when paid_at ≤ due_at; one not
  paid whose due time has passed is late; rejected ones and those still within their time are left out;
- satisfaction: the clients' yes/no answers (a case closed again after a "no" is asked again);
  unanswered: closed cases still waiting for one;
- open cases: every case not closed now, whenever it was opened, and the oldest of them.

A case the client reopened ("not satisfied") has its clock columns reset for the new round; its
timeline keeps the first: the first response is the earliest ``first_response`` event (within the
deadline when no ``breach`` event came before it), a breach is any ``breach`` event, and a "no"
followed by a new close is judged by that close.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.domain.cases import _duration as duration  # the policy file's one duration format
from backend.orm import CaseEvent, Escalation, Refund
from config import yamlfile

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.services import Context

NOT_RESOLVED = frozenset({"rejected", "no_action"})
DISPUTE_KINDS = frozenset({"complaint"})


@dataclass(frozen=True)
class Targets:
    """The standard's figures the actuals are shown against (``targets`` in config/cases.yaml; these
    defaults are SERVICE_STANDARDS.md's, for a file without the section)."""

    first_response_mean_hours: float = 3.0  # "average handling time aimed at 3 hours"
    disputes_resolved_share: float = 0.9  # "≥ 90 % of disputes resolved"
    refunds_in_time_share: float = 1.0  # "processed within 3 working days": every one

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Targets:
        raw = raw or {}
        unknown = set(raw) - {"first_response_mean", "disputes_resolved", "refunds_in_time"}
        if unknown:
            raise ValueError(f"targets: unknown keys {', '.join(sorted(unknown))}")
        mean = duration(raw.get("first_response_mean")) or timedelta(hours=cls.first_response_mean_hours)
        shares = {k: float(raw.get(k, d)) for k, d in (("disputes_resolved", cls.disputes_resolved_share),
                                                       ("refunds_in_time", cls.refunds_in_time_share))}
        if not all(0 <= v <= 1 for v in shares.values()):
            raise ValueError("targets: shares are between 0 and 1 (0.9 is 90 %)")
        return cls(mean.total_seconds() / 3600, shares["disputes_resolved"], shares["refunds_in_time"])


def load_targets(path: Path) -> Targets:
    """The ``targets`` section of the case policy file (config/cases.yaml)."""
    raw = yamlfile.read(path) if path.exists() else None
    try:
        if raw is not None and not isinstance(raw, dict):
            raise ValueError("expected a mapping at the top level")
        return Targets.from_dict((raw or {}).get("targets"))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def p90(values: list[float]) -> float:
    """The nearest-rank 90th percentile: the smallest value with at least 90 % of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def durations(values: list[float]) -> dict[str, Any]:
    """count, mean, median, p90 in hours (None when there is nothing to measure)."""
    if not values:
        return {"count": 0, "mean_hours": None, "median_hours": None, "p90_hours": None}
    return {"count": len(values), "mean_hours": round(statistics.fmean(values), 2),
            "median_hours": round(statistics.median(values), 2), "p90_hours": round(p90(values), 2)}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Timeline:
    """What a case's events say about its first round (see the module docstring)."""

    first_response: datetime | None = None
    breaches: list[datetime] = field(default_factory=list)
    reopened: list[datetime] = field(default_factory=list)  # each one a client's "not satisfied"
    satisfied: int = 0  # the client's "yes" answers


def _timelines(session: Session, cases: list[Escalation]) -> dict[int, Timeline]:
    out = {c.id: Timeline() for c in cases}
    ids = list(out)
    for i in range(0, len(ids), 500):  # bounded IN lists
        for case_id, kind, at in session.execute(
                select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.at).where(
                    CaseEvent.case_id.in_(ids[i:i + 500]),
                    CaseEvent.kind.in_(("first_response", "breach", "reopened", "satisfied")))
                .order_by(CaseEvent.at)):
            t = out[case_id]
            if kind == "first_response" and t.first_response is None:
                t.first_response = at
            elif kind == "breach":
                t.breaches.append(at)
            elif kind == "reopened":
                t.reopened.append(at)
            elif kind == "satisfied":
                t.satisfied += 1
    return out


def _first(c: Escalation, t: Timeline) -> tuple[datetime | None, bool | None]:
    """(when the case was first answered, whether that was within its deadline); None: not answered."""
    if not t.reopened:
        at, due = c.first_response_at or t.first_response, c.first_response_due_at
        if at is None:
            return None, None
        return at, (at <= due) if due is not None else not t.breaches
    at = t.first_response
    return at, None if at is None else not any(b <= at for b in t.breaches)


def _first_response(cases: list[Escalation], tl: dict[int, Timeline], now: datetime) -> dict[str, Any]:
    within = late = missed = pending = 0
    times = []
    for c in cases:
        at, in_time = _first(c, tl[c.id])
        if at is not None:
            times.append(_hours(c.created_at, at))
            within, late = within + bool(in_time), late + (not in_time)
        elif tl[c.id].breaches or (c.first_response_due_at is not None and c.first_response_due_at < now):
            missed += 1
        elif c.first_response_due_at is not None:
            pending += 1
    measured = within + late + missed
    return {"within_deadline": within, "late": late, "missed": missed, "pending": pending,
            "share_within_deadline": _share(within, measured), **durations(times)}


def _close(cases: list[Escalation]) -> dict[str, Any]:
    return durations([_hours(c.created_at, c.closed_at) for c in cases
                      if c.status == "closed" and c.closed_at is not None])


def _unhappy(c: Escalation, t: Timeline) -> bool:
    """Not satisfied with the close that stands (a "no" reopens; closed again, the new close counts)."""
    return c.satisfied is False and not (c.closed_at is not None and any(r < c.closed_at for r in t.reopened))


def _resolved(cases: list[Escalation], tl: dict[int, Timeline]) -> dict[str, Any]:
    closed = [c for c in cases if c.status == "closed"]
    ok = [c for c in closed if c.outcome not in NOT_RESOLVED and not _unhappy(c, tl[c.id])]
    return {"closed": len(closed), "resolved": len(ok), "share": _share(len(ok), len(closed)),
            "outcomes": dict(Counter(c.outcome or "none" for c in closed))}


def _refunds(rows: list[Refund], now: datetime) -> dict[str, Any]:
    refunds = [r for r in rows if r.kind == "refund"]
    in_time = sum(1 for r in refunds if r.paid_at is not None and r.paid_at <= r.due_at)
    late = sum(1 for r in refunds if (r.paid_at is not None and r.paid_at > r.due_at)
               or (r.paid_at is None and r.status != "rejected" and r.due_at < now))
    pending = sum(1 for r in refunds if r.paid_at is None and r.status != "rejected" and r.due_at >= now)

    def cents(kind: str) -> int:
        return sum(r.amount_cents for r in rows if r.kind == kind and r.status == "paid")

    return {"requested": len(refunds), "by_status": dict(Counter(r.status for r in refunds)),
            "completed_in_time": in_time, "late": late, "pending": pending,
            "share_in_time": _share(in_time, in_time + late),
            "refunded_cents": cents("refund"), "compensations": sum(1 for r in rows if r.kind == "compensation"),
            "compensated_cents": cents("compensation")}


def _open(session: Session, end: datetime, now: datetime) -> dict[str, Any]:
    rows = session.scalars(select(Escalation).where(Escalation.status != "closed", Escalation.created_at < end)
                           .order_by(Escalation.created_at, Escalation.id)).all()
    oldest = rows[0] if rows else None
    return {"count": len(rows), "by_kind": dict(Counter(c.kind for c in rows)),
            "breached": sum(1 for c in rows if c.breached_at is not None),
            "oldest": None if oldest is None else {
                "id": oldest.id, "kind": oldest.kind, "status": oldest.status,
                "created_at": oldest.created_at.isoformat(),
                "age_hours": round(_hours(oldest.created_at, now), 2)}}


def case_report(ctx: Context, session: Session, start: datetime, end: datetime, *,
                targets: Targets | None = None) -> dict[str, Any]:
    """Figures for the cases opened in [start, end) as they stand now (see the module docstring)."""
    t = targets or Targets()
    now = ctx.clock.now()
    cases = list(session.scalars(select(Escalation).where(Escalation.created_at >= start, Escalation.created_at < end)
                                 .order_by(Escalation.id)).all())
    refunds = list(session.scalars(select(Refund).where(Refund.requested_at >= start, Refund.requested_at < end)
                                   .order_by(Refund.id)).all())
    kinds = sorted({c.kind for c in cases})
    tl = _timelines(session, cases)
    breached = [c for c in cases if c.breached_at is not None or tl[c.id].breaches]
    disputes = _resolved([c for c in cases if c.kind in DISPUTE_KINDS], tl)
    complaints_first = _first_response([c for c in cases if c.kind in DISPUTE_KINDS], tl, now)
    refund_figures = _refunds(refunds, now)
    # Answers from the timeline (a "no" reopens, and a closed-again case is asked again), else the column.
    yes = sum(tl[c.id].satisfied or int(c.satisfied is True) for c in cases)
    no = sum(len(tl[c.id].reopened) or int(c.satisfied is False) for c in cases)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "as_of": now.isoformat(),
                   "tz": str(ctx.tz)},
        "targets": asdict(t),
        "cases": {
            "total": len(cases),
            "by_kind": {k: sum(1 for c in cases if c.kind == k) for k in kinds},
            "by_category": dict(sorted(Counter(c.category for c in cases if c.category).items())),
            "by_severity": dict(sorted(Counter(c.severity for c in cases).items())),
            "by_kind_severity": {k: dict(sorted(Counter(c.severity for c in cases if c.kind == k).items()))
                                 for k in kinds},
        },
        "first_response": _first_response(cases, tl, now),
        "first_response_by_kind": {k: _first_response([c for c in cases if c.kind == k], tl, now) for k in kinds},
        "close": _close(cases),
        "close_by_kind": {k: _close([c for c in cases if c.kind == k]) for k in kinds},
        "resolved": _resolved(cases, tl),
        "disputes": {**disputes, "target_share": t.disputes_resolved_share,
                     "met": None if disputes["share"] is None else disputes["share"] >= t.disputes_resolved_share},
        "handling": {"target_mean_hours": t.first_response_mean_hours,
                     "actual_mean_hours": complaints_first["mean_hours"],
                     "met": None if complaints_first["mean_hours"] is None
                     else complaints_first["mean_hours"] <= t.first_response_mean_hours},
        "refunds": {**refund_figures, "within_working_days": ctx.cases.refund_complete_days,
                    "target_share": t.refunds_in_time_share,
                    "met": None if refund_figures["share_in_time"] is None
                    else refund_figures["share_in_time"] >= t.refunds_in_time_share},
        "breaches": {"count": len(breached), "by_kind": dict(sorted(Counter(c.kind for c in breached).items())),
                     "events": sum(max(len(tl[c.id].breaches), c.breached_at is not None) for c in breached),
                     "acknowledged": sum(1 for c in breached if c.breach_acknowledged_at is not None)},
        "satisfaction": {"yes": yes, "no": no, "share_yes": _share(yes, yes + no),
                         "unanswered": sum(1 for c in cases if c.status == "closed" and c.satisfied is None)},
        "open": _open(session, end, now),
    }
