"""`frontdesk db upgrade` builds the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from backend.db import make_engine
from backend.orm import Base
from bot.migrate import upgrade
from bot.telegram.common import metadata as telegram_metadata
from dialogs.tracker_store import metadata as tracker_metadata


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # running it again changes nothing
    tables = set(inspect(engine).get_table_names())
    expected = set(Base.metadata.tables) | set(tracker_metadata.tables) | set(telegram_metadata.tables)
    assert expected <= tables
    for name, table in Base.metadata.tables.items():
        cols = {c["name"] for c in inspect(engine).get_columns(name)}
        assert {c.name for c in table.columns} == cols, name
    engine.dispose()
