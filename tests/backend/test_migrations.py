"""`frontdesk db upgrade` builds the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from backend.db import make_engine
from backend.orm import Base
from bot.migrate import upgrade
from bot.telegram.common import metadata as telegram_metadata
from bot.wechat.cards import metadata as wecom_metadata
from bot.wechat.window import metadata as wechat_metadata
from dialogs.tracker_store import metadata as tracker_metadata


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # running it again changes nothing
    tables = set(inspect(engine).get_table_names())
    expected = (set(Base.metadata.tables) | set(tracker_metadata.tables) | set(telegram_metadata.tables)
                | set(wechat_metadata.tables) | set(wecom_metadata.tables))
    assert expected <= tables
    for name, table in Base.metadata.tables.items():
        cols = {c["name"] for c in inspect(engine).get_columns(name)}
        assert {c.name for c in table.columns} == cols, name
    engine.dispose()


def test_an_existing_database_with_rows_upgrades_and_is_encrypted(db_url: str) -> None:
    """A 0003 database with people, a booking, a conversation and an outbox row: every later migration
    runs (SQLite rebuilds tables that rows point to), and the plaintext becomes encrypted in place."""
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    from backend.crypto import Cipher
    from backend.db import Database
    from dialogs.tracker_store import TrackerStore

    db = Database(db_url, Cipher(Fernet.generate_key()))
    upgrade(db.engine, "0003")
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO clients (id, lang, never_again, created_at) "
                       "VALUES (1, 'zh', '[]', '2026-01-01 00:00:00')"))
        c.execute(text("INSERT INTO housekeepers (id, code, name, skills, languages, districts, rating, active, "
                       "lang) VALUES (1, 'HK001', '王芳', '[]', '[]', '[]', 4.5, true, 'zh')"))
        c.execute(text("INSERT INTO bookings (id, client_id, service, starts_at, ends_at, price_estimate, status, "
                       "housekeeper_id, created_at) VALUES (1, 1, 'cleaning', '2026-01-02 00:00:00', "
                       "'2026-01-02 03:00:00', 150, 'confirmed', 1, '2026-01-01 00:00:00')"))
        c.execute(text("INSERT INTO identities (person_kind, person_id, channel, external_id, unreachable) "
                       "VALUES ('housekeeper', 1, 'rest', 'staff-abc', false)"))
        c.execute(text("INSERT INTO conversations (sender_key, state, updated_at) VALUES ('rest:x', "
                       "'{\"slots\": {\"phone\": \"13800138000\"}, \"events\": []}', '2026-01-01 00:00:00')"))
        c.execute(text("INSERT INTO notifications (key, person_kind, person_id, template, params, status, attempts, "
                       "next_attempt_at, created_at) VALUES ('k', 'client', 1, 't', '{\"address\": \"中关村1号\"}', "
                       "'pending', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    upgrade(db.engine)
    with db.engine.connect() as c:
        raw = " ".join(str(v) for t in ("housekeepers", "conversations", "notifications", "identities")
                       for row in c.execute(text(f"SELECT * FROM {t}")) for v in row)
        assert c.execute(text("SELECT count(*) FROM bookings")).scalar() == 1
    assert "王芳" not in raw and "13800138000" not in raw and "中关村" not in raw
    assert "staff:HK001" in raw and "staff-abc" not in raw
    assert TrackerStore(db.engine).load("rest:x")["slots"]["phone"] == "13800138000"
    db.dispose()
