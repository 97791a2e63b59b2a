"""The booking report on rows written directly: every figure against what the rows say (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.api import Backend
from backend.orm import AuditLog, Booking, BookingChange, Client, Housekeeper, Offer, Payment

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def booking(s: Any, client: Client, service: str, created: datetime, starts: datetime, hours: float, status: str,
            hk: Housekeeper | None = None, arrived: timedelta | None = None, worked: timedelta | None = None,
            late: int | None = None) -> Booking:
    b = Booking(client_id=client.id, service=service, created_at=created, starts_at=starts,
                ends_at=starts + hours * H, hours=hours, status=status, housekeeper_id=hk.id if hk else None,
                arrived_at=None if arrived is None else starts + arrived, late_minutes=late,
                address="北京市朝阳区建国路1号", notes="门口有猫", price_estimate=int(hours * 60))
    if arrived is not None and worked is not None:
        b.finished_at, b.finished_by = starts + arrived + worked, "housekeeper"
    s.add(b)
    s.flush()
    s.add(AuditLog(entity="booking", entity_id=b.id, old=None, new="requested", actor=f"client:{client.id}",
                   at=created))
    return b


def offer(s: Any, b: Booking, hk: Housekeeper, status: str, after: timedelta,
          change: BookingChange | None = None) -> Offer:
    at, kind = b.created_at + after, "job" if change is None else "change"
    o = Offer(booking_id=b.id, housekeeper_id=hk.id, status=status, created_at=at - 2 * M, expires_at=at + 8 * M,
              responded_at=None if status == "pending" else at, kind=kind, change_id=change.id if change else None)
    s.add(o)
    s.flush()
    if status == "accepted" and kind == "job":
        s.add(AuditLog(entity="booking", entity_id=b.id, old="offered", new="confirmed", actor=f"housekeeper:{hk.id}",
                       at=at))
    return o


def cancel(s: Any, b: Booking, at: datetime, actor: str, old: str, fee: int = 0) -> None:
    s.add(AuditLog(entity="booking", entity_id=b.id, old=old, new="cancelled", actor=actor, at=at))
    if fee:
        s.add(Payment(booking_id=b.id, client_id=b.client_id, kind="cancellation_fee", amount_cents=fee,
                      method="online", paid_on=at.date(), recorded_by="policy:cancellation", created_at=at))


def change(s: Any, b: Booking, status: str, at: datetime, hk: Housekeeper | None = None) -> BookingChange:
    ch = BookingChange(booking_id=b.id, client_id=b.client_id, status=status, starts_at=b.starts_at + D,
                       ends_at=b.ends_at + D, hours=b.hours, created_at=at, housekeeper_id=hk.id if hk else None,
                       decided_at=None if status == "pending" else at + H)
    s.add(ch)
    s.flush()
    return ch


@pytest.fixture
def seeded(be: Backend) -> dict[str, Any]:
    """Seven requests in the period (and two older bookings), every outcome once; see the comments."""
    now = be.now
    t0 = now - 5 * D
    with be.db.uow() as s:
        a = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK001"))
        b = s.scalar(select(Housekeeper).where(Housekeeper.code == "HK002"))
        assert a is not None and b is not None
        c = Client(name="王芳", phone="13800001234", address="北京市朝阳区建国路1号")
        s.add(c)
        s.flush()
        # b1: A accepts after 10 min; arrives 2 min after the start, works 178 of 180 min.
        b1 = booking(s, c, "cleaning", t0, t0 + D, 3, "completed", a, arrived=2 * M, worked=178 * M)
        offer(s, b1, a, "accepted", 10 * M)
        change(s, b1, "applied", t0 + 2 * H, a)  # notes changed: applied at once, same housekeeper
        # b2: B declines, A accepts after 40 min; 20 min late (announced), works 160 of 180: short.
        b2 = booking(s, c, "cleaning", t0 + H, t0 + 2 * D, 3, "completed", a, arrived=20 * M, worked=160 * M, late=20)
        offer(s, b2, b, "declined", 5 * M)
        offer(s, b2, a, "accepted", 40 * M)
        # b3: A accepts after 25 min; a change later moves it to B; the visit is due, no check-in.
        b3 = booking(s, c, "deep_cleaning", t0 + 2 * H, t0 + 3 * D, 4, "confirmed", b)
        offer(s, b3, a, "accepted", 25 * M)
        ch3 = change(s, b3, "applied", t0 + 4 * H, b)
        offer(s, b3, a, "declined", 2 * H + 5 * M, ch3)  # A could not do the new time; B could
        offer(s, b3, b, "accepted", 2 * H + 20 * M, ch3)
        # b4: B lets the offer expire; nobody else: unassigned.
        b4 = booking(s, c, "cleaning", t0 + 3 * H, now + 2 * D, 2, "unassigned")
        offer(s, b4, b, "expired", 10 * M)
        # b5: still being offered to B; a change asked of it is pending.
        b5 = booking(s, c, "cleaning", t0 + 4 * H, now + 3 * D, 2, "offered")
        offer(s, b5, b, "pending", 0 * M)
        change(s, b5, "pending", now - H)
        # b6: the client cancels before anybody accepts (free); A's offer is withdrawn.
        b6 = booking(s, c, "deep_cleaning", t0 + 5 * H, now + 4 * D, 4, "cancelled")
        offer(s, b6, a, "withdrawn", 30 * M)
        cancel(s, b6, t0 + 6 * H, f"client:{c.id}", "offered")
        # b7: B accepts after 85 min; a change declined; the client cancels late: a ¥50 fee.
        b7 = booking(s, c, "cleaning", t0 + 6 * H, now + D, 3, "cancelled", b)
        offer(s, b7, b, "accepted", 85 * M)
        change(s, b7, "declined", t0 + D)
        cancel(s, b7, t0 + 2 * D, f"client:{c.id}", "confirmed", fee=5000)
        # b8: requested before the period, done in it by A exactly on time (2 h of 2 h).
        booking(s, c, "cleaning", now - 20 * D, t0, 2, "completed", a, arrived=0 * M, worked=120 * M)
        # b9: requested before the period, cancelled in it by a manager after A had it (free).
        b9 = booking(s, c, "cleaning", now - 20 * D, now + 5 * D, 2, "cancelled", a)
        cancel(s, b9, t0 + 3 * D, "manager:1", "confirmed")
        # b10: requested and cancelled before the period: not counted anywhere.
        b10 = booking(s, c, "cleaning", now - 20 * D, now - 15 * D, 2, "cancelled")
        cancel(s, b10, now - 19 * D, f"client:{c.id}", "requested")
    return {"start": now - 10 * D, "end": now + 10 * D}


def test_overall_figures(be: Backend, seeded: dict[str, Any]) -> None:
    r = be.booking_report(seeded["start"], seeded["end"])
    o = r["overall"]
    assert o["match"] == {"requested": 7, "matched": 4, "withdrawn": 1, "unassigned": 1, "still_open": 1,
                          "share": 0.5714, "share_excluding_withdrawn": 0.6667, "target": 0.8, "met": False}
    assert o["time_to_confirm"] == {"count": 4, "median_minutes": 32.5, "p90_minutes": 85.0, "mean_minutes": 40.0,
                                    "within_target": 2, "share_within_target": 0.5, "target_minutes": 30,
                                    "target_share": 0.8, "met": False}
    assert o["punctuality"] == {"due": 4, "checked_in": 3, "not_checked_in": 1, "on_time": 2, "late": 1,
                                "share_on_time": 0.6667, "grace_minutes": 5, "late_mean_minutes": 20.0,
                                "late_max_minutes": 20.0, "announced_late": 1, "announced_kept": 1}
    assert o["worked_time"] == {"visits": 3, "worked_hours": 7.63, "booked_hours": 8.0, "ratio": 0.9542,
                                "short": 1, "short_minutes": 15}
    assert o["cancellations"] == {"count": 3, "by": {"client": 2, "manager": 1}, "after_match": 2,
                                  "before_match": 1, "with_fee": 1, "free": 2, "fees_cents": 5000}
    assert o["changes"] == {"count": 4, "applied": 2, "declined": 1, "cancelled": 0, "pending": 1,
                            "moved_to_another": 1}
    assert o["offers"] == {"count": 8, "accepted": 4, "declined": 1, "expired": 1, "withdrawn": 1, "pending": 1,
                           "share_accepted": 0.6667}
    assert r["targets"] == {"match_share": 0.8, "confirm_minutes": 30, "confirm_share": 0.8,
                            "on_time_grace_minutes": 5}


def test_per_service_and_housekeeper(be: Backend, seeded: dict[str, Any]) -> None:
    r = be.booking_report(seeded["start"], seeded["end"])
    assert list(r["services"]) == ["cleaning", "deep_cleaning"]
    cl, deep = r["services"]["cleaning"], r["services"]["deep_cleaning"]
    assert (cl["match"]["requested"], cl["match"]["matched"], cl["match"]["share"]) == (5, 3, 0.6)
    assert cl["time_to_confirm"]["median_minutes"] == 40.0
    assert (deep["match"]["requested"], deep["match"]["matched"], deep["match"]["withdrawn"]) == (2, 1, 1)
    assert deep["match"]["share_excluding_withdrawn"] == 1.0
    assert cl["punctuality"]["checked_in"] == 3 and deep["punctuality"]["not_checked_in"] == 1
    assert cl["cancellations"]["count"] == 2 and deep["cancellations"]["by"] == {"client": 1}

    hk = {h["code"]: h for h in r["housekeepers"]}
    assert list(hk) == ["HK001", "HK002"]
    a, b = hk["HK001"], hk["HK002"]
    # A has b1 and b2 now (b3 moved to B); her visits b1, b2 and b8; b9 was hers when a manager cancelled it.
    assert (a["match"]["requested"], a["match"]["matched"]) == (2, 2)
    assert (a["time_to_confirm"]["median_minutes"], a["time_to_confirm"]["within_target"]) == (25.0, 1)
    assert (a["punctuality"]["checked_in"], a["punctuality"]["on_time"], a["punctuality"]["late"]) == (3, 2, 1)
    assert (a["worked_time"]["worked_hours"], a["worked_time"]["booked_hours"]) == (7.63, 8.0)
    assert a["cancellations"] == {"count": 1, "by": {"manager": 1}, "after_match": 1, "before_match": 0,
                                  "with_fee": 0, "free": 1, "fees_cents": 0}
    assert (a["changes"]["count"], a["changes"]["applied"]) == (1, 1)
    assert (a["offers"]["count"], a["offers"]["accepted"], a["offers"]["withdrawn"]) == (4, 3, 1)
    # B: b3 (moved to her) and b7; b3 due without a check-in; b7 cancelled with the fee.
    assert (b["match"]["requested"], b["match"]["matched"]) == (2, 2)
    assert b["punctuality"] == {**b["punctuality"], "due": 1, "checked_in": 0, "not_checked_in": 1}
    assert (b["cancellations"]["with_fee"], b["cancellations"]["fees_cents"]) == (1, 5000)
    assert (b["changes"]["count"], b["changes"]["declined"], b["changes"]["moved_to_another"]) == (2, 1, 1)
    assert b["offers"] == {"count": 4, "accepted": 1, "declined": 1, "expired": 1, "withdrawn": 0, "pending": 1,
                           "share_accepted": 0.3333}


def test_period_bounds_and_no_personal_data(be: Backend, seeded: dict[str, Any]) -> None:
    now = be.now
    # Only b8's visit and nothing requested: the day five days ago, before any request.
    r = be.booking_report(now - 5 * D - 12 * H, now - 5 * D)
    assert r["overall"]["match"]["requested"] == 0 and r["overall"]["match"]["share"] is None
    assert r["overall"]["time_to_confirm"]["median_minutes"] is None
    empty = be.booking_report(now - 30 * D, now - 25 * D)
    assert empty["overall"]["cancellations"]["count"] == 0 and empty["housekeepers"] == []
    text = str(be.booking_report(seeded["start"], seeded["end"]))
    for secret in ("王芳", "13800001234", "建国路", "门口有猫"):
        assert secret not in text


def test_render_table(be: Backend, seeded: dict[str, Any]) -> None:
    from bot.cli.report import render_bookings

    table = render_bookings(be.booking_report(seeded["start"], seeded["end"]))
    assert ("Match success:            4 of 7 requested got a confirmed housekeeper (57.1 %; target 80.0 %, NOT met)"
            in table)
    assert "median 32 min, p90 85 min, mean 40 min; 2 of 4 within 30 min (50.0 %" in table
    assert ("Cancellations:            3 (client 2, manager 1); after a match 2, before 1; with a fee 1 (¥50.00)"
            in table)
    assert "Changes:                  4 asked; applied 2, declined 1, withdrawn 0, pending 1" in table
    rows = [line for line in table.splitlines() if line.startswith(("HK001", "HK002", "cleaning", "deep_cleaning"))]
    assert len(rows) == 4
