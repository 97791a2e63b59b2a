"""The durable inbox of messages acknowledged before their turn ran."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.orm import InboxMessage
from backend.services import DomainError, inbox, outbox, people

if TYPE_CHECKING:
    from backend.db import Database

MAX_ID = 128  # channel ids, sender ids and message ids longer than their columns are refused


class InboxFacade:
    db: Database
    now: datetime

    @property
    def inbox_lease(self) -> timedelta:
        """How long a claimed row stays with its worker; the outbox's lease (settings.outbox)."""
        return getattr(self, "outbox_lease", timedelta(seconds=120))

    def inbox_accept(self, channel: str, sender_id: str, message_id: str, payload: dict[str, Any]) -> bool:
        """Keep a message before acknowledging it to the platform; False for a redelivery."""
        if not (0 < len(channel) <= 16 and 0 < len(sender_id) <= MAX_ID and 0 < len(message_id) <= MAX_ID):
            raise DomainError("invalid_message_id")
        with self.db.uow() as s:
            return inbox.accept(s, self.now, channel, sender_id, message_id, payload)

    def inbox_claim(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return [{"id": m.id, "channel": m.channel, "sender_id": m.sender_id, "message_id": m.message_id,
                     "payload": dict(m.payload or {}), "attempts": m.attempts}
                    for m in inbox.claim(s, self.now, limit, self.inbox_lease)]

    def inbox_done(self, inbox_id: int, replies: list[dict[str, Any]] | None = None) -> None:
        """Close a row; its turn's replies go to the sender through the outbox. Called inside the turn,
        this commits with the turn's effects."""
        with self.db.uow() as s:
            row = s.get(InboxMessage, inbox_id)
            if row is None:
                return
            person = people.identify(s, row.channel, row.sender_id)
            if person is not None:
                for i, r in enumerate(replies or []):
                    outbox.notify(s, self.now, person.kind, person.id, "reply", f"inbox:{row.id}:{i}",
                                  **{k: r[k] for k in ("text", "buttons", "custom") if r.get(k)})
            inbox.done(s, inbox_id)

    def inbox_failed(self, inbox_id: int) -> bool:
        """A run failed (its turn rolled back): retry later; True when it has failed for good."""
        with self.db.uow() as s:
            return inbox.failed(s, self.now, inbox_id)

    def inbox_pending(self) -> int:
        with self.db.uow() as s:
            return inbox.pending(s)
