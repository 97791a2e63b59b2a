"""Pure domain rules: the state machine, availability and ranking."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.domain.availability import Schedule, unavailable_reason
from backend.domain.booking_state import IllegalTransition, transition
from backend.domain.matching import Candidate, rank

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 19, 10, 0, tzinfo=TZ)  # a Thursday
END = START + timedelta(hours=3)


@pytest.mark.parametrize(("a", "b"), [("requested", "offered"), ("offered", "confirmed"), ("confirmed", "in_progress"),
                                      ("in_progress", "completed"), ("offered", "unassigned"),
                                      ("unassigned", "offered"), ("confirmed", "cancelled")])
def test_legal_transitions(a: str, b: str) -> None:
    assert transition(1, a, b) == b


@pytest.mark.parametrize(("a", "b"), [("completed", "cancelled"), ("cancelled", "confirmed"),
                                      ("requested", "completed"), ("in_progress", "cancelled"),
                                      ("confirmed", "completed")])
def test_illegal_transitions_raise_a_clear_error(a: str, b: str) -> None:
    with pytest.raises(IllegalTransition, match=f"booking 7: cannot go from {a} to {b}"):
        transition(7, a, b)


def schedule(**kw) -> Schedule:
    base = dict(skills=frozenset({"cleaning"}), certificates={"health": date(2027, 1, 1)},
                working_hours={3: [(8 * 60, 18 * 60)]}, time_off=[], jobs=[], active=True)
    return Schedule(**{**base, **kw})


def why(s: Schedule, start: datetime = START, end: datetime = END) -> str | None:
    return unavailable_reason(s, "cleaning", ["health"], start, end, timedelta(minutes=30))


def test_free_when_every_rule_holds() -> None:
    assert why(schedule()) is None


@pytest.mark.parametrize(("kw", "reason"), [
    ({"skills": frozenset({"nanny"})}, "skill"),
    ({"certificates": {}}, "certificate:health"),
    ({"certificates": {"health": date(2026, 11, 18)}}, "certificate:health"),  # expired the day before
    ({"working_hours": {3: [(12 * 60, 18 * 60)]}}, "hours"),
    ({"working_hours": {4: [(8 * 60, 18 * 60)]}}, "hours"),  # works Fridays only
    ({"time_off": [(START - timedelta(hours=1), START + timedelta(hours=1))]}, "time_off"),
    ({"jobs": [(END + timedelta(minutes=20), END + timedelta(hours=2))]}, "busy"),  # inside the travel buffer
    ({"active": False}, "inactive"),
])
def test_each_reason_to_be_unavailable(kw: dict, reason: str) -> None:
    assert why(schedule(**kw)) == reason


def test_a_job_after_the_buffer_is_fine() -> None:
    assert why(schedule(jobs=[(END + timedelta(minutes=30), END + timedelta(hours=2))])) is None


def test_ranking_is_explained_and_prefers_continuity_language_and_fairness() -> None:
    cands = [Candidate(1, 4.8, frozenset({"zh"}), frozenset({"朝阳"}), 5),
             Candidate(2, 4.5, frozenset({"zh", "en"}), frozenset({"朝阳"}), 0),
             Candidate(3, 4.9, frozenset({"zh"}), frozenset({"浦东"}), 2)]
    ranked = rank(cands, "en", "朝阳", last_housekeeper_id=None)
    assert ranked[0].housekeeper_id == 2
    assert set(ranked[0].reasons) == {"rating", "continuity", "language", "district", "fairness"}
    assert ranked[0].score == pytest.approx(sum(ranked[0].reasons.values()), abs=1e-3)
    assert rank(cands, "zh", "浦东", last_housekeeper_id=1)[0].housekeeper_id == 1  # same as last time wins
