"""Payments, refunds, compensation and free rework visits. Amounts are integer cents (分).

Refund views: ``{"id", "kind" (refund|compensation), "case_id", "booking_id", "client_id",
"amount_cents", "reason", "status" (requested|approved|paid|rejected), "requested_at", "approve_due_at",
"due_at", "approved_at", "paid_at", "reference", "rejected_reason"}``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.services import payments, refunds, rework

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class MoneyFacade:
    db: Database
    ctx: Context
    now: datetime

    def record_payment(self, actor: str, booking_id: int, amount_cents: int, method: str,
                       paid_on: date | None = None, reference: str | None = None,
                       kind: str = "payment") -> dict[str, Any]:
        """A payment a manager records (or the housekeeper marks "paid in cash" at 已完成).
        DomainError: booking_not_found, invalid_amount, invalid_method, invalid_kind, invalid_reference,
        not_your_job (``actor`` "housekeeper:N" who is not the booking's housekeeper)."""
        with self.db.uow() as s:
            return payments.view(payments.record_payment(self.ctx, s, actor, booking_id, amount_cents, method,
                                                         paid_on, reference, kind))

    def payments(self, booking_id: int) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return [payments.view(p) for p in payments.payments(s, booking_id)]

    def refundable_cents(self, booking_id: int) -> int:
        """What was paid for the booking minus refunds not rejected."""
        with self.db.uow() as s:
            return payments.refundable_cents(s, booking_id)

    def request_refund(self, actor: str, booking_id: int, amount_cents: int, reason: str,
                       case_id: int | None = None) -> dict[str, Any]:
        """Open a refund: due in 3 working days (the promise), approval due in 1; reminders and breach
        alerts are durable timers; the client is told the amount and the date.
        DomainError: booking_not_found, invalid_amount, refund_exceeds_paid (nothing paid included),
        invalid_reason, case_not_found (``case_id`` unknown or another client's)."""
        with self.db.uow() as s:
            return refunds.view(refunds.request(self.ctx, s, actor, booking_id, amount_cents, reason, case_id))

    def approve_refund(self, manager_id: int, refund_id: int) -> dict[str, Any]:
        """Approved (a second approval is a no-op). DomainError: manager_not_found, refund_not_found,
        refund_paid, refund_rejected."""
        with self.db.uow() as s:
            return refunds.view(refunds.approve(self.ctx, s, manager_id, refund_id))

    def pay_refund(self, manager_id: int, refund_id: int, reference: str) -> dict[str, Any]:
        """Paid, with the payment reference: the client is told. Approves first when still requested.
        DomainError: as approve_refund, invalid_reference."""
        with self.db.uow() as s:
            return refunds.view(refunds.pay(self.ctx, s, manager_id, refund_id, reference))

    def reject_refund(self, manager_id: int, refund_id: int, reason: str) -> dict[str, Any]:
        """Rejected with a reason the client is told in their language. DomainError: as approve_refund,
        invalid_reason."""
        with self.db.uow() as s:
            return refunds.view(refunds.reject(self.ctx, s, manager_id, refund_id, reason))

    def compensate(self, manager_id: int, case_id: int, amount_cents: int, reason: str) -> dict[str, Any]:
        """Compensation on a case (not limited by what was paid): a refund record of kind compensation,
        approved by the manager who grants it, paid with a reference like a refund.
        DomainError: manager_not_found, case_not_found, invalid_amount, invalid_reason."""
        with self.db.uow() as s:
            return refunds.view(refunds.compensate(self.ctx, s, manager_id, case_id, amount_cents, reason))

    def client_refunds(self, client_id: int) -> list[dict[str, Any]]:
        """The client's refunds and compensations, newest first (status questions)."""
        with self.db.uow() as s:
            return [refunds.view(r) for r in refunds.client_refunds(s, client_id)]

    def open_refunds(self) -> list[dict[str, Any]]:
        """Refunds not paid or rejected, by due time (for managers)."""
        with self.db.uow() as s:
            return [refunds.view(r) for r in refunds.open_refunds(s)]

    def arrange_rework(self, manager_id: int, case_id: int, starts_at: datetime | None = None,
                       housekeeper_code: str | None = None) -> dict[str, Any]:
        """A free rework visit for a quality complaint: a zero-price booking like the original (same
        service, hours, address), at ``starts_at`` (default: the original's time of day on the first
        day the lead time allows), offered to the same housekeeper first (or ``housekeeper_code``)
        through the normal matching and offer flow. Returns booking_view; the client is told.
        DomainError: manager_not_found, case_not_found, no_booking, housekeeper_not_found,
        housekeeper_not_free, nobody_free, and the booking validation codes (time_too_soon …)."""
        from backend.api import booking_view  # the one booking shape (api imports this module)

        with self.db.uow() as s:
            b = rework.arrange(self.ctx, s, manager_id, case_id, starts_at, housekeeper_code)
            return booking_view(b)
