"""Repeat visits: a series of bookings on a rolling horizon (issue 10; backend/services/series.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.domain.series import Recurrence
from backend.services import series

if TYPE_CHECKING:
    from backend.db import Database
    from backend.orm import BookingSeries
    from backend.services import Context
    from backend.services.bookings import Request


def series_view(s: BookingSeries) -> dict[str, Any]:
    return {"id": s.id, "service": s.service, "interval_weeks": s.interval_weeks, "weekday": s.weekday,
            "start_minute": s.start_minute, "hours": s.hours, "area": s.area, "first_date": s.first_date.isoformat(),
            "until_date": s.until_date.isoformat() if s.until_date else None, "count": s.count,
            "holiday_rule": s.holiday_rule, "housekeeper_id": s.housekeeper_id, "status": s.status,
            "planned_until": s.planned_until.isoformat() if s.planned_until else None}


class SeriesFacade:
    db: Database
    ctx: Context
    now: datetime

    def series_preview(self, req: Request, recurrence: dict[str, Any]) -> dict[str, Any]:
        """The dates a series would have now (summary before confirming); DomainError when it cannot be."""
        rec = Recurrence.from_slot(recurrence) or Recurrence()
        p = series.preview(self.ctx, req, rec)
        return {"first": p["first"].isoformat(), "last": p["last"].isoformat() if p["last"] else None,
                "dates": [d.isoformat() for d in p["dates"]], "holidays": [d.isoformat() for d in p["holidays"]],
                "rule": p["rule"], "interval_weeks": rec.interval_weeks, "count": rec.count,
                "until": rec.until.isoformat() if rec.until else None}

    def book_series(self, client_id: int, req: Request, recurrence: dict[str, Any],
                    request_key: str | None = None) -> dict[str, Any]:
        """Create the series and its first visits; the same ``request_key`` twice is one series."""
        rec = Recurrence.from_slot(recurrence) or Recurrence()
        with self.db.uow() as s:
            ser = series.create(self.ctx, s, client_id, req, rec, request_key)
            visits = series.future_visits(self.ctx, s, ser)
            return {**series_view(ser), "visits": [b.id for b in visits],
                    "first_booking_id": visits[0].id if visits else None}

    def my_series(self, client_id: int) -> list[dict[str, Any]]:
        """The client's series with their next visit (for "我的预约")."""
        with self.db.read() as s:
            out = []
            for ser in series.client_series(s, client_id):
                visits = series.future_visits(self.ctx, s, ser)
                if not visits:
                    continue
                nxt = visits[0]
                out.append({**series_view(ser), "next_id": nxt.id, "next_starts_at": nxt.starts_at.isoformat(),
                            "next_status": nxt.status, "visit_ids": [b.id for b in visits]})
            return out

    def series_visit_on(self, client_id: int, day: date) -> int | None:
        with self.db.read() as s:
            b = series.visit_on(self.ctx, s, client_id, day)
            return b.id if b else None

    def series_rest_quote(self, client_id: int, series_id: int) -> dict[str, Any]:
        with self.db.read() as s:
            ser, visits, fee = series.rest_quote(self.ctx, s, client_id, series_id)
            return {**series_view(ser), "visits": [b.id for b in visits], "fee_cents": fee,
                    "next_starts_at": visits[0].starts_at.isoformat() if visits else None}

    def cancel_series(self, client_id: int, series_id: int, agreed_fee_cents: int) -> dict[str, Any]:
        with self.db.uow() as s:
            ser, visits, fee = series.cancel_rest(self.ctx, s, client_id, series_id, agreed_fee_cents)
            return {**series_view(ser), "visits": [b.id for b in visits], "fee_cents": fee}

    def answer_holiday_visit(self, client_id: int, booking_id: int, keep: bool) -> dict[str, Any]:
        with self.db.uow() as s:
            b = series.answer_holiday(self.ctx, s, client_id, booking_id, keep)
            return {"booking_id": b.id, "status": b.status, "starts_at": b.starts_at.isoformat(), "service": b.service}
