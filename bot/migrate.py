"""Alembic, driven from code so `frontdesk db upgrade` and the embedded default share one path.

The migrations ship in the wheel next to the code (``migrations/`` beside ``bot/``), so this works from a
checkout and from an installed package alike.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from config.settings import ROOT

MIGRATIONS = ROOT / "migrations"


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(config(engine), revision)


def heads() -> set[str]:
    """The newest revisions this code knows (one, unless branches were left unmerged)."""
    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())


def current(connection: Connection) -> set[str]:
    """The revisions the database is at (empty before the first upgrade)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def is_current(connection: Connection) -> bool:
    return current(connection) == heads()
