"""Butler (issue 12; backend/services/butler.py): one short unit-of-work method each.

request view: {"id", "client_id", "placement_id", "booking_id", "butler_id", "butler" (first name), "text",
  "lang", "status" (open|on_site|planned|closed|cancelled), "created_at", "onsite_due_at", "onsite_at",
  "plan_due_at", "plan_at", "plan", "case_id", "closed_at"}   (times ISO strings)
Refusals are DomainError: not_butler_client, butler_text_empty, butler_too_many_open,
butler_request_not_found, not_your_butler_request, butler_plan_empty, butler_plan_missing,
butler_request_<status> (a request no longer open to that step).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.orm import AccessLog, Client
from backend.services import butler

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class ButlerFacade:
    db: Database
    ctx: Context
    now: datetime

    def butler_contract(self, client_id: int) -> dict[str, Any] | None:
        """{"butler_id", "butler" (first name), "placement_id", "booking_id"} while the client has a butler
        placement or booking now, else None (the dialogue offers requests only then)."""
        with self.db.read() as s:
            return butler.contract_view(self.ctx, s, client_id)

    def raise_butler_request(self, client_id: int, text: str, lang: str | None = None) -> dict[str, Any]:
        """The request with its due times; the butler and the on-duty managers are told."""
        with self.db.uow() as s:
            return butler.view(s, butler.raise_request(self.ctx, s, client_id, text, lang))

    def client_butler_requests(self, client_id: int, live_only: bool = True) -> list[dict[str, Any]]:
        """The client's requests, newest first (at most 10)."""
        with self.db.uow() as s:
            return [butler.view(s, r) for r in butler.client_requests(s, client_id, live_only)]

    def cancel_butler_request(self, client_id: int, request_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return butler.view(s, butler.cancel(self.ctx, s, client_id, request_id))

    def butler_onsite(self, actor_kind: str, actor_id: int, request_id: int) -> dict[str, Any]:
        """已到场 by the butler ("housekeeper") or a manager ("manager")."""
        with self.db.uow() as s:
            return butler.view(s, butler.mark_onsite(self.ctx, s, actor_kind, actor_id, request_id))

    def butler_prompt_plan(self, butler_id: int, request_id: int) -> dict[str, Any]:
        """She tapped "post plan": her next text (within the configured minutes) is the plan."""
        with self.db.uow() as s:
            return butler.view(s, butler.prompt_plan(self.ctx, s, butler_id, request_id))

    def butler_prompted(self, butler_id: int) -> dict[str, Any] | None:
        """Her request waiting for the plan text she was asked for, or None."""
        with self.db.uow() as s:
            r = butler.prompted(self.ctx, s, butler_id)
            return butler.view(s, r) if r is not None else None

    def butler_post_plan(self, actor_kind: str, actor_id: int, request_id: int, text: str) -> dict[str, Any]:
        with self.db.uow() as s:
            return butler.view(s, butler.post_plan(self.ctx, s, actor_kind, actor_id, request_id, text))

    def butler_close(self, actor_kind: str, actor_id: int, request_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return butler.view(s, butler.close(self.ctx, s, actor_kind, actor_id, request_id))

    def butler_open_requests(self, butler_id: int | None = None, manager_id: int | None = None) -> list[dict[str, Any]]:
        """Her open requests (``butler_id``), or every open one for a manager (``manager_id``), by on-site due
        time; a manager's lines carry the client's name, each logged as an access."""
        with self.db.uow() as s:
            if butler_id is not None:
                return [butler.view(s, r) for r in butler.butler_requests(s, butler_id)]
            out = []
            for r in butler.open_requests(s):
                c = s.get(Client, r.client_id)
                out.append({**butler.view(s, r), "client_name": c.name if c else None})
                s.add(AccessLog(at=self.now, actor=f"manager:{manager_id}", client_id=r.client_id,
                                what="butler_requests", ref=f"butler:{r.id}"))
            return out
