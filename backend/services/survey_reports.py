"""Call-back survey figures for a period (``frontdesk report surveys``): the service standard's 回访, measured.

Read-only, and like the case report it prints no personal data: ids, codes, counts, scores and the
housekeepers' first names (how clients and staff know them), never a comment or a client.

Which rows count — the visits (bookings) *finished* in [start, end) (``Booking.finished_at``, by the
housekeeper or automatically), and their surveys as they stand now (one per visit; a placement's
periodic check-ins are further surveys of the same booking and count the same way):
- sent: the survey went out (``sent_at``); answered: all three scores given (``answered_at``), in the
  survey or typed unasked ("给赵阿姨打5分", source ``client``);
- a survey is *closed* when answered, expired, or still open past its ``closes_at``; one still open
  (sent, not yet answered, inside its 72 h) or not yet sent (scheduled: the delay or quiet hours) is
  left out of coverage, like a case not yet due; cancelled ones (the job was not finished after all)
  are left out altogether;
- **coverage** = answered / closed surveys — of the visits that were surveyed, the share whose client
  answered. Finished visits with no survey at all are shown as "not surveyed" (a gap to look into,
  not hidden inside the share);
- means per dimension and overall over answered surveys (overall: the mean of each survey's mean);
- **below 4.0**: answered surveys that ``ctx.surveys.needs_followup`` flags (any score below
  ``followup_below`` or the mean below ``followup_mean_below``); each one's follow-up case is *in time*
  when its first response came by its due time, *late* after it, *missed* when unanswered past it,
  *pending* when not yet due; *no case*: flagged without a follow-up case;
- per housekeeper: her visits, answered surveys, coverage and means in the period, and her running
  rating now (the figure matching uses, over all her surveys) with the number of surveys behind it;
- targets from ``config/surveys.yaml`` (coverage ≥ 0.9, mean ≥ 4.5); every survey below 4.0 is to be
  followed up in time.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.domain.contact import first_name  # the one rule for what is shown of a housekeeper's name
from backend.domain.surveys import DIMENSIONS, survey_mean
from backend.orm import Booking, Escalation, Housekeeper, Survey
from backend.services.reports import _first, _share, _timelines, durations

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.services import Context

OPEN = frozenset({"sent", "reminded"})
SURVEY_COLUMNS = (Survey.id, Survey.booking_id, Survey.housekeeper_id, Survey.status, Survey.source, Survey.sent_at,
                  Survey.reminded_at, Survey.closes_at, Survey.answered_at, Survey.followup_case_id,
                  *(getattr(Survey, d) for d in DIMENSIONS))
# What the case report's first-response rule reads of a case (not its encrypted detail).
CASE_COLUMNS = (Escalation.id, Escalation.first_response_at, Escalation.first_response_due_at)


@dataclass
class _Row:
    """One survey of a visit finished in the period, with what the report needs of it."""

    survey: Any  # a row of SURVEY_COLUMNS
    housekeeper_id: int | None
    scores: dict[str, int]

    @property
    def answered(self) -> bool:
        return self.survey.answered_at is not None

    def closed(self, now: datetime) -> bool:
        s = self.survey
        return self.answered or s.status == "expired" or (
            s.status in OPEN and s.closes_at is not None and s.closes_at <= now)


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _means(rows: list[_Row]) -> dict[str, Any]:
    answered = [r for r in rows if r.answered]
    out: dict[str, Any] = {d: _mean([r.scores[d] for r in answered if d in r.scores]) for d in DIMENSIONS}
    out["overall"] = _mean([m for r in answered if (m := survey_mean(r.scores)) is not None])
    out["count"] = len(answered)
    return out


def _coverage(rows: list[_Row], now: datetime) -> dict[str, Any]:
    closed = [r for r in rows if r.survey.status != "cancelled" and r.closed(now)]
    answered = sum(1 for r in closed if r.answered)
    return {"answered": answered, "closed": len(closed), "share": _share(answered, len(closed))}


def _scores(s: Any) -> dict[str, int]:
    return {d: v for d in DIMENSIONS if (v := getattr(s, d)) is not None}


def _followups(session: Session, below: list[_Row], now: datetime) -> dict[str, Any]:
    """How the flagged surveys' follow-up cases were answered (the case report's rules for "in time")."""
    ids = {r.survey.followup_case_id for r in below if r.survey.followup_case_id is not None}
    cases: dict[int, Any] = {}
    for chunk in [sorted(ids)[i:i + 500] for i in range(0, len(ids), 500)]:  # bounded IN lists
        cases.update({c.id: c for c in session.execute(select(*CASE_COLUMNS).where(Escalation.id.in_(chunk)))})
    tl = _timelines(session, list(cases.values()))
    out = Counter({"in_time": 0, "late": 0, "missed": 0, "pending": 0, "no_case": 0})
    for r in below:
        c = cases.get(r.survey.followup_case_id or 0)
        if c is None:
            out["no_case"] += 1
            continue
        at, in_time = _first(c, tl[c.id])
        if at is not None:
            out["in_time" if in_time else "late"] += 1
        elif tl[c.id].breaches or (c.first_response_due_at is not None and c.first_response_due_at < now):
            out["missed"] += 1
        else:
            out["pending"] += 1
    measured = out["in_time"] + out["late"] + out["missed"] + out["no_case"]
    share = _share(out["in_time"], measured)
    return {"followed_up_in_time": out["in_time"], "late": out["late"], "missed": out["missed"],
            "pending": out["pending"], "no_case": out["no_case"], "share_in_time": share,
            "met": None if share is None else share >= 1.0}


def survey_report(ctx: Context, session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Figures for the visits finished in [start, end) and their surveys as they stand now (module docstring)."""
    p = ctx.surveys
    now = ctx.clock.now()
    visits = session.execute(select(Booking.id, Booking.housekeeper_id, Booking.finished_by).where(
        Booking.finished_at >= start, Booking.finished_at < end)).all()
    by_visit = {v.id: v for v in visits}
    # Only the columns the figures need: the comment is encrypted, and decrypting it is most of the cost.
    surveys = session.execute(select(*SURVEY_COLUMNS).join(Booking, Survey.booking_id == Booking.id).where(
        Booking.finished_at >= start, Booking.finished_at < end).order_by(Survey.id)).all()
    rows = [_Row(s, by_visit[s.booking_id].housekeeper_id if s.booking_id in by_visit else s.housekeeper_id,
                 _scores(s)) for s in surveys]
    live = [r for r in rows if r.survey.status != "cancelled"]
    sent_or_answered = {r.survey.booking_id for r in live if r.survey.sent_at is not None or r.answered}
    surveyed_any = {r.survey.booking_id for r in live}
    answered = [r for r in live if r.answered]
    below = [r for r in answered if p.needs_followup(r.scores)]
    means, coverage = _means(live), _coverage(live, now)
    answer_hours = [(r.survey.answered_at - r.survey.sent_at).total_seconds() / 3600 for r in answered
                    if r.survey.sent_at is not None and r.survey.answered_at is not None
                    and r.survey.answered_at >= r.survey.sent_at]

    # Per housekeeper: everyone who finished a visit in the period.
    hk_ids = sorted({v.housekeeper_id for v in visits if v.housekeeper_id is not None})
    people = {h.id: h for h in session.execute(select(
        Housekeeper.id, Housekeeper.code, Housekeeper.name, Housekeeper.rating, Housekeeper.roster_rating,
        Housekeeper.survey_count).where(Housekeeper.id.in_(hk_ids)))} if hk_ids else {}  # not her phone
    per_rows: dict[int | None, list[_Row]] = defaultdict(list)
    for r in live:
        per_rows[r.housekeeper_id].append(r)
    finished_by_hk = Counter(v.housekeeper_id for v in visits)
    housekeepers = []
    for hk_id in sorted(hk_ids, key=lambda i: people[i].code if i in people else str(i)):
        h, mine = people.get(hk_id), per_rows.get(hk_id, [])
        m, cov = _means(mine), _coverage(mine, now)
        housekeepers.append({
            "id": hk_id, "code": h.code if h else None, "name": first_name(h.name if h else None) or "-",
            "visits": finished_by_hk[hk_id], "answered": m["count"], "coverage": cov["share"],
            **{d: m[d] for d in DIMENSIONS}, "overall": m["overall"],
            "below": sum(1 for r in mine if r.answered and p.needs_followup(r.scores)),
            "rating": None if h is None else h.rating, "survey_count": None if h is None else h.survey_count,
            "roster_rating": None if h is None else h.roster_rating,
        })

    status = Counter(r.survey.status for r in rows)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "as_of": now.astimezone(ctx.tz).isoformat(),
                   "tz": str(ctx.tz)},
        "targets": {"coverage": p.coverage_target, "mean": p.mean_target,
                    "followup_below": p.followup_below, "followup_mean_below": p.followup_mean_below},
        "visits": {"finished": len(visits),
                   "by_finished_by": dict(sorted(Counter(v.finished_by or "unknown" for v in visits).items())),
                   "surveyed": len(sent_or_answered),
                   "waiting_to_send": len(surveyed_any - sent_or_answered),
                   "not_surveyed": len(set(by_visit) - surveyed_any)},
        "surveys": {"total": len(live), "by_status": dict(sorted(status.items())),
                    "sent": sum(1 for r in live if r.survey.sent_at is not None),
                    "reminded": sum(1 for r in live if r.survey.reminded_at is not None),
                    "answered": len(answered),
                    "unasked": sum(1 for r in answered if r.survey.source == "client"),
                    "expired": sum(1 for r in live if not r.answered and r.closed(now)),
                    "awaiting": sum(1 for r in live if not r.answered and not r.closed(now)
                                    and r.survey.status in OPEN),
                    "answer_hours": durations(answer_hours)},
        "coverage": {**coverage, "target": p.coverage_target,
                     "met": None if coverage["share"] is None else coverage["share"] >= p.coverage_target},
        "means": {**means, "target": p.mean_target,
                  "met": None if means["overall"] is None else means["overall"] >= p.mean_target},
        "below": {"count": len(below), "answered": len(answered), "share": _share(len(below), len(answered)),
                  **_followups(session, below, now)},
        "housekeepers": housekeepers,
    }
