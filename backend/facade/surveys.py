"""Call-back surveys (回访) and housekeepers' running ratings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.orm import Client, Housekeeper
from backend.services import DomainError, ratings, survey_reports, surveys

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class SurveysFacade:
    db: Database
    ctx: Context
    now: datetime

    # --- the client's answers (dialogs/actions/surveys.py) ------------------------------------------
    def open_survey(self, client_id: int) -> dict[str, Any] | None:
        """The survey awaiting this client's answer (sent or reminded, latest first), or None."""
        with self.db.uow() as s:
            sv = surveys.awaiting(s, client_id)
            return surveys.view(self.ctx, s, sv) if sv is not None else None

    def survey(self, client_id: int, survey_id: int) -> dict[str, Any]:
        """One of the client's surveys (any status); another client's → DomainError survey_not_found."""
        with self.db.uow() as s:
            return surveys.view(self.ctx, s, surveys.client_survey(s, client_id, survey_id))

    def answer_survey(self, client_id: int, survey_id: int, scores: dict[str, int] | None = None,
                      comment: str | None = None, skip_comment: bool = False) -> dict[str, Any]:
        """Merge scores (1–5; DomainError invalid_score) and a comment; ``step`` says what to ask next
        (a dimension, "comment", or None when done). A low score opens one follow-up case."""
        with self.db.uow() as s:
            sv = surveys.answer(self.ctx, s, client_id, survey_id, scores, comment, skip_comment)
            return surveys.view(self.ctx, s, sv)

    def client_feedback(self, client_id: int, booking_id: int, scores: dict[str, int] | None,
                        comment: str | None = None) -> dict[str, Any]:
        """Scores typed outside a survey ("给赵阿姨打5分"), attached to that visit's survey.
        DomainError booking_not_found / not_finished / invalid_score."""
        with self.db.uow() as s:
            return surveys.view(self.ctx, s, surveys.feedback(self.ctx, s, client_id, booking_id, scores, comment))

    def feedback_bookings(self, client_id: int, days: int = 30) -> list[dict[str, Any]]:
        """The client's finished visits of the last ``days``, newest first: {"booking_id", "service",
        "starts_at", "housekeeper_id", "housekeeper_name", "survey_id", "survey_status"}."""
        with self.db.uow() as s:
            return [surveys.booking_choice(s, b) for b in surveys.finished_bookings(self.ctx, s, client_id, days)]

    def housekeeper_by_name(self, client_id: int, name: str, days: int = 60) -> list[dict[str, Any]]:
        """The client's recent finished visits by a housekeeper called ``name`` ("赵阿姨", "Alex")."""
        with self.db.uow() as s:
            out = []
            for b in surveys.finished_bookings(self.ctx, s, client_id, days):
                hk = s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
                if hk is not None and surveys.name_matches(name, hk.name):
                    out.append(surveys.booking_choice(s, b))
            return out

    def never_again(self, client_id: int, housekeeper_id: int) -> dict[str, list[dict[str, Any]]]:
        """Never send her to this client again (matching excludes her). DomainError not_your_housekeeper."""
        with self.db.uow() as s:
            return surveys.lists(s, surveys.set_preference(self.ctx, s, client_id, housekeeper_id, "never_again"))

    def prefer(self, client_id: int, housekeeper_id: int) -> dict[str, list[dict[str, Any]]]:
        """Ask for her again (a matching bonus). DomainError not_your_housekeeper."""
        with self.db.uow() as s:
            return surveys.lists(s, surveys.set_preference(self.ctx, s, client_id, housekeeper_id, "preferred"))

    def housekeeper_lists(self, client_id: int) -> dict[str, list[dict[str, Any]]]:
        with self.db.uow() as s:
            c = s.get(Client, client_id)
            if c is None:
                raise DomainError("client_not_found")
            return surveys.lists(s, c)

    # --- ratings (staff desk, reports) ----------------------------------------------------------------
    def housekeeper_ratings(self, housekeeper_id: int) -> dict[str, Any]:
        """Her running rating, the roster's prior, how many surveys moved it and her means per dimension."""
        with self.db.uow() as s:
            hk = s.get(Housekeeper, housekeeper_id)
            if hk is None:
                raise DomainError("housekeeper_not_found")
            return {"rating": round(hk.rating, 2), "roster_rating": hk.roster_rating, "count": hk.survey_count,
                    **ratings.dimension_means(s, housekeeper_id)}

    def ratings_overview(self) -> list[dict[str, Any]]:
        """Every active housekeeper, best running rating first: {"id","code","name","rating",
        "roster_rating","count","attitude","skill","result"}."""
        with self.db.uow() as s:
            means = ratings.all_dimension_means(s)
            empty = {d: None for d in ("attitude", "skill", "result")}
            rows = [{"id": h.id, "code": h.code, "name": h.name, "rating": round(h.rating, 2),
                     "roster_rating": h.roster_rating, "count": h.survey_count, **means.get(h.id, empty)}
                    for h in s.scalars(select(Housekeeper).where(Housekeeper.active.is_(True),
                                                                 Housekeeper.status != "deactivated"))]
            return sorted(rows, key=lambda r: (-r["rating"], -r["count"], r["code"]))

    def survey_followups(self) -> list[dict[str, Any]]:
        """Open follow-up cases for managers (/surveys), the soonest due first."""
        with self.db.uow() as s:
            out = []
            for esc, sv in surveys.open_followups(s):
                hk = s.get(Housekeeper, sv.housekeeper_id) if sv and sv.housekeeper_id else None
                out.append({"case_id": esc.id, "status": esc.status, "booking_id": esc.booking_id,
                            "client_id": esc.client_id, "survey_id": sv.id if sv else None,
                            "scores": surveys.scores_of(sv) if sv else (esc.detail or {}).get("scores", {}),
                            "comment": sv.comment if sv else None, "housekeeper": hk.name if hk else None,
                            "housekeeper_code": hk.code if hk else None,
                            "due_at": surveys.iso(esc.first_response_due_at),
                            "breached": esc.breached_at is not None})
            return out

    def survey_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Figures for the visits finished in [start, end): coverage, means, below 4.0 and follow-ups."""
        with self.db.read() as s:
            return survey_reports.survey_report(self.ctx, s, start, end)
