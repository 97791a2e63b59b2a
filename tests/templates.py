"""Template databases: the demo front desk's schema and roster built once per test process, copied for
each test.

Creating the schema and importing the demo roster took most of a test's set-up (about 0.8 s on SQLite,
more on PostgreSQL) and was the same every time. A test now gets a copy of a database built the same
way: SQLite through the backup API, PostgreSQL with ``CREATE DATABASE … TEMPLATE``. A template is keyed
by how it was built and by the front desk settings in the environment, so a test that changes them gets
its own. A database that already holds tables (a second app on the same database, as after a restart)
is left as it is.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

Tokens = dict[str, str]
_TEMPLATES: dict[tuple[str, ...], tuple[str, Tokens]] = {}  # key → (template URL, staff tokens)
_FOLDER: list[Path] = []  # this process's template files, removed when it ends


def folder() -> Path:
    """A new folder for a template's files, inside one removed when the test process ends."""
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="frontdesk-templates-")))
        atexit.register(shutil.rmtree, _FOLDER[0], ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=_FOLDER[0]))


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _is_new(url: str) -> bool:
    path = _sqlite_path(url)
    if path is not None:
        return not path.exists() or path.stat().st_size == 0
    engine = create_engine(_driver(url))
    try:
        with engine.connect() as c:
            return not inspect(c).get_table_names()
    finally:
        engine.dispose()


def _template_url(url: str) -> str:
    path = _sqlite_path(url)
    if path is not None:
        return f"sqlite:///{folder() / 'template.db'}"
    name = "tpl_" + uuid.uuid4().hex[:12]
    _admin(url, f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def _admin(url: str, *statements: str) -> None:
    engine = create_engine(_driver(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            for s in statements:
                c.execute(text(s))
    finally:
        engine.dispose()


def _copy(template: str, url: str) -> None:
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        src, dst = sqlite3.connect(_sqlite_path(template)), sqlite3.connect(path)  # type: ignore[arg-type]
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    name, tpl = url.rsplit("/", 1)[1], template.rsplit("/", 1)[1]
    _admin(url, f"DROP DATABASE {name}", f"CREATE DATABASE {name} TEMPLATE {tpl}")


def seeded(url: str, own: Path, kind: str, build: Callable[[str], Tokens], *settings: str) -> Tokens | None:
    """Give the new database at ``url`` a copy of the template ``build`` makes (``build(template_url)``
    creates the schema and imports the roster there, then closes its connections, and returns the staff
    tokens); those tokens. None — the caller builds as before — when ``url`` already holds a database, is
    no test database (PostgreSQL's are named t_…, tests/conftest.fresh_postgres), or when the settings
    or the environment name the test's ``own`` folder (such a template would never be used twice)."""
    sqlite = _sqlite_path(url) is not None
    if not sqlite and not url.rsplit("/", 1)[1].startswith("t_"):
        return None
    env = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(("FRONTDESK_", "DATABASE_URL")))
    key = (kind, "sqlite" if sqlite else url.rsplit("/", 1)[0], *settings, *env)
    if any(str(own) in part for part in key) or not _is_new(url):
        return None
    if key not in _TEMPLATES:
        template = _template_url(url)
        _TEMPLATES[key] = (template, build(template))
    template, tokens = _TEMPLATES[key]
    _copy(template, url)
    return dict(tokens)
