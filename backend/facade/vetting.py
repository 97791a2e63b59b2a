"""Vetting (issue 12; backend/services/vetting.py): one short unit-of-work method each."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from backend.services import vetting

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class VettingFacade:
    db: Database
    ctx: Context
    now: datetime

    def record_vetting(self, code: str, kind: str, actor: str = "admin", **fields: Any) -> dict[str, Any]:
        """Add an item to a housekeeper's file (identity, background, insurance, training, assessment,
        quality_check, certificate). DomainError no_such_staff, bad_vetting_item, bad_vetting_result,
        vetting_kind_and_expiry_needed, vetting_hours_needed."""
        with self.db.uow() as s:
            return vetting.record(self.ctx, s, code, kind, actor, **fields)

    def vetting_file(self, code: str) -> dict[str, Any]:
        """Her whole file (services/vetting.view). DomainError no_such_staff."""
        with self.db.uow() as s:
            return vetting.view(self.ctx, s, code)

    def own_vetting_file(self, housekeeper_id: int) -> dict[str, Any]:
        """A housekeeper's own file (/myfile). DomainError no_such_staff."""
        with self.db.uow() as s:
            return vetting.view(self.ctx, s, vetting.code_of(s, housekeeper_id))

    def vetting_due(self, month: date | None = None) -> list[dict[str, Any]]:
        """Who has had fewer on-site quality checks than the standard asks in ``month`` (default: this one)."""
        with self.db.uow() as s:
            return vetting.quality_due(self.ctx, s, month or self.now.astimezone(self.ctx.tz).date())

    def ensure_vetting_clock(self) -> None:
        """Called at start-up: the daily expiry digest timer exists (each run arms the next)."""
        with self.db.uow() as s:
            vetting.ensure(self.ctx, s)
