"""One client on several channels: a one-time code asked for on one channel (the widget, Telegram) and
sent on another (WeChat) joins that chat identity to the same client, so bookings, profile and reminders
follow the client there.

Codes are eight digits (typed on a phone; 10⁸ with few guesses allowed, see dialogs/linking.py), valid
for a short time, used once; they are stored like staff
invites (``invites``, kind "client") under a prefix that staff invites never take.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.orm import Booking, Invite
from backend.services import DomainError, people

PREFIX = "link:"
DIGITS = 8
VALID = timedelta(minutes=15)


def new_code(session: Session, now: datetime, client_id: int) -> str:
    """A fresh code for this client; the client's earlier unused codes stop working."""
    for old in session.scalars(select(Invite).where(Invite.person_kind == "client", Invite.person_id == client_id,
                                                    Invite.used_at.is_(None))):
        old.used_at = now
    while True:
        code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
        live = session.get(Invite, PREFIX + code)
        if live is None:
            break
        if live.used_at is not None or live.expires_at <= now:
            session.delete(live)  # an old code's row: the number may be given out again
            session.flush()
            break
    session.add(Invite(token=PREFIX + code, person_kind="client", person_id=client_id, created_at=now,
                       expires_at=now + VALID))
    return code


def redeem(session: Session, now: datetime, code: str, channel: str, external_id: str) -> people.Person | None:
    """Join this chat identity to the code's client; None for an unknown, used or expired code.
    Refused (DomainError "link_has_bookings") when the identity's own client already has bookings:
    merging two histories is a manager's decision."""
    inv = session.get(Invite, PREFIX + code, with_for_update=True)
    if inv is None or inv.person_kind != "client" or inv.used_at is not None or inv.expires_at <= now:
        return None
    current = people.identify(session, channel, external_id)
    if current is not None and current.kind != "client":
        raise DomainError("staff_sender")
    if current is not None and current.id != inv.person_id:
        has = session.scalar(select(func.count()).select_from(Booking).where(Booking.client_id == current.id))
        if has:
            raise DomainError("link_has_bookings")
    inv.used_at = now
    people.bind(session, "client", inv.person_id, channel, external_id)
    session.flush()
    return people.identify(session, channel, external_id)
