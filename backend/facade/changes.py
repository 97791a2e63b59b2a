"""Changing an existing booking in place: a new time, hours or area, address or notes; the booking keeps its
number, and its old slot until the new one is secured (issue 10; backend/services/changes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ChangesFacade:
    db: Database
    ctx: Context
    now: datetime
