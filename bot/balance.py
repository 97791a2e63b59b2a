"""Keep-alive clients spread evenly over the workers of `frontdesk serve --workers N`.

The kernel hashes each new connection to one worker's ``SO_REUSEPORT`` socket (bot/supervisor.py), and a
keep-alive client stays where it landed: 20 clients fell 7 and 13 on two workers in one run, and the busier
worker's clients queued nearly twice as long (``benchmarks/load.py``). So each worker counts the connections
that carried a request in the last ``WINDOW`` seconds and publishes the count in memory the supervisor shares
with every worker (allocated before it forks). A worker above its fair share (the live workers' total over
their number, rounded up) answers that many requests with ``Connection: close``; those clients' next
connections are hashed anew, and within a few seconds the counts are even. Nothing else changes for the
client: the answer is complete, and its next request opens a connection, as after any idle cut.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import time
from multiprocessing.sharedctypes import RawArray
from typing import Any

from aiohttp import web

WINDOW = 2.0  # a connection counts while it carried a request this recently
TICK = 1.0  # how often a worker publishes its count and reads the others'
STALE = 3 * TICK  # a worker that has not published for this long is gone (or restarting)


class Shares:
    """Made by the supervisor before it forks: per worker slot, its active connections and when it said so."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cells = RawArray(ctypes.c_double, 2 * workers)  # [count, monotonic time] per slot

    def publish(self, index: int, count: int, now: float) -> None:
        self.cells[2 * index], self.cells[2 * index + 1] = float(count), now

    def fair(self, now: float) -> int:
        """The live workers' connections over their number, rounded up."""
        live = [self.cells[2 * i] for i in range(self.workers) if now - self.cells[2 * i + 1] <= STALE]
        return math.ceil(sum(live) / len(live)) if live else 0

    def attach(self, app: web.Application, index: int) -> None:
        """In a worker: count, publish and shed on this app's responses."""
        balancer = Balancer(self, index)
        app.on_response_prepare.append(balancer.on_response)
        app.on_startup.append(balancer.start)
        app.on_cleanup.append(balancer.stop)


class Balancer:
    def __init__(self, shares: Shares, index: int) -> None:
        self.shares, self.index = shares, index
        self.seen: dict[Any, float] = {}  # connection (aiohttp's protocol object) -> its last response
        self.shed = 0  # connections still to close this tick
        self._timer: asyncio.TimerHandle | None = None

    async def on_response(self, request: web.Request, response: web.StreamResponse) -> None:
        if not request.keep_alive or response.keep_alive is False:
            return  # a connection closing anyway (HTTP/1.0, a probe) is neither counted nor shed
        conn = request.protocol
        # Only a complete answer closes its connection now (not an SSE stream, open for its whole life).
        if self.shed > 0 and conn in self.seen and type(response) is web.Response:
            self.shed -= 1
            response.force_close()
            # aiohttp runs this hook after it has chosen the Connection header: say it, or the client would
            # send its next request on a connection being closed.
            response.headers["Connection"] = "close"
            del self.seen[conn]
            return
        self.seen[conn] = time.monotonic()

    def tick(self) -> None:
        try:
            now = time.monotonic()
            self.seen = {c: t for c, t in self.seen.items() if now - t <= WINDOW and c.transport is not None}
            self.shares.publish(self.index, len(self.seen), now)
            self.shed = max(0, len(self.seen) - self.shares.fair(now))
        finally:
            self._timer = asyncio.get_running_loop().call_later(TICK, self.tick)

    async def start(self, _: web.Application) -> None:
        self.tick()

    async def stop(self, _: web.Application) -> None:
        if self._timer is not None:
            self._timer.cancel()
