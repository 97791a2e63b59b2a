"""Clients, staff and the identities they are reached by."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Client, Housekeeper, Identity, Manager


@dataclass(frozen=True)
class Person:
    kind: str  # client | housekeeper | manager
    id: int
    lang: str
    name: str = ""


def identify(session: Session, channel: str, external_id: str) -> Person | None:
    ident = session.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
    if ident is None:
        return None
    if ident.person_kind == "client":
        c = session.get(Client, ident.person_id)
        return Person("client", c.id, c.lang) if c else None
    model = Housekeeper if ident.person_kind == "housekeeper" else Manager
    p = session.get(model, ident.person_id)
    return Person(ident.person_kind, p.id, p.lang, p.name) if p else None


def client_for(session: Session, channel: str, external_id: str, lang: str) -> Person:
    found = identify(session, channel, external_id)
    if found is not None:
        return found
    c = Client(lang=lang if lang in ("zh", "en") else "zh")
    session.add(c)
    session.flush()
    session.add(Identity(person_kind="client", person_id=c.id, channel=channel, external_id=external_id))
    session.flush()
    return Person("client", c.id, c.lang)


def bind(session: Session, kind: str, person_id: int, channel: str, external_id: str) -> None:
    """Attach a channel identity to a person (replacing whoever held it)."""
    old = session.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
    if old is not None:
        session.delete(old)
        session.flush()
    session.add(Identity(person_kind=kind, person_id=person_id, channel=channel, external_id=external_id))


def new_token() -> str:
    return secrets.token_hex(8)


def identities_of(session: Session, kind: str, person_id: int) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.person_kind == kind, Identity.person_id == person_id)))
