"""Files clients send with a case: checked, stored encrypted, linked to the case, pruned and erased.

The platform's file id is never kept: it is valid only for the bot that received it (Telegram) or
expires (WeChat media), so the bytes are fetched on arrival and managers get uploads from here.
The content type is what the bytes say (magic numbers), never what the sender declared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from backend.orm import Attachment, Escalation
from backend.services import DomainError

MB = 1024 * 1024
ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf", "video/mp4")
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class Limits:
    """settings.attachments, passed down (config/settings.py AttachmentSettings)."""

    max_bytes: int = 10 * MB
    allowed_types: tuple[str, ...] = ALLOWED


def sniff(data: bytes) -> str | None:
    """The type the bytes say, for the types we could ever accept; None for anything else."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":  # ISO base media: HEIF images and MP4 video share the box layout
        return "image/heic" if head[8:12] in HEIC_BRANDS else "video/mp4"
    return None


def check(limits: Limits, data: bytes, declared_size: int | None = None) -> str:
    """The sniffed content type, or DomainError attachment_empty | attachment_too_large | attachment_type."""
    size = len(data) if declared_size is None else declared_size
    if size <= 0:
        raise DomainError("attachment_empty")
    if size > limits.max_bytes:
        raise DomainError("attachment_too_large")
    kind = sniff(data)
    if kind is None or kind not in limits.allowed_types:
        raise DomainError("attachment_type")
    return kind


def store(session: Session, now: datetime, limits: Limits, client_id: int, data: bytes,
          filename: str | None = None) -> Attachment:
    """Check and keep one file (bytes and name encrypted at rest); not yet linked to a case."""
    kind = check(limits, data)
    a = Attachment(client_id=client_id, content_type=kind, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   filename=_clean_name(filename), data=bytes(data), created_at=now)
    session.add(a)
    session.flush()
    return a


def link(session: Session, client_id: int, case_id: int, ids: list[int]) -> list[int]:
    """Attach the client's own, not yet linked files to a case; others' ids are ignored. Returns the linked ids."""
    if not ids:
        return []
    rows = session.scalars(select(Attachment).where(Attachment.id.in_(ids), Attachment.client_id == client_id,
                                                    Attachment.case_id.is_(None)))
    done = []
    for a in rows:
        a.case_id = case_id
        done.append(a.id)
    return sorted(done)


def meta(a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "case_id": a.case_id, "client_id": a.client_id, "content_type": a.content_type,
            "size": a.size, "sha256": a.sha256, "filename": a.filename,
            "created_at": a.created_at.isoformat() if a.created_at else None}


def of_case(session: Session, case_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))


def of_client(session: Session, client_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.client_id == client_id).order_by(Attachment.id)))


def erase_client(session: Session, client_id: int) -> int:
    return session.execute(delete(Attachment).where(Attachment.client_id == client_id)).rowcount


def prune(session: Session, now: datetime, retention_days: int) -> int:
    """Files of cases closed longer ago than the retention period, and files that never joined a case."""
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    closed = select(Escalation.id).where(Escalation.status == "closed", Escalation.closed_at < cutoff)
    return session.execute(delete(Attachment).where(or_(
        Attachment.case_id.in_(closed),
        and_(Attachment.case_id.is_(None), Attachment.created_at < cutoff)))).rowcount


def _clean_name(name: str | None) -> str | None:
    """Only the last path part, no control characters, at most 120 characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:120] or None
