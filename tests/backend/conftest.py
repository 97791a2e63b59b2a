from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from backend.api import Backend
from backend.clock import FakeClock
from backend.services import staff
from config import load_settings
from tests.conftest import NOW_ISO, TEST_KEY


def demo_backend(db_url: str, tmp_path: Path, clock: Any = None, **settings: Any) -> Backend:
    """A Backend on the test clock with the demo roster; ``tokens`` holds the staff tokens it issued."""
    s = load_settings(data_dir=tmp_path, data_key=TEST_KEY, **settings)
    backend = Backend.from_settings(s, clock=clock or FakeClock(datetime.fromisoformat(NOW_ISO)), db_url=db_url)
    backend.db.create_all()
    rows = [staff.parse_row(i, r, backend.catalogue) for i, r in enumerate(staff.demo_rows(backend.now.date()), 1)]
    backend.tokens = backend.import_staff(rows)
    return backend


@pytest.fixture
def be(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    backend = demo_backend(db_url, tmp_path, outbox={"lease_seconds": 30})
    yield backend
    backend.db.dispose()
