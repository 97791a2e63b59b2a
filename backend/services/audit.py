"""Every state change leaves a row: who, what, from, to, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.orm import AuditLog


def record(session: Session, now: Any, entity: str, entity_id: int, old: str | None, new: str, actor: str,
           **detail: Any) -> None:
    session.add(AuditLog(entity=entity, entity_id=entity_id, old=old, new=new, actor=actor, at=now, detail=detail))
