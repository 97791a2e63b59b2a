"""The kill -9 suite: a real `frontdesk serve` subprocess, killed at named crash points and restarted.

Per database kind, one seeded database is made once per run with `frontdesk db upgrade` and
`frontdesk demo` (on the test clock); each scenario starts from a copy of it (the SQLite file, or a
PostgreSQL database created from it as a template), so a scenario costs only its own server starts.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from config.settings import ROOT
from tests.conftest import fresh_postgres
from tests.crash.harness import (
    Clock,
    Rest,
    Server,
    clean_environ,
    free_port,
    frontdesk_cmd,
    new_fake_telegram,
    telegram_env,
    wechat_env,
)
from tests.fake_telegram import FakeTelegram
from tests.fake_wechat import FakeWeChat, FakeWeChatUser

KEY = Fernet.generate_key().decode()  # one data key per run: the seeded databases are copied
API_KEY = secrets.token_urlsafe(24)
LEASE_SECONDS = "1"


STARTS: list[float] = []  # seconds from spawn to /health of every server start, for the summary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crash: kills a real `frontdesk serve` at named crash points (tests/crash)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STARTS:
        s = sorted(STARTS)
        terminalreporter.write_line(f"crash suite: {len(s)} server starts, median {s[len(s) // 2]:.1f} s, "
                                    f"max {s[-1]:.1f} s to /health")


def base_env(folder: Path, model: Path, database_url: str | None) -> dict[str, str]:
    """What every process of a scenario shares: data, key, database, model, clock, hooks, auth."""
    env = clean_environ()
    env.update({
        "FRONTDESK_ENVIRONMENT": "development",
        "FRONTDESK_DATA_DIR": str(folder / "data"),
        "FRONTDESK_DATA_KEY": KEY,
        "FRONTDESK_KEY_FILE": str(folder / "keys" / "data.key"),
        "FRONTDESK_NLU__MODEL_PATH": str(model),
        "FRONTDESK_TEST_HOOKS__ENABLED": "true",
        "FRONTDESK_TEST_HOOKS__CLOCK_FILE": str(folder / "clock"),
        "FRONTDESK_AUTH__API_KEY": API_KEY,
        "FRONTDESK_AUTH__SESSION_SECRET": secrets.token_urlsafe(32),
        "FRONTDESK_OUTBOX__LEASE_SECONDS": LEASE_SECONDS,
        # The suite is about crashes, not floods: limits out of the way.
        "FRONTDESK_RATE_LIMITS__REST_PER_SENDER": "10000/minute",
        "FRONTDESK_RATE_LIMITS__REST_PER_ADDRESS": "10000/minute",
        "FRONTDESK_RATE_LIMITS__PLATFORM_PER_SENDER": "10000/minute",
    })
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class Seed:
    sqlite_file: Path | None = None
    postgres_db: str | None = None


def _seed(folder: Path, model: Path, database_url: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Clock(folder / "clock")
    env = base_env(folder, model, database_url)
    for args in (["db", "upgrade"], ["demo"]):
        p = subprocess.run([*frontdesk_cmd(), *args], cwd=ROOT, env=env, capture_output=True, timeout=300)
        assert p.returncode == 0, f"`frontdesk {' '.join(args)}` failed:\n{(p.stdout + p.stderr).decode()[-3000:]}"


@pytest.fixture(scope="session")
def sqlite_seed(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Seed:
    folder = tmp_path_factory.mktemp("crash-seed-sqlite")
    _seed(folder, trained_model, None)
    db = folder / "data" / "frontdesk.db"
    with sqlite3.connect(db) as c:  # fold the WAL into the file before copying it
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Seed(sqlite_file=db)


@pytest.fixture(scope="session")
def postgres_seed(tmp_path_factory: pytest.TempPathFactory, trained_model: Path, postgres_url: str) -> Seed:
    url = fresh_postgres(postgres_url)
    _seed(tmp_path_factory.mktemp("crash-seed-pg"), trained_model, url)
    return Seed(postgres_db=url.rsplit("/", 1)[1])


def copy_postgres(server_url: str, template: str) -> str:
    name = "crash_" + secrets.token_hex(6)
    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Scenario:
    kind: str
    folder: Path
    env: dict[str, str]
    db_url: str
    server: Server
    rest: Rest
    fake: FakeTelegram
    clock: Clock
    backend: Any  # backend.api.Backend on the same database and key, for rows and set-up steps

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.backend.db.engine.connect() as c:
            return list(c.execute(text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.backend.db.engine.connect() as c:
            return c.execute(text(sql), params).scalar()


@pytest.fixture(params=["sqlite", "postgres"])
async def scenario(request: pytest.FixtureRequest, tmp_path: Path, trained_model: Path) -> AsyncIterator[Scenario]:
    from backend.api import Backend
    from backend.testhooks import FileClock
    from config import load_settings

    kind = request.param
    if kind == "sqlite":
        seed: Seed = request.getfixturevalue("sqlite_seed")
        (tmp_path / "data").mkdir()
        assert seed.sqlite_file is not None
        shutil.copy(seed.sqlite_file, tmp_path / "data" / "frontdesk.db")
        database_url = None
        db_url = f"sqlite:///{tmp_path / 'data' / 'frontdesk.db'}"
    else:
        seed = request.getfixturevalue("postgres_seed")
        assert seed.postgres_db is not None
        database_url = db_url = copy_postgres(request.getfixturevalue("postgres_url"), seed.postgres_db)
    clock = Clock(tmp_path / "clock")
    fake = new_fake_telegram()
    api_base = await fake.start()
    env = base_env(tmp_path, trained_model, database_url)
    env.update(telegram_env(api_base))
    (tmp_path / "logs").mkdir()
    server = Server(env, free_port(), tmp_path / "logs")
    rest = Rest(server, API_KEY)
    settings = load_settings(data_dir=tmp_path / "data", data_key=KEY, nlu={"model_path": trained_model})
    backend = Backend.from_settings(settings, clock=FileClock(tmp_path / "clock"), db_url=db_url)
    sc = Scenario(kind, tmp_path, env, db_url, server, rest, fake, clock, backend)
    try:
        yield sc
    finally:
        STARTS.extend(server.start_seconds)
        server.stop()
        await rest.close()
        await fake.stop()
        backend.db.engine.dispose()


@dataclass
class WeChatScenario:
    """A scenario whose server also runs the WeChat OA channel, against a fake platform in this test's loop."""

    sc: Scenario
    wx: FakeWeChat

    def user(self, openid: str) -> FakeWeChatUser:
        """A client as the platform delivers them (safe mode), waiting as long as a crash can take."""
        from tests.crash.harness import WX_AES_KEY, WX_TOKEN
        from tests.fake_wechat import APP_ID

        return FakeWeChatUser(self.sc.server.base, token=WX_TOKEN, app_id=APP_ID, aes_key=WX_AES_KEY, mode="safe",
                              openid=openid, timeout=30.0)


@pytest.fixture
async def wechat_scenario(scenario: Scenario) -> AsyncIterator[WeChatScenario]:
    wx = FakeWeChat()
    scenario.env.update(wechat_env(await wx.start()))  # the Server shares this dict: every start sees it
    try:
        yield WeChatScenario(scenario, wx)
    finally:
        await wx.stop()
