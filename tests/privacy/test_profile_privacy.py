"""The client profile and survey answers as personal data: encrypted at rest, in the export, gone on
erasure (survey scores stay, anonymous, in her rating), and left alone by retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from backend.api import Backend, Request
from backend.orm import Booking, Client, Housekeeper, Notification, ProfileItem, Survey
from backend.services import privacy, retention
from tests.backend.conftest import demo_backend
from tests.privacy.test_plaintext_scan import forms

CAT_WORDS = "我家布偶猫叫团团，千万别开阳台门"
HABIT_WORDS = "女儿对柠檬味清洁剂过敏"
ADDRESS_AS = "欧阳教授"
COMMENT = "阿姨很细心但是迟到了二十分钟"
SECRETS = {"cat": CAT_WORDS, "habit": HABIT_WORDS, "address_as": ADDRESS_AS, "comment": COMMENT}


@pytest.fixture
def be(db_url: str, tmp_path: Path) -> Iterator[Backend]:
    from bot.telegram.common import metadata as channel_tables
    from dialogs.tracker_store import metadata as dialogue_tables

    backend = demo_backend(db_url, tmp_path)
    dialogue_tables.create_all(backend.db.engine)  # export and retention read the conversation tables
    channel_tables.create_all(backend.db.engine)
    yield backend
    backend.db.dispose()


def with_profile_and_survey(be: Backend) -> tuple[int, int, int]:
    """A client with a profile, a visit accepted by a housekeeper and an answered survey with a comment."""
    c = be.client_for("rest", "priv-profile", "zh")
    be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": CAT_WORDS},
                                {"kind": "allergy", "text": HABIT_WORDS}])
    be.set_address_as(c.id, ADDRESS_AS)
    b = be.book(c.id, Request("cleaning", be.now + timedelta(days=1), hours=2, address="朝阳区建国路88号"))
    with be.db.uow() as s:
        from backend.orm import Offer

        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"]))
    be.accept_offer(offer.housekeeper_id, offer.id)  # the job card carries the client's words
    with be.db.uow() as s:
        client = s.get(Client, c.id)
        client.preferred, client.never_again = [offer.housekeeper_id], [offer.housekeeper_id + 1]
        s.add(Survey(booking_id=b["id"], client_id=c.id, housekeeper_id=offer.housekeeper_id, status="answered",
                     send_at=be.now, answered_at=be.now, attitude=5, skill=4, result=3, comment=COMMENT))
    return c.id, b["id"], offer.housekeeper_id


def test_profile_words_and_survey_comments_are_not_stored_in_plaintext(be: Backend, db_url: str,
                                                                        tmp_path: Path) -> None:
    with_profile_and_survey(be)
    engine = be.db.engine
    quote = engine.dialect.identifier_preparer.quote
    needles = {k: forms(v) for k, v in SECRETS.items()}
    hits: dict[str, list[str]] = {}
    insp = inspect(engine)  # read before connecting: on SQLite each connection takes the write lock
    columns = [(t, col["name"]) for t in insp.get_table_names() for col in insp.get_columns(t)]
    assert ("profile_items", "text") in columns and ("surveys", "comment") in columns
    with engine.connect() as c:
        for table, column in columns:
            for (value,) in c.execute(text(f"SELECT CAST({quote(column)} AS TEXT) FROM {quote(table)}")):
                for name, fs in needles.items():
                    if value is not None and any(f in value for f in fs):
                        hits.setdefault(name, []).append(f"{table}.{column}")
    assert hits == {}
    if db_url.startswith("sqlite"):
        be.db.dispose()
        blob = b"".join(p.read_bytes() for p in tmp_path.glob("frontdesk.db*"))
        assert blob and not [k for k, fs in needles.items() if any(f.encode() in blob for f in fs)]


def test_the_export_holds_the_profile_and_the_surveys(be: Backend) -> None:
    client_id, booking_id, hk_id = with_profile_and_survey(be)
    data = be.export_data(client_id)
    assert data["profile"]["address_as"] == ADDRESS_AS
    assert [p["id"] for p in data["profile"]["preferred"]] == [hk_id]
    assert [p["id"] for p in data["profile"]["never_again"]] == [hk_id + 1]
    assert [(i["code"], i["text"]) for i in data["profile_items"]] == [("cat", CAT_WORDS), (None, HABIT_WORDS)]
    [sv] = data["surveys"]
    assert (sv["booking_id"], sv["attitude"], sv["skill"], sv["result"], sv["comment"]) == (
        booking_id, 5, 4, 3, COMMENT)


def test_erasure_removes_the_profile_and_comments_but_keeps_anonymous_scores(be: Backend) -> None:
    client_id, booking_id, hk_id = with_profile_and_survey(be)
    with be.db.uow() as s:
        privacy.erase(be.ctx, s, client_id)
    with be.db.uow() as s:
        c = s.get(Client, client_id)
        assert (c.address_as, c.preferred, c.never_again) == (None, [], [])
        assert s.scalars(select(ProfileItem).where(ProfileItem.client_id == client_id)).all() == []
        sv = s.scalar(select(Survey).where(Survey.client_id == client_id))
        assert sv.comment is None and (sv.attitude, sv.skill, sv.result) == (5, 4, 3)
        assert s.get(Booking, booking_id).standing_notes == []
        job = s.scalar(select(Notification).where(Notification.template == "job_confirmed",
                                                  Notification.person_id == hk_id))
        if job is not None:  # a delivered card may be gone; a kept one no longer quotes the client
            assert CAT_WORDS not in str(job.params)
        assert s.get(Housekeeper, hk_id) is not None


def test_retention_leaves_profiles_and_surveys(be: Backend) -> None:
    client_id, _, _ = with_profile_and_survey(be)
    with be.db.uow() as s:
        retention.prune(s, be.now + timedelta(days=be.ctx.retention_days * 3), be.ctx.retention_days)
    p = be.profile(client_id)
    assert [i["text"] for i in p["items"]] == [CAT_WORDS, HABIT_WORDS] and p["address_as"] == ADDRESS_AS
    with be.db.uow() as s:
        assert s.scalar(select(Survey.comment).where(Survey.client_id == client_id)) == COMMENT


def test_proposals_are_exported_and_their_words_erased(be: Backend) -> None:
    from backend.orm import Manager, Proposal

    c = be.client_for("rest", "priv-proposal", "zh")
    case = be.open_case("custom_request", c.id, text="想给卧床的父亲请一位护工")
    with be.db.uow() as s:
        manager = s.scalar(select(Manager.id).order_by(Manager.id))
    plan = "欧阳先生父亲卧床，每天翻身四次"
    prop = be.propose(manager, case["id"], plan, 880000, service="elderly_care")
    [exported] = be.export_data(c.id)["proposals"]
    assert (exported["id"], exported["description"], exported["price_cents"]) == (prop["id"], plan, 880000)
    with be.db.uow() as s:
        privacy.erase(be.ctx, s, c.id)
    with be.db.uow() as s:
        kept = s.get(Proposal, prop["id"])
        assert kept.description == privacy.ERASED and kept.price_cents == 880000
        assert plan not in str([n.params for n in s.scalars(select(Notification))])
