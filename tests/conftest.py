from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.settings import ROOT

NLU_DATA = ROOT / "nlu_data"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from nlu_data/ once per test run, in a temp folder."""
    from dialogs.nlu.data import load
    from dialogs.nlu.model import save, train

    path = tmp_path_factory.mktemp("model") / "nlu.pkl"
    save(train(load(NLU_DATA)), path)
    return path


@pytest.fixture(scope="session")
def nlu(trained_model: Path):
    from dialogs.nlu import NLU

    return NLU.load(trained_model)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """A real PostgreSQL server on 127.0.0.1 for the whole run (scripts/test.sh installs it)."""
    from tests import pg

    if not pg.available():
        pytest.fail("PostgreSQL is not installed: run the tests through scripts/test.sh, which installs it")
    server = pg.PostgresServer()
    url = server.start()
    yield url
    server.stop()


def fresh_postgres(url: str) -> str:
    """A new, empty database on the test server, so tests do not see each other's rows."""
    import uuid

    from sqlalchemy import create_engine, text

    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session", autouse=True)
def vetting_off():
    """Rosters of the older tests carry no vetting records: the suite runs with a vetting policy that
    requires nothing and sends no digests (tests/vetting_off.yaml). The vetting tests pass
    ``vetting_file`` explicitly (settings given as arguments win over the environment)."""
    import os

    old = os.environ.get("FRONTDESK_VETTING_FILE")
    os.environ["FRONTDESK_VETTING_FILE"] = str(ROOT / "tests" / "vetting_off.yaml")
    yield
    if old is None:
        os.environ.pop("FRONTDESK_VETTING_FILE", None)
    else:
        os.environ["FRONTDESK_VETTING_FILE"] = old


TEST_KEY = Fernet.generate_key().decode()  # a fresh key per run; production reads FRONTDESK_DATA_KEY
NOW_ISO = "2026-11-18T10:30:00+08:00"  # a Wednesday


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'frontdesk.db'}"
    return fresh_postgres(request.getfixturevalue("postgres_url"))


def make_app(tmp_path: Path, db_url: str | None = None, roster: bool = True, model: Path | None = None,
             templated: bool = True):
    """The whole front desk on a test clock, with the demo roster (a new database gets a copy of one built
    once: ``templated``)."""
    from datetime import datetime

    from backend.clock import FakeClock
    from backend.services import staff
    from bot.bootstrap import build
    from config import load_settings
    from tests.templates import folder, seeded

    settings = load_settings(data_dir=tmp_path / "data", data_key=TEST_KEY)
    if model is not None:
        settings.nlu.model_path = model
    clock = FakeClock(datetime.fromisoformat(NOW_ISO))

    def template(url: str) -> dict[str, str]:  # built once, copied for each test (tests/templates.py)
        app = make_app(folder(), db_url=url, model=model, templated=False)
        app.backend.db.dispose()
        return app.tokens

    url = db_url or settings.db_url
    tokens = seeded(url, tmp_path, "app", template) if roster and templated else None
    app = build(settings, clock=clock, db_url=db_url)
    if tokens is not None:
        app.tokens = tokens
    elif roster:
        rows = [staff.parse_row(i, r, app.backend.catalogue)
                for i, r in enumerate(staff.demo_rows(clock.now().date()), 1)]
        app.tokens = app.backend.import_staff(rows)
    app.clock = clock
    return app


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on 127.0.0.1 for the whole run (scripts/test.sh installs it)."""
    import shutil
    import socket
    import subprocess
    import time

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run the tests through scripts/test.sh, which installs it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


# Hypothesis: a bounded number of examples in CI (the CI variable is set there), fewer by default.
# Select another with `pytest --hypothesis-profile=dev`.
def _hypothesis_profiles() -> None:
    import os

    from hypothesis import settings

    settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True)
    settings.register_profile("dev", max_examples=40, deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()
