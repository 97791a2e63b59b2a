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
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

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
        raise NotImplementedError

    def placement_quote(self, service: str, start_date: date, term_days: int | None = None,
                        live_in: bool | None = None) -> dict[str, Any]:
        """The price shown before confirming: {"unit", "unit_price", "term_days", "end_date",
        "price_estimate", "deposit", "settlement", "trial_days"}. DomainError term_too_short /
        start_past / start_too_far / not_a_placement."""
        raise NotImplementedError

    def request_placement(self, client_id: int, service: str, start_date: date, *, term_days: int | None = None,
                          due_date: date | None = None, live_in: bool | None = None,
                          requirements: dict[str, Any] | None = None, address: str | None = None,
                          district: str | None = None, request_key: str | None = None) -> dict[str, Any]:
        """Create the placement and its shortlist round 1 (candidates asked whether they are willing):
        the placement view plus "asked": n. A second call with the same request_key returns the first."""
        raise NotImplementedError

    def client_placements(self, client_id: int, open_only: bool = True) -> list[dict[str, Any]]:
        raise NotImplementedError

    def placement(self, placement_id: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def shortlist(self, client_id: int, placement_id: int) -> list[dict[str, Any]]:
        """The willing, held candidates of the current round as candidate cards (best first)."""
        raise NotImplementedError

    def schedule_interview(self, client_id: int, placement_id: int, housekeeper_id: int, at: datetime,
                           mode: str = "video") -> dict[str, Any]:
        """Interview view; both sides told, reminders armed. DomainError not_on_shortlist / time_past /
        interview_clash."""
        raise NotImplementedError

    def choose_candidate(self, client_id: int, placement_id: int, housekeeper_id: int) -> dict[str, Any]:
        """She is the one: the term booking is made, the trial starts on the start date, the other
        candidates are released. DomainError not_on_shortlist / candidate_unavailable."""
        raise NotImplementedError

    def more_candidates(self, client_id: int, placement_id: int) -> dict[str, Any]:
        """A new shortlist round without the candidates seen so far: the placement view plus "asked"."""
        raise NotImplementedError

    def end_trial(self, by_kind: str, by_id: int, placement_id: int, replace: bool = True,
                  reason: str | None = None) -> dict[str, Any]:
        """The client (by_kind "client") or the housekeeper ("housekeeper") ends the trial; with replace
        a new shortlist round starts (previous candidates excluded). DomainError not_in_trial."""
        raise NotImplementedError

    def request_replacement(self, client_id: int, placement_id: int, reason: str | None = None) -> dict[str, Any]:
        """During the contract: a replacement for the rest of the term (a new round; managers told)."""
        raise NotImplementedError

    def extend_placement(self, client_id: int, placement_id: int, days: int) -> dict[str, Any]:
        """Extend the contract if she is free for the extra days. DomainError not_free / not_active."""
        raise NotImplementedError

    def cancel_placement(self, client_id: int, placement_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def baby_arrived(self, client_id: int, placement_id: int, on: date) -> dict[str, Any]:
        """月嫂: the baby came (early): the start moves to ``on`` (the term keeps its length)."""
        raise NotImplementedError

    def answer_placement_ask(self, housekeeper_id: int, candidate_id: int, willing: bool) -> dict[str, Any]:
        """Her answer to "are you willing?": {"placement_id", "state", "hold_expires_at"}. DomainError
        ask_not_found / not_your_ask / ask_expired / ask_answered."""
        raise NotImplementedError

    def housekeeper_placements(self, housekeeper_id: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def placement_candidates(self, placement_id: int) -> list[dict[str, Any]]:
        """Managers: every candidate of every round with state and reasons (excluded ones with why)."""
        raise NotImplementedError

    def open_placements(self) -> list[dict[str, Any]]:
        raise NotImplementedError
