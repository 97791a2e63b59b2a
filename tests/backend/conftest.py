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
from tests.templates import folder, seeded


def demo_backend(db_url: str, tmp_path: Path, clock: Any = None, templated: bool = True, **settings: Any) -> Backend:
    """A Backend on the test clock with the demo roster; ``tokens`` holds the staff tokens it issued. A new
    database gets a copy of one built once with the same settings (``templated``)."""
    s = load_settings(data_dir=tmp_path, data_key=TEST_KEY, **settings)

    def template(url: str) -> dict[str, str]:  # built once, copied for each test (tests/templates.py)
        b = demo_backend(url, folder(), templated=False, **settings)
        b.db.dispose()
        return b.tokens

    # A test's own clock may start elsewhere, and the roster's dates follow it: no template then.
    own = repr(sorted(settings.items()))
    tokens = seeded(db_url, tmp_path, "backend", template, own) if templated and not clock else None
    backend = Backend.from_settings(s, clock=clock or FakeClock(datetime.fromisoformat(NOW_ISO)), db_url=db_url)
    if tokens is not None:
        backend.tokens = tokens
        return backend
    backend.db.create_all()
    rows = [staff.parse_row(i, r, backend.catalogue) for i, r in enumerate(staff.demo_rows(backend.now.date()), 1)]
    backend.tokens = backend.import_staff(rows)
    return backend


@pytest.fixture
def be(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    backend = demo_backend(db_url, tmp_path, outbox={"lease_seconds": 30})
    yield backend
    backend.db.dispose()
