"""The client profile (客户档案): items a client told us, kept for every visit (see backend.domain.profile)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import ProfileItem


def items(session: Session, client_id: int) -> list[ProfileItem]:
    """The client's current items, oldest first (removed ones are not)."""
    return list(session.scalars(select(ProfileItem).where(ProfileItem.client_id == client_id,
                                                          ProfileItem.removed_at.is_(None))
                                .order_by(ProfileItem.id)))


def standing_notes(session: Session, client_id: int) -> list[dict[str, Any]]:
    """What a new booking carries from the profile: [{"id","kind","code","text"}] (``address_as`` is how
    we speak to the client, not a note for the housekeeper)."""
    return [{"id": i.id, "kind": i.kind, "code": i.code, "text": i.text}
            for i in items(session, client_id) if i.kind != "address_as"]
