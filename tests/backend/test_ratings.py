"""Running ratings: the roster rating as a prior moved by answered surveys, what managers and the
housekeeper see, and the matching ranking it changes (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.domain.surveys import running_rating
from backend.orm import Housekeeper
from backend.services import ratings
from tests.backend.test_surveys import at, booked, surveyed, tick_to


def hk_row(be: Backend, hk: int) -> tuple[float, float, int]:
    with be.db.read() as s:
        h = s.get(Housekeeper, hk)
        return h.rating, h.roster_rating, h.survey_count


def test_the_rating_moves_with_answered_surveys_only(be: Backend) -> None:
    cid, _bid, hk, sid = surveyed(be, "r-a")
    rating0, prior, count0 = hk_row(be, hk)
    assert rating0 == prior and count0 == 0
    be.answer_survey(cid, sid, {"attitude": 2, "skill": 2})  # not answered yet: no change
    assert hk_row(be, hk)[0] == prior
    be.answer_survey(cid, sid, {"result": 5})
    want = round(running_rating(prior, be.ctx.surveys.rating_prior_weight, [3.0]), 3)
    assert hk_row(be, hk) == (want, prior, 1)
    be.answer_survey(cid, sid, {"attitude": 5, "skill": 5})  # re-answered: recomputed, still one survey
    assert hk_row(be, hk) == (round(running_rating(prior, 5, [5.0]), 3), prior, 1)
    r = be.housekeeper_ratings(hk)
    assert r == {"rating": round(hk_row(be, hk)[0], 2), "roster_rating": prior, "count": 1,
                 "attitude": 5.0, "skill": 5.0, "result": 5.0}


def test_expired_surveys_do_not_count(be: Backend) -> None:
    _cid, _bid, hk, _sid = surveyed(be, "r-b")
    prior = hk_row(be, hk)[1]
    tick_to(be, at(22, 14))
    assert hk_row(be, hk) == (prior, prior, 0)
    assert be.housekeeper_ratings(hk)["attitude"] is None


def test_roster_rating_is_the_prior_and_survey_counts_survive_it(be: Backend) -> None:
    cid, _bid, hk, sid = surveyed(be, "r-c")
    be.answer_survey(cid, sid, {"attitude": 5, "skill": 5, "result": 5})
    with be.db.uow() as s:  # what a roster re-import does (backend/services/staff.py)
        ratings.set_roster_rating(be.ctx, s, s.get(Housekeeper, hk), 4.0)
    assert hk_row(be, hk) == (round(running_rating(4.0, 5, [5.0]), 3), 4.0, 1)


def test_overview_ranks_every_active_housekeeper_and_changes_with_surveys(be: Backend) -> None:
    before = be.ratings_overview()
    assert len(before) == 32 and [r["rating"] for r in before] == sorted((r["rating"] for r in before), reverse=True)
    assert set(before[0]) == {"id", "code", "name", "rating", "roster_rating", "count", "attitude", "skill",
                              "result"}
    cid, _bid, hk, sid = surveyed(be, "r-d")
    pos = [r["id"] for r in be.ratings_overview()].index(hk)
    be.answer_survey(cid, sid, {"attitude": 1, "skill": 1, "result": 1})
    after = be.ratings_overview()
    mine = next(r for r in after if r["id"] == hk)
    assert [r["id"] for r in after].index(hk) > pos
    assert (mine["count"], mine["attitude"], mine["skill"], mine["result"]) == (1, 1.0, 1.0, 1.0)
    be.deactivate_staff(mine["code"])
    assert hk not in [r["id"] for r in be.ratings_overview()]
    with pytest.raises(DomainError, match="housekeeper_not_found"):
        be.housekeeper_ratings(999999)


def test_a_poor_survey_lowers_her_place_in_the_next_bookings_ranking(be: Backend) -> None:
    cid, bid, hk = booked(be, "r-e", at(19, 10))
    probe = be.client_for("rest", "r-e-probe", "zh")
    req = Request("cleaning", at(26, 10), hours=2, address="朝阳区建国路88号", district="朝阳")
    b1 = be.book(probe.id, req)
    rank1 = {c["housekeeper_id"]: c for c in be.candidates(b1["id"])}
    be.cancel(probe.id, b1["id"])
    be.ctx.clock.set(at(19, 10))
    be.arrive(hk, bid)
    be.ctx.clock.set(at(19, 12))
    be.finish(hk, bid)
    tick_to(be, at(19, 14))
    sid = be.open_survey(cid)["id"]
    be.ctx.surveys = type(be.ctx.surveys)(**{**be.ctx.surveys.__dict__, "rating_prior_weight": 1.0})
    be.answer_survey(cid, sid, {"attitude": 1, "skill": 1, "result": 1})
    probe2 = be.client_for("rest", "r-e-probe2", "zh")
    b2 = be.book(probe2.id, req)
    rank2 = {c["housekeeper_id"]: c for c in be.candidates(b2["id"])}
    assert rank2[hk]["reasons"]["rating"] < rank1[hk]["reasons"]["rating"]
    assert rank2[hk]["rank"] > rank1[hk]["rank"]
    with be.db.read() as s:
        assert s.scalar(select(Housekeeper.rating).where(Housekeeper.id == hk)) == pytest.approx(
            running_rating(hk_row(be, hk)[1], 1.0, [1.0]), abs=1e-3)


def test_survey_policy_takes_zero_durations_and_refuses_negative_ones() -> None:
    from datetime import timedelta

    import pytest

    from backend.domain.surveys import SurveyPolicy

    p = SurveyPolicy.from_dict({"delay": "0m", "auto_finish_grace": 0})
    assert p.delay == timedelta(0) and p.auto_finish_grace == timedelta(0)  # not the 2 h / 1 h defaults
    assert SurveyPolicy.from_dict({}).delay == timedelta(hours=2)
    with pytest.raises(ValueError, match="delay must not be negative"):
        SurveyPolicy.from_dict({"delay": "-1h"})
