"""A client's personal data: export, erasure, retention."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import privacy, retention

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class PrivacyFacade:
    db: Database
    ctx: Context
    now: datetime

    def request_erasure(self, client_id: int) -> dict[str, Any]:
        """The client confirmed "delete my data": recorded for managers, or erased at once (erase_mode auto)."""
        with self.db.uow() as s:
            req = privacy.request_erase(self.ctx, s, client_id)
            return _request(req)

    def decide_privacy(self, manager_id: int, request_id: int, approve: bool) -> dict[str, Any]:
        with self.db.uow() as s:
            return _request(privacy.decide(self.ctx, s, request_id, manager_id, approve))

    def privacy_requests(self) -> list[dict[str, Any]]:
        """Pending erasure requests, oldest first (the managers' /privacy list)."""
        with self.db.uow() as s:
            return [_request(r) for r in privacy.pending(s)]

    def export_data(self, client_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return privacy.export(self.ctx, s, client_id)

    def ensure_retention(self) -> None:
        """Called at start-up: the daily retention timer exists (it re-schedules itself after each run)."""
        with self.db.uow() as s:
            retention.ensure(s, self.now, self.ctx.tz)


def _request(r: Any) -> dict[str, Any]:
    return {"id": r.id, "client_id": r.client_id, "kind": r.kind, "status": r.status,
            "created_at": r.created_at.isoformat() if r.created_at else None}
