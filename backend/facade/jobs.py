"""The day of the job: reminders, the check-in window, late arrivals, can't-come, the no-show alarm
(issue 10; rules in backend/domain/day_of_job.py, applied by backend/services/day_of_job.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.orm import Booking, Housekeeper
from backend.services import DomainError, day_of_job

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class JobsFacade:
    db: Database
    ctx: Context
    now: datetime

    def current_job(self, housekeeper_id: int) -> dict[str, Any] | None:
        """Her job in progress, else her next confirmed one, with what she may do now (/jobs)."""
        with self.db.uow() as s:
            b = day_of_job.current_job(self.ctx, s, housekeeper_id)
            return day_of_job.job_view(self.ctx, s, b) if b is not None else None

    def job_of(self, housekeeper_id: int, booking_id: int) -> dict[str, Any]:
        """One of her jobs as on /jobs; another's → DomainError not_your_job."""
        with self.db.uow() as s:
            b = s.get(Booking, booking_id)
            if b is None or b.housekeeper_id != housekeeper_id:
                raise DomainError("not_your_job")
            return day_of_job.job_view(self.ctx, s, b)

    def report_late(self, housekeeper_id: int, booking_id: int, minutes: int) -> dict[str, Any]:
        """She will be ``minutes`` late: the client is told the new time. DomainError late_minutes_range,
        not_your_job, job_not_upcoming."""
        with self.db.uow() as s:
            b = day_of_job.late(self.ctx, s, housekeeper_id, booking_id, minutes)
            return day_of_job.job_view(self.ctx, s, b)

    def cannot_come(self, housekeeper_id: int, booking_id: int) -> dict[str, Any]:
        """She cannot come: back to matching at once, the client told, managers get a case."""
        with self.db.uow() as s:
            b = day_of_job.cannot_come(self.ctx, s, housekeeper_id, booking_id)
            return {"id": b.id, "status": b.status, "service": b.service, "starts_at": b.starts_at.isoformat()}

    def job_times(self, booking_id: int) -> dict[str, Any] | None:
        """For managers: the booking with booked against worked time, arrival, lateness and who did it."""
        with self.db.uow() as s:
            b = s.get(Booking, booking_id)
            if b is None:
                return None
            hk = s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
            return {"id": b.id, "service": b.service, "status": b.status, "starts_at": b.starts_at.isoformat(),
                    "ends_at": b.ends_at.isoformat(), "housekeeper": hk.name if hk else None,
                    "housekeeper_code": hk.code if hk else None, **day_of_job.times(b)}
