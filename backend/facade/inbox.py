"""The durable inbox of messages acknowledged before their turn ran."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.orm import InboxMessage, Notification
from backend.services import DomainError, inbox, outbox, people

if TYPE_CHECKING:
    from backend.db import Database

REPLY_KEYS = ("text", "buttons", "custom", "answer")  # what a reply carries through the outbox
MAX_ID = 128  # channel ids, sender ids and message ids longer than their columns are refused


class InboxFacade:
    db: Database
    now: datetime

    @property
    def inbox_lease(self) -> timedelta:
        """How long a claimed row stays with its worker; the outbox's lease (settings.outbox)."""
        return getattr(self, "outbox_lease", timedelta(seconds=120))

    def inbox_accept(self, channel: str, sender_id: str, message_id: str, payload: dict[str, Any],
                     hold_seconds: float = 0.0) -> bool:
        """Keep a message before acknowledging it to the platform; False for a redelivery. With
        ``hold_seconds`` the channel runs it itself: workers leave it alone until then, and its replies
        are held as long for the channel to answer in its own reply (``inbox_take_replies``)."""
        if not (0 < len(channel) <= 16 and 0 < len(sender_id) <= MAX_ID and 0 < len(message_id) <= MAX_ID):
            raise DomainError("invalid_message_id")
        with self.db.uow() as s:
            hold = timedelta(seconds=hold_seconds) if hold_seconds > 0 else None
            if hold:
                payload = {**payload, "hold_seconds": hold_seconds}
            return inbox.accept(s, self.now, channel, sender_id, message_id, payload, hold)

    def inbox_accept_held(self, channel: str, sender_id: str, message_id: str, payload: dict[str, Any],
                          hold_seconds: float) -> tuple[int, bool]:
        """``inbox_accept`` for a channel that runs the message itself: (row id, whether it is new)."""
        fresh = self.inbox_accept(channel, sender_id, message_id, payload, hold_seconds)
        with self.db.read() as s:
            found = inbox.id_of(s, channel, sender_id, message_id)
        if found is None:  # accepted and already erased? never: rows stay; a concurrent erase is a bug
            raise DomainError("invalid_message_id")
        return found, fresh

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
            held = (row.payload or {}).get("hold_seconds")
            hold = timedelta(seconds=float(held)) if held else None
            if person is not None and replies:
                # One message per turn (a channel with a quota spends one on it), its replies as parts.
                parts = [{k: r[k] for k in REPLY_KEYS if r.get(k)} for r in replies]
                outbox.notify(s, self.now, person.kind, person.id, "reply", f"inbox:{row.id}", hold=hold,
                              parts=parts)
            inbox.done(s, inbox_id)

    def inbox_is_head(self, inbox_id: int) -> bool:
        """Running this message now keeps its sender's order (nothing earlier is pending)."""
        with self.db.uow() as s:
            return inbox.is_head(s, inbox_id)

    def inbox_release(self, inbox_id: int) -> None:
        """The channel will not answer this message itself: the worker runs it, or the dispatcher sends
        its held replies, now rather than after the hold."""
        with self.db.uow() as s:
            inbox.release(s, self.now, inbox_id)
            n = s.scalar(select(Notification).where(Notification.key == f"inbox:{inbox_id}").with_for_update())
            if n is not None and n.status == "pending" and n.next_attempt_at > self.now:
                n.next_attempt_at = self.now

    def inbox_take_replies(self, inbox_id: int, take: bool = True) -> list[dict[str, Any]] | None:
        """The replies of an inbox turn, marked delivered for the channel to send in its own reply (again,
        to a retry of the same message); None when a dispatcher may have them already (the hold ran out)
        or the turn has not committed. ``take=False`` only looks."""
        with self.db.uow() as s:
            row = s.get(InboxMessage, inbox_id)
            if row is None or row.status != "done":
                return None
            n = s.scalar(select(Notification).where(Notification.key == f"inbox:{inbox_id}").with_for_update())
            if n is None:
                return []  # the turn said nothing (a manager holds the conversation)
            parts = list((n.params or {}).get("parts") or [])
            if n.status == "delivered" and n.platform_ref == "passive":
                return parts  # the platform retried: the same answer again
            if n.status != "pending" or n.next_attempt_at <= self.now or n.attempts:
                return None
            if not take:
                return parts
            n.status, n.delivered_at, n.channel, n.platform_ref = "delivered", self.now, row.channel, "passive"
            return parts

    def inbox_failed(self, inbox_id: int) -> bool:
        """A run failed (its turn rolled back): retry later; True when it has failed for good."""
        with self.db.uow() as s:
            return inbox.failed(s, self.now, inbox_id)

    def inbox_pending(self) -> int:
        with self.db.uow() as s:
            return inbox.pending(s)
