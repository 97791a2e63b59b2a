"""Butler (issue 12; backend/services/butler.py): one short unit-of-work method each."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ButlerFacade:
    db: Database
    ctx: Context
    now: datetime
