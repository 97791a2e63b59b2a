"""Several workers share one Redis: a conversation still has one writer at a time."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import LockError

from dialogs.locks import RedisLocks


async def test_redis_locks_serialise_one_conversation_across_workers(redis_url: str) -> None:
    workers = [RedisLocks.from_url(redis_url) for _ in range(3)]  # three processes' connections
    inside: list[str] = []
    log: list[tuple[str, str]] = []

    async def turn(w: RedisLocks, key: str, name: str) -> None:
        async with w.lock(key):
            inside.append(name)
            assert [n for n in inside if n.startswith(key)] == [name]  # alone in this conversation
            log.append(("in", name))
            await asyncio.sleep(0.05)
            log.append(("out", name))
            inside.remove(name)

    await asyncio.gather(*(turn(workers[i % 3], "chat-1", f"chat-1/{i}") for i in range(6)),
                         *(turn(workers[i % 3], "chat-2", f"chat-2/{i}") for i in range(6)))
    for key in ("chat-1", "chat-2"):
        events = [e for e in log if e[1].startswith(key)]
        assert all(events[i][0] == "in" and events[i + 1] == ("out", events[i][1]) for i in range(0, 12, 2))
    for w in workers:
        await w.client.aclose()


async def test_a_lock_left_by_a_dead_worker_expires(redis_url: str) -> None:
    dead = RedisLocks.from_url(redis_url)
    # The worker took the lock and died: nothing renews or releases it.
    assert await dead.client.lock(dead.name("chat-9"), timeout=0.5).acquire()
    alive = RedisLocks.from_url(redis_url)
    alive.wait = 5
    async with alive.lock("chat-9"):
        pass
    for w in (dead, alive):
        await w.client.aclose()


async def test_a_turn_longer_than_the_lease_keeps_its_lock(redis_url: str) -> None:
    from redis.exceptions import LockError

    slow, other = RedisLocks.from_url(redis_url), RedisLocks.from_url(redis_url)
    slow.lease, other.wait = 0.3, 0.8
    async with slow.lock("chat-10"):
        with pytest.raises(LockError):  # renewed every lease/3: never free while the turn runs
            async with other.lock("chat-10"):
                pass
    async with other.lock("chat-10"):  # released at the end of the turn
        pass
    for w in (slow, other):
        await w.client.aclose()


async def test_a_turn_that_blocks_the_loop_past_the_lease_keeps_its_lock(redis_url: str) -> None:
    """A turn runs on the loop's thread (dialogs/threads.py): the renewal must not need the loop."""
    import time

    slow = RedisLocks.from_url(redis_url)
    slow.lease = 0.3
    name = slow.name("chat-11")
    async with slow.lock("chat-11"):
        time.sleep(1.2)  # the loop is blocked for four leases
        assert await slow.client.pttl(name) > 0
        token = await slow.client.get(name)
    assert await slow.client.exists(name) == 0  # released at the end
    # A lock taken over by someone else meanwhile is never renewed nor released by the first holder.
    async with slow.lock("chat-11"):
        await slow.client.set(name, "someone-else", px=60_000)
        time.sleep(0.5)
        assert await slow.client.get(name) == b"someone-else" and token != b"someone-else"
    assert await slow.client.get(name) == b"someone-else"
    assert 55_000 < await slow.client.pttl(name) <= 60_000
    await slow.client.aclose()


async def test_a_lock_taken_while_another_turn_blocks_the_loop_is_renewed_before_its_turn_starts(
        redis_url: str) -> None:
    """The SET's answer arrives while the loop is busy with another turn for longer than the lease: the
    renewal thread knew of the lock before the SET went out, so nobody else takes the conversation."""
    import time

    slow, other = RedisLocks.from_url(redis_url), RedisLocks.from_url(redis_url)
    slow.lease, other.wait = 1.0, 1.0
    await slow.client.ping()  # connected: the SET below is one round trip
    inside = asyncio.Event()

    async def turn() -> None:
        async with slow.lock("chat-12"):
            inside.set()
            await asyncio.sleep(2.5)

    from redis import Redis

    task = asyncio.create_task(turn())
    with Redis.from_url(redis_url) as look:
        while not look.exists(slow.name("chat-12")):  # until the SET has landed, its answer not yet read
            await asyncio.sleep(0)
    assert not inside.is_set()
    time.sleep(3.5)  # another turn holds the loop for three leases and more
    await inside.wait()
    with pytest.raises(LockError):
        async with other.lock("chat-12"):
            pass
    await task
    async with other.lock("chat-12"):  # released at the end of the turn
        pass
    for w in (slow, other):
        await w.client.aclose()


async def test_taking_a_lock_again_with_its_own_token_finds_it_ours(redis_url: str) -> None:
    """A SET whose answer was lost is sent again by the client's retry: the key already holds our token, and
    that is a lock taken, not a conversation busy until the wait runs out."""
    locks = RedisLocks.from_url(redis_url)
    name = locks.name("chat-13")
    assert "chat-13" not in name  # the sender's platform id is not readable in Redis
    assert await locks._take(keys=[name], args=["mine", 5000]) == 1
    assert await locks._take(keys=[name], args=["mine", 5000]) == 1  # the retry
    assert await locks._take(keys=[name], args=["theirs", 5000]) == 0
    assert await locks.client.get(name) == b"mine"
    await locks.client.aclose()


async def test_the_front_desk_runs_on_redis_locks(tmp_path, trained_model, redis_url: str) -> None:
    from dialogs.messages import IncomingMessage
    from tests.conftest import make_app

    app = make_app(tmp_path, model=trained_model)
    app.desk.locks = RedisLocks.from_url(redis_url)
    # Three messages of one conversation at once: whichever order the lock lets them in, each is
    # handled alone, so the form ends up with all three answers and asks for the address next.
    replies = await asyncio.gather(*(app.desk.handle(IncomingMessage("rest", "r-1", m)) for m in
                                     ("约个保洁", "明天上午10点", "3个小时")))
    assert all(replies)
    nxt = await app.desk.handle(IncomingMessage("rest", "r-1", "朝阳区建国路88号"))
    assert "手机号" in nxt[0]["text"]
    await app.desk.locks.client.aclose()


async def test_rest_answers_busy_with_503_and_the_message_goes_through_when_sent_again(
        tmp_path, trained_model, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """A turn that holds the conversation past the wait: the next message is refused with 503 and
    Retry-After, nothing of it is kept, and the same message id sent again is answered once."""
    from aiohttp import ClientSession
    from sqlalchemy import text as sql

    from tests.conftest import make_app
    from tests.e2e.conftest import API_KEY, secure, serve

    app = secure(make_app(tmp_path, model=trained_model))
    app.desk.locks = RedisLocks.from_url(redis_url)
    app.desk.locks.wait = 0.5
    server = await serve(app)
    other = RedisLocks.from_url(redis_url)
    held = other.client.lock(other.name("rest:busy-1"), timeout=30)
    assert await held.acquire()
    body = {"sender": "busy-1", "message": "约个保洁", "message_id": "m-1"}
    url = str(server.make_url("/webhooks/rest/webhook"))
    async with ClientSession(headers={"X-Api-Key": API_KEY}) as http:
        async with http.post(url, json=body) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "5"
            refusal = await r.json()
            assert "send it again" in refusal["error"] and "请稍后再发一次" in refusal["message"]["zh"]
            assert "send it again" in refusal["message"]["en"]
        kept = sql("SELECT count(*) FROM processed_messages WHERE channel = 'rest'")
        with app.backend.db.read() as s:
            assert s.scalar(kept) == 0
        await held.release()
        async with http.post(url, json=body) as r:
            assert r.status == 200
            assert "时间" in " ".join(m.get("text", "") for m in await r.json())
        with app.backend.db.read() as s:
            assert s.scalar(kept) == 1
    await server.close()
    for w in (app.desk.locks, other):
        await w.client.aclose()
