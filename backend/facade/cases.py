"""Cases: complaints, requests for a person, emergencies, jobs nobody took … one machinery, one clock.

Every method is one unit of work and returns plain data (dicts with ISO times). Case views:
``{"id", "kind", "status", "severity", "category", "remedy", "level", "client_id", "booking_id",
"housekeeper_id", "owner_id", "owner_name", "due_at", "first_response_at", "breached_at", "acknowledged_at",
"breach_acknowledged_at", "created_at", "closed_at", "outcome", "satisfied", "lang", "text",
"joined" (open_case only), "events" (case() only), "attachments"
(case() only: [{"id","content_type","size","filename"}])}``.
Manager views (``case(.., viewer=)``, ``cases()``) add ``client_name``, ``client_phone`` (full),
``client_address``, ``booking`` (booking_view plus the address), ``housekeeper_name``, ``housekeeper_phone``
and ``attachments``; each such view writes an access-log row. The ``card`` of case_alert / case_card rows
is this view without ``events``; case_card rows also carry ``change`` (claimed, answered, reassigned,
severity, acknowledged, closed, reopened).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import case_cards, case_clock, cases  # noqa: F401 - case_clock registers the timers

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
                  attachments: list[int] | None = None, new_matter: bool = False, **detail: Any) -> dict[str, Any]:
        """Open a case, or join the open one with the same key (client, kind, booking): the client's
        words are added to its timeline, the owner (or the on-duty managers) told, ``joined`` True.
        ``new_matter``: the client said it is not the open case's matter, so a new case in any event.
        New: deadlines from the policy become durable timers; the on-duty managers get an alert card.
        ``by_client`` applies the hourly cap (DomainError "escalation_limit"; a join is never capped)."""
        with self.db.uow() as s:
            esc, joined = cases.open_case(self.ctx, s, kind, client_id, booking_id, by_client=by_client,
                                          category=category, severity=severity, remedy=remedy, text=text,
                                          lang=lang, attachments=attachments, new_matter=new_matter, **detail)
            return {**case_cards.view(s, esc), "joined": joined}

    def open_cases_of(self, client_id: int, kind: str | None = None) -> list[dict[str, Any]]:
        """The client's cases not closed (or closed and awaiting the satisfaction answer), newest first."""
        with self.db.uow() as s:
            return [case_cards.view(s, e) for e in cases.open_of(self.ctx, s, client_id, kind)]

    def client_cases(self, client_id: int, limit: int = 5) -> list[dict[str, Any]]:
        """The client's recent cases with state, who handles them and the next deadline (status questions)."""
        with self.db.uow() as s:
            return [case_cards.view(s, e) for e in cases.of_client(s, client_id, limit)]

    def add_to_case(self, client_id: int, case_id: int, text: str | None = None,
                    attachments: list[int] | None = None) -> dict[str, Any]:
        """More words (or files) from the client on their own case; the owner / on-duty managers are told."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.add_to_case(self.ctx, s, client_id, case_id, text, attachments))

    def case_satisfaction(self, client_id: int, case_id: int, satisfied: bool) -> dict[str, Any]:
        """The client's answer after closing: recorded; "no" reopens the case one level up."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.satisfaction(self.ctx, s, client_id, case_id, satisfied))

    # --- the managers' side --------------------------------------------------------------------
    def case(self, case_id: int, viewer: int | None = None) -> dict[str, Any]:
        """One case with its timeline; ``viewer`` (a manager id) gets the client's data, logged."""
        with self.db.uow() as s:
            esc = cases.get(s, case_id, open_only=False)
            if viewer is None:
                return {**case_cards.view(s, esc), "events": case_cards.events(s, esc.id),
                        "attachments": case_cards.attachments(s, esc.id)}
            return case_cards.manager_view(s, self.now, esc, viewer)

    def cases(self, viewer: int, include_closed: bool = False) -> list[dict[str, Any]]:
        """Open cases, breaches first, then by due time (access logged per client shown)."""
        with self.db.uow() as s:
            return [case_cards.manager_view(s, self.now, e, viewer, "case_list", full=False)
                    for e in cases.listing(s, include_closed)]

    def claim(self, manager_id: int, case_id: int) -> dict[str, Any]:
        """Take ownership: re-alerts stop (the first-response clock does not); other cards updated."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.claim(self.ctx, s, case_id, manager_id))

    def reply_to_client(self, manager_id: int, case_id: int, text: str) -> dict[str, Any]:
        """A manager's message to the case's client through the outbox (template manager_message with
        case_id); the first one that reaches the client stops the first-response clock. Claims the case
        when nobody has."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.reply(self.ctx, s, case_id, manager_id, text))

    def log_call(self, manager_id: int, case_id: int, note: str) -> dict[str, Any]:
        """A phone call with the client (/called N note): counts as the first response."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.log_call(self.ctx, s, case_id, manager_id, note))

    def reassign(self, manager_id: int, case_id: int, to_code: str) -> dict[str, Any]:
        """Give the case to another manager (by roster code); she is alerted."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.reassign(self.ctx, s, case_id, manager_id, to_code))

    def set_severity(self, manager_id: int, case_id: int, severity: str) -> dict[str, Any]:
        """Raise or lower it: the deadlines are recomputed from the case's opening time."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.set_severity(self.ctx, s, case_id, manager_id, severity))

    def close_case(self, manager_id: int, case_id: int, outcome: str, note: str = "") -> dict[str, Any]:
        """Close with a required outcome (backend.domain.cases.OUTCOMES); the client is told it in their
        language and asked whether they are satisfied with how it was handled."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.close(self.ctx, s, case_id, manager_id, outcome, note))

    def acknowledge_alert(self, manager_id: int, case_id: int) -> dict[str, Any]:
        """"I have it": stops an emergency's or a breach's repeated alerts (claims an unclaimed case)."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.acknowledge_alert(self.ctx, s, case_id, manager_id))

    def housekeeper_emergency(self, housekeeper_id: int, booking_id: int | None, text: str = "") -> dict[str, Any]:
        """A housekeeper reports an emergency on a job: the on-duty managers are alerted at once with the
        client's name, phone, address, the booking and her, repeated until acknowledged."""
        with self.db.uow() as s:
            return case_cards.view(s, cases.housekeeper_emergency(self.ctx, s, housekeeper_id, booking_id, text))

    def case_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Figures for ``frontdesk report cases`` (see backend.services.reports)."""
        from backend.services import reports  # written by the reports capability

        with self.db.uow() as s:
            return reports.case_report(self.ctx, s, start, end)
