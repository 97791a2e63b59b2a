"""Housekeepers' leave and working-hours requests, approved by managers (issue 10)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class StaffRequestsFacade:
    db: Database
    ctx: Context
    now: datetime
