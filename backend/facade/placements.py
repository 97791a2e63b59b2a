"""Long-term placements (issue 12; backend/services/placements.py): request → shortlist → interviews →
choice → trial → contract → end, replacements and check-ins. Every method is one unit of work and
returns plain data; refusals are ``DomainError`` with a stable code.

CONTRACT (the dialogue layer codes against these signatures and view shapes; see docs/placements.md):

placement view: {"id", "client_id", "service", "status", "lang", "due_date", "start_date", "end_date",
  "term_days", "live_in", "days_per_week", "daily_hours", "requirements", "address", "city", "district",
  "unit", "unit_price", "price_estimate", "deposit", "settlement", "round", "housekeeper_id",
  "housekeeper" (first name or None), "booking_id", "trial_days", "trial_ends_on", "replaces_id",
  "end_reason"}   (dates ISO strings)
candidate card (what a client may see — no phone, no address): {"housekeeper_id", "candidate_id",
  "first_name", "age_band" (e.g. "40-49" or None), "experience_years", "certificates" [kinds],
  "badges" [identity|background|certified|insured], "rating", "survey_count", "languages", "state",
  "hold_expires_at", "reasons" {…}}
interview view: {"id", "placement_id", "housekeeper_id", "first_name", "at", "mode", "status"}

Returned extras: request_placement / more_candidates / end_trial / request_replacement add "asked" (how
many were asked); end_trial / request_replacement add "replacement" (the new placement view or None);
baby_arrived adds "moved" (False: the chosen housekeeper is not free for the new days — the dates stay,
managers are told); answer_placement_ask's "state" is "willing", "declined" or "excluded" (she is no
longer free for the term: the next candidate was asked). Money: a deposit is a Payment of kind "deposit"
against the term booking ("booking_id"), recorded with MoneyFacade.record_payment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.orm import Housekeeper, Interview, Placement, PlacementCandidate
from backend.services import DomainError, placement_asks, placements

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class PlacementsFacade:
    db: Database
    ctx: Context
    now: datetime

    def placement_terms(self, service: str) -> dict[str, Any]:
        """The catalogue's terms for a placement service: {"service", "unit", "price", "min_term_days",
        "default_term_days", "live_in" ("yes"|"no"|"either"), "days_per_week", "daily_hours",
        "days_off_per_month", "trial_days", "deposit", "settlement"}. DomainError not_a_placement."""
        return placements.terms(self.ctx, service)

    def placement_quote(self, service: str, start_date: date, term_days: int | None = None,
                        live_in: bool | None = None) -> dict[str, Any]:
        """The price shown before confirming: {"unit", "unit_price", "term_days", "end_date",
        "price_estimate", "deposit", "settlement", "trial_days"}. DomainError term_too_short /
        start_past / start_too_far / not_a_placement / live_in_not_offered."""
        return placements.quote(self.ctx, service, start_date, term_days, live_in)

    def placement_start_for_due(self, due_date: date) -> date:
        """月嫂: the start date for a due date (config placements.yaml due_date_offset_days)."""
        return placements.start_for_due(self.ctx, due_date)

    def request_placement(self, client_id: int, service: str, start_date: date | None, *, term_days: int | None = None,
                          due_date: date | None = None, live_in: bool | None = None,
                          requirements: dict[str, Any] | None = None, address: str | None = None,
                          district: str | None = None, request_key: str | None = None) -> dict[str, Any]:
        """Create the placement and its shortlist round 1 (candidates asked whether they are willing):
        the placement view plus "asked": n. A second call with the same request_key returns the first.
        ``start_date`` None with a ``due_date``: the start follows from the due date."""
        try:
            with self.db.uow() as s:
                pl, _created = placements.request(self.ctx, s, client_id, service, start_date, term_days=term_days,
                                                  due_date=due_date, live_in=live_in, requirements=requirements,
                                                  address=address, district=district, request_key=request_key)
                return {**placements.view(s, pl), "asked": placements.asked_count(s, pl)}
        except IntegrityError:
            if request_key is None:
                raise
            with self.db.uow() as s:  # a twin submission committed first: answer with its placement
                pl = s.scalar(select(Placement).where(Placement.request_key == request_key))
                if pl is None or pl.client_id != client_id:
                    raise
                return {**placements.view(s, pl), "asked": placements.asked_count(s, pl)}

    def client_placements(self, client_id: int, open_only: bool = True) -> list[dict[str, Any]]:
        with self.db.read() as s:
            q = select(Placement).where(Placement.client_id == client_id)
            if open_only:
                q = q.where(Placement.status.in_(("shortlisting", "interviewing", "trial", "active")))
            return [placements.view(s, pl) for pl in s.scalars(q.order_by(Placement.start_date, Placement.id))]

    def placement(self, placement_id: int) -> dict[str, Any] | None:
        with self.db.read() as s:
            pl = s.get(Placement, placement_id)
            return placements.view(s, pl) if pl is not None else None

    def shortlist(self, client_id: int, placement_id: int) -> list[dict[str, Any]]:
        """The willing, held candidates of the current round as candidate cards (best first)."""
        with self.db.read() as s:
            pl = s.get(Placement, placement_id)
            if pl is None or pl.client_id != client_id:
                raise DomainError("placement_not_found")
            return placement_asks.cards(self.ctx, s, pl)

    def placement_interviews(self, placement_id: int) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return [placements.interview_view(s, iv) for iv in s.scalars(
                select(Interview).where(Interview.placement_id == placement_id).order_by(Interview.at))]

    def schedule_interview(self, client_id: int, placement_id: int, housekeeper_id: int, at: datetime,
                           mode: str = "video") -> dict[str, Any]:
        """Interview view; both sides told, reminders armed. DomainError not_on_shortlist / time_past /
        interview_clash / interview_limit / invalid_mode / not_shortlisting. The same candidate again:
        her interview moves."""
        with self.db.uow() as s:
            iv = placements.schedule_interview(self.ctx, s, client_id, placement_id, housekeeper_id, at, mode)
            return placements.interview_view(s, iv)

    def choose_candidate(self, client_id: int, placement_id: int, housekeeper_id: int) -> dict[str, Any]:
        """She is the one: the term booking is made, the trial starts on the start date, the other
        candidates are released. DomainError not_on_shortlist / candidate_unavailable."""
        with self.db.uow() as s:
            return placements.view(s, placements.choose(self.ctx, s, client_id, placement_id, housekeeper_id))

    def more_candidates(self, client_id: int, placement_id: int) -> dict[str, Any]:
        """A new shortlist round without the candidates seen so far: the placement view plus "asked"."""
        with self.db.uow() as s:
            asked = placements.more_candidates(self.ctx, s, client_id, placement_id)
            return {**placements.view(s, s.get(Placement, placement_id)), "asked": asked}

    def _ended(self, s: Any, pl: Placement, nxt: Placement | None) -> dict[str, Any]:
        return {**placements.view(s, pl), "replacement": placements.view(s, nxt) if nxt else None,
                "asked": placements.asked_count(s, nxt) if nxt else 0}

    def end_trial(self, by_kind: str, by_id: int, placement_id: int, replace: bool = True,
                  reason: str | None = None) -> dict[str, Any]:
        """The client (by_kind "client") or the housekeeper ("housekeeper") ends the trial; with replace
        a new shortlist round starts (previous candidates excluded). DomainError not_in_trial."""
        with self.db.uow() as s:
            pl, nxt = placements.end_trial(self.ctx, s, by_kind, by_id, placement_id, replace, reason)
            return self._ended(s, pl, nxt)

    def request_replacement(self, client_id: int, placement_id: int, reason: str | None = None) -> dict[str, Any]:
        """During the contract: a replacement for the rest of the term (a new round; managers told)."""
        with self.db.uow() as s:
            pl, nxt = placements.request_replacement(self.ctx, s, client_id, placement_id, reason)
            return self._ended(s, pl, nxt)

    def extend_placement(self, client_id: int, placement_id: int, days: int) -> dict[str, Any]:
        """Extend the contract if she is free for the extra days. DomainError not_free / not_active."""
        with self.db.uow() as s:
            return placements.view(s, placements.extend(self.ctx, s, client_id, placement_id, days))

    def manager_extend_placement(self, manager_id: int, placement_id: int, days: int) -> dict[str, Any]:
        """A manager extends (the end reminder's 续约 button on the staff side)."""
        with self.db.uow() as s:
            return placements.view(s, placements.extend(self.ctx, s, None, placement_id, days,
                                                        actor=f"manager:{manager_id}"))

    def cancel_placement(self, client_id: int, placement_id: int) -> dict[str, Any]:
        """Before the term starts. DomainError placement_started / not_active."""
        with self.db.uow() as s:
            return placements.view(s, placements.cancel(self.ctx, s, client_id, placement_id))

    def baby_arrived(self, client_id: int, placement_id: int, on: date) -> dict[str, Any]:
        """月嫂: the baby came (early): the start moves to ``on`` (the term keeps its length)."""
        with self.db.uow() as s:
            pl, moved = placements.baby_arrived(self.ctx, s, client_id, placement_id, on)
            return {**placements.view(s, pl), "moved": moved}

    def answer_placement_ask(self, housekeeper_id: int, candidate_id: int, willing: bool) -> dict[str, Any]:
        """Her answer to "are you willing?": {"placement_id", "state", "hold_expires_at"}. DomainError
        ask_not_found / not_your_ask / ask_expired / ask_answered."""
        with self.db.uow() as s:
            c = placement_asks.answer(self.ctx, s, housekeeper_id, candidate_id, willing)
            return {"placement_id": c.placement_id, "state": c.state,
                    "hold_expires_at": c.hold_expires_at.isoformat() if c.hold_expires_at else None}

    def housekeeper_placements(self, housekeeper_id: int) -> list[dict[str, Any]]:
        """Open placements she is asked for, held for or placed in: the view (without the client's
        address until she is chosen) plus "state" and "candidate_id"."""
        with self.db.read() as s:
            out = []
            for pl, state in placements.housekeeper_placements(self.ctx, s, housekeeper_id):
                cand = s.scalar(select(PlacementCandidate).where(PlacementCandidate.placement_id == pl.id,
                                                                 PlacementCandidate.housekeeper_id == housekeeper_id))
                v = placements.view(s, pl)
                if state != "chosen":
                    v["address"] = None
                out.append({**v, "state": state, "candidate_id": cand.id if cand else None})
            return out

    def placement_candidates(self, placement_id: int) -> list[dict[str, Any]]:
        """Managers: every candidate of every round with state and reasons (excluded ones with why)."""
        with self.db.read() as s:
            names = dict(s.execute(select(Housekeeper.id, Housekeeper.name)).all())
            return [{"candidate_id": c.id, "housekeeper_id": c.housekeeper_id, "name": names.get(c.housekeeper_id, ""),
                     "round": c.round, "rank": c.rank, "score": c.score, "reasons": c.reasons, "state": c.state,
                     "ask_expires_at": c.ask_expires_at.isoformat() if c.ask_expires_at else None,
                     "hold_expires_at": c.hold_expires_at.isoformat() if c.hold_expires_at else None}
                    for c in s.scalars(select(PlacementCandidate).where(
                        PlacementCandidate.placement_id == placement_id)
                        .order_by(PlacementCandidate.round, PlacementCandidate.rank))]

    def open_placements(self) -> list[dict[str, Any]]:
        with self.db.read() as s:
            return [placements.view(s, pl) for pl in placements.open_placements(s)]
