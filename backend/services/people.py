"""Clients, staff and the identities they are reached by."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.orm import Client, Housekeeper, Identity, Manager
from backend.services import DomainError

STAFF_MODELS: dict[str, type[Housekeeper] | type[Manager]] = {"housekeeper": Housekeeper, "manager": Manager}
STAFF_SENDER = "staff:"  # REST sender of a staff member: "staff:HK001", usable only with her Bearer token


@dataclass(frozen=True)
class Person:
    kind: str  # client | housekeeper | manager
    id: int
    lang: str
    name: str = ""
    code: str = ""  # roster code (staff only)
    status: str = "active"  # active | suspended_from_matching | deactivated (staff only)


def staff_person(kind: str, p: Housekeeper | Manager) -> Person:
    return Person(kind, p.id, p.lang, p.name, p.code, p.status or "active")


def rest_sender(code: str) -> str:
    return f"{STAFF_SENDER}{code}"


def identify(session: Session, channel: str, external_id: str) -> Person | None:
    """Who holds this chat identity; None for strangers and for deactivated staff (no access at all)."""
    ident = session.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
    return person_of(session, ident) if ident is not None else None


def person_of(session: Session, ident: Identity, client: Client | None = None) -> Person | None:
    """Who holds a chat identity; None for deactivated staff (no access at all). ``client``: the
    holder when the caller read it with the identity (turn_reads.sender_with_client)."""
    if ident.person_kind == "client":
        c = client if client is not None and client.id == ident.person_id else session.get(Client, ident.person_id)
        return Person("client", c.id, c.lang) if c else None
    p = session.get(STAFF_MODELS[ident.person_kind], ident.person_id)
    if p is None or p.status == "deactivated":
        return None
    return staff_person(ident.person_kind, p)


def client_for(session: Session, channel: str, external_id: str, lang: str, now: datetime) -> tuple[Person, bool]:
    """The client holding this chat identity, registered now if new (then True). She has just written,
    followed or tapped from it, so her route is stamped (her next message has nothing to update)."""
    found = identify(session, channel, external_id)
    if found is not None:
        return found, False
    if channel == "rest" and external_id.startswith(STAFF_SENDER):
        # Reserved for staff: a deactivated or unknown staff sender never silently becomes a client.
        raise DomainError("staff_sender")
    c = Client(lang=lang if lang in ("zh", "en") else "zh")
    session.add(c)
    session.flush()
    session.add(Identity(person_kind="client", person_id=c.id, channel=channel, external_id=external_id,
                         last_seen_at=now))
    session.flush()
    return Person("client", c.id, c.lang), True


def bind(session: Session, kind: str, person_id: int, channel: str, external_id: str) -> None:
    """Attach a channel identity to a person (replacing whoever held it)."""
    old = session.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
    if old is not None:
        if old.person_kind == kind and old.person_id == person_id:
            old.unreachable = False  # binding again means the chat works again
            return
        session.delete(old)
        session.flush()
    session.add(Identity(person_kind=kind, person_id=person_id, channel=channel, external_id=external_id))


def unbind_all(session: Session, kind: str, person_id: int) -> int:
    """Remove every chat identity of a person; returns how many there were."""
    result = session.execute(delete(Identity).where(Identity.person_kind == kind, Identity.person_id == person_id))
    return result.rowcount or 0


def new_token() -> str:
    return secrets.token_hex(8)


def identities_of(session: Session, kind: str, person_id: int) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.person_kind == kind, Identity.person_id == person_id)))
