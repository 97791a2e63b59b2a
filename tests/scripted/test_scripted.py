"""The scripted-conversation suite: every conversation in tests/scripted/*.yml as one test through the
REST channel on SQLite, those marked ``postgres: true`` on PostgreSQL too. One front desk per database
for the whole module, put back to its just-seeded state before each conversation (runner.Snapshot).
Conversations marked ``pending: <reason>`` wait for work in progress: xfail, not run unless
FRONTDESK_SCRIPTED_PENDING=1 (then they run, and pass as XPASS once the behaviour is there)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_postgres
from tests.scripted.runner import build_app, load_all, load_setups, run_conversation

CONVERSATIONS = load_all()
SETUPS = load_setups()
RUN_PENDING = os.environ.get("FRONTDESK_SCRIPTED_PENDING") == "1"


def _cases() -> list[Any]:
    out = []
    for db in ("sqlite", "postgres"):
        for c in CONVERSATIONS:
            if db == "postgres" and not c.postgres:
                continue
            marks = [pytest.mark.xfail(reason=f"pending: {c.pending}", strict=False, run=RUN_PENDING)] \
                if c.pending else []
            out.append(pytest.param(db, c, id=f"{db}:{c.id}", marks=marks))
    return out


@pytest.fixture(scope="module")
def desks(tmp_path_factory: pytest.TempPathFactory, trained_model: Path, request: pytest.FixtureRequest):
    """One front desk per database kind, built on first use and kept for the module."""
    built: dict[str, Any] = {}

    def get(db: str) -> Any:
        if db not in built:
            url = None if db == "sqlite" else fresh_postgres(request.getfixturevalue("postgres_url"))
            built[db] = build_app(tmp_path_factory.mktemp(f"scripted-{db}"), db_url=url, model=trained_model)
        return built[db]

    yield get
    for app, _ in built.values():
        app.backend.db.dispose()


@pytest.mark.parametrize(("db", "conv"), _cases())
async def test_conversation(desks: Any, db: str, conv: Any) -> None:
    app, snapshot = desks(db)
    snapshot.restore()
    result = await run_conversation(app, conv, SETUPS)
    assert result.passed, "\n".join(result.failures)
