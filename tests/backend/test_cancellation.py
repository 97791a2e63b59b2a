"""The cancellation policy (issue 10): free until N hours before the start, then a fee recorded as a
payment of kind cancellation_fee; never more than the fee shown; the housekeeper's cards replaced by
the cancellation on channels that edit (the dispatcher gets the old message's reference)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.domain.cancellation import CancellationPolicy, quote
from backend.orm import Notification, Offer, Payment

TZ = ZoneInfo("Asia/Shanghai")
THU_10 = datetime(2026, 11, 19, 10, tzinfo=TZ)  # 23.5 hours after the reference time
FRI_10 = datetime(2026, 11, 20, 10, tzinfo=TZ)


def test_policy_quote_is_free_until_the_window_then_a_share_of_the_price() -> None:
    p = CancellationPolicy(free_until_hours=24, fee_percent=20)
    assert quote(p, 15000, FRI_10, FRI_10 - timedelta(hours=24)).fee_cents == 0  # exactly at the limit: free
    late = quote(p, 15000, FRI_10, FRI_10 - timedelta(hours=23, minutes=59))
    assert late.fee_cents == 3000 and not late.free and late.free_until == FRI_10 - timedelta(hours=24)
    assert quote(p, 0, FRI_10, FRI_10).fee_cents == 0  # a free visit costs nothing to cancel
    assert quote(CancellationPolicy(0, 50), 999, FRI_10, FRI_10 - timedelta(minutes=1)).fee_cents == 0
    assert quote(CancellationPolicy(2, 33.3), 1001, FRI_10, FRI_10).fee_cents == 333


def test_policy_rejects_nonsense() -> None:
    for bad in ({"fee_percent": 120}, {"free_until_hours": -1}, {"fee": 3}):
        with pytest.raises(ValueError):
            CancellationPolicy.from_dict(bad)
    assert CancellationPolicy.from_dict({}) == CancellationPolicy(24, 20)


def booked(be: Backend, starts_at: datetime, who: str = "carol") -> tuple[int, int]:
    client = be.client_for("rest", who, "zh")
    b = be.book(client.id, Request("cleaning", starts_at, hours=3))
    return client.id, b["id"]


def pending_offer(be: Backend, booking_id: int) -> Offer:
    with be.db.read() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))
        s.expunge(o)
        return o


def fee_rows(be: Backend, booking_id: int) -> list[tuple[str, int, str]]:
    with be.db.read() as s:
        return [(p.kind, p.amount_cents, p.recorded_by)
                for p in s.scalars(select(Payment).where(Payment.booking_id == booking_id))]


def test_free_cancel_records_nothing_and_withdraws_the_offer_with_a_card_that_replaces_hers(be: Backend) -> None:
    client, b = booked(be, FRI_10)
    q = be.cancellation_quote(client, b)
    assert q["fee_cents"] == 0 and q["price"] == 150
    offer = pending_offer(be, b)
    done = be.cancel_booking(client, b, 0)
    assert done["status"] == "cancelled" and done["fee_cents"] == 0 and fee_rows(be, b) == []
    with be.db.read() as s:
        assert s.get(Offer, offer.id).status == "withdrawn"
        w = s.scalar(select(Notification).where(Notification.template == "offer_withdrawn"))
        assert w.replaces_key == f"offer:{offer.id}" and w.params["service"] == "cleaning"
    with pytest.raises(DomainError) as e:
        be.cancel_booking(client, b, 0)
    assert e.value.code == "cannot_cancel"


def test_late_cancel_charges_the_fee_once_and_never_more_than_shown(be: Backend) -> None:
    client, b = booked(be, FRI_10)
    assert be.cancellation_quote(client, b)["fee_cents"] == 0
    be.ctx.clock.advance(hours=24)  # Thursday 10:30: the free window closed while the question waited
    with pytest.raises(DomainError) as e:
        be.cancel_booking(client, b, 0)
    assert e.value.code == "fee_changed" and be.booking(b)["status"] != "cancelled" and fee_rows(be, b) == []
    assert be.cancellation_quote(client, b)["fee_cents"] == 3000
    assert be.cancel_booking(client, b, 3000)["fee_cents"] == 3000
    assert fee_rows(be, b) == [("cancellation_fee", 3000, "policy:cancellation")]
    mine = be.my_bookings(client)
    assert mine["upcoming"] == [] and mine["recent"][0]["id"] == b and mine["recent"][0]["fee_cents"] == 3000


def test_other_clients_and_started_jobs_cannot_be_cancelled(be: Backend) -> None:
    client, b = booked(be, THU_10)
    other = be.client_for("rest", "mallory", "zh").id
    with pytest.raises(DomainError) as e:
        be.cancellation_quote(other, b)
    assert e.value.code == "booking_not_found"
    offer = pending_offer(be, b)
    be.accept_offer(offer.housekeeper_id, offer.id)
    be.ctx.clock.advance(hours=23)
    be.arrive(offer.housekeeper_id, b)
    for call in (lambda: be.cancellation_quote(client, b), lambda: be.cancel_booking(client, b, 10**6)):
        with pytest.raises(DomainError) as e:
            call()
        assert e.value.code == "cannot_cancel"
    assert be.booking(b)["status"] == "in_progress"


def test_her_telegram_job_card_is_edited_into_the_cancellation(be: Backend) -> None:
    client, b = booked(be, FRI_10)
    offer = pending_offer(be, b)
    be.bind("housekeeper", offer.housekeeper_id, "telegram_staff", "777")
    be.ctx.clock.advance(seconds=1)
    be.seen("telegram_staff", "777")
    [card] = be.claim_push(["telegram_staff"])
    assert card["template"] == "offer_new"
    be.delivered(card["id"], "777:41")
    be.accept_offer(offer.housekeeper_id, offer.id)
    [job] = be.claim_push(["telegram_staff"])
    assert job["template"] == "job_confirmed"
    be.delivered(job["id"], "777:42")
    be.cancel_booking(client, b, 0)
    [told] = be.claim_push(["telegram_staff"])
    assert told["template"] == "job_cancelled" and told["edit_ref"] == "777:42"  # 已到达 is gone with it


def test_a_withdrawn_offer_edits_the_card_on_her_screen(be: Backend) -> None:
    client, b = booked(be, FRI_10)
    offer = pending_offer(be, b)
    be.bind("housekeeper", offer.housekeeper_id, "telegram_staff", "888")
    be.ctx.clock.advance(seconds=1)
    be.seen("telegram_staff", "888")
    [card] = be.claim_push(["telegram_staff"])
    be.delivered(card["id"], "888:7")
    be.cancel_booking(client, b, 0)
    [told] = be.claim_push(["telegram_staff"])
    assert told["template"] == "offer_withdrawn" and told["edit_ref"] == "888:7"
