"""GET /health tells a load balancer honestly whether this process can serve; GET /live stays cheap."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from backend.db import make_engine
from bot import health, migrate
from bot.server import make_app
from tests.conftest import make_app as make_frontdesk
from tests.deploy.conftest import free_port

WORDS = {"ok", "read_only", "pending", "unreachable", "timeout", "unknown"}  # all a reply may say about a check

Get = Callable[[str], Any]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Any]]:
    servers: list[TestServer] = []
    session = ClientSession()

    async def start(app: web.Application) -> Get:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)

        async def get(path: str) -> tuple[int, dict[str, Any]]:
            async with session.get(server.make_url(path)) as r:
                return r.status, await r.json()
        return get

    yield start
    await session.close()
    for s in servers:
        await s.close()


def bare_app(engine: Engine, redis_url: str | None = None) -> web.Application:
    app = web.Application()
    health.add_routes(app, engine, redis_url)
    return app


def assert_no_detail(body: dict[str, Any]) -> None:
    """The reply names checks with fixed words: no exception text, no host, no password."""
    assert set(body) <= {"status", "failed", "checks"}
    assert set(body["checks"].values()) <= WORDS, body


def previous_revision() -> str:
    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision("head")
    return head.down_revision


async def test_ready_when_database_writable_and_schema_current(serve: Any, tmp_path: Path, db_url: str,
                                                               trained_model: Path, monkeypatch) -> None:
    app = make_frontdesk(tmp_path, db_url, roster=False, model=trained_model)
    warmed: list[object] = []
    monkeypatch.setattr(type(app.desk.engine.nlu), "warm", lambda self: warmed.append(self))
    get = await serve(make_app(app, workers=False, telegram=False))
    assert warmed == [app.desk.engine.nlu]  # before the first message, not in it
    status, body = await get("/health")
    assert status == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert await get("/live") == (200, {"status": "ok", "worker": os.getpid()})
    app.backend.db.dispose()


async def test_outdated_schema_is_not_ready(serve: Any, db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine, previous_revision())
    get = await serve(bare_app(engine))
    status, body = await get("/health")
    assert status == 503
    assert body["failed"] == ["migrations"] and body["checks"] == {"database": "ok", "migrations": "pending"}
    migrate.upgrade(engine)
    assert (await get("/health"))[0] == 200  # `frontdesk db upgrade` makes it ready, no restart needed
    engine.dispose()


async def test_empty_database_is_not_ready(serve: Any, db_url: str) -> None:
    engine = make_engine(db_url)
    status, body = await (await serve(bare_app(engine)))("/health")
    assert status == 503 and body["checks"]["migrations"] == "pending"
    engine.dispose()


async def test_read_only_database_is_not_ready(serve: Any, db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    if engine.dialect.name == "sqlite":
        # A database the process may only read (a read-only mount or file): opened read-only here, since
        # file permissions do not stop root.
        ro = make_engine(f"sqlite:///file:{make_url(db_url).database}?mode=ro&uri=true")
    else:
        name = make_url(db_url).database
        with engine.connect() as c:
            c.execute(text(f"ALTER DATABASE {name} SET default_transaction_read_only = on"))
            c.commit()
        engine.dispose()
        ro = make_engine(db_url)
    status, body = await (await serve(bare_app(ro)))("/health")
    assert status == 503, body
    assert body["failed"] == ["database"] and body["checks"]["database"] == "read_only"
    assert_no_detail(body)
    ro.dispose()
    engine.dispose()


async def test_unreachable_database_is_not_ready_but_alive(serve: Any) -> None:
    engine = create_engine(f"postgresql+psycopg://frontdesk:secret-password@127.0.0.1:{free_port()}/frontdesk")
    get = await serve(bare_app(engine))
    status, body = await get("/health")
    assert status == 503 and body["failed"] == ["database", "migrations"]
    assert_no_detail(body)
    assert "secret-password" not in str(body) and "refused" not in str(body).lower()
    assert await get("/live") == (200, {"status": "ok", "worker": os.getpid()})  # liveness does no I/O: no restart loop


async def test_redis_is_checked_when_configured(serve: Any, db_url: str, redis_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    status, body = await (await serve(bare_app(engine, redis_url)))("/health")
    assert status == 200 and body["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}

    down = f"redis://:secret-password@127.0.0.1:{free_port()}/0"  # nothing listens there
    status, body = await (await serve(bare_app(engine, down)))("/health")
    assert status == 503 and body["failed"] == ["redis"] and body["checks"]["redis"] == "unreachable"
    assert_no_detail(body)
    assert "secret-password" not in str(body)
    engine.dispose()
