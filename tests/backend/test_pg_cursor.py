"""The app's PostgreSQL cursors build ``description`` lazily: the same columns as psycopg's own, None
exactly when psycopg says None, and pinned to the result it was taken from."""

from __future__ import annotations

import psycopg
from sqlalchemy import text

from backend import db as dbmod
from backend.pg_cursor import Description, LazyDescriptionCursor
from tests.conftest import fresh_postgres

QUERIES = [
    "SELECT 1 AS a, 'x'::text AS b, now() AS c, NULL::numeric(10,2) AS d, ARRAY[1,2] AS e",
    "SELECT",  # tuples without a column
    "SELECT 1 WHERE false",  # no rows, still columns
]


def _same(lazy: object, plain: object) -> None:
    if plain is None:
        assert lazy is None
        return
    assert isinstance(lazy, Description)
    assert len(lazy) == len(plain)  # type: ignore[arg-type]
    assert [tuple(c) for c in lazy] == [tuple(c) for c in plain]  # type: ignore[union-attr]
    assert [c.name for c in lazy[-2:]] == [c.name for c in plain[-2:]]  # type: ignore[index]


def test_description_matches_psycopgs_own(postgres_url: str) -> None:
    url = fresh_postgres(postgres_url)
    with psycopg.connect(url) as plain_conn, psycopg.connect(url, cursor_factory=LazyDescriptionCursor) as conn:
        plain, lazy = plain_conn.cursor(), conn.cursor()
        assert isinstance(lazy, LazyDescriptionCursor)
        assert lazy.description is None and plain.description is None  # nothing executed yet
        for q in QUERIES:
            plain.execute(q)
            lazy.execute(q)
            _same(lazy.description, plain.description)
        for q in ("CREATE TEMP TABLE t (i int)", "INSERT INTO t VALUES (1)"):  # commands: no description
            plain.execute(q)
            lazy.execute(q)
            _same(lazy.description, plain.description)
        lazy.execute("INSERT INTO t VALUES (2) RETURNING i AS got")
        _same(lazy.description, plain.execute("INSERT INTO t VALUES (2) RETURNING i AS got").description)


def test_a_description_keeps_its_result_after_the_cursor_moves_on(postgres_url: str) -> None:
    with psycopg.connect(fresh_postgres(postgres_url), cursor_factory=LazyDescriptionCursor) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 AS first_one, 2 AS second_one")
        taken = cur.description
        cur.execute("SELECT 'z' AS other")
        assert [c.name for c in taken] == ["first_one", "second_one"]  # type: ignore[union-attr]
        assert [c.name for c in cur.description] == ["other"]  # type: ignore[union-attr]


def test_the_apps_engine_uses_it_and_sqlalchemy_reads_names_through_it(postgres_url: str) -> None:
    engine = dbmod.make_engine(fresh_postgres(postgres_url))
    try:
        with engine.connect() as c:
            assert isinstance(c.connection.dbapi_connection.cursor(), LazyDescriptionCursor)
            for _ in range(3):  # first run builds SQLAlchemy's result metadata from it, later ones reuse it
                row = c.execute(text("SELECT 7 AS seven, 'q' AS letter")).mappings().one()
                assert row == {"seven": 7, "letter": "q"}
            assert c.execute(text("SELECT 1 WHERE false")).all() == []
    finally:
        engine.dispose()
