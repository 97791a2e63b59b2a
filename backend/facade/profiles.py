"""The client profile (客户档案): items, how to address the client, preferred and never-again housekeepers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ProfilesFacade:
    db: Database
    ctx: Context
    now: datetime
