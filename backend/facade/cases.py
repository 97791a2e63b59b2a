"""Cases: complaints, requests for a person, emergencies, jobs nobody took … one machinery, one clock.

Every method is one unit of work and returns plain data (dicts with ISO times). Case views:
``{"id", "kind", "status", "severity", "category", "remedy", "level", "client_id", "booking_id",
"housekeeper_id", "owner_id", "owner_name", "due_at", "first_response_at", "breached_at", "created_at",
"closed_at", "outcome", "satisfied", "lang", "text", "joined" (open_case only), "events" (case() only),
"attachments" (case() only: [{"id","content_type","size","filename"}])}``.
Manager views (``case(.., viewer=)``, ``cases()``) add ``client_name``, ``client_phone`` (full),
``client_address``, ``booking`` (booking_view) and ``housekeeper_name``; each such view writes an
access-log row.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class CasesFacade:
    db: Database
    ctx: Context
    now: datetime

    # --- the client's side ---------------------------------------------------------------------
    def open_case(self, kind: str, client_id: int | None = None, booking_id: int | None = None, *,
                  by_client: bool = False, category: str | None = None, severity: str | None = None,
                  remedy: str | None = None, text: str | None = None, lang: str | None = None,
                  attachments: list[int] | None = None, **detail: Any) -> dict[str, Any]:
        """Open a case, or join the open one with the same key (client, kind, booking): the client's
        words are added to its timeline, the owner (or the on-duty managers) told, ``joined`` True.
        New: deadlines from the policy become durable timers; the on-duty managers get an alert card.
        ``by_client`` applies the hourly cap (DomainError "escalation_limit"; a join is never capped)."""
        raise NotImplementedError

    def open_cases_of(self, client_id: int, kind: str | None = None) -> list[dict[str, Any]]:
        """The client's cases not closed (or closed and awaiting the satisfaction answer), newest first."""
        raise NotImplementedError

    def client_cases(self, client_id: int, limit: int = 5) -> list[dict[str, Any]]:
        """The client's recent cases with state, who handles them and the next deadline (status questions)."""
        raise NotImplementedError

    def add_to_case(self, client_id: int, case_id: int, text: str | None = None,
                    attachments: list[int] | None = None) -> dict[str, Any]:
        """More words (or files) from the client on their own case; the owner / on-duty managers are told."""
        raise NotImplementedError

    def case_satisfaction(self, client_id: int, case_id: int, satisfied: bool) -> dict[str, Any]:
        """The client's answer after closing: recorded; "no" reopens the case one level up."""
        raise NotImplementedError

    # --- the managers' side --------------------------------------------------------------------
    def case(self, case_id: int, viewer: int | None = None) -> dict[str, Any]:
        """One case with its timeline; ``viewer`` (a manager id) gets the client's data, logged."""
        raise NotImplementedError

    def cases(self, viewer: int, include_closed: bool = False) -> list[dict[str, Any]]:
        """Open cases, breaches first, then by due time (access logged per client shown)."""
        raise NotImplementedError

    def claim(self, manager_id: int, case_id: int) -> dict[str, Any]:
        """Take ownership: re-alerts stop (the first-response clock does not); other cards updated."""
        raise NotImplementedError

    def reply_to_client(self, manager_id: int, case_id: int, text: str) -> dict[str, Any]:
        """A manager's message to the case's client through the outbox (template manager_message with
        case_id); the first one that reaches the client stops the first-response clock. Claims the case
        when nobody has."""
        raise NotImplementedError

    def log_call(self, manager_id: int, case_id: int, note: str) -> dict[str, Any]:
        """A phone call with the client (/called N note): counts as the first response."""
        raise NotImplementedError

    def reassign(self, manager_id: int, case_id: int, to_code: str) -> dict[str, Any]:
        """Give the case to another manager (by roster code); she is alerted."""
        raise NotImplementedError

    def set_severity(self, manager_id: int, case_id: int, severity: str) -> dict[str, Any]:
        """Raise or lower it: the deadlines are recomputed from the case's opening time."""
        raise NotImplementedError

    def close_case(self, manager_id: int, case_id: int, outcome: str, note: str = "") -> dict[str, Any]:
        """Close with a required outcome (backend.domain.cases.OUTCOMES); the client is told it in their
        language and asked whether they are satisfied with how it was handled."""
        raise NotImplementedError

    def acknowledge_alert(self, manager_id: int, case_id: int) -> dict[str, Any]:
        """"I have it": stops an emergency's or a breach's repeated alerts (claims an unclaimed case)."""
        raise NotImplementedError

    def housekeeper_emergency(self, housekeeper_id: int, booking_id: int | None, text: str = "") -> dict[str, Any]:
        """A housekeeper reports an emergency on a job: the on-duty managers are alerted at once with the
        client's name, phone, address, the booking and her, repeated until acknowledged."""
        raise NotImplementedError

    def case_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Figures for ``frontdesk report cases`` (see backend.services.reports)."""
        raise NotImplementedError
