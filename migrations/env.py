"""Alembic environment: the backend's tables and the dialogue tracker's, on the engine given."""

from __future__ import annotations

from alembic import context

from backend.orm import Base
from bot.telegram.common import metadata as telegram_metadata
from dialogs.tracker_store import metadata as tracker_metadata

target_metadata = [Base.metadata, tracker_metadata, telegram_metadata]
engine = context.config.attributes.get("engine")
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
