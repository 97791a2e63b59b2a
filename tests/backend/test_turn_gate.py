"""Chat turns on one loop (backend/db.py Database.gate, dialogs/threads.py): one at a time, on the loop's own
thread with every hop inline; the others wait their turn and none is dropped."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from backend.api import Backend
from config import load_settings
from dialogs.threads import hop, in_turn, on_thread
from tests.conftest import TEST_KEY


async def test_one_turn_at_a_time_on_a_loop(db_url: str, tmp_path: Path) -> None:
    be = Backend.from_settings(load_settings(data_dir=tmp_path, data_key=TEST_KEY), db_url=db_url)
    running, most, done = 0, 0, []

    async def turn(i: int) -> None:
        nonlocal running, most
        async with be.db.slot():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.02)  # an await inside a turn: the others still queue
            running -= 1
        done.append(i)

    await asyncio.gather(*(turn(i) for i in range(8)))
    assert sorted(done) == list(range(8))
    assert most == 1
    be.db.dispose()


async def test_a_turn_hops_inline_and_other_work_goes_to_a_thread() -> None:
    loop_thread = threading.get_ident()

    async def turn() -> tuple[int, int]:
        return await hop(threading.get_ident), await hop(threading.get_ident)

    assert await in_turn(turn) == (loop_thread, loop_thread)
    assert await hop(threading.get_ident) != loop_thread  # outside a turn: the workers' units of work


async def test_a_raced_turn_leaves_the_loop_free() -> None:
    """A turn on a thread (a WeChat request racing its 5 s): the loop goes on while the turn blocks."""
    loop_thread, ticks = threading.get_ident(), []

    async def turn() -> tuple[int, int]:
        first = await hop(threading.get_ident)
        await hop(time.sleep, 0.3)  # blocking database work
        return first, await hop(threading.get_ident)

    async def clock() -> None:
        for _ in range(5):
            await asyncio.sleep(0.02)
            ticks.append(time.monotonic())

    (a, b), _ = await asyncio.gather(on_thread(turn), clock())
    assert a == b != loop_thread
    assert len(ticks) == 5 and ticks[-1] - ticks[0] < 0.25  # the loop ticked while the turn slept
