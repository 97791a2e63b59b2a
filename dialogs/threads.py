"""A chat turn runs on the serving loop's thread, from start to end, one turn at a time per loop.

A turn is mostly blocking database work between short async steps (the engine, rasa-sdk actions). Inside a
turn ``hop`` calls inline; outside one (the workers' short units of work) it goes to a thread.

Why not a thread of its own: a turn on a worker thread handed the GIL to the event loop and back at each of
its database round trips. Inline, the same booking load cost about 15% less CPU per turn and gave about 19%
more turns per second (``benchmarks/load.py``, the two alternating, 2 workers on PostgreSQL + Redis). The
price is that the loop is busy for a turn's few milliseconds: HTTP, long-polls and the workers wait that
long. What must keep time does not depend on the loop: the conversation lock is renewed from a thread
(dialogs/locks.py), and the workers' database work runs on threads. A turn that a platform request races
against a deadline (WeChat's 5 s: answer "success" if the turn is late) runs on a thread (``on_thread``),
so that the request can answer meanwhile. Turns on one loop queue at ``Database.gate`` (one at a time,
inline or not), so a turn blocking the thread never waits for rows held by a turn that needs this loop to
finish (other workers' turns and the timer and dispatcher threads finish on their own).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
_local = threading.local()
_inline: contextvars.ContextVar[bool] = contextvars.ContextVar("frontdesk_turn_inline", default=False)


async def hop(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Blocking work: inline inside a turn (``in_turn``, on purpose on the turn's thread), else on a thread
    (``asyncio.to_thread``), off the event loop."""
    if _inline.get():
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


async def in_turn(make: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``make()`` with every ``hop`` inside it inline, on this thread."""
    token = _inline.set(True)
    try:
        return await make()
    finally:
        _inline.reset(token)


async def on_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``make()`` on a worker thread's event loop, every ``hop`` inside it inline, and the
    caller's loop free meanwhile. A cancelled caller still waits for the thread to finish, so a
    conversation's lock (held by the caller) is never released while its turn runs."""
    fut = asyncio.ensure_future(asyncio.to_thread(_run, make))  # to_thread copies the caller's context
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        await asyncio.wait([fut])
        if not fut.cancelled() and fut.exception() is not None:  # read, so it is not logged as lost
            log.warning("a turn whose caller had gone failed: %s", type(fut.exception()).__name__)
        raise


def _run(make: Callable[[], Awaitable[T]]) -> T:
    loop = getattr(_local, "loop", None)
    if loop is None:  # one loop per executor thread, kept for its next turns
        loop = _local.loop = asyncio.new_event_loop()
    token = _inline.set(True)
    try:
        return loop.run_until_complete(make())  # the task copies this context: hops run inline
    finally:
        _inline.reset(token)
