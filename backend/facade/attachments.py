"""Files on cases: stored from the channels, read back for managers' uploads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backend.orm import Attachment, Client
from backend.services import DomainError, attachments

if TYPE_CHECKING:
    from backend.db import Database
    from backend.services import Context


class AttachmentsFacade:
    db: Database
    ctx: Context
    now: datetime
    # settings.attachments; bot.bootstrap sets it from the settings, the defaults serve tests and tools.
    attachment_limits: attachments.Limits = attachments.Limits()

    def check_attachment(self, data: bytes, declared_size: int | None = None) -> str:
        """Would this file be accepted? Its sniffed type, or DomainError attachment_too_large |
        attachment_type | attachment_empty. No database work: channels call it before a turn."""
        return attachments.check(self.attachment_limits, data, declared_size)

    def store_attachment(self, client_id: int, content_type: str, data: bytes, filename: str | None = None) -> int:
        """Keep one file a client sent (encrypted); returns its id for open_case / add_to_case.
        ``content_type`` is what the platform declared: kept out of the decision, the bytes decide."""
        with self.db.uow() as s:
            if s.get(Client, client_id) is None:
                raise DomainError("client_not_found")
            return attachments.store(s, self.now, self.attachment_limits, client_id, data, filename).id

    def attachment(self, attachment_id: int) -> tuple[dict[str, Any], bytes]:
        """(meta, bytes) of one file, for uploading it to a manager; DomainError attachment_not_found."""
        with self.db.read() as s:
            a = s.get(Attachment, attachment_id)
            if a is None:
                raise DomainError("attachment_not_found")
            return attachments.meta(a), bytes(a.data)

    def attachments_of_case(self, case_id: int) -> list[dict[str, Any]]:
        """Metadata of a case's files, oldest first (no bytes)."""
        with self.db.read() as s:
            return [attachments.meta(a) for a in attachments.of_case(s, case_id)]

    def link_attachments(self, client_id: int, case_id: int, ids: list[int]) -> list[int]:
        """Link the client's own unlinked files to a case (open_case/add_to_case do this in their own
        transaction through backend.services.attachments.link; this is for tools and tests)."""
        with self.db.uow() as s:
            return attachments.link(s, client_id, case_id, ids)
