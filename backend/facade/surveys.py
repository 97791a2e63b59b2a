"""Call-back surveys (回访) and housekeepers' running ratings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class SurveysFacade:
    db: Database
    ctx: Context
    now: datetime
