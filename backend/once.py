"""A row inserted once: ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike.

For rows keyed by a unique value that a retry or a second path may write again (a timer's key, a
notification's key, a message id). One round trip instead of a SELECT before the INSERT, and a
concurrent twin waits for the first writer's commit instead of failing the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_once(db: Session | Connection, target: type | Table, unique: Sequence[str], /, **values: Any) -> bool:
    """Insert ``values`` into ``target`` (a mapped class or a table) unless a row with the same values in
    ``unique`` (the columns of a unique constraint or the primary key) exists; True when this call
    inserted it. Column types and defaults still apply (encrypted columns are encrypted); for a mapped
    class through a session, the ORM's pending rows are flushed first. Any other conflict (a primary key
    behind its sequence after a restore) still raises."""
    bind = db.get_bind() if isinstance(db, Session) else db
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    # RETURNING: psycopg reports no rowcount for ON CONFLICT DO NOTHING
    stmt = insert(target).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    return db.execute(stmt.returning(literal_column("1"))).first() is not None
