"""A housekeeper's leave and working-hours requests (下周三请假, 我周末不接单), decided by a manager.

A request is stored ``pending`` (an hours request as the change she asked for — mode, days, times — applied
to her hours as they are when a manager approves, so two approvals or a roster import in between are kept)
and every manager of the case audience gets a card with 批准/拒绝 that
already lists her confirmed jobs the request would clash with. Approval writes ``TimeOff`` (leave) or
replaces her ``WorkingHours`` (hours) — the rows matching reads (backend.domain.availability) — and tells
her; the managers' cards are edited in place into the decision, and the clashing confirmed jobs are
flagged to managers in a notification of their own (they stay hers until a manager moves them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.orm import (
    Booking,
    BookingChange,
    Housekeeper,
    Manager,
    Notification,
    Offer,
    StaffRequest,
    TimeOff,
    WorkingHours,
)
from backend.services import Context, DomainError, changes, offers
from backend.services.audit import record
from backend.services.case_cards import tell_managers
from backend.services.offers import replace_card
from backend.services.outbox import notify

KINDS = ("leave", "hours")
MAX_LEAVE_DAYS = 60  # one request; longer absences go through a manager directly
ACTIVE_JOBS = ("confirmed", "in_progress")
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CARD, DECIDED, CONFLICTS = "staff_request_new", "staff_request_decided", "staff_request_conflicts"

Hours = list[dict[str, int]]  # [{"weekday": 0..6, "start_minute": m, "end_minute": m}]


# --- pure helpers -------------------------------------------------------------------------------
def current_hours(session: Session, hk_id: int) -> Hours:
    rows = session.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk_id)
                           .order_by(WorkingHours.weekday, WorkingHours.start_minute))
    return [{"weekday": w.weekday, "start_minute": w.start_minute, "end_minute": w.end_minute} for w in rows]


def changed_hours(current: Hours, mode: str, days: list[int], start: int | None, end: int | None) -> Hours:
    """The weekly hours after a change: ``set`` — exactly ``days`` at start–end (other days off);
    ``off`` — ``days`` removed; ``add`` — ``days`` at start–end added to (or replacing on) the rest;
    ``times`` — the days she works now, at start–end."""
    if mode == "times":
        mode, days = "set", [h["weekday"] for h in current]
    days = sorted({int(d) for d in days if 0 <= int(d) <= 6})
    if not days:
        raise DomainError("no_days")
    if mode in ("set", "add"):
        if start is None or end is None or not 0 <= start < end <= 1440:
            raise DomainError("invalid_hours")
        new = [{"weekday": d, "start_minute": start, "end_minute": end} for d in days]
        keep = [h for h in current if h["weekday"] not in days] if mode == "add" else []
        return sorted(keep + new, key=lambda h: (h["weekday"], h["start_minute"]))
    if mode == "off":
        return [h for h in current if h["weekday"] not in days]
    raise DomainError("invalid_hours")


def proposed_hours(session: Session, req: StaffRequest) -> Hours:
    """Her weekly hours with the requested change applied to her hours as they are now (the change is
    stored, not a schedule: what was approved or imported meanwhile stays). A change that no longer
    applies (no days left to retime) leaves them as they are."""
    current = current_hours(session, req.housekeeper_id)
    ch = req.hours if isinstance(req.hours, dict) else {}
    try:
        return changed_hours(current, ch.get("mode", ""), ch.get("days") or [], ch.get("start"), ch.get("end"))
    except DomainError:
        return current


def new_hours(session: Session, req: StaffRequest) -> Hours:
    """The weekly hours the request gives her: those written on approval, else as it would now."""
    applied = req.hours.get("applied") if isinstance(req.hours, dict) else None
    return applied if applied is not None else proposed_hours(session, req)


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def hours_text(hours: Hours, lang: str) -> str:
    """"周一至周五 09:00–18:00；周六 10:00–16:00" / "Mon–Fri 09:00–18:00; Sat 10:00–16:00"."""
    if not hours:
        return "无" if lang != "en" else "none"
    by_span: dict[tuple[int, int], list[int]] = {}
    for h in hours:
        by_span.setdefault((h["start_minute"], h["end_minute"]), []).append(h["weekday"])
    parts = []
    for (a, b), days in sorted(by_span.items(), key=lambda kv: min(kv[1])):
        runs: list[list[int]] = []
        for d in sorted(days):
            if runs and runs[-1][-1] == d - 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        names = []
        for r in runs:
            if lang == "en":
                names.append(WEEKDAYS_EN[r[0]] if len(r) == 1 else f"{WEEKDAYS_EN[r[0]]}–{WEEKDAYS_EN[r[-1]]}")
            else:
                first, last = WEEKDAYS_ZH[r[0]], WEEKDAYS_ZH[r[-1]]
                names.append(f"周{first}" if len(r) == 1 else f"周{first}至周{last}")
        parts.append(f"{(', ' if lang == 'en' else '、').join(names)} {_hhmm(a)}–{_hhmm(b)}")
    return ("; " if lang == "en" else "；").join(parts)


def period_text(start: datetime, end: datetime, tz: Any, lang: str) -> str:
    """"11月25日（周三）全天", "12月24日（周四）至12月26日（周六）", "11月19日（周四）12:00–18:00"."""
    a, b = start.astimezone(tz), end.astimezone(tz)

    def day(t: datetime) -> str:
        if lang == "en":
            return f"{WEEKDAYS_EN[t.weekday()]} {t.day} {t:%b}"
        return f"{t.month}月{t.day}日（周{WEEKDAYS_ZH[t.weekday()]}）"

    if a.hour == a.minute == 0 and b.hour == b.minute == 0:
        last = b - timedelta(days=1)
        if last.date() == a.date():
            return f"{day(a)} (all day)" if lang == "en" else f"{day(a)}全天"
        return f"{day(a)} – {day(last)}" if lang == "en" else f"{day(a)}至{day(last)}"
    if a.date() == b.date():
        return f"{day(a)} {_hhmm(a.hour * 60 + a.minute)}–{_hhmm(b.hour * 60 + b.minute)}"
    return (f"{day(a)} {a:%H:%M} – {day(b)} {b:%H:%M}" if lang == "en"
            else f"{day(a)}{a:%H:%M}至{day(b)}{b:%H:%M}")


def fits(hours: Hours, start: datetime, end: datetime, tz: Any) -> bool:
    s, e = start.astimezone(tz), end.astimezone(tz)
    a = s.hour * 60 + s.minute
    b = a + int((e - s).total_seconds() // 60)
    return any(h["weekday"] == s.weekday() and h["start_minute"] <= a and b <= h["end_minute"] for h in hours)


# --- conflicts ----------------------------------------------------------------------------------
def conflicts(ctx: Context, session: Session, req: StaffRequest) -> list[Booking]:
    """Her confirmed jobs still ahead that the request clashes with (inside the leave, outside the hours)."""
    now = ctx.clock.now()
    q = select(Booking).where(Booking.housekeeper_id == req.housekeeper_id, Booking.status.in_(ACTIVE_JOBS),
                              Booking.ends_at > now).order_by(Booking.starts_at)
    if req.kind == "leave":
        q = q.where(Booking.starts_at < req.ends_at, Booking.ends_at > req.starts_at)
        return list(session.scalars(q))
    hours = proposed_hours(session, req)
    return [b for b in session.scalars(q) if not fits(hours, b.starts_at, b.ends_at, ctx.tz)]


def conflict_lines(ctx: Context, jobs: list[Booking]) -> str:
    """One line a job, in numbers only (the same in every language): "#12 2026-11-25 10:00–12:00"."""
    return "\n".join(f"#{b.id} {b.starts_at.astimezone(ctx.tz):%Y-%m-%d %H:%M}–{b.ends_at.astimezone(ctx.tz):%H:%M}"
                     for b in jobs)


# --- the request --------------------------------------------------------------------------------
def _housekeeper(session: Session, hk_id: int) -> Housekeeper:
    hk = session.get(Housekeeper, hk_id)
    if hk is None or hk.status == "deactivated":
        raise DomainError("housekeeper_not_found")
    return hk


def request_leave(ctx: Context, session: Session, hk_id: int, starts_at: datetime, ends_at: datetime,
                  text: str | None = None) -> StaffRequest:
    """Leave from ``starts_at`` to ``ends_at``: DomainError invalid_period (empty, past, too long)."""
    now = ctx.clock.now()
    _housekeeper(session, hk_id)
    if ends_at <= starts_at or ends_at <= now or ends_at - starts_at > timedelta(days=MAX_LEAVE_DAYS):
        raise DomainError("invalid_period")
    req = StaffRequest(housekeeper_id=hk_id, kind="leave", starts_at=max(starts_at, now), ends_at=ends_at,
                       text=(text or "")[:500] or None, status="pending", created_at=now)
    return _submit(ctx, session, req)


def request_hours(ctx: Context, session: Session, hk_id: int, mode: str, days: list[int],
                  start: int | None = None, end: int | None = None, text: str | None = None) -> StaffRequest:
    """New weekly hours (see ``changed_hours``); DomainError no_days / invalid_hours / same_hours."""
    now = ctx.clock.now()
    _housekeeper(session, hk_id)
    current = current_hours(session, hk_id)
    new = changed_hours(current, mode, days, start, end)
    if sorted(map(tuple, (h.values() for h in new))) == sorted(map(tuple, (h.values() for h in current))):
        raise DomainError("same_hours")
    change = {"mode": mode, "days": sorted({int(d) for d in days}), "start": start, "end": end}
    req = StaffRequest(housekeeper_id=hk_id, kind="hours", hours=change, text=(text or "")[:500] or None,
                       status="pending", created_at=now)
    return _submit(ctx, session, req)


def _submit(ctx: Context, session: Session, req: StaffRequest) -> StaffRequest:
    now = ctx.clock.now()
    session.add(req)
    session.flush()
    record(session, now, "staff_request", req.id, None, "pending", f"housekeeper:{req.housekeeper_id}", kind=req.kind)
    tell_managers(ctx, session, now, CARD, f"staff_request:{req.id}:card", subject(req.id),
                  partial(for_lang, card_params(ctx, session, req)))
    return req


def for_lang(params: dict[str, Any], lang: str | None) -> dict[str, Any]:
    """The params one recipient reads: ``what`` / ``warning`` / ``decision`` in her language."""
    suffix = "en" if lang == "en" else "zh"
    return {**params, **{k: params.get(f"{k}_{suffix}", "") for k in ("what", "warning", "decision")}}


def subject(request_id: int) -> str:
    return f"staff_request:{request_id}"


def card_params(ctx: Context, session: Session, req: StaffRequest) -> dict[str, Any]:
    hk = session.get(Housekeeper, req.housekeeper_id)
    jobs = conflicts(ctx, session, req) if req.status == "pending" else []
    p: dict[str, Any] = {"request_id": req.id, "kind": req.kind, "status": req.status,
                         "housekeeper": hk.name if hk else "", "code": hk.code if hk else "",
                         "conflicts": conflict_lines(ctx, jobs), "conflict_count": len(jobs)}
    lines = p["conflicts"]
    p["warning_zh"] = f"\n⚠️ 与她已确认的订单冲突：\n{lines}" if jobs else ""
    p["warning_en"] = f"\n⚠️ Clashes with her confirmed jobs:\n{lines}" if jobs else ""
    # The notifier fills templates from params alone: what the request is, in each language, goes here.
    for lang in ("zh", "en"):
        if req.kind == "leave":
            period = period_text(req.starts_at, req.ends_at, ctx.tz, lang)
            p[f"what_{lang}"] = f"Leave: {period}" if lang == "en" else f"请假：{period}"
        else:
            new = hours_text(new_hours(session, req), lang)
            if req.status == "pending":
                old = hours_text(current_hours(session, req.housekeeper_id), lang)
                p[f"what_{lang}"] = (f"New working hours: {new} (now: {old})" if lang == "en"
                                     else f"修改接单时间为：{new}（现在：{old}）")
            else:
                p[f"what_{lang}"] = f"New working hours: {new}" if lang == "en" else f"修改接单时间为：{new}"
    if req.kind == "leave":
        p["starts_at"], p["ends_at"] = req.starts_at.isoformat(), req.ends_at.isoformat()
    return p


def decide(ctx: Context, session: Session, request_id: int, manager_id: int, approve: bool) -> StaffRequest:
    """Approve (TimeOff / WorkingHours written) or reject; DomainError request_not_found / request_decided."""
    now = ctx.clock.now()
    req = session.get(StaffRequest, request_id, with_for_update=True)
    if req is None:
        raise DomainError("request_not_found")
    if req.status != "pending":
        raise DomainError("request_decided")
    manager = session.get(Manager, manager_id)
    jobs = conflicts(ctx, session, req) if approve else []
    req.status, req.manager_id, req.decided_at = ("approved" if approve else "rejected"), manager_id, now
    if approve and req.kind == "leave":
        session.add(TimeOff(housekeeper_id=req.housekeeper_id, starts_at=req.starts_at, ends_at=req.ends_at))
    elif approve:
        new = proposed_hours(session, req)  # her hours now, changed as she asked
        req.hours = {**(req.hours or {}), "applied": new}
        session.execute(delete(WorkingHours).where(WorkingHours.housekeeper_id == req.housekeeper_id))
        for h in new:
            session.add(WorkingHours(housekeeper_id=req.housekeeper_id, weekday=h["weekday"],
                                     start_minute=h["start_minute"], end_minute=h["end_minute"]))
    record(session, now, "staff_request", req.id, "pending", req.status, f"manager:{manager_id}")
    if approve:
        _release_offers(ctx, session, req)
    params = card_params(ctx, session, req)
    params["decision_zh"] = "已批准" if approve else "已拒绝"
    params["decision_en"] = "approved" if approve else "rejected"
    hk = session.get(Housekeeper, req.housekeeper_id)
    notify(session, now, "housekeeper", req.housekeeper_id, f"staff_request_{req.status}",
           f"staff_request:{req.id}:{req.status}", subject=subject(req.id), **for_lang(params, hk.lang if hk else None))
    who = manager.name if manager else ""
    for mid, key in _cards(session, req.id).items():  # every card shown becomes the decision, in place
        m = session.get(Manager, mid)
        new_key = f"staff_request:{req.id}:decided:{mid}"
        notify(session, now, "manager", mid, DECIDED, new_key, subject=subject(req.id), manager=who,
               **for_lang(params, m.lang if m else None))
        replace_card(session, new_key, key)
    if jobs:  # her confirmed jobs in the leave / outside the new hours: a manager must move them
        flagged = {**params, "conflicts": conflict_lines(ctx, jobs), "conflict_count": len(jobs)}
        tell_managers(ctx, session, now, CONFLICTS, f"staff_request:{req.id}:conflicts", subject(req.id),
                      partial(for_lang, flagged), urgent=True)
    return req


def _release_offers(ctx: Context, session: Session, req: StaffRequest) -> None:
    """Offers waiting for her answer in the approved leave / outside the new hours go to the next
    candidate at once; her card becomes the withdrawn one (edited in place where the channel can). A job
    offer is tested on the booking's slot, a change-of-time offer on the change's new slot (and declined
    through the change, which then asks the next housekeeper or tells the client)."""
    now = ctx.clock.now()
    hours = new_hours(session, req) if req.kind == "hours" else []
    for o in list(session.scalars(select(Offer).where(Offer.housekeeper_id == req.housekeeper_id,
                                                      Offer.status == "pending").order_by(Offer.id))):
        b = session.get(Booking, o.booking_id)
        ch = session.get(BookingChange, o.change_id) if o.kind == "change" and o.change_id else None
        if b is None or (o.kind == "change" and (ch is None or ch.starts_at is None or ch.ends_at is None)):
            continue
        start, end = (ch.starts_at, ch.ends_at) if ch is not None else (b.starts_at, b.ends_at)
        clash = (start < req.ends_at and end > req.starts_at) if req.kind == "leave" \
            else not fits(hours, start, end, ctx.tz)
        if not clash:
            continue
        if ch is not None:
            changes.decline(ctx, session, o.id, req.housekeeper_id)
        else:
            offers.decline(ctx, session, o.id, req.housekeeper_id)
        key = f"offer:{o.id}:withdrawn"
        notify(session, now, "housekeeper", req.housekeeper_id, "offer_released", key, subject=f"booking:{b.id}",
               offer_id=o.id, booking_id=b.id, service=b.service, starts_at=start.isoformat())
        replace_card(session, key, f"offer:{o.id}")


def _cards(session: Session, request_id: int) -> dict[int, str]:
    rows = session.execute(select(Notification.person_id, Notification.key).where(
        Notification.person_kind == "manager", Notification.subject == subject(request_id),
        Notification.template == CARD).order_by(Notification.id))
    return {pid: key for pid, key in rows}


def pending(ctx: Context, session: Session) -> list[dict[str, Any]]:
    return [card_params(ctx, session, r) for r in session.scalars(
        select(StaffRequest).where(StaffRequest.status == "pending").order_by(StaffRequest.id))]


def of_housekeeper(session: Session, hk_id: int, limit: int = 10) -> list[StaffRequest]:
    return list(session.scalars(select(StaffRequest).where(StaffRequest.housekeeper_id == hk_id)
                                .order_by(StaffRequest.id.desc()).limit(limit)))
