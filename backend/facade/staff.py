"""Staff lifecycle: roster import, tokens, status (active, suspended from matching, deactivated)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.orm import Housekeeper, Offer
from backend.services import DomainError, offers, people, staff, staff_status, staff_tokens
from backend.services.audit import record

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class StaffFacade:
    db: Database
    ctx: Context
    now: datetime

    def staff_by_code(self, code: str) -> people.Person | None:
        """The roster entry with this code, whatever its status (callers check ``status``)."""
        with self.db.read() as s:
            for kind, model in people.STAFF_MODELS.items():
                p = s.scalar(select(model).where(model.code == code))
                if p is not None:
                    return people.staff_person(kind, p)
        return None

    def staff_by_token(self, token: str) -> people.Person | None:
        """Who a staff token belongs to: active or suspended staff; None for unknown, revoked or deactivated."""
        if not staff_tokens.looks_like_token(token or ""):
            return None  # no database round trip for junk
        with self.db.read() as s:
            held = staff_tokens.holder(s, token)
            if held is None:
                return None
            p = s.get(people.STAFF_MODELS[held[0]], held[1])
            if p is None or p.status == staff_status.DEACTIVATED:
                return None
            return people.staff_person(held[0], p)

    def rest_id_of(self, kind: str, person_id: int) -> str | None:
        with self.db.read() as s:
            return next((i.external_id for i in people.identities_of(s, kind, person_id) if i.channel == "rest"),
                        None)

    def import_staff(self, rows: list[staff.Row]) -> dict[str, str]:
        """Upsert the roster in one transaction; returns code → token for the people it created only.
        Raises ``staff.RosterError`` (nothing changed) when a new person lacks a required field."""
        with self.db.uow() as s:
            return staff.save_rows(s, self.now, rows, self.ctx)

    def issue_staff_token(self, code: str, rotate: bool = True, actor: str = "admin") -> str:
        """A new token, shown once. ``rotate`` revokes the old ones; without it, an existing live token
        is an error (``token_exists``): tokens are never shown twice."""
        with self.db.uow() as s:
            kind, p = staff_status.find(s, code, lock=True)
            if p.status == staff_status.DEACTIVATED:
                raise DomainError("person_deactivated")
            if rotate:
                revoked = staff_tokens.revoke(s, self.now, kind, p.id)
            elif staff_tokens.has_live(s, kind, p.id):
                raise DomainError("token_exists")
            else:
                revoked = 0
            token = staff_tokens.issue(s, self.now, kind, p.id)
            record(s, self.now, f"{kind}_token", p.id, None, "issued", actor, code=p.code,
                                revoked=revoked)
            return token

    def has_staff_token(self, code: str) -> bool:
        with self.db.read() as s:
            kind, p = staff_status.find(s, code)
            return staff_tokens.has_live(s, kind, p.id)

    def revoke_staff_tokens(self, code: str, actor: str = "admin") -> int:
        with self.db.uow() as s:
            kind, p = staff_status.find(s, code, lock=True)
            n = staff_tokens.revoke(s, self.now, kind, p.id)
            record(s, self.now, f"{kind}_token", p.id, None, "revoked", actor, code=p.code, count=n)
            return n

    def deactivate_staff(self, code: str, actor: str = "admin") -> dict[str, Any]:
        with self.db.uow() as s:
            return staff_status.deactivate(self.ctx, s, code, actor)

    def suspend_staff(self, code: str, reason: str, actor: str = "admin") -> dict[str, Any]:
        with self.db.uow() as s:
            return staff_status.suspend(self.ctx, s, code, reason, actor)

    def reinstate_staff(self, code: str, reason: str | None = None, actor: str = "admin") -> dict[str, Any]:
        with self.db.uow() as s:
            return staff_status.reinstate(self.ctx, s, code, actor, reason)

    def person_unreachable(self, kind: str, person_id: int) -> None:
        """A housekeeper who cannot be reached loses her pending offers to the next candidates at once."""
        if kind != "housekeeper":
            return
        with self.db.uow() as s:
            for o in s.scalars(select(Offer).where(Offer.housekeeper_id == person_id, Offer.status == "pending")):
                offers.decline(self.ctx, s, o.id, person_id)

    def hold_reasons(self, housekeeper_id: int) -> list[str]:
        with self.db.read() as s:
            hk = s.get(Housekeeper, housekeeper_id)
            return list(hk.hold_reasons or []) if hk is not None else []

    def staff_summary(self, code: str) -> dict[str, Any]:
        """Status, hold reasons, whether a live token exists and which channels she is bound on."""
        with self.db.read() as s:
            kind, p = staff_status.find(s, code)
            return {"code": p.code, "kind": kind, "name": p.name, "status": p.status,
                    "hold_reasons": list(getattr(p, "hold_reasons", None) or []),
                    "token": staff_tokens.has_live(s, kind, p.id),
                    "channels": sorted({i.channel for i in people.identities_of(s, kind, p.id)})}
