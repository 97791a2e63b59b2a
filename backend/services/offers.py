"""Offering a booking to housekeepers in rank order, with time-outs; accepting safely under races."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.bulk import insert_rows
from backend.domain.availability import overlaps
from backend.domain.booking_state import transition
from backend.domain.matching import Ranked, adjacent_to, by_area, rank
from backend.orm import Booking, Client, Housekeeper, MatchCandidate, Notification, Offer
from backend.services import Context, DomainError, vetting
from backend.services.audit import record
from backend.services.escalations import escalate
from backend.services.outbox import notify
from backend.services.profiles import job_notes, offer_codes
from backend.services.roster import BUSY, constraints, free_candidates, held_terms, why_not
from backend.services.timers import cancel as cancel_timer
from backend.services.timers import handler, schedule


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else ""


def set_status(ctx: Context, session: Session, b: Booking, new: str, actor: str, **detail: object) -> None:
    old = b.status
    b.status = transition(b.id, old, new)
    record(session, ctx.clock.now(), "booking", b.id, old, new, actor, **detail)


class Ranking(NamedTuple):
    """A booking's candidates as matching found them: free ones best first, those passed over (id → reason),
    and the vetting items missing for the ranked ones (flagged, not yet enforced)."""

    ranked: list[Ranked]
    unfit: dict[int, str]
    vetting_warnings: dict[int, str]
    prefer: int | None


def ranking(ctx: Context, session: Session, b: Booking, prefer: int | None = None) -> Ranking:
    """Every free housekeeper for ``b`` (reads only: ``b`` need not be written yet)."""
    ranked, unfit = _ranking(ctx, session, b, prefer)
    # before the vetting policy is enforced a missing item is flagged (matched, but managers see it)
    warnings = vetting.warnings(ctx, session, [r.housekeeper_id for r in ranked], b.service, b.starts_at)
    return Ranking(ranked, unfit, warnings, prefer)


def _ranking(ctx: Context, session: Session, b: Booking,
             prefer: int | None = None) -> tuple[list[Ranked], dict[int, str]]:
    """The matching itself: who is free and fit, the area rule and the ranking (best first), and those
    passed over (id → reason)."""
    client = session.get(Client, b.client_id)
    never, needs = constraints(ctx, session, b.client_id, b.standing_notes if b.standing_notes is not None else [])
    unfit: dict[int, str] = {}
    cands = free_candidates(ctx, session, b.service, b.starts_at, b.ends_at, never, needs, unfit)
    cands, away = by_area(ctx.area, cands, b.city, b.district)  # another city, or too far: never offered
    unfit.update(away)
    preferred = frozenset(int(i) for i in (client.preferred or [])) if client else frozenset()
    ranked = rank(cands, client.lang if client else "zh", b.district, client.last_housekeeper_id if client else None,
                  preferred, adjacent=adjacent_to(ctx.area, b.city, b.district))
    ranked.sort(key=lambda r: r.housekeeper_id != prefer)  # stable: the rest keep their order
    return ranked, unfit


def _candidate_rows(b: Booking, r: Ranking) -> list[dict[str, Any]]:
    """A row per ranked candidate with its reasons, then one per housekeeper passed over (``excluded``,
    never offered) with the reason, so /candidates shows why."""
    rows = []
    for i, c in enumerate(r.ranked, 1):
        reasons = {**c.reasons, "preferred": 1.0} if c.housekeeper_id == r.prefer else c.reasons
        if c.housekeeper_id in r.vetting_warnings:
            reasons = {**reasons, "vetting_warning": r.vetting_warnings[c.housekeeper_id]}
        rows.append({"booking_id": b.id, "housekeeper_id": c.housekeeper_id, "rank": i, "score": c.score,
                     "reasons": reasons, "state": "ranked"})
    for i, (hk_id, problem) in enumerate(sorted(r.unfit.items()), len(r.ranked) + 1):
        rows.append({"booking_id": b.id, "housekeeper_id": hk_id, "rank": i, "score": 0.0,
                     "reasons": {"excluded": problem}, "state": "excluded"})
    return rows


def rank_candidates(ctx: Context, session: Session, b: Booking, prefer: int | None = None) -> int:
    """``prefer``: a housekeeper ranked first when she is free (a rework visit goes to her first).
    The client's never-again list and the needs of the booking's standing notes (a cat → pets_ok, an
    English speaker asked for → lang:en) are hard; the client's preferred housekeepers get a bonus.
    Those free but unfit for the profile are kept as ``excluded`` rows (never offered) with the reason,
    so /candidates shows why she was passed over. Returns the number ranked."""
    r = ranking(ctx, session, b, prefer)
    insert_rows(session, MatchCandidate.__table__, _candidate_rows(b, r))  # one statement: a big roster ranks hundreds
    return len(r.ranked)


def offer_first(ctx: Context, session: Session, b: Booking, r: Ranking, actor: str) -> Offer | None:
    """Write the new booking ``b`` (``bookings.create``; ranked, not yet in the session) once, with the status
    its first offer gives it: its candidates stored and the best one offered, none → unassigned. Each ranked
    one was found free in this transaction, so the best is offered as she is stored, with no read of the rows
    just written. The booking's INSERT, where a concurrent twin with the same request_key fails, comes
    before anything is offered."""
    now = ctx.clock.now()
    if r.ranked:
        b.status = transition(None, "requested", "offered")
    session.add(b)
    session.flush()
    if not r.ranked:
        record(session, now, "booking", b.id, None, "requested", actor, service=b.service)
        insert_rows(session, MatchCandidate.__table__, _candidate_rows(b, r))
        _unassigned(ctx, session, b, "system")
        return None
    offer = _new_offer(ctx, session, b, r.ranked[0].housekeeper_id)
    # both of the booking's audit rows in one flush (insert_rows' below): one INSERT
    record(session, now, "booking", b.id, None, "requested", actor, service=b.service)
    record(session, now, "booking", b.id, "requested", b.status, "system", offer_id=offer.id,
           housekeeper_id=offer.housekeeper_id)
    rows = _candidate_rows(b, r)
    rows[0]["state"] = "offered"
    insert_rows(session, MatchCandidate.__table__, rows)
    _announce(ctx, session, b, offer)
    return offer


def offer_next(ctx: Context, session: Session, b: Booking, actor: str = "system") -> Offer | None:
    """Offer the booking to the best remaining candidate still free; none left → unassigned."""
    offer = _offer_best(ctx, session, b, actor)
    if offer is None:
        _unassigned(ctx, session, b, actor)
    return offer


def _unassigned(ctx: Context, session: Session, b: Booking, actor: str) -> None:
    now = ctx.clock.now()
    set_status(ctx, session, b, "unassigned", actor)
    notify(session, now, "client", b.client_id, "booking_unassigned", f"booking:{b.id}:unassigned:{now.isoformat()}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat())
    escalate(ctx, session, "unassigned", client_id=b.client_id, booking_id=b.id, service=b.service,
             starts_at=b.starts_at.isoformat())


def _offer_best(ctx: Context, session: Session, b: Booking, actor: str) -> Offer | None:
    """The offer to the best stored candidate still free (those no longer free are marked skipped)."""
    best = (select(MatchCandidate).where(MatchCandidate.booking_id == b.id, MatchCandidate.state == "ranked")
            .order_by(MatchCandidate.rank, MatchCandidate.id).limit(1))
    # One at a time (a skipped one is flushed before the next read): the best is nearly always taken.
    while (cand := session.scalar(best)) is not None:
        hk = session.get(Housekeeper, cand.housekeeper_id)
        reason = why_not(ctx, session, hk, b.service, b.starts_at, b.ends_at) if hk else "gone"
        if reason is not None:
            cand.state = "skipped"
            cand.reasons = {**cand.reasons, "skipped": reason}
            session.flush()  # before the next read, autoflush or not
            continue
        cand.state = "offered"
        offer = _new_offer(ctx, session, b, cand.housekeeper_id)
        set_status(ctx, session, b, "offered", actor, offer_id=offer.id, housekeeper_id=offer.housekeeper_id)
        _announce(ctx, session, b, offer)
        return offer
    return None


def _new_offer(ctx: Context, session: Session, b: Booking, hk_id: int) -> Offer:
    now = ctx.clock.now()
    offer = Offer(booking_id=b.id, housekeeper_id=hk_id, created_at=now,
                  expires_at=now + timedelta(minutes=ctx.offer_timeout_minutes))
    session.add(offer)
    session.flush()  # its id names its timer and its message
    return offer


def _announce(ctx: Context, session: Session, b: Booking, offer: Offer) -> None:
    """The offer's expiry timer and the housekeeper's card."""
    schedule(session, "offer_expiry", offer.id, offer.expires_at, f"offer_expiry:{offer.id}")
    notify(session, ctx.clock.now(), "housekeeper", offer.housekeeper_id, "offer_new", f"offer:{offer.id}",
           subject=f"booking:{b.id}", offer_id=offer.id, booking_id=b.id, service=b.service,
           starts_at=b.starts_at.isoformat(), ends_at=b.ends_at.isoformat(), district=b.district or "",
           minutes=ctx.offer_timeout_minutes,
           profile_codes=offer_codes(ctx, b.standing_notes))  # our words for what matters, not the client's


def lock_offer(session: Session, offer_id: int) -> Offer | None:
    """The offer row, locked and re-read. Every path that changes an offer (accept, decline, expiry,
    withdrawal) takes this lock first, then the booking's: they queue here instead of both acting on
    a "pending" they each read (SQLite serialises all writers anyway)."""
    return session.get(Offer, offer_id, with_for_update=True, populate_existing=True)


def _offer_for(session: Session, offer_id: int, housekeeper_id: int) -> Offer:
    offer = lock_offer(session, offer_id)
    if offer is None:
        raise DomainError("offer_not_found")
    if offer.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_offer")
    return offer


def accept(ctx: Context, session: Session, offer_id: int, housekeeper_id: int) -> tuple[Booking, str | None]:
    """Confirm the booking to this housekeeper. Refusals with nothing to keep raise ``DomainError``;
    a slot she has meanwhile filled returns ``(booking, "slot_taken")`` so that the withdrawal and
    the offer to the next candidate commit."""
    now = ctx.clock.now()
    # Lock the housekeeper first: every confirmation for her queues here, so the overlap check
    # below sees the jobs confirmed by whoever went before (SQLite serialises all writers anyway).
    # Lock order everywhere: housekeeper, offer, booking.
    hk = session.get(Housekeeper, housekeeper_id, with_for_update=True, populate_existing=True)
    if hk is None:
        raise DomainError("not_your_offer")
    offer = _offer_for(session, offer_id, housekeeper_id)
    if offer.status != "pending":
        raise DomainError(f"offer_{offer.status}")
    if offer.expires_at <= now:
        raise DomainError("offer_expired")
    b = session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True)
    if b is None or b.status != "offered":
        offer.status = "withdrawn"
        raise DomainError("offer_withdrawn")
    jobs = session.scalars(select(Booking).where(Booking.housekeeper_id == hk.id, Booking.status.in_(BUSY),
                                                 Booking.id != b.id))
    buffer = timedelta(minutes=ctx.travel_buffer_minutes)
    taken = [(j.starts_at, j.ends_at) for j in jobs] + held_terms(session, [hk.id], ctx.tz).get(hk.id, [])
    if any(overlaps((b.starts_at, b.ends_at), t, buffer) for t in taken):  # a job, or a placement she is held for
        offer.status, offer.responded_at = "withdrawn", now
        cancel_timer(session, f"offer_expiry:{offer.id}")
        record(session, now, "offer", offer.id, "pending", "withdrawn", f"housekeeper:{hk.id}", reason="busy")
        offer_next(ctx, session, b)
        return b, "slot_taken"
    offer.status, offer.responded_at = "accepted", now
    cancel_timer(session, f"offer_expiry:{offer.id}")
    record(session, now, "offer", offer.id, "pending", "accepted", f"housekeeper:{hk.id}")
    b.housekeeper_id = hk.id
    set_status(ctx, session, b, "confirmed", f"housekeeper:{hk.id}")
    client = session.get(Client, b.client_id)
    if client is not None:
        client.last_housekeeper_id = hk.id
    badges = vetting.badges(ctx, session, [hk.id], b.starts_at)[hk.id]  # what HER record backs, no more
    notify(session, now, "client", b.client_id, "booking_confirmed", f"booking:{b.id}:confirmed:{offer.id}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
           housekeeper=hk.name, rating=round(hk.rating, 1), housekeeper_phone=hk.phone or "",  # hers: full
           badges=badges, badges_text=vetting.badges_text(badges, client.lang if client else None))
    notify(session, now, "housekeeper", hk.id, "job_confirmed", f"job:{b.id}:confirmed:{offer.id}",
           subject=f"booking:{b.id}", booking_id=b.id, service=b.service, starts_at=b.starts_at.isoformat(),
           ends_at=b.ends_at.isoformat(), address=b.address or "",
           client_phone=(client.phone if client else None) or "",  # the job is hers: she may call the client
           standing_notes=job_notes(b.standing_notes), notes=b.notes or "",  # now hers: the client's words too
           address_as=client.address_as if client else None)  # how the client likes to be addressed
    from backend.services import day_of_job  # it imports this module: imported when first needed

    day_of_job.arm(ctx, session, b)  # the reminders the day before and the no-check-in alarm
    return b, None


def decline(ctx: Context, session: Session, offer_id: int, housekeeper_id: int) -> Offer:
    now = ctx.clock.now()
    offer = _offer_for(session, offer_id, housekeeper_id)
    if offer.status != "pending":
        raise DomainError(f"offer_{offer.status}")
    offer.status, offer.responded_at = "declined", now
    cancel_timer(session, f"offer_expiry:{offer.id}")
    record(session, now, "offer", offer.id, "pending", "declined", f"housekeeper:{housekeeper_id}")
    _close_candidate(session, offer, "declined")
    b = session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True)
    if b is not None and b.status == "offered":
        offer_next(ctx, session, b)
    return offer


@handler("offer_expiry")
def expire(ctx: Context, session: Session, offer_id: int) -> None:
    now = ctx.clock.now()
    offer = lock_offer(session, offer_id)
    if offer is None or offer.status != "pending" or offer.expires_at > now:
        return
    offer.status = "expired"
    record(session, now, "offer", offer.id, "pending", "expired", "timer")
    _close_candidate(session, offer, "expired")
    notify(session, now, "housekeeper", offer.housekeeper_id, "offer_expired", f"offer:{offer.id}:expired",
           subject=f"booking:{offer.booking_id}", offer_id=offer.id, booking_id=offer.booking_id)
    b = session.get(Booking, offer.booking_id, with_for_update=True, populate_existing=True)
    if b is not None and b.status == "offered":
        offer_next(ctx, session, b, actor="timer")


def lock_pending(session: Session, booking_id: int) -> list[Offer]:
    """A booking's pending offers, locked (before the booking row, in the order accept takes them)."""
    return list(session.scalars(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending")
                                .order_by(Offer.id).with_for_update()
                                .execution_options(populate_existing=True)))


def withdraw_pending(ctx: Context, session: Session, booking_id: int, reason: str) -> None:
    for offer in lock_pending(session, booking_id):
        offer.status = "withdrawn"
        cancel_timer(session, f"offer_expiry:{offer.id}")
        record(session, ctx.clock.now(), "offer", offer.id, "pending", "withdrawn", "system", reason=reason)
        if reason == "cancelled":  # she may have seen the card: say it is gone (an unsent card goes stale)
            b = session.get(Booking, booking_id)
            key = f"offer:{offer.id}:withdrawn"
            notify(session, ctx.clock.now(), "housekeeper", offer.housekeeper_id, "offer_withdrawn", key,
                   subject=f"booking:{booking_id}", offer_id=offer.id, booking_id=booking_id,
                   service=b.service if b else None, starts_at=b.starts_at.isoformat() if b else None)
            # the card already on her screen becomes the withdrawn one, without its buttons (a channel
            # that can edit does it in place; pull channels show the withdrawn card as the next message)
            replace_card(session, key, f"offer:{offer.id}")


def latest_key(session: Session, person_kind: str, person_id: int, template: str, subject: str) -> str | None:
    """The key of the person's latest ``template`` row about ``subject`` (the card a later one replaces)."""
    return session.scalar(select(Notification.key).where(
        Notification.person_kind == person_kind, Notification.person_id == person_id,
        Notification.template == template, Notification.subject == subject).order_by(Notification.id.desc()).limit(1))


def replace_card(session: Session, key: str, replaces: str | None) -> None:
    """Mark the row ``key`` as replacing the card ``replaces``: the dispatcher edits that message."""
    if not replaces:
        return
    session.flush()
    row = session.scalar(select(Notification).where(Notification.key == key))
    if row is not None and row.key != replaces and row.replaces_key is None:
        row.replaces_key = replaces


def _close_candidate(session: Session, offer: Offer, state: str) -> None:
    cand = session.scalar(select(MatchCandidate).where(MatchCandidate.booking_id == offer.booking_id,
                                                        MatchCandidate.housekeeper_id == offer.housekeeper_id))
    if cand is not None:
        cand.state = state
