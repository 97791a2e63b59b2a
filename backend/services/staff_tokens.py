"""Staff tokens for the REST channel and the shell: shown once when issued, stored only as SHA-256.

A token carries 256 random bits, so a plain (unkeyed) SHA-256 is enough to make a stolen table
useless; lookups are by hash, never by comparing raw tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.orm import StaffToken

PREFIX = "fds_"
MAX_LENGTH = 128  # a real token is 47 characters; anything much longer is not one of ours


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(token: str) -> bool:
    return token.startswith(PREFIX) and len(token) <= MAX_LENGTH


def issue(session: Session, now: datetime, kind: str, person_id: int) -> str:
    """A new token for this person; the caller shows it once. Older tokens stay unless revoked."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(StaffToken(token_hash=token_hash(token), person_kind=kind, person_id=person_id, created_at=now))
    session.flush()
    return token


def has_live(session: Session, kind: str, person_id: int) -> bool:
    return session.scalar(select(StaffToken.id).where(StaffToken.person_kind == kind,
                                                      StaffToken.person_id == person_id,
                                                      StaffToken.revoked_at.is_(None)).limit(1)) is not None


def revoke(session: Session, now: datetime, kind: str, person_id: int) -> int:
    """Revoke every live token of a person; returns how many."""
    result = session.execute(update(StaffToken).where(StaffToken.person_kind == kind,
                                                      StaffToken.person_id == person_id,
                                                      StaffToken.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount or 0


def holder(session: Session, token: str) -> tuple[str, int] | None:
    """(kind, person id) of a live token, or None."""
    if not token or not looks_like_token(token):
        return None
    row = session.scalar(select(StaffToken).where(StaffToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row.person_kind, row.person_id
