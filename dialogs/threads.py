"""A chat turn runs on one worker thread from start to end.

A turn is mostly blocking database work between short async steps (the engine, rasa-sdk actions). Sent
to a thread one call at a time, it paid a thread hop (and a fight for the GIL) per call, about ten per
message. Instead the whole turn runs on a worker thread's own event loop, where ``hop`` calls inline:
one hop per turn, and the server's loop stays free for HTTP, long-polls and the workers meanwhile.
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
_inline: contextvars.ContextVar[bool] = contextvars.ContextVar("frontdesk_turn_thread", default=False)
_local = threading.local()
_one_thread = False  # see profile_on_one_thread


async def hop(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Blocking work off the event loop: inline on a turn's own thread, else ``asyncio.to_thread``."""
    if _inline.get():
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


def profile_on_one_thread() -> None:
    """For a profiler that sees one thread (benchmarks/profile_turn.py): turns run on the caller's
    loop with every hop inline, so the database work shows in the profile. Never in a server."""
    global _one_thread
    _one_thread = True


async def on_turn_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``make()`` on a worker thread's event loop, every ``hop`` inside it inline.
    A cancelled caller still waits for the thread to finish, so a conversation's lock (held by the
    caller) is never released while its turn runs."""
    if _one_thread:
        token = _inline.set(True)
        try:
            return await make()
        finally:
            _inline.reset(token)
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
