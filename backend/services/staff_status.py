"""One status model for staff: active, suspended from matching (with reasons), deactivated.

- ``active``: offered jobs, full chat access.
- ``suspended_from_matching``: keeps chat access and her confirmed jobs, gets no new offers; the
  reasons (``HOLD_REASONS``) are kept in ``Housekeeper.hold_reasons`` and lifted one by one.
- ``deactivated``: no access at all; pending offers go to the next candidate, chats are unbound,
  tokens revoked, confirmed jobs escalated to the managers for reassignment.
Managers are only ``active`` or ``deactivated``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.orm import Booking, Housekeeper, Invite, Manager, MatchCandidate, Offer, Takeover
from backend.services import Context, DomainError, offers, outbox, people, staff_tokens
from backend.services.audit import record
from backend.services.escalations import escalate
from backend.services.timers import cancel as cancel_timer

ACTIVE, SUSPENDED, DEACTIVATED = "active", "suspended_from_matching", "deactivated"
HOLD_REASONS = ("expired_certificate", "failed_assessment", "manager_hold")
JOB_HELD = ("confirmed", "in_progress")


def find(session: Session, code: str, lock: bool = False) -> tuple[str, Housekeeper | Manager]:
    """(kind, row) of a roster code, or DomainError('no_such_staff')."""
    for kind, model in people.STAFF_MODELS.items():
        q = select(model).where(model.code == code)
        if lock:  # lock order everywhere: housekeeper, offer, booking (as offers.accept)
            q = q.with_for_update().execution_options(populate_existing=True)
        row = session.scalar(q)
        if row is not None:
            return kind, row
    raise DomainError("no_such_staff")


def _set(session: Session, now: Any, kind: str, p: Housekeeper | Manager, new: str, actor: str,
         **detail: Any) -> None:
    old = p.status
    p.status = new
    if isinstance(p, Housekeeper):
        p.active = new == ACTIVE  # kept in step for old readers; matching reads ``status``
    record(session, now, kind, p.id, old, new, actor, code=p.code, **detail)


def withdraw_offers(ctx: Context, session: Session, housekeeper_id: int, reason: str) -> list[int]:
    """Her pending offers are withdrawn and each booking goes to its next candidate; returns offer ids."""
    now = ctx.clock.now()
    moved = []
    pending = session.scalars(select(Offer).where(Offer.housekeeper_id == housekeeper_id, Offer.status == "pending")
                              .order_by(Offer.id).with_for_update().execution_options(populate_existing=True))
    for offer in list(pending):
        offer.status, offer.responded_at = "withdrawn", now
        cancel_timer(session, f"offer_expiry:{offer.id}")
        record(session, now, "offer", offer.id, "pending", "withdrawn", "system", reason=reason)
        session.execute(update(MatchCandidate).where(MatchCandidate.booking_id == offer.booking_id,
                                                     MatchCandidate.housekeeper_id == housekeeper_id)
                        .values(state="withdrawn"))
        b = session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True)
        if b is not None and b.status == "offered":
            offers.offer_next(ctx, session, b)
        moved.append(offer.id)
    return moved


def suspend(ctx: Context, session: Session, code: str, reason: str, actor: str) -> dict[str, Any]:
    if reason not in HOLD_REASONS:
        raise DomainError("bad_hold_reason")
    kind, p = find(session, code, lock=True)
    if not isinstance(p, Housekeeper):
        raise DomainError("managers_cannot_be_suspended")
    if p.status == DEACTIVATED:
        raise DomainError("person_deactivated")
    p.hold_reasons = sorted({*(p.hold_reasons or []), reason})
    if p.status != SUSPENDED:
        _set(session, ctx.clock.now(), kind, p, SUSPENDED, actor, reason=reason)
    else:
        record(session, ctx.clock.now(), kind, p.id, SUSPENDED, SUSPENDED, actor, code=p.code, reason=reason)
    session.flush()
    moved = withdraw_offers(ctx, session, p.id, f"suspended:{reason}")
    return {"code": p.code, "status": p.status, "hold_reasons": list(p.hold_reasons), "offers_moved": moved}


def reinstate(ctx: Context, session: Session, code: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Lift one hold reason (or all); back to active when none is left. A deactivated person comes back
    active with no chats and no token: she needs a new invitation and a new token."""
    kind, p = find(session, code, lock=True)
    now = ctx.clock.now()
    if p.status == DEACTIVATED:
        if isinstance(p, Housekeeper):
            p.hold_reasons = []
        _set(session, now, kind, p, ACTIVE, actor)
        people.bind(session, kind, p.id, "rest", people.rest_sender(p.code))
    elif isinstance(p, Housekeeper) and p.status == SUSPENDED:
        if reason is not None and reason not in (p.hold_reasons or []):
            raise DomainError("bad_hold_reason")
        left = [r for r in (p.hold_reasons or []) if reason is not None and r != reason]
        p.hold_reasons = left
        if not left:
            _set(session, now, kind, p, ACTIVE, actor, reason=reason or "all")
        else:
            record(session, now, kind, p.id, SUSPENDED, SUSPENDED, actor, code=p.code, lifted=reason)
    return {"code": p.code, "status": p.status,
            "hold_reasons": list(getattr(p, "hold_reasons", None) or [])}


def deactivate(ctx: Context, session: Session, code: str, actor: str) -> dict[str, Any]:
    kind, p = find(session, code, lock=True)
    now = ctx.clock.now()
    if p.status == DEACTIVATED:
        return {"code": p.code, "kind": kind, "status": DEACTIVATED, "already": True, "offers_moved": [],
                "identities_removed": 0, "tokens_revoked": 0, "escalated_bookings": [], "takeovers_ended": 0}
    _set(session, now, kind, p, DEACTIVATED, actor)
    session.flush()  # matching must see her as gone before the offers move on
    moved: list[int] = []
    escalated: list[int] = []
    ended = 0
    if isinstance(p, Housekeeper):
        moved = withdraw_offers(ctx, session, p.id, "deactivated")
        for b in session.scalars(select(Booking).where(Booking.housekeeper_id == p.id, Booking.status.in_(JOB_HELD),
                                                       Booking.ends_at > now).order_by(Booking.starts_at)):
            # Someone must take these jobs: a manager reassigns them; nothing is kept silently.
            escalate(ctx, session, "staff_deactivated", client_id=b.client_id, booking_id=b.id, service=b.service,
                     starts_at=b.starts_at.isoformat(), housekeeper=p.code)
            escalated.append(b.id)
    else:
        for t in session.scalars(select(Takeover).where(Takeover.manager_id == p.id, Takeover.ended_at.is_(None))):
            t.ended_at = now  # the clients she held go back to the bot
            outbox.notify(session, now, "client", t.client_id, "takeover_ended", f"takeover_end:{t.id}")
            ended += 1
    removed = people.unbind_all(session, kind, p.id)
    revoked = staff_tokens.revoke(session, now, kind, p.id)
    session.execute(update(Invite).where(Invite.person_kind == kind, Invite.person_id == p.id,
                                         Invite.used_at.is_(None)).values(used_at=now))
    return {"code": p.code, "kind": kind, "status": DEACTIVATED, "already": False, "offers_moved": moved,
            "identities_removed": removed, "tokens_revoked": revoked, "escalated_bookings": escalated,
            "takeovers_ended": ended}
