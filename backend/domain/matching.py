"""Ranking free housekeepers: a weighted score whose parts are kept as reasons for managers."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from backend.domain.area import ServiceArea
from backend.domain.places import canonical_district, city_of_district

WEIGHTS = {"rating": 0.40, "continuity": 0.25, "language": 0.15, "district": 0.10, "fairness": 0.10}
# A bonus on top of the five weights (which still sum to 1): the client asked for her again (下次还请这位阿姨).
# It is larger than continuity so an explicit wish beats "same as last time", yet a score, not an
# override: she must still be free and meet the profile's hard needs. Named apart from the rework's
# "preferred" reason (a forced first place) so the two stay distinguishable in /candidates.
PREFERRED_BONUS = ("client_preferred", 0.30)


class Candidate(NamedTuple):  # a tuple: hundreds are built per booking on a big roster
    housekeeper_id: int
    rating: float  # 0–5
    languages: frozenset[str]
    districts: frozenset[str]
    recent_jobs: int  # confirmed jobs in the last 7 days
    city: str | None = None  # canonical (北京市); None: she works in any city the company serves


class Ranked(NamedTuple):  # a tuple: a big roster ranks hundreds per booking, and a frozen dataclass is slow to build
    housekeeper_id: int
    score: float
    reasons: dict[str, float]


@lru_cache(maxsize=4096)
def _canonical(city: str | None, districts: frozenset[str]) -> frozenset[str]:
    # Pure (the place tables never change in a process), and a roster repeats the same few cities and
    # district lists: a big ranking looks each one up once, not once per housekeeper.
    return frozenset(str(canonical_district(city, d)) for d in districts)


@lru_cache(maxsize=4096)
def _canonical_one(city: str | None, district: str) -> str:
    return str(canonical_district(city, district))


def home_districts(c: Candidate) -> frozenset[str]:
    """Her districts by their canonical names (a roster or an older row may say 朝阳 or Chaoyang)."""
    return _canonical(c.city, c.districts)


def district_score(c: Candidate, district: str | None, adjacent: frozenset[str] = frozenset()) -> float:
    """1.0 in the job's district, 0.5 in a district next to it (config/service_area.yaml), else 0."""
    if not district:
        return 0.0
    mine = home_districts(c)
    canon = _canonical_one(c.city, district)
    return 1.0 if canon in mine else 0.5 if mine & adjacent else 0.0


def area_problem(area: ServiceArea, c: Candidate, city: str | None, district: str | None) -> str | None:
    """Why she may not take a job in ``city``/``district``: "city" (she works in another city — hard), or
    "district" (her roster row names her city and lists districts, and the job is in none of them nor
    next to one — hard); else None. Her city when unset: the company's only city, or any city when it
    serves several; a roster row without a city keeps its districts as a preference (the score only),
    as rosters did before the city column."""
    mine = c.city or area.only_city
    if city and mine and city != mine:
        return "city"
    if district and c.districts and c.city:
        canon = str(canonical_district(city, district))
        home = home_districts(c)
        city = city or city_of_district(canon)
        if canon not in home and not any(area.near(city, canon, d) for d in home):
            return "district"
    return None


def by_area(area: ServiceArea, candidates: list[Candidate], city: str | None,
            district: str | None) -> tuple[list[Candidate], dict[int, str]]:
    """The candidates who may take a job there, and the others by id with the reason (city, district)."""
    kept, away = [], {}
    for c in candidates:
        problem = area_problem(area, c, city, district)
        if problem is None:
            kept.append(c)
        else:
            away[c.housekeeper_id] = problem
    return kept, away


def adjacent_to(area: ServiceArea, city: str | None, district: str | None) -> frozenset[str]:
    canon = canonical_district(city, district) if district else None
    return area.next_to(city or city_of_district(canon), canon)


def rank(candidates: list[Candidate], client_language: str, district: str | None,
         last_housekeeper_id: int | None, preferred: frozenset[int] = frozenset(), *,
         adjacent: frozenset[str] = frozenset()) -> list[Ranked]:
    """``preferred``: the client's ask-for-her-again list; those get the bonus, shown as its own reason.
    ``adjacent``: the districts next to the job's (they score half the district weight)."""
    busiest = max((c.recent_jobs for c in candidates), default=0) or 1
    w = WEIGHTS
    # Each part's possible values, rounded once (not per housekeeper): continuity, language and district
    # take two or three values, and the reasons must be the same floats as before (rounded to 4 places).
    continuity = (round(w["continuity"] * 0.0, 4), round(w["continuity"] * 1.0, 4))
    language = (round(w["language"] * 0.0, 4), round(w["language"] * 1.0, 4))
    districts = {s: round(w["district"] * s, 4) for s in (0.0, 0.5, 1.0)}
    rating_w, fairness_w = w["rating"], w["fairness"]
    bonus_name, bonus = PREFERRED_BONUS
    out = []
    for c in candidates:  # a literal dict, not a comprehension over parts: hundreds are ranked per booking
        hk_id = c.housekeeper_id
        reasons = {
            "rating": round(rating_w * (min(max(c.rating, 0.0), 5.0) / 5.0), 4),
            "continuity": continuity[hk_id == last_housekeeper_id],
            "language": language[client_language in c.languages],
            "district": districts[district_score(c, district, adjacent)],
            "fairness": round(fairness_w * (1.0 - c.recent_jobs / busiest), 4),
        }
        if hk_id in preferred:
            reasons[bonus_name] = bonus
        out.append(Ranked(hk_id, round(sum(reasons.values()), 4), reasons))
    # Ties go to the lower id so a ranking is reproducible.
    return sorted(out, key=lambda r: (-r.score, r.housekeeper_id))
