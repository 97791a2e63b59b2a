"""A psycopg cursor whose ``description`` is built only when something reads it.

psycopg builds a ``Column`` object per result column (name decoded, type looked up) every time
``cursor.description`` is read, and SQLAlchemy reads it after every statement, though once a statement's
result metadata is cached it only checks that it is not None. A chat turn's identity read alone returns
some thirty columns, so this was about 3% of a turn's CPU for objects nobody looked at. The description
here is a sequence that builds the same columns, from the result it was taken from, on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import pq
from psycopg._column import Column  # psycopg's own column type: the description reads as psycopg's

_TUPLES = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class _Result:
    """What ``Column`` reads from a cursor, pinned to one result (the cursor may have moved on)."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any], pgresult: Any) -> None:
        self.pgresult = pgresult
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class Description(Sequence[Column]):
    """``cursor.description`` of one result, its columns made on first access."""

    __slots__ = ("_columns", "_n", "_source")

    def __init__(self, cursor: psycopg.Cursor[Any], pgresult: Any) -> None:
        self._source: _Result | None = _Result(cursor, pgresult)
        self._n = pgresult.nfields
        self._columns: list[Column] = []

    def _built(self) -> list[Column]:
        if self._source is not None:
            src, self._source = self._source, None
            self._columns = [Column(src, i) for i in range(self._n)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Column: ...
    @overload
    def __getitem__(self, i: slice) -> list[Column]: ...
    def __getitem__(self, i: int | slice) -> Column | list[Column]:
        return self._built()[i]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """``psycopg.Cursor`` with a lazily built ``description`` (None exactly when psycopg's is None)."""

    @property
    def description(self) -> Description | None:  # type: ignore[override]
        res = self.pgresult
        if res and (res.nfields or res.status in _TUPLES):
            return Description(self, res)
        return None
