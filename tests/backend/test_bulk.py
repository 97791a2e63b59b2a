"""Many rows in one statement (backend/bulk.py, a booking's ranked candidates): the rows read back through
the ORM are what was written, on both engines, whatever the order of a row's keys; the stored JSON text is
what SQLAlchemy itself writes; rows that disagree on their columns are refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from backend.api import Backend
from backend.bulk import insert_rows
from backend.orm import MatchCandidate
from config import load_settings
from tests.conftest import TEST_KEY

TABLE = MatchCandidate.__table__


def rows(booking_id: int) -> list[dict]:
    out = [{"booking_id": booking_id, "housekeeper_id": i, "rank": i, "score": round(1 / (i + 2), 4),
            "reasons": {"rating": 0.1 + 0.2, "district": -0.0, "note": "区域外 \"quoted\" \\ 😀", "ok": True,
                        "none": None}, "state": "ranked"} for i in range(1, 40)]
    out[5] = dict(reversed(list(out[5].items())))  # the same columns in another order
    return out


def test_rows_read_back_as_written(db_url: str, tmp_path: Path) -> None:
    be = Backend.from_settings(load_settings(data_dir=tmp_path, data_key=TEST_KEY), db_url=db_url)
    be.db.create_all()
    try:
        with be.db.uow() as s:
            insert_rows(s, TABLE, rows(7))
            s.execute(insert(TABLE), rows(8))  # the ORM's own path, for the stored text
        with be.db.read() as s:
            got = {c.housekeeper_id: c for c in s.scalars(select(MatchCandidate).where(MatchCandidate.booking_id == 7))}
            assert len(got) == 39
            for r in rows(7):
                c = got[r["housekeeper_id"]]
                assert (c.rank, c.score, c.reasons, c.state) == (r["rank"], r["score"], r["reasons"], r["state"])
            assert [c.housekeeper_id for c in sorted(got.values(), key=lambda c: c.id)] == list(range(1, 40))
            stored = dict(s.execute(text("SELECT booking_id, CAST(reasons AS TEXT) FROM match_candidates "
                                         "WHERE housekeeper_id = 3")).all())
            assert stored[7] == stored[8] and json.loads(stored[7])["note"] == "区域外 \"quoted\" \\ 😀"
    finally:
        be.db.dispose()


def test_rows_that_disagree_on_their_columns_are_refused(db_url: str, tmp_path: Path) -> None:
    be = Backend.from_settings(load_settings(data_dir=tmp_path, data_key=TEST_KEY), db_url=db_url)
    be.db.create_all()
    try:
        bad = rows(7)
        del bad[3]["state"]
        with pytest.raises(ValueError, match="same columns"), be.db.uow() as s:
            insert_rows(s, TABLE, bad)
        with be.db.uow() as s:
            insert_rows(s, TABLE, [])  # nothing to write is nothing written
            assert s.scalar(select(MatchCandidate.id).limit(1)) is None
    finally:
        be.db.dispose()
