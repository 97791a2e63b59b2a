"""The client profile (客户档案): items, how to address the client, preferred and never-again housekeepers.

Views: ``profile()`` → ``{"client_id", "address_as", "lang", "items": [item], "preferred": [{"id","name"}],
"never_again": [{"id","name"}]}``; item → ``{"id", "kind", "code", "label" ({"zh","en"} for a coded item,
else None), "text" (the client's words), "source", "created_at"}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import profiles

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ProfilesFacade:
    db: Database
    ctx: Context
    now: datetime

    def profile(self, client_id: int) -> dict[str, Any]:
        with self.db.read() as s:  # read-only: no savepoint inside a turn
            return profiles.profile(self.ctx, s, client_id)

    def add_profile_items(self, client_id: int, items: list[dict[str, Any]],
                          source: str = "chat") -> list[dict[str, Any]]:
        """items: ``[{"kind","code","text"}]`` (code from config/profile.yaml or None; text ≤ 200 chars).
        Returns the items added (one already held is not added again). DomainError: invalid_profile_kind,
        invalid_profile_code, profile_text_too_long, invalid_profile_item, client_not_found."""
        with self.db.uow() as s:
            return profiles.add_items(self.ctx, s, client_id, items, source)

    def remove_profile_item(self, client_id: int, item_id: int) -> dict[str, Any]:
        """DomainError profile_item_not_found for another client's (or an already removed) item."""
        with self.db.uow() as s:
            return profiles.remove_item(self.ctx, s, client_id, item_id)

    def set_address_as(self, client_id: int, text: str | None) -> dict[str, Any]:
        """How we address the client (王女士); None clears it. Returns the profile."""
        with self.db.uow() as s:
            return profiles.set_address_as(self.ctx, s, client_id, text)

    def remove_preference(self, client_id: int, kind: str, housekeeper_id: int) -> dict[str, Any]:
        """kind: preferred | never_again. Returns ``{"preferred": [...], "never_again": [...]}``."""
        with self.db.uow() as s:
            return profiles.remove_preference(self.ctx, s, client_id, kind, housekeeper_id)
