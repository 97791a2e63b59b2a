"""Payment records: what a client paid for a booking (entered by a manager, or "paid in cash" at 已完成).

Taking money online is out of scope; recording it is what refunds are measured against.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.orm import Booking, Payment, Refund
from backend.services import Context, DomainError

METHODS = ("cash", "transfer", "online")
KINDS = ("payment", "cancellation_fee", "deposit")
REFERENCE_MAX = 128
AMOUNT_MAX = 100_000_000  # ¥1,000,000: beyond any visit; a typo guard


def clean_amount(amount_cents: Any) -> int:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or not 0 < amount_cents <= AMOUNT_MAX:
        raise DomainError("invalid_amount")
    return amount_cents


def clean_text(value: Any, code: str, limit: int) -> str:
    """A reason or reference as stored: required, printable, bounded."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > limit or not text.isprintable():
        raise DomainError(code)
    return text


def view(p: Payment) -> dict[str, Any]:
    return {"id": p.id, "booking_id": p.booking_id, "client_id": p.client_id, "kind": p.kind,
            "amount_cents": p.amount_cents, "method": p.method, "paid_on": p.paid_on.isoformat(),
            "reference": p.reference, "recorded_by": p.recorded_by, "created_at": p.created_at.isoformat()}


def booking(session: Session, booking_id: int, lock: bool = False) -> Booking:
    """The booking money hangs off; locked, it serialises refunds against the same payments."""
    b = session.get(Booking, booking_id, with_for_update=lock, populate_existing=lock)
    if b is None:
        raise DomainError("booking_not_found")
    return b


def record_payment(ctx: Context, session: Session, actor: str, booking_id: int, amount_cents: int, method: str,
                   paid_on: date | None = None, reference: str | None = None, kind: str = "payment") -> Payment:
    b = booking(session, booking_id)
    if actor.startswith("housekeeper:") and actor != f"housekeeper:{b.housekeeper_id}":
        raise DomainError("not_your_job")  # "paid in cash" comes from the job's own housekeeper only
    amount = clean_amount(amount_cents)
    if method not in METHODS:
        raise DomainError("invalid_method")
    if kind not in KINDS:
        raise DomainError("invalid_kind")
    ref = clean_text(reference, "invalid_reference", REFERENCE_MAX) if reference not in (None, "") else None
    now = ctx.clock.now()
    p = Payment(booking_id=b.id, client_id=b.client_id, kind=kind, amount_cents=amount, method=method,
                paid_on=paid_on or now.astimezone(ctx.tz).date(), reference=ref, recorded_by=actor[:64],
                created_at=now)
    session.add(p)
    session.flush()
    return p


def payments(session: Session, booking_id: int) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)))


def refundable_cents(session: Session, booking_id: int) -> int:
    """Paid for the booking minus refunds not rejected and minus a late-cancellation fee (the fee is what
    the client owes for the booking, so it is kept back, never refunded); compensation is apart."""
    paid = session.scalar(select(func.coalesce(func.sum(Payment.amount_cents), 0))
                          .where(Payment.booking_id == booking_id, Payment.kind != "cancellation_fee")) or 0
    fee = session.scalar(select(func.coalesce(func.sum(Payment.amount_cents), 0))
                         .where(Payment.booking_id == booking_id, Payment.kind == "cancellation_fee")) or 0
    refunded = session.scalar(select(func.coalesce(func.sum(Refund.amount_cents), 0))
                              .where(Refund.booking_id == booking_id, Refund.kind == "refund",
                                     Refund.status != "rejected")) or 0
    return max(0, int(paid) - int(fee) - int(refunded))
