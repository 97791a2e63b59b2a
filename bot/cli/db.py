"""`frontdesk db …`: the schema."""

from __future__ import annotations

import typer

from bot.cli import app, setup_logging
from config import load_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (SQLite file by default, PostgreSQL with DATABASE_URL)."""
    from backend.api import Backend
    from bot.bootstrap import migrate

    setup_logging()
    backend = Backend.from_settings(load_settings())
    migrate(backend)
    typer.echo(f"database is up to date: {backend.db.engine.url.render_as_string(hide_password=True)}")


