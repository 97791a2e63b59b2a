"""Changing an existing booking in place: a new time, hours or area, address or notes; the booking keeps its
number, and its old slot until the new one is secured (issue 10; backend/services/changes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import changes

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ChangesFacade:
    db: Database
    ctx: Context
    now: datetime

    def change_plan(self, client_id: int, booking_id: int, **new: Any) -> dict[str, Any]:
        """The booking as it would be after the change, with the price difference; nothing is stored.
        DomainError with the validation code (time_past, outside_hours, no_change, not_changeable …)."""
        with self.db.uow() as s:
            return changes.plan(self.ctx, s, client_id, booking_id, **_values(new)).view()

    def change_booking(self, client_id: int, booking_id: int, **new: Any) -> dict[str, Any]:
        """The client confirmed: applied at once, or held while the housekeeper is asked (``asking``)."""
        with self.db.uow() as s:
            return changes.view(s, changes.request(self.ctx, s, client_id, booking_id, **_values(new)))


def _values(new: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in new.items() if v is not None}
    if isinstance(out.get("starts_at"), str):
        out["starts_at"] = datetime.fromisoformat(out["starts_at"])
    return out
