"""Booking figures for a period (``frontdesk report bookings``): does the desk find a housekeeper, how fast,
does she come on time, does she work the time booked, and how often bookings are cancelled or changed.

Read-only and free of personal data: ids, housekeeper codes, services, counts and durations only (never a
name, an address or a note), so the output may be printed or mailed.

Which rows count, for the period [start, end):
- **match success**: bookings *requested* in the period (``created_at``); matched = a housekeeper accepted
  it at some point (an accepted job offer, or an audit row ``booking → confirmed``), whatever happened
  afterwards. share = matched / requested (target ``MATCH_TARGET`` = 80 %). Those the client cancelled
  before anybody accepted are shown too (``withdrawn``), and the share without them;
- **time to a confirmed housekeeper**: request (``created_at``) to the first accepted job offer
  (``offers.responded_at``; the audit row when no offer row says it) of the matched bookings: median, p90
  in minutes and the share within ``CONFIRM_TARGET_MINUTES`` = 30 min;
- **punctuality**: visits due in the period — ``starts_at`` in [start, min(end, now)) and confirmed, in
  progress or completed — with a check-in (``arrived_at``): on time when she arrived no later than the
  start plus ``ON_TIME_GRACE_MINUTES`` = 5; lateness she announced (``late_minutes``, 晚到) is counted
  and, separately, whether she kept to it (arrived by start + announced + grace). Due visits without a
  check-in are shown as such (no-shows and forgotten 已到达 alike: the day-of-job alarm and its case
  tell which);
- **worked time vs booked time**: those visits with both check-in and finish (``finished_at``): total
  worked and booked hours, their ratio, and how many were ``SHORT_MINUTES`` = 15 or more under the
  booked time;
- **cancellations**: bookings cancelled in the period (the audit row ``→ cancelled``), by who cancelled
  (the actor's kind: client, manager, system …), after a housekeeper had accepted or before, and with a
  cancellation fee (``payments`` kind ``cancellation_fee``) or free, with the fees' total;
- **changes**: change requests (``booking_changes``) made in the period, by their status now (applied,
  declined, cancelled, pending); applied ones that moved the job to another housekeeper are counted;
- **job offers** (per housekeeper): job offers made to her in the period and her answers (accepted,
  declined, expired, withdrawn).
Each is given overall, per service and per housekeeper (her code; for a request, the housekeeper who has
it now or had it when it ended: unmatched requests have none). Targets are the constants below (no
configuration file carries booking targets yet).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.orm import AuditLog, Booking, BookingChange, Housekeeper, Offer, Payment
from backend.services.reports import _share, p90

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.services import Context

MATCH_TARGET = 0.8  # share of requested bookings that get a confirmed housekeeper
CONFIRM_TARGET_MINUTES = 30  # request to a confirmed housekeeper
CONFIRM_TARGET_SHARE = 0.8  # of matched bookings confirmed within CONFIRM_TARGET_MINUTES
ON_TIME_GRACE_MINUTES = 5  # an arrival up to this long after the start is on time
SHORT_MINUTES = 15  # worked this much less than booked: a short visit
DUE = ("confirmed", "in_progress", "completed")
FEE_KIND = "cancellation_fee"
CHANGE_STATUSES = ("applied", "declined", "cancelled", "pending")
OFFER_ANSWERS = ("accepted", "declined", "expired", "withdrawn", "pending")


@dataclass
class _Req:
    """A booking requested in the period and when (if ever) a housekeeper first accepted it."""

    b: Any
    confirmed_at: datetime | None
    cancelled_by: str | None  # the actor kind, when it ended cancelled

    @property
    def minutes(self) -> float | None:
        return None if self.confirmed_at is None else (self.confirmed_at - self.b.created_at).total_seconds() / 60


@dataclass
class _Cancel:
    b: Any
    by: str
    after_match: bool
    fee_cents: int


@dataclass
class _Change:
    ch: Any
    service: str
    housekeeper_id: int | None
    moved: bool  # applied with another housekeeper than the one who had the job


@dataclass
class _Data:
    requests: list[_Req] = field(default_factory=list)
    visits: list[Any] = field(default_factory=list)
    cancels: list[_Cancel] = field(default_factory=list)
    changes: list[_Change] = field(default_factory=list)
    offers: list[Any] = field(default_factory=list)


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _round(v: float | None, n: int = 1) -> float | None:
    return None if v is None else round(v, n)


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median_minutes": None, "p90_minutes": None, "mean_minutes": None}
    return {"count": len(values), "median_minutes": _round(statistics.median(values)),
            "p90_minutes": _round(p90(values)), "mean_minutes": _round(statistics.fmean(values))}


def _kind(actor: str) -> str:
    return actor.split(":", 1)[0] or "system"


def _in_batches(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for i in range(0, len(ids), 500):  # bounded IN lists
        yield ids[i:i + 500]


def _load(ctx: Context, session: Session, start: datetime, end: datetime) -> _Data:
    now = ctx.clock.now()
    d = _Data()
    requested = list(session.scalars(select(Booking).where(Booking.created_at >= start, Booking.created_at < end)
                                     .order_by(Booking.id)))
    accepted: dict[int, datetime] = {}
    cancelled: dict[int, tuple[datetime, str, str | None]] = {}  # booking → (when, actor, old status)
    for batch in _in_batches(b.id for b in requested):
        for bid, at in session.execute(select(Offer.booking_id, Offer.responded_at).where(
                Offer.booking_id.in_(batch), Offer.status == "accepted", Offer.kind == "job")):
            if at is not None and (bid not in accepted or at < accepted[bid]):
                accepted[bid] = at
        for bid, at in session.execute(select(AuditLog.entity_id, AuditLog.at).where(
                AuditLog.entity == "booking", AuditLog.entity_id.in_(batch), AuditLog.new == "confirmed",
                AuditLog.old != "confirmed")):
            if bid not in accepted or at < accepted[bid]:
                accepted[bid] = at
    cancel_rows = session.execute(select(AuditLog.entity_id, AuditLog.at, AuditLog.actor, AuditLog.old).where(
        AuditLog.entity == "booking", AuditLog.new == "cancelled").order_by(AuditLog.at))
    for bid, at, actor, old in cancel_rows:
        cancelled.setdefault(bid, (at, actor, old))
    for b in requested:
        c = cancelled.get(b.id) if b.status == "cancelled" else None
        d.requests.append(_Req(b, accepted.get(b.id), _kind(c[1]) if c else None))

    d.visits = list(session.scalars(select(Booking).where(
        Booking.starts_at >= start, Booking.starts_at < min(end, now), Booking.status.in_(DUE))
        .order_by(Booking.starts_at, Booking.id)))

    ended = [bid for bid, (at, _, _) in cancelled.items() if start <= at < end]
    fees: Counter[int] = Counter()
    for batch in _in_batches(ended):
        for bid, cents in session.execute(select(Payment.booking_id, Payment.amount_cents).where(
                Payment.booking_id.in_(batch), Payment.kind == FEE_KIND)):
            fees[bid] += int(cents)
        matched = set(session.scalars(select(Offer.booking_id).where(
            Offer.booking_id.in_(batch), Offer.status == "accepted", Offer.kind == "job")))
        for b in session.scalars(select(Booking).where(Booking.id.in_(batch)).order_by(Booking.id)):
            _, actor, old = cancelled[b.id]
            d.cancels.append(_Cancel(b, _kind(actor), old in ("confirmed", "in_progress") or b.id in matched,
                                     fees[b.id]))

    changes = list(session.scalars(select(BookingChange).where(BookingChange.created_at >= start,
                                                               BookingChange.created_at < end)
                                   .order_by(BookingChange.id)))
    booking_of = {}
    for batch in _in_batches(ch.booking_id for ch in changes):
        booking_of.update({b.id: b for b in session.scalars(select(Booking).where(Booking.id.in_(batch)))})
    for ch in changes:
        b = booking_of[ch.booking_id]
        # the housekeeper who had the job when it was asked: the change's own offer to her, or the booking's
        asked_first = session.scalar(select(Offer.housekeeper_id).where(Offer.change_id == ch.id)
                                     .order_by(Offer.id).limit(1))
        had = asked_first if asked_first is not None and ch.housekeeper_id is not None else b.housekeeper_id
        moved = ch.status == "applied" and ch.housekeeper_id is not None and had is not None \
            and ch.housekeeper_id != had
        d.changes.append(_Change(ch, b.service, ch.housekeeper_id or b.housekeeper_id, moved))

    d.offers = list(session.execute(select(Offer.id, Offer.booking_id, Offer.housekeeper_id, Offer.status,
                                           Offer.created_at, Booking.service)
                                    .join(Booking, Booking.id == Offer.booking_id)
                                    .where(Offer.created_at >= start, Offer.created_at < end, Offer.kind == "job")))
    return d


# --- the sections ------------------------------------------------------------------------------------
def _match(reqs: list[_Req]) -> dict[str, Any]:
    matched = [r for r in reqs if r.confirmed_at is not None]
    withdrawn = [r for r in reqs if r.confirmed_at is None and r.cancelled_by == "client"]
    open_ = [r for r in reqs if r.confirmed_at is None and r.b.status in ("requested", "offered")]
    share = _share(len(matched), len(reqs))
    return {"requested": len(reqs), "matched": len(matched), "withdrawn": len(withdrawn),
            "unassigned": sum(1 for r in reqs if r.confirmed_at is None and r.b.status == "unassigned"),
            "still_open": len(open_), "share": share,
            "share_excluding_withdrawn": _share(len(matched), len(reqs) - len(withdrawn)),
            "target": MATCH_TARGET, "met": None if share is None else share >= MATCH_TARGET}


def _confirm(reqs: list[_Req]) -> dict[str, Any]:
    times = [r.minutes for r in reqs if r.minutes is not None]
    within = sum(1 for t in times if t <= CONFIRM_TARGET_MINUTES)
    share = _share(within, len(times))
    return {**_stats(times), "within_target": within, "share_within_target": share,
            "target_minutes": CONFIRM_TARGET_MINUTES, "target_share": CONFIRM_TARGET_SHARE,
            "met": None if share is None else share >= CONFIRM_TARGET_SHARE}


def _punctuality(visits: list[Any]) -> dict[str, Any]:
    checked = [b for b in visits if b.arrived_at is not None]
    late = [_minutes(b.starts_at, b.arrived_at) for b in checked
            if _minutes(b.starts_at, b.arrived_at) > ON_TIME_GRACE_MINUTES]
    announced = [b for b in checked if b.late_minutes]
    kept = sum(1 for b in announced
               if _minutes(b.starts_at, b.arrived_at) <= b.late_minutes + ON_TIME_GRACE_MINUTES)
    on_time = len(checked) - len(late)
    return {"due": len(visits), "checked_in": len(checked), "not_checked_in": len(visits) - len(checked),
            "on_time": on_time, "late": len(late), "share_on_time": _share(on_time, len(checked)),
            "grace_minutes": ON_TIME_GRACE_MINUTES,
            "late_mean_minutes": _round(statistics.fmean(late)) if late else None,
            "late_max_minutes": _round(max(late)) if late else None,
            "announced_late": len(announced), "announced_kept": kept}


def _worked(visits: list[Any]) -> dict[str, Any]:
    done = [b for b in visits if b.arrived_at is not None and b.finished_at is not None]
    worked = [_minutes(b.arrived_at, b.finished_at) for b in done]
    booked = [_minutes(b.starts_at, b.ends_at) for b in done]
    short = sum(1 for w, k in zip(worked, booked, strict=True) if k - w >= SHORT_MINUTES)
    return {"visits": len(done), "worked_hours": round(sum(worked) / 60, 2), "booked_hours": round(sum(booked) / 60, 2),
            "ratio": _share(round(sum(worked)), round(sum(booked))) if done else None,
            "short": short, "short_minutes": SHORT_MINUTES}


def _cancellations(cancels: list[_Cancel]) -> dict[str, Any]:
    with_fee = [c for c in cancels if c.fee_cents > 0]
    return {"count": len(cancels), "by": dict(sorted(Counter(c.by for c in cancels).items())),
            "after_match": sum(c.after_match for c in cancels),
            "before_match": sum(not c.after_match for c in cancels),
            "with_fee": len(with_fee), "free": len(cancels) - len(with_fee),
            "fees_cents": sum(c.fee_cents for c in with_fee)}


def _changes(changes: list[_Change]) -> dict[str, Any]:
    by = Counter(c.ch.status for c in changes)
    return {"count": len(changes), **{s: by.get(s, 0) for s in CHANGE_STATUSES},
            "moved_to_another": sum(c.moved for c in changes)}


def _offers(offers: list[Any]) -> dict[str, Any]:
    by = Counter(o.status for o in offers)
    answered = sum(by.get(s, 0) for s in ("accepted", "declined", "expired"))
    return {"count": len(offers), **{s: by.get(s, 0) for s in OFFER_ANSWERS},
            "share_accepted": _share(by.get("accepted", 0), answered)}


def _section(d: _Data, keep: Callable[[str | None, int | None], bool]) -> dict[str, Any]:
    """Every figure over the rows whose (service, housekeeper id) ``keep`` accepts."""
    reqs = [r for r in d.requests if keep(r.b.service, r.b.housekeeper_id)]
    visits = [b for b in d.visits if keep(b.service, b.housekeeper_id)]
    return {"match": _match(reqs), "time_to_confirm": _confirm(reqs), "punctuality": _punctuality(visits),
            "worked_time": _worked(visits),
            "cancellations": _cancellations([c for c in d.cancels if keep(c.b.service, c.b.housekeeper_id)]),
            "changes": _changes([c for c in d.changes if keep(c.service, c.housekeeper_id)]),
            "offers": _offers([o for o in d.offers if keep(o.service, o.housekeeper_id)])}


def booking_report(ctx: Context, session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The figures for [start, end) (aware datetimes), overall, per service and per housekeeper (code)."""
    d = _load(ctx, session, start, end)
    services = sorted({r.b.service for r in d.requests} | {b.service for b in d.visits}
                      | {c.b.service for c in d.cancels} | {c.service for c in d.changes}
                      | {o.service for o in d.offers})
    hk_ids = ({r.b.housekeeper_id for r in d.requests} | {b.housekeeper_id for b in d.visits}
              | {c.b.housekeeper_id for c in d.cancels} | {c.housekeeper_id for c in d.changes}
              | {o.housekeeper_id for o in d.offers}) - {None}
    codes = {h.id: h.code for h in session.scalars(select(Housekeeper).where(Housekeeper.id.in_(sorted(hk_ids))))} \
        if hk_ids else {}
    per_hk = []
    for hk_id in sorted(hk_ids, key=lambda i: (codes.get(i) or "", i)):
        sec = _section(d, lambda _s, h, hk_id=hk_id: h == hk_id)
        per_hk.append({"code": codes.get(hk_id), **sec})
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "as_of": ctx.clock.now().isoformat(),
                   "tz": str(ctx.tz)},
        "targets": {"match_share": MATCH_TARGET, "confirm_minutes": CONFIRM_TARGET_MINUTES,
                    "confirm_share": CONFIRM_TARGET_SHARE, "on_time_grace_minutes": ON_TIME_GRACE_MINUTES},
        "overall": _section(d, lambda _s, _h: True),
        "services": {svc: _section(d, lambda s, _h, svc=svc: s == svc) for svc in services},
        "housekeepers": per_hk,
    }
