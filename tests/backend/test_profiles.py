"""The client profile (客户档案) in the backend: items added, read back, not duplicated, removed; how the
client is addressed; preferred and never-again lists; new bookings carry the items as standing notes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, Client, Housekeeper, ProfileItem

TZ = ZoneInfo("Asia/Shanghai")
CAT_WORDS = "家里有只叫豆豆的布偶猫"


def tomorrow(hour: int = 10) -> datetime:
    return datetime(2026, 11, 19, hour, 0, tzinfo=TZ)


def test_items_are_added_labelled_and_read_back(be: Backend) -> None:
    c = be.client_for("rest", "p-alice", "zh")
    added = be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": CAT_WORDS},
                                        {"kind": "product_avoid", "code": "no_disinfectant", "text": "别用消毒水"},
                                        {"kind": "habit", "code": None, "text": "孩子9点前在睡觉，请轻一点"}])
    assert [a["code"] for a in added] == ["cat", "no_disinfectant", None]
    assert added[0]["label"] == {"zh": "有猫", "en": "a cat"} and added[2]["label"] is None
    assert added[0]["text"] == CAT_WORDS and added[0]["source"] == "chat" and added[0]["created_at"]
    p = be.profile(c.id)
    assert p["client_id"] == c.id and p["lang"] == "zh" and p["address_as"] is None
    assert [(i["kind"], i["code"]) for i in p["items"]] == [("pet", "cat"), ("product_avoid", "no_disinfectant"),
                                                             ("habit", None)]
    assert p["preferred"] == [] and p["never_again"] == []


def test_a_coded_item_held_already_is_not_added_twice(be: Backend) -> None:
    c = be.client_for("rest", "p-bob", "zh")
    be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": "有猫"}])
    again = be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": "我家有只猫"},
                                        {"kind": "pet", "code": "cat", "text": "猫"},
                                        {"kind": "note", "text": "请带鞋套"}, {"kind": "note", "text": "请带鞋套 "}],
                                 source="booking")
    assert [(a["code"], a["text"], a["source"]) for a in again] == [(None, "请带鞋套", "booking")]
    with be.db.uow() as s:
        assert s.scalars(select(ProfileItem.code).where(ProfileItem.client_id == c.id)).all() == ["cat", None]


def test_a_code_takes_its_terms_kind_and_bad_items_are_refused_whole(be: Backend) -> None:
    c = be.client_for("rest", "p-carol", "en")
    [item] = be.add_profile_items(c.id, [{"kind": "note", "code": "english_speaker", "text": None}])
    assert item["kind"] == "language"
    for bad, code in [({"kind": "spaceship", "text": "x"}, "invalid_profile_kind"),
                      ({"kind": "pet", "code": "dragon", "text": "x"}, "invalid_profile_code"),
                      ({"kind": "note", "text": "字" * 201}, "profile_text_too_long"),
                      ({"kind": "note", "text": "  "}, "invalid_profile_item")]:
        with pytest.raises(DomainError) as e:
            be.add_profile_items(c.id, [{"kind": "pet", "code": "dog", "text": None}, bad])
        assert e.value.code == code
    assert [i["code"] for i in be.profile(c.id)["items"]] == ["english_speaker"]  # nothing of a refused batch
    with pytest.raises(DomainError, match="client_not_found"):
        be.add_profile_items(999999, [{"kind": "pet", "code": "cat"}])


def test_removal_is_soft_and_only_for_the_owner(be: Backend) -> None:
    a = be.client_for("rest", "p-dave", "zh")
    b = be.client_for("rest", "p-erin", "zh")
    [cat, note] = be.add_profile_items(a.id, [{"kind": "pet", "code": "cat"}, {"kind": "note", "text": "门口换鞋"}])
    with pytest.raises(DomainError, match="profile_item_not_found"):
        be.remove_profile_item(b.id, cat["id"])
    be.remove_profile_item(a.id, cat["id"])
    with pytest.raises(DomainError, match="profile_item_not_found"):
        be.remove_profile_item(a.id, cat["id"])  # twice
    assert [i["id"] for i in be.profile(a.id)["items"]] == [note["id"]]
    with be.db.uow() as s:
        row = s.get(ProfileItem, cat["id"])
        assert row is not None and row.removed_at == be.now  # kept until erasure
    [again] = be.add_profile_items(a.id, [{"kind": "pet", "code": "cat"}])  # removed: may be told again
    assert again["id"] != cat["id"]


def test_address_as_and_an_address_as_item(be: Backend) -> None:
    c = be.client_for("rest", "p-fay", "zh")
    assert be.set_address_as(c.id, " 王女士 ")["address_as"] == "王女士"
    assert be.add_profile_items(c.id, [{"kind": "address_as", "text": "王老师"}]) == []  # not a note for her
    assert be.profile(c.id)["address_as"] == "王老师" and be.profile(c.id)["items"] == []
    assert be.set_address_as(c.id, None)["address_as"] is None


def test_preferred_and_never_again_are_shown_and_removable(be: Backend) -> None:
    c = be.client_for("rest", "p-gus", "zh")
    with be.db.uow() as s:
        hk1, hk2 = s.scalars(select(Housekeeper).order_by(Housekeeper.id).limit(2)).all()
        ids, names = (hk1.id, hk2.id), (hk1.name, hk2.name)
        client = s.get(Client, c.id)
        client.preferred, client.never_again = [ids[0]], [ids[1]]
    p = be.profile(c.id)
    assert p["preferred"] == [{"id": ids[0], "name": names[0]}]
    assert p["never_again"] == [{"id": ids[1], "name": names[1]}]
    lists = be.remove_preference(c.id, "never_again", ids[1])
    assert lists == {"preferred": [{"id": ids[0], "name": names[0]}], "never_again": []}
    with pytest.raises(DomainError, match="not_in_list"):
        be.remove_preference(c.id, "never_again", ids[1])
    with pytest.raises(DomainError, match="invalid_preference_kind"):
        be.remove_preference(c.id, "favourite", ids[0])
    assert be.remove_preference(c.id, "preferred", ids[0])["preferred"] == []
    with be.db.uow() as s:
        assert s.get(Client, c.id).preferred == [] and s.get(Client, c.id).never_again == []


def test_a_new_booking_carries_the_items_unless_dropped_for_the_visit(be: Backend) -> None:
    c = be.client_for("rest", "p-hal", "zh")
    be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": CAT_WORDS}])
    be.set_address_as(c.id, "黄先生")
    kept = be.book(c.id, Request("cleaning", tomorrow(), hours=2, address="朝阳区建国路88号"))
    dropped = be.book(c.id, Request("cleaning", tomorrow(14), hours=2, standing_notes=[]))
    with be.db.uow() as s:
        notes = s.get(Booking, kept["id"]).standing_notes
        assert [(n["kind"], n["code"], n["text"]) for n in notes] == [("pet", "cat", CAT_WORDS)]
        assert s.get(Booking, dropped["id"]).standing_notes == []
