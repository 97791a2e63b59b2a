"""A row inserted once: ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike.

For rows keyed by a unique value that a retry or a second path may write again (a timer's key, a
notification's key, a message id). One round trip instead of a SELECT before the INSERT, and a
concurrent twin waits for the first writer's commit instead of failing the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, literal_column
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
    stmt = _statement(target, tuple(unique), tuple(values), bind.dialect.name)
    return db.execute(stmt, {_PREFIX + k: v for k, v in values.items()}).first() is not None


_PREFIX = "once_"  # the bound parameters' names: never a column's own, which SQLAlchemy keeps for itself


@lru_cache(maxsize=64)
def _statement(target: type | Table, unique: tuple[str, ...], names: tuple[str, ...], dialect: str) -> Any:
    """The statement for one set of column names, built once: building it cost as much as running it
    (these write every timer and every message of a turn)."""
    table = target if isinstance(target, Table) else target.__table__  # type: ignore[attr-defined]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {n: bindparam(_PREFIX + n, type_=table.c[n].type) for n in names}
    # RETURNING: psycopg reports no rowcount for ON CONFLICT DO NOTHING
    # "raw": run as the Core statement it is (the ORM's pending rows are still flushed first); with
    # a dict of parameters the ORM would otherwise take its bulk path and copy the statement every time
    return (insert(target).values(values).on_conflict_do_nothing(index_elements=list(unique))
            .returning(literal_column("1")).execution_options(dml_strategy="raw"))
