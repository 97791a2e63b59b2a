"""One Telegram poller among the workers, elected through a Redis lease (bot/election.py), and
Telegram's outgoing limits shared by the workers (bot/telegram/common.py SharedRateLimiter).

Unit level, on a real redis-server: only one Leadership leads, a leader that stops renewing is
replaced once its lease runs out, a leader whose key was taken notices and steps down, and a leader
that stops releases the key at once. End to end: `frontdesk serve --workers 2` in polling mode against
the fake Telegram server, which records the client port of every getUpdates call; the port is mapped
to the process that owns the socket (/proc), so the test sees which worker polls.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.election import Leadership
from tests.crash.conftest import Scenario
from tests.crash.harness import CLIENT_TOKEN, STAFF_TOKEN, socket_inodes, tcp_sockets, wait_until
from tests.crash.helpers import sent_to

LEASE = 1.0  # seconds, unit tests
E2E_LEASE = "2"  # seconds, the served workers: a dead poller is replaced within about that


class Campaigner:
    """A Leadership campaigning in a task, recording what it was told."""

    def __init__(self, redis_url: str, key: str) -> None:
        self.leadership = Leadership.from_url(redis_url, key, lease=LEASE, retry=0.1)
        self.events: list[str] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def elected(self) -> None:
        self.events.append("elected")

    async def deposed(self) -> None:
        self.events.append("deposed")

    def start(self) -> None:
        self.task = asyncio.create_task(self.leadership.campaign(self.elected, self.deposed, self.stop))

    async def finish(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)
        await self.leadership.close()


@pytest.fixture
async def redis(redis_url: str) -> Any:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_only_one_leads_and_only_the_holder_can_renew(redis_url: str, redis: Redis) -> None:
    key = "test:election:one"
    a = Leadership.from_url(redis_url, key, lease=LEASE)
    b = Leadership.from_url(redis_url, key, lease=LEASE)
    try:
        assert await a.try_acquire()
        assert not await b.try_acquire()
        assert await a.renew()
        assert not await b.renew()  # compare-and-extend: a non-holder never extends the holder's lease
        assert await redis.get(key) == a.token
        await b.release()  # not leading: nothing to release, the holder keeps its key
        assert await redis.get(key) == a.token
        await a.release()
        assert await redis.get(key) is None
    finally:
        await a.close()
        await b.close()


async def test_a_leader_that_stops_renewing_is_replaced_after_its_lease(redis_url: str, redis: Redis) -> None:
    key = "test:election:frozen"
    frozen = Leadership.from_url(redis_url, key, lease=LEASE)  # takes the lease, then never renews (killed)
    assert await frozen.try_acquire()
    other = Campaigner(redis_url, key)
    other.start()
    try:
        await wait_until(lambda: other.events == ["elected"], "the other worker to take the lease", timeout=10)
        assert await redis.get(key) == other.leadership.token
        assert not await frozen.renew(), "the old leader must learn its lease is gone"
        assert not frozen.leading
    finally:
        await other.finish()
        await frozen.close()
    assert other.events == ["elected", "deposed"]  # stopping is stepping down


async def test_a_leader_whose_key_was_taken_steps_down(redis_url: str, redis: Redis) -> None:
    key = "test:election:taken"
    leader = Campaigner(redis_url, key)
    leader.start()
    try:
        await wait_until(lambda: leader.events == ["elected"], "the campaign to take the free lease")
        # As if the leader stalled past its lease and another worker took the key meanwhile.
        await redis.set(key, "someone-else", px=10_000)
        await wait_until(lambda: leader.events == ["elected", "deposed"], "the leader to notice", timeout=10)
        assert not leader.leadership.leading
        assert await redis.get(key) == "someone-else"  # neither extended nor deleted by the old leader
    finally:
        await leader.finish()
    assert await redis.get(key) == "someone-else"
    assert leader.events == ["elected", "deposed"]


async def test_the_lease_is_released_on_stop_and_taken_by_the_next(redis_url: str, redis: Redis) -> None:
    key = "test:election:handover"
    a, b = Campaigner(redis_url, key), Campaigner(redis_url, key)
    a.start()
    await wait_until(lambda: a.events == ["elected"], "the first campaign to lead")
    b.start()
    await asyncio.sleep(LEASE)  # several renewals and several of b's tries: b must not lead meanwhile
    assert b.events == [] and await redis.get(key) == a.leadership.token
    await a.finish()
    assert a.events == ["elected", "deposed"]
    await wait_until(lambda: b.events == ["elected"], "the second campaign to take the released lease")
    await b.finish()
    assert await redis.get(key) is None


# --- Telegram's outgoing limits, shared by the workers through Redis -----------------------------------
async def test_workers_book_telegram_sends_against_one_shared_limit(redis_url: str) -> None:
    """Two workers' limiters (one chat every 10 s, one send a second overall): what one booked, the
    other waits for. Reservations, not measured times: each says how long its send must wait."""
    from bot.telegram.common import SharedRateLimiter

    prefix = "test:tg-rate"
    a, b = (SharedRateLimiter(redis_url, per_chat_interval=10, per_second=1, prefix=prefix) for _ in range(2))
    try:
        assert await a.reserve(42) == 0
        assert 0 < await b.reserve(43) <= 3  # another chat from the other worker: behind the per-second gap
        assert await b.reserve(42) >= 9  # the same chat from the other worker: after the chat's interval
        local_a, local_b = (SharedRateLimiter(redis_url, 10, 1, prefix=prefix + ":x") for _ in range(2))
        assert await local_a.reserve(("staff", 42)) == 0 and await local_b.reserve(("staff", 42)) >= 9
        await local_a.close()
        await local_b.close()
    finally:
        await a.close()
        await b.close()


# --- end to end: `frontdesk serve --workers 2` polling the fake Telegram ------------------------------
def _socket_owner(port: int, pids: set[int]) -> int | None:
    """The pid among ``pids`` that owns the TCP socket whose local port is ``port``."""
    inodes = {inode for local, _, inode in tcp_sockets() if local == port}
    return next((pid for pid in pids if socket_inodes(pid) & inodes), None)


async def pollers(sc: Scenario, seconds: float = 3.0) -> dict[str, set[int | None]]:
    """Per bot, the worker pids that called getUpdates in the next ``seconds`` (the fake's long-poll
    returns within 1 s, so the poller calls again several times meanwhile)."""
    bots = {"client": sc.fake.bots[CLIENT_TOKEN], "staff": sc.fake.bots[STAFF_TOKEN]}
    seen: dict[str, set[int | None]] = {name: set() for name in bots}
    marks = {name: len(bot.poll_ports) for name, bot in bots.items()}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        workers = sc.server.worker_pids()
        for name, bot in bots.items():
            for port in bot.poll_ports[marks[name]:]:
                seen[name].add(_socket_owner(port, workers))
            marks[name] = len(bot.poll_ports)
        await asyncio.sleep(0.1)
    return seen


async def the_poller(sc: Scenario) -> int:
    """The one worker that polls both bots; fails when none or several do."""
    async def one() -> int | None:
        seen = await pollers(sc)
        both = seen["client"] | seen["staff"]
        return both.pop() if len(both) == 1 and None not in both and seen["client"] == seen["staff"] else None

    return await wait_until(one, "exactly one worker polling both bots", timeout=30, interval=0)


@pytest.mark.crash
async def test_one_worker_polls_and_a_killed_poller_is_replaced(workers_scenario: Scenario) -> None:
    sc = workers_scenario
    await sc.server.start(extra={"FRONTDESK_TELEGRAM__ELECTION_LEASE_SECONDS": E2E_LEASE})
    workers = sc.server.worker_pids()
    assert len(workers) == 2, workers
    poller = await the_poller(sc)
    assert poller in workers
    seen = await pollers(sc)  # and it stays that way: the other worker never calls getUpdates
    assert seen["client"] == seen["staff"] == {poller}, seen

    chat = 7301
    await sc.fake.send_text(CLIENT_TOKEN, chat, "约个保洁")
    await sc.fake.wait_for(CLIENT_TOKEN, chat, "什么时间", timeout=30)
    await asyncio.sleep(1.5)  # a polling round and more: a second copy would have arrived by now
    assert len(sent_to(sc, CLIENT_TOKEN, chat, "什么时间")) == 1, sc.fake.texts(CLIENT_TOKEN, chat)

    os.kill(poller, signal.SIGKILL)
    new_poller = await the_poller(sc)  # within about one lease (2 s) plus the replacement's start
    assert new_poller != poller
    await wait_until(lambda: len(sc.server.worker_pids()) == 2, "the supervisor to replace the killed worker")
    assert poller not in sc.server.worker_pids()

    before = len(sc.fake.texts(CLIENT_TOKEN, chat))
    await sc.fake.send_text(CLIENT_TOKEN, chat, "明天上午10点")
    await wait_until(lambda: len(sc.fake.texts(CLIENT_TOKEN, chat)) > before, "an answer after the takeover",
                     timeout=30)
    await asyncio.sleep(1.5)
    after = sc.fake.texts(CLIENT_TOKEN, chat)[before:]
    assert len(after) == 1, after  # answered once, by the new poller only
    assert "什么时间" not in after[0]  # the form moved on: the first message was not handled again
