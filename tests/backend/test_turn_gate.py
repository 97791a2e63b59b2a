"""How many chat turns one process runs at once (`concurrent_turns`, backend/db.py Database.gate): the
setting on PostgreSQL, one on SQLite (one writer); the others wait their turn, none is dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.api import Backend
from config import load_settings
from tests.conftest import TEST_KEY


@pytest.mark.parametrize("turns", [1, 3])
async def test_turns_at_once_follow_the_setting(db_url: str, tmp_path: Path, turns: int) -> None:
    be = Backend.from_settings(load_settings(data_dir=tmp_path, data_key=TEST_KEY, concurrent_turns=turns),
                               db_url=db_url)
    running, most, done = 0, 0, []

    async def turn(i: int) -> None:
        nonlocal running, most
        async with be.db.slot():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.02)  # a turn's work; the others queue meanwhile
            running -= 1
        done.append(i)

    await asyncio.gather(*(turn(i) for i in range(8)))
    assert sorted(done) == list(range(8))
    assert most == (1 if be.db.is_sqlite else turns)
    be.db.dispose()


def test_the_setting_is_bounded() -> None:
    for bad in (0, 11):
        with pytest.raises(ValueError, match="concurrent_turns"):
            load_settings(concurrent_turns=bad)
