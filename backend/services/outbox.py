"""The outbox: notifications written in the transaction that causes them, delivered later.

Delivery rules (issue 7):
- Order holds per person and subject ("booking:12", "case:3", "" for none): a row is sent only when
  no earlier row of the same queue is still pending, so push dispatchers claim queue HEADS only.
  Urgent rows form their own queue per subject and are never held behind non-urgent ones.
- A person's rows go to ONE identity: the reachable one they last wrote from (ties: the most recently
  bound). Push channels claim rows routed to them; pull channels see only rows routed to them.
- At send time a row whose reason is gone (see ``stale_when``) is marked "stale" instead of sent.
- Rows that fail for good ("failed") or have nowhere to go ("undeliverable") stop blocking their queue
  and every manager is told, without the personal text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from backend.once import insert_once
from backend.orm import Booking, Identity, Manager, Notification, Offer, UTCDateTime
from backend.services import turn_reads

MAX_ATTEMPTS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Staleness = Callable[[Session, dict[str, Any]], bool]
STALE: dict[str, Staleness] = {}
# template → hook(session, now, notification) run when a row of that template reaches its person
# (a push channel accepted it, or a pull channel acknowledged it), in the same transaction: a manager's
# first message that reaches the client is what stops a case's first-response clock.
Delivered = Callable[[Session, datetime, Notification], None]
ON_DELIVERED: dict[str, Delivered] = {}


def on_delivered(template: str) -> Callable[[Delivered], Delivered]:
    def register(fn: Delivered) -> Delivered:
        ON_DELIVERED[template] = fn
        return fn

    return register


def _delivered_hooks(session: Session, now: datetime, ids: list[int]) -> None:
    if not ids or not ON_DELIVERED:
        return
    for n in session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                        Notification.template.in_(list(ON_DELIVERED)))):
        ON_DELIVERED[n.template](session, now, n)


def stale_when(template: str) -> Callable[[Staleness], Staleness]:
    """Register ``predicate(session, params) -> True`` when a ``template`` row must not be sent any more."""

    def register(fn: Staleness) -> Staleness:
        STALE[template] = fn
        return fn

    return register


def notify(session: Session, now: datetime, person_kind: str, person_id: int, template: str, key: str, *,
           subject: str = "", urgent: bool = False, hold: timedelta | None = None, **params: Any) -> None:
    """Queue a message; the same ``key`` twice is one message (idempotent retries of a command).
    ``hold``: no dispatcher takes it before then (a channel may still answer it in its own reply)."""
    insert_once(session, Notification, ("key",), key=key, person_kind=person_kind, person_id=person_id,
                template=template, params=params, subject=subject[:64], urgent=urgent, created_at=now,
                next_attempt_at=now + hold if hold else now)


def is_stale(session: Session, n: Notification) -> bool:
    check = STALE.get(n.template)
    return bool(check and check(session, n.params or {}))


# --- routing --------------------------------------------------------------------------------------
def _seen(ident: Any) -> Any:
    return func.coalesce(ident.last_seen_at, literal(EPOCH, UTCDateTime()))


def _preferred(ident: Any) -> Any:
    """SQL: ``ident`` is reachable and no other reachable identity of the same person ranks above it."""
    other = aliased(Identity)
    better = exists().where(other.person_kind == ident.person_kind, other.person_id == ident.person_id,
                            other.unreachable.is_(False), other.id != ident.id,
                            or_(_seen(other) > _seen(ident), and_(_seen(other) == _seen(ident), other.id > ident.id)))
    return and_(ident.unreachable.is_(False), ~better)


def route(session: Session, person_kind: str, person_id: int) -> Identity | None:
    """Where this person's proactive messages go now: the reachable identity they last wrote from."""
    idents = [i for i in session.scalars(select(Identity).where(Identity.person_kind == person_kind,
                                                                Identity.person_id == person_id))
              if not i.unreachable]
    return max(idents, key=lambda i: (i.last_seen_at or EPOCH, i.id), default=None)


def is_stale_route(now: datetime, ident: Identity, idents: list[Identity], fresh: timedelta) -> bool:
    """Would a message from ``ident`` change anything: not yet the route among the person's ``idents``,
    marked unreachable, or its stamp older than ``fresh``?"""
    reachable = [i for i in idents if not i.unreachable]
    current = max(reachable, key=lambda i: (i.last_seen_at or EPOCH, i.id), default=None)
    return (ident.unreachable or current is None or current.id != ident.id or ident.last_seen_at is None
            or ident.last_seen_at <= now - fresh)


def stale_route(session: Session, now: datetime, channel: str, external_id: str, fresh: timedelta) -> bool:
    """Would a message from this identity change anything? (Read-only; False for unknown identities.)"""
    ident, idents = turn_reads.sender_identities(session, channel, external_id)
    return ident is not None and is_stale_route(now, ident, idents, fresh)


def seen(session: Session, now: datetime, channel: str, external_id: str) -> None:
    """A message came in on this identity: it becomes the route, and it is reachable again."""
    ident = session.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
    if ident is not None:
        ident.last_seen_at, ident.unreachable = now, False


# --- push -----------------------------------------------------------------------------------------
DEFERRED = "deferred: "  # last_error prefix of rows waiting for the person to open a window (WeChat)


def _head() -> Any:
    """SQL: no earlier row of the same queue (person, subject, urgency) is still pending (rows deferred
    until the person writes do not hold the others up)."""
    earlier = aliased(Notification)
    waiting = and_(earlier.last_error.is_not(None), earlier.last_error.like(DEFERRED + "%"))
    return ~exists().where(earlier.person_kind == Notification.person_kind,
                           earlier.person_id == Notification.person_id, earlier.subject == Notification.subject,
                           earlier.urgent == Notification.urgent, earlier.status == "pending",
                           earlier.id < Notification.id, ~waiting)


def _heads_for(now: datetime, channels: list[str]) -> Any:
    return (select(Notification, Identity)
            .join(Identity, and_(Identity.person_kind == Notification.person_kind,
                                 Identity.person_id == Notification.person_id))
            .where(Notification.status == "pending", Notification.next_attempt_at <= now,
                   Identity.channel.in_(channels), _preferred(Identity), _head()))


def _nowhere() -> Any:
    """SQL: the row's person has identities, and every one of them is unreachable."""
    any_ident = exists().where(Identity.person_kind == Notification.person_kind,
                               Identity.person_id == Notification.person_id)
    reachable = exists().where(Identity.person_kind == Notification.person_kind,
                               Identity.person_id == Notification.person_id, Identity.unreachable.is_(False))
    return and_(Notification.status == "pending", any_ident, ~reachable)


def work_for(session: Session, now: datetime, channels: list[str]) -> bool:
    """Read-only: would a claim find anything? Lets an idle dispatcher skip the write transaction."""
    heads = _heads_for(now, channels).with_only_columns(Notification.id).limit(1)
    return (session.execute(heads).first() is not None
            or session.execute(select(Notification.id).where(_nowhere()).limit(1)).first() is not None)


def push_backlog(session: Session, now: datetime, channels: list[str]) -> tuple[int, datetime | None]:
    """Read-only: how many due queue heads wait for these push channels, and the earliest due time among
    them (the on-call view, ``services.operations``). Rows behind a head, and rows for pull channels
    (which wait for their person to ask), are not counted."""
    heads = _heads_for(now, channels).with_only_columns(func.count(), func.min(Notification.next_attempt_at))
    count, oldest = session.execute(heads).one()
    return int(count), oldest


def claim_for_channels(session: Session, now: datetime, channels: list[str], limit: int = 50,
                       lease: timedelta = timedelta(minutes=2)) -> list[tuple[Notification, Identity]]:
    """Claim the due queue heads routed to these push channels. A claimed row is leased: a crashed
    dispatcher's row comes back after ``lease``, and until then it blocks the rows behind it, so two
    dispatchers can never reorder a queue (``SKIP LOCKED`` keeps them from waiting on each other)."""
    sweep_undeliverable(session, now)
    q = (_heads_for(now, channels).order_by(Notification.urgent.desc(), Notification.id)
         .with_for_update(skip_locked=True, of=Notification))
    out: list[tuple[Notification, Identity]] = []
    while len(out) < limit:
        stale = 0
        for n, ident in session.execute(q.limit(limit - len(out))).all():
            if is_stale(session, n):
                n.status, n.last_error = "stale", None  # its successor becomes the head: claim again
                stale += 1
                continue
            n.channel, n.next_attempt_at, n.attempts = ident.channel, now + lease, n.attempts + 1
            out.append((n, ident))
        session.flush()
        if not stale:
            break
    return out


def sweep_undeliverable(session: Session, now: datetime, limit: int = 50) -> int:
    """Rows of people whose every identity is unreachable can go nowhere: stop them blocking."""
    rows = list(session.scalars(select(Notification).where(_nowhere()).order_by(Notification.id).limit(limit)
                                .with_for_update(skip_locked=True, of=Notification)))
    for n in rows:
        give_up(session, now, n, "undeliverable", "no reachable identity")
    return len(rows)


def delivered(session: Session, now: datetime, notification_id: int, platform_ref: str | None = None) -> None:
    """Sent. ``platform_ref`` (chat:message id) lets a later card edit this message in place."""
    session.execute(update(Notification).where(Notification.id == notification_id)
                    .values(status="delivered", delivered_at=now, last_error=None, platform_ref=platform_ref))
    _delivered_hooks(session, now, [notification_id])


def failed(session: Session, now: datetime, notification_id: int, error: str, retry_after: float | None = None,
           permanent: bool = False) -> None:
    n = session.get(Notification, notification_id, with_for_update=True)
    if n is None or n.status != "pending":
        return
    n.last_error = error[:500]
    if permanent or n.attempts >= MAX_ATTEMPTS:
        give_up(session, now, n, "failed", n.last_error)
        return
    backoff = retry_after if retry_after is not None else min(300.0, 2.0 ** n.attempts)
    n.next_attempt_at = now + timedelta(seconds=backoff)




def deferred(session: Session, now: datetime, notification_id: int, reason: str, until: datetime) -> None:
    """The channel can send this only after the person writes (WeChat's window closed and no template
    fits): the row waits, not counted as an attempt, until ``woken`` or ``until`` (then it is tried once
    more and, still unsendable, given up so that managers hear of it)."""
    n = session.get(Notification, notification_id, with_for_update=True)
    if n is None or n.status != "pending":
        return
    if n.last_error and n.last_error.startswith(DEFERRED):  # deferred before and not woken since: it ran out
        give_up(session, now, n, "undeliverable", n.last_error)
        return
    n.attempts = max(0, n.attempts - 1)
    n.last_error, n.next_attempt_at = (DEFERRED + reason)[:500], until


def woken(session: Session, now: datetime, person_kind: str, person_id: int) -> int:
    """The person wrote: their deferred rows go out now."""
    rows = list(session.scalars(select(Notification).where(
        Notification.person_kind == person_kind, Notification.person_id == person_id,
        Notification.status == "pending", Notification.last_error.like(DEFERRED + "%"))))
    for n in rows:
        n.next_attempt_at, n.last_error = now, None
    return len(rows)


def rerouted(session: Session, now: datetime, notification_id: int, error: str) -> bool:
    """The identity a row went to turned out unreachable (already marked): try the next identity at
    once, or give up when there is none. Returns whether another identity is left."""
    n = session.get(Notification, notification_id, with_for_update=True)
    if n is None or n.status != "pending":
        return False
    n.last_error = error[:500]
    if route(session, n.person_kind, n.person_id) is None:
        give_up(session, now, n, "undeliverable", n.last_error)
        return False
    n.next_attempt_at = now
    return True


def give_up(session: Session, now: datetime, n: Notification, status: str, error: str | None) -> None:
    """Mark a row as failed for good (it stops blocking) and tell the managers which message it was:
    who and what kind, never the personal text. Its ``next_attempt_at`` (there is none) becomes the time
    it was given up, which `frontdesk status` counts by."""
    n.status, n.last_error, n.next_attempt_at = status, (error or "")[:500], now
    if n.template == "delivery_failed":
        return  # never a cascade of reports about reports
    managers = list(session.scalars(select(Manager.id).where(Manager.status != "deactivated").order_by(Manager.id)))
    for mid in managers:
        if n.person_kind == "manager" and n.person_id == mid:
            continue
        notify(session, now, "manager", mid, "delivery_failed", f"delivery_failed:{n.id}:m:{mid}",
               subject=f"delivery:{n.person_kind}:{n.person_id}", urgent=n.urgent, notification_id=n.id,
               recipient_kind=n.person_kind, recipient_id=n.person_id, failed_template=n.template, reason=status)


# --- pull -----------------------------------------------------------------------------------------
def visible(session: Session, now: datetime, person_kind: str, person_id: int, channel: str,
            limit: int = 50) -> tuple[list[Notification], list[int]]:
    """Read-only: the rows a pull on ``channel`` may show now, oldest first, and the ids found stale.

    Only rows routed to ``channel``; a queue stops at a row that is in flight on another channel (its
    lease holds), so what the client sees is never out of order with what a push sends."""
    target = route(session, person_kind, person_id)
    if target is None or target.channel != channel:
        return [], []
    shown: list[Notification] = []
    stale: list[int] = []
    blocked: set[tuple[str, bool]] = set()
    for n in session.scalars(select(Notification).where(Notification.person_kind == person_kind,
                                                        Notification.person_id == person_id,
                                                        Notification.status == "pending")
                             .order_by(Notification.id)):
        q = (n.subject, n.urgent)
        if q in blocked:
            continue
        if n.channel not in (None, channel) and n.next_attempt_at > now:
            blocked.add(q)
        elif is_stale(session, n):
            stale.append(n.id)
        else:
            shown.append(n)
            if len(shown) >= limit:
                break
    return shown, stale


def pending_of(session: Session, person_kind: str, person_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(
        Notification.person_kind == person_kind, Notification.person_id == person_id,
        Notification.status == "pending").order_by(Notification.id)))


def ack(session: Session, now: datetime, person_kind: str, person_id: int, channel: str, ids: list[int]) -> int:
    """The client has these messages: delivered. Ids of other people's rows are ignored."""
    if not ids:
        return 0
    mine = list(session.scalars(select(Notification.id).where(
        Notification.id.in_(ids), Notification.person_kind == person_kind, Notification.person_id == person_id,
        Notification.status == "pending")))
    if not mine:
        return 0
    session.execute(update(Notification).where(Notification.id.in_(mine))
                    .values(status="delivered", delivered_at=now, channel=channel))
    _delivered_hooks(session, now, mine)
    return len(mine)


def mark_stale(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(update(Notification).where(Notification.id.in_(ids), Notification.status == "pending")
                        .values(status="stale"))


# --- staleness of the booking messages ---------------------------------------------------------------
@stale_when("offer_new")
def _offer_gone(session: Session, params: dict[str, Any]) -> bool:
    """A job card for an offer that was withdrawn, expired or answered: the other message says why."""
    offer = session.get(Offer, params.get("offer_id"))
    return offer is None or offer.status != "pending"


def _booking_cancelled(session: Session, params: dict[str, Any]) -> bool:
    b = session.get(Booking, params.get("booking_id"))
    return b is None or b.status == "cancelled"


stale_when("job_confirmed")(_booking_cancelled)
stale_when("booking_confirmed")(_booking_cancelled)
