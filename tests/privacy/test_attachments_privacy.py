"""Files and case words under the privacy rules: an export lists them, erasure deletes the files and
scrubs the timeline, the case details, refund reasons and what managers were sent; retention drops
the files of cases closed for longer than the retention period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.api import Backend
from backend.orm import Attachment, CaseEvent, Escalation, Notification, Refund
from backend.services import outbox, retention
from bot.telegram.common import metadata as callback_metadata
from dialogs.tracker_store import TrackerStore
from tests.backend.conftest import demo_backend
from tests.backend.test_attachments import JPEG, PDF, png

WORDS = "阿姨把我家的青花瓷花瓶打碎了"
REASON = "花瓶照价赔偿，客户提供了购买凭证"


@pytest.fixture
def be(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    backend = demo_backend(db_url, tmp_path, privacy={"erase_mode": "auto", "retention_days": 30})
    TrackerStore(backend.db.engine).create_tables()  # erasure, export and retention read these too
    callback_metadata.create_all(backend.db.engine)
    yield backend
    backend.db.dispose()


def open_case(be: Backend, client_id: int, status: str = "open", closed_days_ago: int | None = None) -> int:
    """A case row as the case machinery writes it (its own tests cover opening one)."""
    now = be.now
    with be.db.uow() as s:
        e = Escalation(kind="complaint", client_id=client_id, status=status, detail={"text": WORDS},
                       created_at=now - timedelta(days=60), category="damage", severity="normal")
        if closed_days_ago is not None:
            e.closed_at, e.outcome = now - timedelta(days=closed_days_ago), "resolved"
        s.add(e)
        s.flush()
        s.add(CaseEvent(case_id=e.id, at=now, actor=f"client:{client_id}", kind="opened", detail={"text": WORDS}))
        return e.id


def test_export_lists_files_cases_and_refunds(be: Backend) -> None:
    cid = be.client_for("telegram", "c1").id
    case_id = open_case(be, cid)
    photo = be.store_attachment(cid, "image/png", png(), "花瓶.png")
    receipt = be.store_attachment(cid, "application/pdf", PDF, "receipt.pdf")
    be.link_attachments(cid, case_id, [photo])
    with be.db.uow() as s:
        s.add(Refund(case_id=case_id, client_id=cid, amount_cents=12000, reason=REASON, requested_by="manager:1",
                     approve_due_at=be.now, due_at=be.now, requested_at=be.now))
    out = be.export_data(cid)
    files = {f["id"]: f for f in out["attachments"]}
    assert set(files) == {photo, receipt}
    assert files[photo]["case_id"] == case_id and files[photo]["filename"] == "花瓶.png"
    assert files[receipt]["content_type"] == "application/pdf" and files[receipt]["case_id"] is None
    assert all("data" not in f for f in files.values())
    assert [(c["id"], c["text"], c["category"]) for c in out["cases"]] == [(case_id, WORDS, "damage")]
    assert [(r["amount_cents"], r["reason"]) for r in out["refunds"]] == [(12000, REASON)]


def test_erasure_deletes_files_and_scrubs_case_words(be: Backend) -> None:
    cid = be.client_for("telegram", "c1").id
    other = be.client_for("telegram", "c2").id
    case_id = open_case(be, cid)
    kept_case = open_case(be, other)
    mine = be.store_attachment(cid, "image/png", png(), "花瓶.png")
    theirs = be.store_attachment(other, "image/jpeg", JPEG, "theirs.jpg")
    be.link_attachments(cid, case_id, [mine])
    with be.db.uow() as s:
        s.add(Refund(case_id=case_id, client_id=cid, amount_cents=12000, reason=REASON, requested_by="manager:1",
                     approve_due_at=be.now, due_at=be.now, requested_at=be.now, status="rejected",
                     rejected_reason=REASON))
        # a manager's card about the case (no client_id at the top: the case id names the client)
        outbox.notify(s, be.now, "manager", 1, "case_alert", "card:1", subject=f"case:{case_id}", case_id=case_id,
                      reason="new", card={"client_name": "欧阳娜娜", "text": WORDS, "files": [{"id": mine}]})
        outbox.notify(s, be.now, "manager", 1, "case_alert", "card:2", subject=f"case:{kept_case}",
                      case_id=kept_case, reason="new", card={"text": WORDS})
    be.request_erasure(cid)
    with be.db.read() as s:
        assert [a.id for a in s.scalars(select(Attachment))] == [theirs]
        mine_case, their_case = s.get(Escalation, case_id), s.get(Escalation, kept_case)
        assert mine_case.detail == {} and mine_case.status == "open" and mine_case.category == "damage"
        assert their_case.detail == {"text": WORDS}  # another client's case is untouched
        events = {e.case_id: e.detail for e in s.scalars(select(CaseEvent))}
        assert events == {case_id: {}, kept_case: {"text": WORDS}}
        r = s.scalar(select(Refund))
        assert (r.reason, r.rejected_reason, r.amount_cents, r.status) == (None, None, 12000, "rejected")
        cards = {n.key: n.params for n in s.scalars(select(Notification).where(Notification.template == "case_alert"))}
        assert cards["card:1"]["card"] == {} and cards["card:1"]["case_id"] == case_id
        assert cards["card:2"]["card"] == {"text": WORDS}
    assert be.export_data(cid)["attachments"] == []


def test_retention_drops_files_of_cases_closed_long_ago(be: Backend) -> None:
    cid = be.client_for("telegram", "c1").id
    old = open_case(be, cid, status="closed", closed_days_ago=31)
    recent = open_case(be, cid, status="closed", closed_days_ago=5)
    still_open = open_case(be, cid)
    ids = {}
    for name, case in (("old", old), ("recent", recent), ("open", still_open)):
        ids[name] = be.store_attachment(cid, "image/jpeg", JPEG, f"{name}.jpg")
        be.link_attachments(cid, case, [ids[name]])
    ids["fresh_orphan"] = be.store_attachment(cid, "image/jpeg", JPEG)  # sent a moment ago, no case yet
    with be.db.uow() as s:
        s.add(Attachment(client_id=cid, content_type="image/jpeg", size=len(JPEG), sha256="0" * 64, data=JPEG,
                         created_at=be.now - timedelta(days=31)))  # sent long ago, never part of a case
    with be.db.uow() as s:
        counts = retention.prune(s, be.now, be.ctx.retention_days)
    assert counts["attachments"] == 2
    with be.db.read() as s:
        left = set(s.scalars(select(Attachment.id)))
    assert left == {ids["recent"], ids["open"], ids["fresh_orphan"]}
    assert be.attachment(ids["recent"])[1] == JPEG  # what stays is still readable
