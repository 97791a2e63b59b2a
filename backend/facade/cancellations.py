"""Cancelling a booking under the policy (issue 10; rules in backend/domain/cancellation.py, applied by
backend/services/cancellation.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class CancellationsFacade:
    db: Database
    ctx: Context
    now: datetime
