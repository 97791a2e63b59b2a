"""The day of the job: reminders, the check-in window, late arrivals, can't-come, the no-show alarm
(issue 10; rules in backend/domain/day_of_job.py, applied by backend/services/day_of_job.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class JobsFacade:
    db: Database
    ctx: Context
    now: datetime
