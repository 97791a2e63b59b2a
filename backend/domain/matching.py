"""Ranking free housekeepers: a weighted score whose parts are kept as reasons for managers."""

from __future__ import annotations

from dataclasses import dataclass, field

WEIGHTS = {"rating": 0.40, "continuity": 0.25, "language": 0.15, "district": 0.10, "fairness": 0.10}
# A bonus on top of the five weights (which still sum to 1): the client asked for her again (下次还请这位阿姨).
# It is larger than continuity so an explicit wish beats "same as last time", yet a score, not an
# override: she must still be free and meet the profile's hard needs. Named apart from the rework's
# "preferred" reason (a forced first place) so the two stay distinguishable in /candidates.
PREFERRED_BONUS = ("client_preferred", 0.30)


@dataclass(frozen=True)
class Candidate:
    housekeeper_id: int
    rating: float  # 0–5
    languages: frozenset[str]
    districts: frozenset[str]
    recent_jobs: int  # confirmed jobs in the last 7 days


@dataclass(frozen=True)
class Ranked:
    housekeeper_id: int
    score: float
    reasons: dict[str, float] = field(default_factory=dict)


def rank(candidates: list[Candidate], client_language: str, district: str | None,
         last_housekeeper_id: int | None, preferred: frozenset[int] = frozenset()) -> list[Ranked]:
    """``preferred``: the client's ask-for-her-again list; those get the bonus, shown as its own reason."""
    busiest = max((c.recent_jobs for c in candidates), default=0) or 1
    out = []
    for c in candidates:
        parts = {
            "rating": min(max(c.rating, 0.0), 5.0) / 5.0,
            "continuity": 1.0 if c.housekeeper_id == last_housekeeper_id else 0.0,
            "language": 1.0 if client_language in c.languages else 0.0,
            "district": 1.0 if district and district in c.districts else 0.0,
            "fairness": 1.0 - c.recent_jobs / busiest,
        }
        reasons = {k: round(WEIGHTS[k] * v, 4) for k, v in parts.items()}
        if c.housekeeper_id in preferred:
            reasons[PREFERRED_BONUS[0]] = PREFERRED_BONUS[1]
        out.append(Ranked(c.housekeeper_id, round(sum(reasons.values()), 4), reasons))
    # Ties go to the lower id so a ranking is reproducible.
    return sorted(out, key=lambda r: (-r.score, r.housekeeper_id))
