"""A row inserted once: ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike.

For rows keyed by a unique value that a retry or a second path may write again (a timer's key, a
notification's key, a message id). One round trip instead of a SELECT before the INSERT, and a
concurrent twin waits for the first writer's commit instead of failing the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause


def insert_once(session: Session, target: type | FromClause, **values: Any) -> bool:
    """Insert ``values`` into ``target`` (a mapped class or a table) unless a row with the same unique
    key exists; True when this call inserted it. Column types still apply (encrypted columns are
    encrypted); the ORM's pending rows are flushed first."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING: psycopg reports no rowcount for ON CONFLICT DO NOTHING
    stmt = insert(target).values(**values).on_conflict_do_nothing().returning(literal_column("1"))
    return session.execute(stmt).first() is not None
