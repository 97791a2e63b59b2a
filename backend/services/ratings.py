"""A housekeeper's running rating: her roster rating as the prior, moved by every answered survey."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.surveys import DIMENSIONS, running_rating, survey_mean
from backend.orm import Housekeeper, Survey
from backend.services import Context


def _answered(session: Session, housekeeper_id: int) -> list[Survey]:
    return list(session.scalars(select(Survey).where(Survey.housekeeper_id == housekeeper_id,
                                                     Survey.answered_at.is_not(None))))


def recompute(ctx: Context, session: Session, housekeeper_id: int) -> Housekeeper | None:
    """Set ``rating`` (what matching uses) and ``survey_count`` from the answered surveys."""
    hk = session.get(Housekeeper, housekeeper_id)
    if hk is None:
        return None
    means = [m for s in _answered(session, housekeeper_id)
             if (m := survey_mean({d: getattr(s, d) for d in DIMENSIONS})) is not None]
    hk.rating = round(running_rating(hk.roster_rating, ctx.surveys.rating_prior_weight, means), 3)
    hk.survey_count = len(means)
    return hk


def dimension_means(session: Session, housekeeper_id: int) -> dict[str, float | None]:
    """Her mean per dimension over answered surveys (None without any)."""
    rows = _answered(session, housekeeper_id)
    out: dict[str, float | None] = {}
    for d in DIMENSIONS:
        vals = [getattr(s, d) for s in rows if getattr(s, d) is not None]
        out[d] = round(sum(vals) / len(vals), 2) if vals else None
    return out


def set_roster_rating(ctx: Context, session: Session, hk: Housekeeper, value: float) -> None:
    """A roster import's rating is the prior, never the running figure: the surveys keep counting."""
    hk.roster_rating = float(value)
    session.flush()
    recompute(ctx, session, hk.id)


def all_dimension_means(session: Session) -> dict[int, dict[str, float | None]]:
    """Every housekeeper's means per dimension in one query (for the managers' overview)."""
    sums: dict[int, dict[str, list[int]]] = {}
    for row in session.execute(select(Survey.housekeeper_id, *(getattr(Survey, d) for d in DIMENSIONS))
                               .where(Survey.answered_at.is_not(None), Survey.housekeeper_id.is_not(None))):
        per = sums.setdefault(row[0], {d: [] for d in DIMENSIONS})
        for d, v in zip(DIMENSIONS, row[1:], strict=True):
            if v is not None:
                per[d].append(v)
    return {hk: {d: round(sum(v) / len(v), 2) if v else None for d, v in per.items()} for hk, per in sums.items()}
