"""Custom requests answered with proposals (description, price, schedule) the client accepts or declines."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ProposalsFacade:
    db: Database
    ctx: Context
    now: datetime
