"""Cancelling a booking under the policy (issue 10; rules in backend/domain/cancellation.py, applied by
backend/services/cancellation.py), and the client's "我的预约"."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.orm import Housekeeper
from backend.services import cancellation

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.db import Database
    from backend.orm import Booking
    from backend.services import Context


def _view(s: Session, b: Booking) -> dict[str, Any]:
    from backend.api import booking_view  # api imports this module

    return booking_view(b, s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None)


class CancellationsFacade:
    db: Database
    ctx: Context
    now: datetime

    def cancellation_quote(self, client_id: int, booking_id: int) -> dict[str, Any]:
        """The booking and what cancelling it now costs: ``fee_cents`` (0: free) and ``free_until``."""
        with self.db.read() as s:
            b, q = cancellation.quote(self.ctx, s, client_id, booking_id)
            return {**_view(s, b), "fee_cents": q.fee_cents, "free_until": q.free_until.isoformat()}

    def cancel_booking(self, client_id: int, booking_id: int, agreed_fee_cents: int) -> dict[str, Any]:
        """Cancel at no more than the fee the client was shown (``fee_changed`` otherwise)."""
        with self.db.uow() as s:
            b, fee = cancellation.cancel(self.ctx, s, client_id, booking_id, agreed_fee_cents)
            return {**_view(s, b), "fee_cents": fee}

    def my_bookings(self, client_id: int) -> dict[str, list[dict[str, Any]]]:
        """Upcoming (soonest first) and recent (newest first) bookings, with any cancellation fee."""
        with self.db.read() as s:
            upcoming, recent = cancellation.my_bookings(self.ctx, s, client_id)
            return {"upcoming": [_view(s, b) for b in upcoming],
                    "recent": [{**_view(s, b), "fee_cents": cancellation.fee_of(s, b.id)} for b in recent]}
