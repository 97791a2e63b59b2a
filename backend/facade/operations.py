"""The on-call view of the workers' queues (`frontdesk status`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import operations

if TYPE_CHECKING:
    from backend.db import Database


class OperationsFacade:
    db: Database
    now: datetime

    def backlog(self, push_channels: list[str]) -> dict[str, Any]:
        """What the dispatchers, inbox workers and timer workers have still to do, and how late
        (backend/services/operations.py); no personal data."""
        with self.db.read() as s:
            return operations.backlog(s, self.now, push_channels)
