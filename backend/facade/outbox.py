"""The outbox seen from channels: pull with acknowledgement, push claims, delivery results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.orm import Client, Housekeeper, Identity, Manager, Notification
from backend.services import outbox, people, turn_reads

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.db import Database
    from backend.services import Context

SEEN_FRESH = timedelta(minutes=5)  # last_seen_at is rewritten at most this often while the route holds
LANG_MODELS = {"client": Client, "housekeeper": Housekeeper, "manager": Manager}


class OutboxFacade:
    db: Database
    ctx: Context
    now: datetime
    # How long a claimed push row stays with its dispatcher before another may take it (a crashed
    # dispatcher's rows come back after it); Backend.from_settings sets it from settings.outbox.
    outbox_lease: timedelta = timedelta(seconds=120)

    # --- incoming messages decide the route -----------------------------------------------------
    def seen(self, channel: str, external_id: str) -> None:
        """A message arrived from this chat identity: proactive messages follow it there, and it is
        reachable again. Checked in a read first, so a steady conversation costs no extra write."""
        with self.db.read() as s:
            if not outbox.stale_route(s, self.now, channel, external_id, SEEN_FRESH):
                return
        with self.db.uow() as s:
            outbox.seen(s, self.now, channel, external_id)

    def message_from(self, channel: str, external_id: str) -> people.Person | None:
        """A message arrived: who sent it (None for a stranger or deactivated staff), and the route
        follows it as ``seen`` does. One read for the sender, the route and a client's turn facts
        (``client_turn``); a write only when the route changes or its stamp is older than ``SEEN_FRESH``."""
        with self.db.read() as s:
            ident, idents, client, facts = turn_reads.sender_with_client(s, channel, external_id, self.now,
                                                                         self.ctx.butler)
            if ident is None:
                return None
            stale = outbox.is_stale_route(self.now, ident, idents, SEEN_FRESH)
            person = people.person_of(s, ident, client)
            phone = client.phone if client is not None else None  # read now: ``seen`` expires the row
        if stale:
            with self.db.uow() as s:
                outbox.seen(s, self.now, channel, external_id)
        if person is not None and person.kind == "client":
            # For client_turn, a step later. Kept after ``seen``'s unit of work on purpose: it only stamps
            # the identity, which neither the facts nor the phone come from.
            self.db.keep_read(turn_reads.FACTS, turn_reads.KeptFacts(person.id, facts, phone))
        return person

    # --- pull channels ------------------------------------------------------------------------------
    def pull_for(self, channel: str, external_id: str, ack: list[int] | None = None,
                 limit: int = 50) -> dict[str, Any] | None:
        """What a pull channel shows this chat identity: ``{"lang", "rows": [{"id", "template",
        "params"}]}``, None for strangers. ``ack`` ids (only the person's own) are marked delivered
        first; the returned rows stay pending until acknowledged. With nothing to ack and nothing
        stale this is a read only: no write lock per poll."""
        with self.db.read() as s:
            person = people.identify(s, channel, external_id)
        if person is None:
            return None
        if ack:
            with self.db.uow() as s:
                outbox.ack(s, self.now, person.kind, person.id, channel, ack)
        with self.db.read() as s:
            rows, stale = outbox.visible(s, self.now, person.kind, person.id, channel, limit)
            out = [{"id": n.id, "template": n.template, "params": n.params, "replaces": _replaced_id(s, n)}
                   for n in rows]
        if stale:
            with self.db.uow() as s:
                outbox.mark_stale(s, stale)
        return {"lang": person.lang, "rows": out}

    def pull(self, kind: str, person_id: int, channel: str | None = None) -> list[dict[str, Any]]:
        """A person's pending rows (for tests and tools): routed to ``channel``, or all when None.
        Nothing is marked delivered; see ``pull_for`` and ``acknowledge``."""
        with self.db.read() as s:
            if channel is None:
                rows = outbox.pending_of(s, kind, person_id)
            else:
                rows, _ = outbox.visible(s, self.now, kind, person_id, channel)
            return [{"id": n.id, "template": n.template, "params": n.params, "subject": n.subject,
                     "urgent": n.urgent} for n in rows]

    def ack_pulled(self, kind: str, person_id: int, channel: str, ids: list[int]) -> int:
        with self.db.uow() as s:
            return outbox.ack(s, self.now, kind, person_id, channel, ids)

    # --- push channels ----------------------------------------------------------------------------
    def claim_push(self, channels: list[str], limit: int = 50) -> list[dict[str, Any]]:
        """Claim the heads of the queues routed to these push channels (see backend.services.outbox).
        An idle pass is a read only: no write lock every half second."""
        with self.db.read() as s:
            if not outbox.work_for(s, self.now, channels):
                return []
        with self.db.uow() as s:
            return [{"id": n.id, "key": n.key, "template": n.template, "params": n.params, "channel": i.channel,
                     "external_id": i.external_id, "person_kind": n.person_kind, "person_id": n.person_id,
                     "lang": _lang(s, n.person_kind, n.person_id), "subject": n.subject, "urgent": n.urgent,
                     "edit_ref": _edit_ref(s, n, i)}
                    for n, i in outbox.claim_for_channels(s, self.now, channels, limit, self.outbox_lease)]

    def delivered(self, notification_id: int, platform_ref: str | None = None) -> None:
        """Sent; ``platform_ref`` ("chat:message_id") lets a later card that replaces it edit it in place."""
        with self.db.uow() as s:
            outbox.delivered(s, self.now, notification_id, platform_ref)

    def failed(self, notification_id: int, error: str, retry_after: float | None = None,
               permanent: bool = False) -> None:
        with self.db.uow() as s:
            outbox.failed(s, self.now, notification_id, error, retry_after, permanent)

    def deferred(self, notification_id: int, reason: str, wait: timedelta) -> None:
        """Sendable only once the person writes again: it waits up to ``wait``, then managers are told."""
        with self.db.uow() as s:
            outbox.deferred(s, self.now, notification_id, reason, self.now + wait)

    def wake_deferred(self, channel: str, external_id: str) -> int:
        """This identity wrote: the person's deferred messages go out now."""
        with self.db.uow() as s:
            ident = s.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
            return 0 if ident is None else outbox.woken(s, self.now, ident.person_kind, ident.person_id)

    def identity_gone(self, channel: str, external_id: str) -> bool:
        """The person left this channel (WeChat unsubscribe): nothing more goes there until they write
        again (``seen``). False for an identity never seen."""
        with self.db.uow() as s:
            ident = s.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
            if ident is None:
                return False
            ident.unreachable = True
            return True

    def unreachable(self, notification_id: int, channel: str, external_id: str, error: str) -> bool:
        """The platform says this chat is gone (blocked, deleted): mark it, and send the row on the
        person's next identity at once; with none left it is undeliverable and managers are told.
        Returns whether another identity is left."""
        with self.db.uow() as s:
            ident = s.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
            if ident is not None:
                ident.unreachable = True
                s.flush()
            return outbox.rerouted(s, self.now, notification_id, error)


def _replaced_id(s: Session, n: Notification) -> int | None:
    """The id of the earlier row (a card shown on a pull channel) this one replaces: the widget updates
    that message instead of showing a second card with dead buttons."""
    if not n.replaces_key:
        return None
    return s.scalar(select(Notification.id).where(Notification.key == n.replaces_key,
                                                  Notification.person_kind == n.person_kind,
                                                  Notification.person_id == n.person_id))


def _edit_ref(s: Session, n: Notification, ident: Identity) -> str | None:
    """The message a card replaces, when it can be edited: delivered on the same channel to the same chat
    (the person may have moved to another channel or chat since; then the card goes out as a new message)."""
    if not n.replaces_key:
        return None
    ref = s.scalar(select(Notification.platform_ref).where(
        Notification.key == n.replaces_key, Notification.status == "delivered",
        Notification.channel == ident.channel, Notification.person_kind == n.person_kind,
        Notification.person_id == n.person_id))
    if not ref or ref.split(":", 1)[0] != ident.external_id:
        return None
    return ref


def _lang(s: Session, kind: str, person_id: int) -> str:
    p = s.get(LANG_MODELS[kind], person_id)
    return getattr(p, "lang", "zh") if p else "zh"
