"""kill -9 one worker of `frontdesk serve --workers 2` (PostgreSQL + Redis): under a booking load, while
timers run, and during an outbox send. The other worker carries on, the supervisor starts a new one, and
nothing is lost or doubled: messages, bookings, offers, timers; an offer card is sent again only when
the dead worker had it claimed (the documented at-least-once of bot.workers.Dispatcher).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientError
from sqlalchemy import select

from backend.api import Request
from backend.orm import Housekeeper, MatchCandidate, Notification
from tests.crash.conftest import Scenario
from tests.crash.harness import STAFF_TOKEN, booking_number, buttons, text, wait_until
from tests.crash.helpers import (
    audit,
    bookings_of,
    client_of,
    due_timers,
    notifications,
    offers_of,
    pending_offer,
    processed,
    timer,
    user_turns,
)

pytestmark = pytest.mark.crash
TZ = ZoneInfo("Asia/Shanghai")
CLIENTS = 10
# Two visits per district that do not overlap, so that every client finds a free housekeeper whatever
# order the turns run in (ten 3-hour visits on one morning in one district exhaust its roster).
ADDRESSES = ("北京市朝阳区建国路88号3号楼501", "北京市海淀区学院路20号5号楼302", "北京市东城区东四十条8号2单元101",
             "北京市西城区金融街15号1号楼801", "北京市丰台区丰台路66号4号楼202")
WHEN = ("明天上午9点", "明天下午2点")
TRIES = 40  # a client retries a failed request this often (bounded), as a platform would


def hk_chat(housekeeper_id: int) -> int:
    return 8000 + housekeeper_id


def sent(sc: Scenario, chat: int, pattern: str) -> list[int]:
    """Positions, among the texts the staff bot sent to the chat, of those matching (#1 is not #12)."""
    return [i for i, t in enumerate(sc.fake.texts(STAFF_TOKEN, chat)) if re.search(pattern + r"(?!\d)", t)]


def bind_every_housekeeper(sc: Scenario) -> None:
    """Every housekeeper on the staff bot, so any offer card is pushed (seeded before the server starts)."""
    with sc.backend.db.read() as s:
        ids = list(s.scalars(select(Housekeeper.id)))
    for hk in ids:
        sc.backend.bind("housekeeper", hk, "telegram_staff", str(hk_chat(hk)))


# --- a. under load -----------------------------------------------------------------------------------
async def say(sc: Scenario, sender: str, message: str, mid: str, failures: list[str]) -> list[dict[str, Any]]:
    """One message; on a connection error (a worker died with it) or a 503 (busy) the same message id
    again, until answered."""
    for _ in range(TRIES):
        try:
            status, body = await sc.rest.post(sender, message, mid)
        except (ClientError, ConnectionError, TimeoutError):
            failures.append(mid)
            await asyncio.sleep(0.2)
            continue
        if status == 503:  # busy behind an earlier turn of this conversation: sent again, as documented
            await asyncio.sleep(1.0)
            continue
        assert status == 200, f"{mid} → {status}: {body}"
        return body
    raise AssertionError(f"{mid} was never answered")


async def dialogue(sc: Scenario, i: int, failures: list[str]) -> int:
    """The whole 7-turn booking; the booking number. A retried message gets the reply it got the first
    time (the stored answer), so every step is checked, retried or not."""
    sender = f"load-{i}"
    steps = (("你好", ""), (f"我想约{WHEN[i // len(ADDRESSES)]}的保洁", "几个小时"), ("3个小时", "地址"),
             (ADDRESSES[i % len(ADDRESSES)], "手机号"), (f"138{i:08d}", "注意"), ("没有", "确认下单吗"))
    replies: list[dict[str, Any]] = []
    for n, (message, expect) in enumerate(steps, 1):
        replies = await say(sc, sender, message, f"{sender}-{n}", failures)
        assert expect in text(replies), (sender, message, text(replies))
    confirm = [b["payload"] for b in buttons(replies) if b["title"] == "确认"]
    assert confirm, replies
    done = await say(sc, sender, confirm[0], f"{sender}-7", failures)
    assert "正在为您安排阿姨" in text(done), (sender, text(done))
    return booking_number(done)


async def test_kill_a_worker_under_booking_load(workers_scenario: Scenario) -> None:
    sc = workers_scenario
    bind_every_housekeeper(sc)
    await sc.server.start()  # returns when both workers answer on the port
    first = sc.server.worker_pids()
    assert len(first) == 2, first
    failures: list[str] = []
    clients = [asyncio.create_task(dialogue(sc, i, failures)) for i in range(CLIENTS)]

    def busy() -> bool:  # a third of all turns done: both workers are in the middle of dialogues
        return sc.scalar("SELECT count(*) FROM processed_messages WHERE channel = 'rest'") >= CLIENTS * 7 // 3

    await wait_until(busy, "the load to get going", timeout=120)
    # The kernel hashes each new connection to one worker's socket, and the clients open one per request:
    # at a given instant a worker may be serving nobody. The victim is a worker with at least two
    # requests in flight, so the kill hits clients even if one of them finishes first.
    def holding() -> dict[int, int] | None:
        held = {pid: sc.server.connections(pid) for pid in first}
        return held if max(held.values()) >= 2 else None

    held = await wait_until(holding, "a worker to hold client connections")
    victim = max(held, key=lambda pid: held[pid])
    sc.server.kill_worker(victim)
    fresh = await sc.server.replaced({victim})
    numbers = await asyncio.gather(*clients)

    assert failures, f"no client noticed the kill of {victim}: connections per worker were {held}"
    assert len(fresh - first) == 1 and fresh & first == first - {victim}, (first, fresh)
    told = [line for line in sc.server.log_tail(50_000).splitlines() if str(victim) in line and "SIGKILL" in line]
    assert told, "the supervisor did not log the worker's death"
    for i, number in enumerate(numbers):
        sender = f"load-{i}"
        for n in range(1, 8):
            mid = f"{sender}-{n}"
            assert processed(sc, "rest", sender, mid) == 1, mid
            # The tracker keeps its latest events only (MAX_EVENTS): early turns may have been pruned.
            turns = user_turns(sc, f"rest:{sender}", mid)
            assert turns == 1 or (turns == 0 and n < 7), f"{mid} advanced the dialogue {turns} times"
        assert bookings_of(sc, client_of(sc, "rest", sender)) == [number], f"{sender}: not exactly one booking"
        assert len(offers_of(sc, number)) == 1, offers_of(sc, number)
        with sc.backend.db.read() as s:
            ranked = list(s.scalars(select(MatchCandidate.housekeeper_id).where(MatchCandidate.booking_id == number)))
        assert ranked and len(ranked) == len(set(ranked)), "candidates ranked twice"
        assert audit(sc, "booking", number, "requested") == 1

    sc.clock.advance(seconds=5)  # past the 1-second lease: rows the dead worker had claimed come back
    cards = {number: notifications(sc, key=f"offer:{pending_offer(sc, number)['id']}") for number in numbers}
    assert all(len(rows) == 1 for rows in cards.values()), cards

    def drained() -> bool:
        return all(notifications(sc, id=rows[0]["id"])[0]["status"] == "delivered" for rows in cards.values())

    await wait_until(drained, "every offer card to be delivered", timeout=60)
    await asyncio.sleep(1.5)  # a few dispatcher passes: nothing more may go out
    for number, [card] in cards.items():
        [row] = notifications(sc, id=card["id"])
        times = len(sent(sc, hk_chat(row["person_id"]), f"新订单 #{number}"))
        # At least once; twice only when the dead worker had claimed it (its lease ran out: attempts ≥ 2).
        assert 1 <= times <= min(2, row["attempts"]), (number, times, row["attempts"])


# --- b. timers while a worker dies -------------------------------------------------------------------
def book_many(sc: Scenario, count: int) -> dict[int, dict[str, Any]]:
    """``count`` real bookings (matching, an offer and its expiry timer each); booking id → first offer."""
    out = {}
    for i in range(count):  # one visit per district, day and time (Thursday and Friday): free housekeepers
        client = sc.backend.client_for("rest", f"timer-{i}", "zh").id
        day, hour = ((19, 9), (20, 9), (19, 14), (20, 14))[i // len(ADDRESSES)]
        address = ADDRESSES[i % len(ADDRESSES)]
        b = sc.backend.book(client, Request("cleaning", datetime(2026, 11, day, hour, tzinfo=TZ), hours=2,
                                            address=address, district=address[3:5], city="北京市"))
        out[b["id"]] = pending_offer(sc, b["id"])
    return out


async def test_timers_of_a_killed_worker_run_once_elsewhere(workers_scenario: Scenario) -> None:
    sc = workers_scenario
    marker = sc.folder / "crashed-timer_run"
    bind_every_housekeeper(sc)
    await sc.server.start(crash_at="once:timer_run")
    first = book_many(sc, 12)
    expiry = {f"offer_expiry:{o['id']}" for o in first.values()}
    assert set(due_timers(sc, minutes=11)) == expiry, "the armed crash must hit one of these expiries"
    workers = sc.server.worker_pids()
    sc.clock.advance(minutes=11)  # every first offer times out at once

    await wait_until(marker.exists, "a worker to die in a timer run", timeout=30)
    dead = await wait_until(lambda: workers - sc.server.worker_pids(), "the dead worker to be reaped")
    await sc.server.replaced(dead)

    def all_done() -> bool:
        return all((timer(sc, key) or {}).get("status") == "done" for key in expiry)

    await wait_until(all_done, "every expiry to run", timeout=60)
    await asyncio.sleep(2.0)  # more timer passes in both workers: nothing may run twice
    assert len(dead) == 1 and len(workers - sc.server.worker_pids()) == 1, "exactly one worker died (once)"
    for key in expiry:
        # The crashed run rolled back with its claim: the one run that counted is the first attempt.
        assert timer(sc, key) == {"status": "done", "attempts": 1}, (key, timer(sc, key))
    assert sc.scalar("SELECT count(*) FROM timers WHERE status = 'running'") == 0
    for booking_id, offer in first.items():
        offers = offers_of(sc, booking_id)
        assert [o["status"] for o in offers] == ["expired", "pending"], (booking_id, offers)
        assert offers[1]["housekeeper_id"] != offer["housekeeper_id"]
        assert audit(sc, "offer", offer["id"], "expired") == 1
        assert len(notifications(sc, key=f"offer:{offer['id']}:expired")) == 1
        assert timer(sc, f"offer_expiry:{offers[1]['id']}") == {"status": "pending", "attempts": 0}


# --- c. the outbox lease -------------------------------------------------------------------------------
async def test_a_card_claimed_by_a_killed_worker_goes_out_after_its_lease_in_order(
        workers_scenario: Scenario) -> None:
    sc = workers_scenario
    first = book_many(sc, 3)
    for booking_id, offer in first.items():  # a manager's note behind each card, in the same queue
        with sc.backend.db.uow() as s:
            now = sc.backend.now
            s.add(Notification(key=f"note:{booking_id}", person_kind="housekeeper", person_id=offer["housekeeper_id"],
                               template="manager_message", params={"manager": "周经理", "text": f"请回复{booking_id}"},
                               subject=f"booking:{booking_id}", created_at=now, next_attempt_at=now))
    await sc.server.start(crash_at="once:outbox_send")
    workers = sc.server.worker_pids()
    bind_every_housekeeper(sc)  # now the cards can be pushed: the first send kills its worker
    await wait_until((sc.folder / "crashed-outbox_send").exists, "a worker to die during a send", timeout=30)
    dead = await wait_until(lambda: workers - sc.server.worker_pids(), "the dead worker to be reaped")
    sc.clock.advance(seconds=5)  # past the 1-second lease
    await sc.server.replaced(dead)

    def delivered() -> bool:
        return all(n["status"] == "delivered" for n in notifications(sc, person_kind="housekeeper"))

    await wait_until(delivered, "the cards and the notes to be delivered", timeout=60)
    await asyncio.sleep(1.5)
    resent = 0
    for booking_id, offer in first.items():
        chat = hk_chat(offer["housekeeper_id"])
        cards = sent(sc, chat, f"新订单 #{booking_id}")
        notes = sent(sc, chat, f"请回复{booking_id}")
        [card] = notifications(sc, key=f"offer:{offer['id']}")
        assert 1 <= len(cards) <= min(2, card["attempts"]), (booking_id, len(cards), card["attempts"])
        assert len(notes) == 1 and max(cards) < notes[0], f"out of order: {sc.fake.texts(STAFF_TOKEN, chat)}"
        resent += len(cards) - 1
    assert resent >= 1, "the card sent when the worker died was not sent again after the lease"
