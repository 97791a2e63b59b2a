"""Several workers on one PostgreSQL database: in-process backends that share the rows (test_sharing)
and a real `frontdesk serve --workers N` killed with -9 under load (test_kill_workers).

The kill suite reuses the seeded-database approach of tests/crash/conftest.py: one database made once
per run with `frontdesk db upgrade` and `frontdesk demo`, copied as a template for each scenario.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout, TCPConnector

from tests.conftest import NOW_ISO, TEST_KEY, fresh_postgres
from tests.crash.conftest import (
    API_KEY,
    KEY,
    STARTS,
    Scenario,
    Seed,
    base_env,
    copy_postgres,
    postgres_seed,
)
from tests.crash.harness import (
    Clock,
    Rest,
    Server,
    free_port,
    new_fake_telegram,
    telegram_env,
)

__all__ = ["postgres_seed"]  # a fixture: the seeded template database of the kill suite

WORKERS = 2
RUNNERS = 3  # dispatchers / timer runners / inbox workers sharing one database in test_sharing


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crash: kills a real `frontdesk serve` at named crash points (tests/crash)")


# --- in-process: several backends, one database ----------------------------------------------------
@pytest.fixture
def backends(postgres_url: str, tmp_path: Path) -> Iterator[list[Any]]:
    """RUNNERS Backends, each with its own engine (connection pool) on one fresh PostgreSQL database
    with the demo roster, sharing one fake clock: what RUNNERS worker processes would be."""
    from backend.api import Backend
    from backend.clock import FakeClock
    from backend.services import staff
    from config import load_settings

    url = fresh_postgres(postgres_url)
    clock = FakeClock(datetime.fromisoformat(NOW_ISO))
    settings = load_settings(data_dir=tmp_path, data_key=TEST_KEY, outbox={"lease_seconds": 30})
    out = [Backend.from_settings(settings, clock=clock, db_url=url) for _ in range(RUNNERS)]
    out[0].db.create_all()
    rows = [staff.parse_row(i, r, out[0].catalogue) for i, r in enumerate(staff.demo_rows(clock.now().date()), 1)]
    out[0].import_staff(rows)
    yield out
    for be in out:
        be.db.dispose()


# --- a real supervisor with worker processes --------------------------------------------------------
@pytest.fixture
async def workers_scenario(tmp_path: Path, trained_model: Path, postgres_url: str, redis_url: str,
                           postgres_seed: Seed) -> AsyncIterator[Scenario]:
    """Like tests/crash `scenario` on PostgreSQL, plus Redis and a server that runs WORKERS workers."""
    from backend.api import Backend
    from backend.testhooks import FileClock
    from config import load_settings

    assert postgres_seed.postgres_db is not None
    db_url = copy_postgres(postgres_url, postgres_seed.postgres_db)
    clock = Clock(tmp_path / "clock")
    fake = new_fake_telegram()
    api_base = await fake.start()
    env = base_env(tmp_path, trained_model, db_url)
    env.update({"REDIS_URL": redis_url, **telegram_env(api_base)})
    (tmp_path / "logs").mkdir()
    server = Server(env, free_port(), tmp_path / "logs", workers=WORKERS)
    rest = Rest(server, API_KEY)
    # A new connection per request: each one goes to whichever worker accepts it, as webhooks from many
    # platforms do, instead of every client staying with the worker its kept-alive connection found.
    await rest.http.close()
    rest.http = ClientSession(timeout=ClientTimeout(total=60), connector=TCPConnector(force_close=True))
    settings = load_settings(data_dir=tmp_path / "data", data_key=KEY, nlu={"model_path": trained_model})
    backend = Backend.from_settings(settings, clock=FileClock(tmp_path / "clock"), db_url=db_url)
    sc = Scenario("postgres", tmp_path, env, db_url, server, rest, fake, clock, backend)
    try:
        yield sc
    finally:
        STARTS.extend(server.start_seconds)
        server.stop()
        await rest.close()
        await fake.stop()
        backend.db.engine.dispose()
