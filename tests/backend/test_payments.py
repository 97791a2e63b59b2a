"""Payment records per booking (SQLite and PostgreSQL): validation, the local date, what is refundable."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from backend.api import Backend, DomainError, Request
from backend.orm import Offer, Payment

TZ = ZoneInfo("Asia/Shanghai")


def booking(be: Backend) -> tuple[int, int]:
    c = be.client_for("rest", "carol", "zh")
    b = be.book(c.id, Request("cleaning", datetime(2026, 11, 20, 10, tzinfo=TZ), hours=3,
                              address="上海市徐汇区衡山路8号", district="徐汇"))
    return c.id, b["id"]


def test_payment_is_recorded_with_the_local_date_and_counts_towards_refunds(be: Backend) -> None:
    client_id, booking_id = booking(be)
    be.ctx.clock.set(datetime(2026, 11, 19, 0, 30, tzinfo=TZ))  # still 11-18 in UTC: the date is local
    p = be.record_payment("manager:1", booking_id, 15000, "cash")
    assert p["paid_on"] == "2026-11-19" and p["client_id"] == client_id and p["kind"] == "payment"
    assert p["recorded_by"] == "manager:1" and p["reference"] is None
    fee = be.record_payment("manager:2", booking_id, 5000, "transfer", paid_on=date(2026, 11, 17),
                            reference="ALI-556677", kind="cancellation_fee")
    assert fee["paid_on"] == "2026-11-17" and fee["reference"] == "ALI-556677"
    assert [x["id"] for x in be.payments(booking_id)] == [p["id"], fee["id"]]
    # the fee is the company's (kept back from what was paid), never refunded
    assert be.refundable_cents(booking_id) == 10000
    r = be.request_refund("manager:1", booking_id, 7000, "partial")
    assert be.refundable_cents(booking_id) == 3000
    assert r["amount_cents"] == 7000


@pytest.mark.parametrize("args, code", [
    ((0, "cash"), "invalid_amount"),
    ((-100, "cash"), "invalid_amount"),
    ((True, "cash"), "invalid_amount"),
    ((12.5, "cash"), "invalid_amount"),
    ((100, "bitcoin"), "invalid_method"),
])
def test_bad_payments_are_refused(be: Backend, args: tuple, code: str) -> None:
    _, booking_id = booking(be)
    with pytest.raises(DomainError) as e:
        be.record_payment("manager:1", booking_id, *args)
    assert e.value.code == code
    assert be.payments(booking_id) == []


def test_unknown_booking_kind_and_reference_are_refused(be: Backend) -> None:
    _, booking_id = booking(be)
    for kwargs, code in (({"booking_id": 999}, "booking_not_found"), ({"kind": "tip"}, "invalid_kind"),
                         ({"reference": "x" * 200}, "invalid_reference")):
        call = {"booking_id": booking_id, **kwargs}
        with pytest.raises(DomainError) as e:
            be.record_payment("manager:1", call.pop("booking_id"), 100, "online", **call)
        assert e.value.code == code
    with be.db.uow() as s:
        assert s.scalar(select(Payment.id)) is None


def test_payment_reference_is_encrypted_at_rest(be: Backend) -> None:
    _, booking_id = booking(be)
    be.record_payment("manager:1", booking_id, 100, "online", reference="WECHAT-PAY-424242")
    with be.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT reference FROM payments")).scalar()
    assert stored and "424242" not in stored
    assert be.payments(booking_id)[0]["reference"] == "WECHAT-PAY-424242"


def test_paid_in_cash_comes_from_the_jobs_own_housekeeper(be: Backend) -> None:
    _, booking_id = booking(be)
    with be.db.uow() as s:
        hk = s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == booking_id))
    be.accept_offer(hk, be.pending_offers(hk)[0]["offer_id"])
    with pytest.raises(DomainError) as e:
        be.record_payment(f"housekeeper:{hk + 1}", booking_id, 15000, "cash")
    assert e.value.code == "not_your_job"
    p = be.record_payment(f"housekeeper:{hk}", booking_id, 15000, "cash")
    assert p["recorded_by"] == f"housekeeper:{hk}" and be.refundable_cents(booking_id) == 15000
