"""Booking figures: match success, time to confirm, punctuality, cancellations and changes (issue 10)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import booking_reports

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class BookingReportsFacade:
    db: Database
    ctx: Context
    now: datetime

    def booking_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Figures for [start, end), overall, per service and per housekeeper code (no personal data):
        match success, time to a confirmed housekeeper, punctuality, worked vs booked time,
        cancellations, changes and job offers (backend/services/booking_reports.py says which rows count)."""
        with self.db.read() as s:
            return booking_reports.booking_report(self.ctx, s, start, end)
