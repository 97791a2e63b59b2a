"""One client on several channels (backend/services/linking.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backend.services import linking, people

if TYPE_CHECKING:
    from backend.db import Database


class LinkingFacade:
    db: Database
    now: datetime

    def link_code(self, client_id: int) -> str:
        """A one-time code that joins another chat identity to this client."""
        with self.db.uow() as s:
            return linking.new_code(s, self.now, client_id)

    def link_identity(self, code: str, channel: str, external_id: str) -> people.Person | None:
        """Join this chat identity to the code's client; None for a wrong or expired code."""
        with self.db.uow() as s:
            return linking.redeem(s, self.now, code, channel, external_id)
