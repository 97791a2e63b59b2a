"""kill -9 during a timer run, and REST clients with long-polls through repeated kills: the timer fires
again once, no message is lost (the method: tests/crash/test_kill_restart.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientError

from tests.crash.conftest import Scenario
from tests.crash.harness import (
    buttons,
    run_cli,
    text,
    wait_until,
)
from tests.crash.helpers import (
    audit,
    book,
    client_of,
    due_timers,
    notifications,
    offers_of,
    pending_offer,
    processed,
    staff_code,
    staff_token_from,
    timer,
    user_turns,
)

pytestmark = pytest.mark.crash


async def test_crash_during_a_timer_run_rolls_it_back_and_it_fires_again_once(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="timer_run")  # nothing is due yet: booking goes on normally
    booking_id = await book(sc, "c-d", "d")
    first = pending_offer(sc, booking_id)
    # The armed run must crash in this offer's expiry and nowhere else.
    assert due_timers(sc, minutes=11) == [f"offer_expiry:{first['id']}"], due_timers(sc, minutes=11)
    sc.clock.advance(minutes=11)  # past the 10-minute offer time-out
    await sc.server.crashed("timer_run")
    assert offers_of(sc, booking_id) == [first], "the expiry's transaction was not rolled back"
    assert (timer(sc, f"offer_expiry:{first['id']}") or {}).get("status") == "pending"
    assert notifications(sc, key=f"offer:{first['id']}:expired") == []

    await sc.server.start()

    def moved_on() -> bool:
        return len(offers_of(sc, booking_id)) >= 2

    await wait_until(moved_on, "the expired offer to go to the next housekeeper", timeout=30)
    await asyncio.sleep(2.0)  # two more timer passes: nothing may fire twice
    offers = offers_of(sc, booking_id)
    assert [o["status"] for o in offers] == ["expired", "pending"], offers
    assert offers[1]["housekeeper_id"] != first["housekeeper_id"]
    assert audit(sc, "offer", first["id"], "expired") == 1
    assert len(notifications(sc, key=f"offer:{first['id']}:expired")) == 1
    assert (timer(sc, f"offer_expiry:{first['id']}") or {}).get("status") == "done"
    assert (timer(sc, f"offer_expiry:{offers[1]['id']}") or {}).get("status") == "pending"


# --- e. nothing lost while the server is down ----------------------------------------------------

async def test_rest_messages_and_long_poll_survive_kills(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start()
    booking_id = await book(sc, "c-e", "e")
    offer = pending_offer(sc, booking_id)
    code = staff_code(sc, offer["housekeeper_id"])
    token = staff_token_from(await run_cli(sc.env, "staff", "token", code, "--rotate"))

    # The housekeeper reads her card by long-poll and accepts it: the client's confirmation is queued.
    card = await sc.rest.poll(code, staff_token=token)
    accept = [b["payload"] for b in buttons(card) if b["title"] == "接单"]
    assert accept, card
    assert "接单成功" in text(await sc.rest.say(code, accept[0], "hk-e-1", staff_token=token))
    got = await sc.rest.poll("c-e", wait=5)
    assert f"预约 #{booking_id} 已确认" in text(got) and all("id" in m for m in got), got
    confirmed_id = got[0]["id"]

    # kill -9 before the client acknowledged it; messages sent meanwhile fail to connect.
    sc.server.kill()
    down = {"e-down-1": "我的预约", "e-down-2": "保洁多少钱一小时"}
    for mid, message in down.items():
        assert await sc.rest.try_say("c-e", message, mid) is None
    await sc.server.start()
    replies = {mid: await sc.rest.say("c-e", message, mid) for mid, message in down.items()}
    assert f"#{booking_id}" in text(replies["e-down-1"]) and "50元" in text(replies["e-down-2"]), replies
    for mid, message in down.items():  # retried once more: dropped, not answered twice
        assert await sc.rest.say("c-e", message, mid) in ([], replies[mid])
        assert processed(sc, "rest", "c-e", mid) == 1 and user_turns(sc, "rest:c-e", mid) == 1

    # Not acknowledged, so it comes again; acknowledged, it never comes back.
    again = await sc.rest.poll("c-e")
    assert [m["id"] for m in again] == [confirmed_id], again
    assert await sc.rest.poll("c-e", ack=[confirmed_id]) == []

    # A kill while a long-poll waits: the poll fails, the client polls again after the restart.
    waiting = asyncio.create_task(sc.rest.poll("c-e", wait=20))
    await asyncio.sleep(1.0)
    assert not waiting.done(), waiting.result()
    sc.server.kill()
    with pytest.raises((ClientError, ConnectionError)):
        await waiting
    await sc.server.start()
    sc.clock.advance(hours=23)  # the next morning at 09:30: check-in opens an hour before the 10:00 start
    await sc.rest.say(code, f'/arrived{{"booking_id": {booking_id}}}', "hk-e-2", staff_token=token)
    started = await sc.rest.poll("c-e", wait=10)
    assert "开始服务" in text(started), started
    await sc.rest.say(code, f'/finished{{"booking_id": {booking_id}}}', "hk-e-3", staff_token=token)
    seen: list[dict[str, Any]] = []
    ack: list[int] = []
    for _ in range(10):  # bounded: poll, acknowledging what the previous poll returned
        batch = await sc.rest.poll("c-e", wait=1, ack=ack)
        assert not {m["id"] for m in batch} & set(ack), "an acknowledged message came back"
        seen += batch
        ack = [m["id"] for m in batch]
        if not batch and len(seen) >= 2:
            break
    assert [m["id"] for m in seen][:1] == [started[0]["id"]], seen  # the unacknowledged one first, once
    assert len(seen) == 2 and "已完成服务" in seen[1]["text"], seen  # then the next, in order
    assert await sc.rest.poll("c-e") == []
    client = client_of(sc, "rest", "c-e")
    assert all(n["status"] == "delivered" for n in notifications(sc, person_kind="client", person_id=client))


# --- f. production refuses the hooks -----------------------------------------------------------------
