"""Job applications from people who want to work for the company (issue 10)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.services import applications

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ApplicationsFacade:
    db: Database
    ctx: Context
    now: datetime

    def submit_application(self, client_id: int | None, name: str, phone: str, services: list[str],
                           experience: str, certificates: str, lang: str = "zh") -> dict[str, Any]:
        """Recorded, managers alerted, the follow-up reminder scheduled (``due_at``: the promise's end).
        DomainError invalid_application."""
        with self.db.uow() as s:
            a = applications.submit(self.ctx, s, client_id, name, phone, services, experience, certificates, lang)
            return applications.view(self.ctx, a)

    def applications(self, statuses: tuple[str, ...] = ("new",)) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return applications.listing(self.ctx, s, statuses)

    def set_application_status(self, manager_id: int, application_id: int, status: str) -> dict[str, Any]:
        """contacted | hired | rejected; DomainError application_not_found / invalid_status."""
        with self.db.uow() as s:
            return applications.view(self.ctx, applications.set_status(self.ctx, s, application_id, manager_id, status))

    def application_follow_up_days(self) -> int:
        return applications.FOLLOW_UP_WORKING_DAYS
