"""Housekeepers' leave and working-hours requests, approved by managers (issue 10)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import staff_requests

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class StaffRequestsFacade:
    db: Database
    ctx: Context
    now: datetime

    def request_leave(self, hk_id: int, starts_at: datetime, ends_at: datetime, text: str | None = None
                      ) -> dict[str, Any]:
        """Leave awaiting a manager: the card's view (its clashing confirmed jobs included).
        DomainError invalid_period / housekeeper_not_found."""
        with self.db.uow() as s:
            r = staff_requests.request_leave(self.ctx, s, hk_id, starts_at, ends_at, text)
            return staff_requests.card_params(self.ctx, s, r)

    def request_hours(self, hk_id: int, mode: str, days: list[int], start: int | None = None,
                      end: int | None = None, text: str | None = None) -> dict[str, Any]:
        """New weekly hours awaiting a manager (mode set | off | add). DomainError no_days / invalid_hours /
        same_hours."""
        with self.db.uow() as s:
            r = staff_requests.request_hours(self.ctx, s, hk_id, mode, days, start, end, text)
            return staff_requests.card_params(self.ctx, s, r)

    def decide_staff_request(self, manager_id: int, request_id: int, approve: bool) -> dict[str, Any]:
        """DomainError request_not_found / request_decided."""
        with self.db.uow() as s:
            r = staff_requests.decide(self.ctx, s, request_id, manager_id, approve)
            return staff_requests.card_params(self.ctx, s, r)

    def pending_staff_requests(self) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return staff_requests.pending(self.ctx, s)
