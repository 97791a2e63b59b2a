"""Placements and butler requests as personal data (issue 12): the requirements, household facts,
address and the butler request's words are encrypted at rest, in the client's export, gone on erasure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from backend.api import Backend
from backend.orm import ButlerRequest, Placement
from backend.services import privacy
from tests.backend.conftest import demo_backend

ADDRESS = "静安区南京西路1266号恒隆广场公寓19楼"
NEEDS = "双胞胎，外婆信佛不吃荤"
LEAK = "主卧卫生间天花板漏水滴到床上"
PLAN = "今晚先关总阀，明早九点水电师傅上门"


@pytest.fixture
def be(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    from bot.telegram.common import metadata as channel_tables
    from dialogs.tracker_store import metadata as dialogue_tables

    backend = demo_backend(db_url, tmp_path)
    dialogue_tables.create_all(backend.db.engine)  # the export reads the conversation tables
    channel_tables.create_all(backend.db.engine)
    yield backend
    backend.db.dispose()


def with_placement(be: Backend) -> int:
    c = be.client_for("rest", "priv-placement", "zh")
    today = be.now.astimezone(be.ctx.tz).date()
    with be.db.uow() as s:
        pl = Placement(client_id=c.id, service="butler", status="active", start_date=today,
                       end_date=today + timedelta(days=90), term_days=91, address=ADDRESS,
                       requirements={"text": NEEDS, "twins": True}, household=[{"kind": "at_home", "text": NEEDS}])
        s.add(pl)
        s.flush()
        s.add(ButlerRequest(client_id=c.id, placement_id=pl.id, text=LEAK, plan=PLAN, status="planned",
                            onsite_due_at=be.now + timedelta(minutes=15), plan_due_at=be.now + timedelta(hours=1)))
    return c.id


def _raw(be: Backend) -> str:
    with be.db.engine.connect() as conn:
        return " ".join(str(v) for t in ("placements", "butler_requests")
                        for row in conn.execute(text(f"SELECT * FROM {t}")) for v in row)


def test_placement_and_butler_words_are_encrypted_exported_and_erased(be: Backend) -> None:
    client_id = with_placement(be)
    raw = _raw(be)
    for secret in (ADDRESS, NEEDS, LEAK, PLAN):
        assert secret not in raw  # encrypted at rest

    with be.db.uow() as s:
        data = privacy.export(be.ctx, s, client_id)
    assert data["placements"][0]["address"] == ADDRESS
    assert data["placements"][0]["requirements"]["text"] == NEEDS
    assert data["butler_requests"][0]["text"] == LEAK and data["butler_requests"][0]["plan"] == PLAN

    with be.db.uow() as s:
        privacy.erase(be.ctx, s, client_id)
    with be.db.uow() as s:
        data = privacy.export(be.ctx, s, client_id)
    exported = str(data)
    for secret in (ADDRESS, NEEDS, LEAK, PLAN):
        assert secret not in exported
    assert data["placements"][0]["service"] == "butler"  # the record stays, its personal words do not
