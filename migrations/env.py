"""Alembic environment: the backend's tables and the dialogue tracker's, on the engine given."""

from __future__ import annotations

from alembic import context

from backend.orm import Base
from bot.telegram.common import metadata as telegram_metadata
from bot.wechat.cards import metadata as wecom_cards_metadata
from bot.wechat.window import metadata as wechat_window_metadata
from dialogs.tracker_store import metadata as tracker_metadata

target_metadata = [Base.metadata, tracker_metadata, telegram_metadata, wechat_window_metadata, wecom_cards_metadata]
engine = context.config.attributes.get("engine")
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite's batch mode rebuilds a table (copy, drop, rename); with foreign keys on, dropping a
        # table that rows point to fails. The pragma only takes effect outside a transaction, so it is
        # set on the driver connection before SQLAlchemy begins one, and checked after.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} rows with broken references")
        connection.commit()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
