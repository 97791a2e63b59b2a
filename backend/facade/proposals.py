"""Custom requests answered with proposals (description, price, schedule) the client accepts or declines.

Views (``backend.services.proposals.view``): ``{"id", "case_id", "client_id", "manager_id", "description",
"service", "starts_at", "hours", "area", "schedule", "price_cents", "status" (sent | accepted | declined |
expired | withdrawn), "booking_id", "created_at", "expires_at", "answered_at"}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.orm import Client, Housekeeper, Proposal
from backend.services import DomainError, proposals

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context
    from backend.services.bookings import Request


class ProposalsFacade:
    db: Database
    ctx: Context
    now: datetime

    def propose(self, manager_id: int, case_id: int, description: str, price_cents: int, *,
                service: str | None = None, starts_at: datetime | None = None, hours: float | None = None,
                area: float | None = None, schedule: str | None = None) -> dict[str, Any]:
        """A manager's proposal on a custom_request case: stored (7 days to answer, then expired with both
        sides told), on the case's timeline, sent to the client with accept/decline buttons; reaching the
        client is the case's first answer. A proposal still standing on the case is withdrawn."""
        with self.db.uow() as s:
            return proposals.view(proposals.propose(self.ctx, s, case_id, manager_id, description, price_cents,
                                                    service=service, starts_at=starts_at, hours=hours, area=area,
                                                    schedule=schedule))

    def proposal(self, proposal_id: int, client_id: int | None = None) -> dict[str, Any]:
        """One proposal; with ``client_id`` only that client's (else DomainError proposal_not_found)."""
        with self.db.uow() as s:
            p = s.get(Proposal, proposal_id)
            if p is None or (client_id is not None and p.client_id != client_id):
                raise DomainError("proposal_not_found")
            return proposals.view(p)

    def case_proposals(self, case_id: int) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return [proposals.view(p) for p in proposals.of_case(s, case_id)]

    def client_proposals(self, client_id: int) -> list[dict[str, Any]]:
        """The client's proposals awaiting an answer, newest first."""
        with self.db.uow() as s:
            return [proposals.view(p) for p in proposals.standing(s, client_id)]

    def accept_proposal(self, client_id: int, proposal_id: int, req: Request | None = None,
                        request_key: str | None = None) -> dict[str, Any]:
        """``{"proposal", "booking" (booking view or None), "missing" (slots the booking form must ask)}``.
        Without ``req`` a complete proposal becomes a booking at once; an incomplete one changes nothing
        and says what is missing, and the form's submit calls again with ``req``. The case is closed
        (resolved) and the manager told; a second accept returns the first booking."""
        from backend.api import booking_view  # the facade module is imported by backend.api

        with self.db.uow() as s:
            p, b, need = proposals.accept(self.ctx, s, client_id, proposal_id, req, request_key)
            hk = s.get(Housekeeper, b.housekeeper_id) if b is not None and b.housekeeper_id else None
            return {"proposal": proposals.view(p), "booking": booking_view(b, hk) if b is not None else None,
                    "missing": need}

    def decline_proposal(self, client_id: int, proposal_id: int) -> dict[str, Any]:
        """The case stays open for the manager, who is told."""
        with self.db.uow() as s:
            return proposals.view(proposals.decline(self.ctx, s, client_id, proposal_id))

    def proposal_prefill(self, client_id: int, proposal_id: int) -> dict[str, Any]:
        """What the booking form starts from for this proposal (and the client's saved address)."""
        with self.db.uow() as s:
            p = s.get(Proposal, proposal_id)
            if p is None or p.client_id != client_id:
                raise DomainError("proposal_not_found")
            c = s.get(Client, client_id)
            return {**proposals.view(p), "address": c.address if c else None,
                    "missing": proposals.missing(self.ctx, p, c)}
