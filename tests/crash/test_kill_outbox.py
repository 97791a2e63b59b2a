"""kill -9 after a booking commits, during an outbox send, with a card gone stale meanwhile: nothing lost,
doubled or reordered (the method: tests/crash/test_kill_restart.py).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backend.orm import MatchCandidate, Notification
from tests.crash.conftest import Scenario
from tests.crash.harness import (
    STAFF_TOKEN,
    text,
    wait_until,
)
from tests.crash.helpers import (
    HK_CHAT,
    audit,
    bind_on_telegram,
    book,
    bookings_of,
    client_of,
    confirm_payload,
    notifications,
    of_booking,
    offers_of,
    pending_offer,
    processed,
    sent_to,
    until_summary,
)

pytestmark = pytest.mark.crash


async def test_crash_after_booking_commit_keeps_one_booking_and_confirms_it(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="after_booking_commit")
    confirm = confirm_payload(await until_summary(sc, "c-b", "b"))
    assert await sc.rest.try_say("c-b", confirm, "b-confirm") is None
    await sc.server.crashed("after_booking_commit")
    client = client_of(sc, "rest", "c-b")
    assert len(bookings_of(sc, client)) == 1, "the booking's transaction had committed before the crash"

    await sc.server.start()
    retry = await sc.rest.say("c-b", confirm, "b-confirm")  # the platform retries the same message
    tap = await sc.rest.say("c-b", confirm, "b-confirm-again")  # the client presses 确认 again
    [booking_id] = bookings_of(sc, client)
    assert f"#{booking_id}" in text(tap), f"a second 确认 does not return the existing booking: {text(tap)!r}"
    assert retry == [] or f"#{booking_id}" in text(retry), text(retry)
    assert bookings_of(sc, client) == [booking_id]
    assert len(offers_of(sc, booking_id)) == 1
    assert audit(sc, "booking", booking_id, "requested") == 1
    with sc.backend.db.uow() as s:
        ranked = list(s.scalars(select(MatchCandidate.housekeeper_id).where(MatchCandidate.booking_id == booking_id)))
    assert len(ranked) == len(set(ranked)), "candidates ranked twice"
    rows = of_booking(notifications(sc), booking_id)
    templates = [r["template"] for r in rows]
    assert templates.count("offer_new") == 1 and len(templates) == len(set(templates)), templates
    assert processed(sc, "rest", "c-b", "b-confirm") == 1


# --- c. during an outbox send ----------------------------------------------------------------------
async def test_crash_during_outbox_send_resends_at_most_once_and_keeps_her_order(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="outbox_send")
    booking_id = await book(sc, "c-c", "c")  # a REST client: her messages are pulled, never pushed
    offer = pending_offer(sc, booking_id)
    await bind_on_telegram(sc, offer["housekeeper_id"], HK_CHAT)  # now her offer card can be pushed
    await sc.server.crashed("outbox_send")
    card_text = f"新订单 #{booking_id}"
    assert len(sent_to(sc, STAFF_TOKEN, HK_CHAT, card_text)) == 1  # it reached Telegram …
    [card] = notifications(sc, key=f"offer:{offer['id']}")
    assert card["status"] != "delivered"  # … but the crash came before it was recorded

    # While the server is down, a manager's note about the same booking is queued behind the card.
    with sc.backend.db.uow() as s:
        now = sc.backend.now
        s.add(Notification(key=f"note:{booking_id}", person_kind="housekeeper", person_id=offer["housekeeper_id"],
                           template="manager_message", params={"manager": "周经理", "text": "请尽快回复"},
                           subject=card["subject"], created_at=now, next_attempt_at=now))

    await sc.server.start()
    sc.clock.advance(seconds=5)  # past the 1 s lease, on whichever clock the lease is counted

    def both_delivered() -> bool:
        return all(n["status"] == "delivered" for n in notifications(sc, person_kind="housekeeper",
                                                                      person_id=offer["housekeeper_id"]))

    await wait_until(both_delivered, "the card and the note to be delivered", timeout=30)
    await asyncio.sleep(1.5)  # a few dispatcher passes: nothing more may go out
    cards = sent_to(sc, STAFF_TOKEN, HK_CHAT, card_text)
    notes = sent_to(sc, STAFF_TOKEN, HK_CHAT, "请尽快回复")
    assert 1 <= len(cards) <= 2, sc.fake.texts(STAFF_TOKEN, HK_CHAT)
    assert len(notes) == 1 and max(cards) < notes[0], f"out of order: {sc.fake.texts(STAFF_TOKEN, HK_CHAT)}"
    [card] = notifications(sc, key=f"offer:{offer['id']}")
    assert card["status"] == "delivered"


async def test_a_card_gone_stale_during_the_crash_is_not_sent_again(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="outbox_send")
    booking_id = await book(sc, "c-s", "s")
    offer = pending_offer(sc, booking_id)
    await bind_on_telegram(sc, offer["housekeeper_id"], HK_CHAT)
    await sc.server.crashed("outbox_send")
    await sc.server.start()  # the clock has not moved: the card is still leased to the dead dispatcher
    assert "确认取消" in text(await sc.rest.say("c-s", "取消预约", "s-cancel"))  # asked first, always
    assert "已取消" in text(await sc.rest.say("c-s", "确认", "s-cancel-yes"))
    sc.clock.advance(seconds=5)  # the lease runs out: the card comes back, for a booking that is gone

    def settled() -> bool:
        return notifications(sc, key=f"offer:{offer['id']}")[0]["status"] != "pending"

    await wait_until(settled, "the leased card to be settled after the lease", timeout=30)
    await asyncio.sleep(1.5)
    assert len(sent_to(sc, STAFF_TOKEN, HK_CHAT, f"新订单 #{booking_id}")) == 1, sc.fake.texts(STAFF_TOKEN, HK_CHAT)
    assert notifications(sc, key=f"offer:{offer['id']}")[0]["status"] == "stale"


# --- d. during a timer run -------------------------------------------------------------------------
