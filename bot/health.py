"""Readiness (``GET /health``) and liveness (``GET /live``) for load balancers and the image's HEALTHCHECK.

Readiness is honest: the database accepts writes, its schema is at the newest migration, and Redis
answers when ``REDIS_URL`` is set. A failure is a 503 naming the check, with a fixed word for what is
wrong; the exception itself goes to the log, never into the reply. Liveness does no I/O at all: it only
says the event loop still answers. A chat turn runs on that loop (dialogs/threads.py), so a turn waiting for
the database delays the answer by as long (at most the 30 s lock timeout): give a probe more than that.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot import migrate

log = logging.getLogger(__name__)
TIMEOUT = 5.0  # seconds per check; a SQLite writer can hold the lock for a while


def database_writable(engine: Engine) -> str:
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            # A standby or a read-only default refuses writes; asking costs no lock.
            read_only = c.execute(text("SELECT current_setting('transaction_read_only')")).scalar()
            return "ok" if read_only == "off" else "read_only"
        # SQLite: a real write in a transaction that is rolled back (DDL is transactional there).
        tx = c.begin()
        try:
            c.execute(text("CREATE TABLE health_probe (x INTEGER)"))
        except OperationalError as e:
            if "readonly" in str(e):
                return "read_only"
            raise
        finally:
            tx.rollback()
        return "ok"


def migrations_current(engine: Engine) -> str:
    with engine.connect() as c:
        return "ok" if migrate.is_current(c) else "pending"


async def _run(name: str, check: Any, failure: str) -> str:
    try:
        return await asyncio.wait_for(check, TIMEOUT)
    except TimeoutError:
        log.warning("health: %s check timed out after %ss", name, TIMEOUT)
        return "timeout"
    except Exception as e:  # the check exists to report this; the reply names only the check
        log.warning("health: %s check failed: %s: %s", name, type(e).__name__, str(e)[:300])
        return failure


class Readiness:
    """The checks of one process; the Redis client is made on first use, on the serving event loop."""

    def __init__(self, engine: Engine, redis_url: str | None) -> None:
        self.engine, self.redis_url = engine, redis_url
        self._redis: Any = None

    async def _redis_ping(self) -> str:
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=2)
        return "ok" if await self._redis.ping() else "unreachable"

    async def checks(self) -> dict[str, str]:
        checks = {
            "database": await _run("database", asyncio.to_thread(database_writable, self.engine), "unreachable"),
            "migrations": await _run("migrations", asyncio.to_thread(migrations_current, self.engine), "unknown"),
        }
        if self.redis_url:
            checks["redis"] = await _run("redis", self._redis_ping(), "unreachable")
        return checks

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def add_routes(web_app: web.Application, engine: Engine, redis_url: str | None) -> None:
    readiness = Readiness(engine, redis_url)

    async def health(_: web.Request) -> web.Response:
        checks = await readiness.checks()
        failed = [name for name, state in checks.items() if state != "ok"]
        if failed:
            return web.json_response({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
        return web.json_response({"status": "ok", "checks": checks})

    async def live(_: web.Request) -> web.Response:
        # Which process answered: with `serve --workers N` every worker answers on the one port.
        return web.json_response({"status": "ok", "worker": os.getpid()})

    async def close(_: web.Application) -> None:
        await readiness.close()

    web_app.router.add_get("/health", health)
    web_app.router.add_get("/live", live)
    web_app.on_cleanup.append(close)
