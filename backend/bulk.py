"""Many rows into one table at once, at the engine's cheapest: a booking's ranking stores hundreds.

``session.execute(insert(table), rows)`` costs, per row, SQLAlchemy's parameter processing and, on
psycopg 3, one prepared statement in pipeline mode with its values adapted in Python (~30 µs a row).
Here PostgreSQL gets one statement with one parameter, the rows as a JSON array unpacked by
``json_to_recordset``; SQLite gets the driver's own executemany (in C) with plain tuples.
Only for plain columns (numbers, text, JSON values): no SQLAlchemy type processors run (no encryption,
no dates), so a table with such columns must not be written through here. Every row names the same
columns (else ValueError); on PostgreSQL a None in a JSON column is SQL NULL, not JSON null, and a
NaN cannot be sent — the callers write numbers and dicts. Ids follow the rows' order in practice (not
guaranteed on PostgreSQL: readers order by their own column, as ``offers._offer_best`` does by rank).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@lru_cache(maxsize=64)
def _sql(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str:
    q = dialect.identifier_preparer.quote
    names = ", ".join(q(c) for c in columns)
    if dialect.name == "postgresql":
        spec = ", ".join(f"{q(c)} {table.c[c].type.compile(dialect)}" for c in columns)
        return (f"INSERT INTO {q(table.name)} ({names}) SELECT {names} "
                f"FROM json_to_recordset(CAST(:rows AS json)) AS r({spec})")
    return f"INSERT INTO {q(table.name)} ({names}) VALUES ({', '.join('?' for _ in columns)})"


def _json_columns(table: Table, columns: tuple[str, ...]) -> list[int]:
    return [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, the column names, in any order) into ``table``."""
    if not rows:
        return
    columns = tuple(rows[0])
    if any(r.keys() != rows[0].keys() for r in rows):
        raise ValueError("insert_rows: every row needs the same columns")
    session.flush()  # a Core write: the ORM's pending rows (the booking these refer to) go first
    connection = session.connection()
    sql = _sql(connection.dialect, table, columns)
    if connection.dialect.name == "postgresql":
        # ASCII escapes, as SQLAlchemy writes a JSON column: the same stored text whichever path wrote it
        connection.execute(text(sql), {"rows": json.dumps(rows)})
        return
    encoded, dumps = _json_columns(table, columns), json.dumps
    values = []
    for r in rows:
        v = [r[c] for c in columns]  # by name: a row's keys in another order still land right
        for i in encoded:  # the text SQLAlchemy itself would store for a JSON column on SQLite
            v[i] = dumps(v[i])
        values.append(tuple(v))
    connection.exec_driver_sql(sql, values)
