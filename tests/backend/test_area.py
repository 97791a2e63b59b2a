"""The service area (config/service_area.yaml) and area rules in matching, on SQLite and PostgreSQL.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.domain.area import ServiceArea
from backend.domain.matching import Candidate, area_problem, rank
from backend.orm import Booking, Housekeeper, Offer
from backend.policy import load_area
from backend.services import staff

TZ = ZoneInfo("Asia/Shanghai")
AREA = load_area(Path("config/service_area.yaml"))


def tomorrow(hour: int = 10) -> datetime:
    return datetime(2026, 11, 19, hour, 0, tzinfo=TZ)


# --- the area, pure -------------------------------------------------------------------------------

def test_default_area_serves_beijing_and_shanghai() -> None:
    assert AREA.cities == ("北京市", "上海市")
    assert AREA.covers("北京市", "朝阳区") and AREA.covers("上海市", "浦东新区") and AREA.covers(None, None)
    assert not AREA.covers("广州市", "天河区") and not AREA.covers("杭州市")


def test_adjacency_is_symmetric_and_per_city() -> None:
    assert AREA.near("北京市", "朝阳区", "通州区") and AREA.near("北京市", "通州区", "朝阳区")
    assert not AREA.near("北京市", "朝阳区", "房山区") and not AREA.near("北京市", "朝阳区", "朝阳区")
    assert AREA.near("上海市", "徐汇区", "浦东新区") and not AREA.near("北京市", "徐汇区", "浦东新区")


def test_from_dict_canonicalises_and_limits_districts() -> None:
    a = ServiceArea.from_dict({"cities": {"Beijing": {"districts": ["朝阳", "Haidian District"]}, "上海": None},
                               "adjacency": {"北京": {"Chaoyang": ["海淀"]}}})
    assert a.cities == ("北京市", "上海市") and a.districts == {"北京市": frozenset({"朝阳区", "海淀区"})}
    assert a.covers("北京市", "海淀区") and not a.covers("北京市", "丰台区") and a.covers("上海市", "静安区")
    assert a.near("北京市", "海淀区", "朝阳区")
    assert ServiceArea.from_dict({"cities": ["北京"]}).only_city == "北京市"
    assert ServiceArea.from_dict({}).covers("广州市", "天河区")  # no file: no limit


@pytest.mark.parametrize(("raw", "message"), [
    ({"city": ["北京"]}, "unknown key"),
    ({"cities": ["Atlantis"]}, "unknown city 'Atlantis'"),
    ({"cities": {"北京": {"districts": ["浦东"]}}}, "is not a district of 北京市"),
    ({"cities": {"北京": {"streets": ["x"]}}}, "only 'districts'"),
    ({"cities": "北京"}, "cities must be"),
    ({"adjacency": {"上海": {"徐汇": ["朝阳"]}}}, "'朝阳' is not a district of 上海市"),
])
def test_from_dict_errors_name_the_value(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceArea.from_dict(raw)


def test_locate_uses_address_district_or_only_city() -> None:
    assert AREA.locate("朝阳区建国路88号") == ("北京市", "朝阳区")
    assert AREA.locate("88 Huaihai Road, Xuhui District, Shanghai") == ("上海市", "徐汇区")
    assert AREA.locate("建国路88号") == (None, None)
    assert AREA.locate(None, district="朝阳") == ("北京市", "朝阳区")
    assert ServiceArea.from_dict({"cities": ["上海"]}).locate("建国路88号") == ("上海市", None)


def cand(i: int, districts: set[str], city: str | None = None) -> Candidate:
    return Candidate(i, 4.5, frozenset({"zh"}), frozenset(districts), 0, city)


def test_area_problem_city_hard_district_hard_unless_adjacent() -> None:
    assert area_problem(AREA, cand(1, set(), "上海市"), "北京市", "朝阳区") == "city"
    assert area_problem(AREA, cand(1, set(), None), "北京市", "朝阳区") is None  # no city, no districts: anywhere
    assert area_problem(AREA, cand(1, {"朝阳"}, None), "北京市", "朝阳区") is None
    assert area_problem(AREA, cand(1, {"通州区"}, "北京市"), "北京市", "朝阳区") is None  # next to it
    assert area_problem(AREA, cand(1, {"房山区"}, "北京市"), "北京市", "朝阳区") == "district"
    assert area_problem(AREA, cand(1, {"浦东"}, "上海市"), "北京市", "朝阳区") == "city"
    # a roster row without a city (older rosters): her districts are a preference, not a limit
    assert area_problem(AREA, cand(1, {"房山区"}, None), "北京市", "朝阳区") is None
    one = ServiceArea.from_dict({"cities": ["上海"]})  # her city unset: the company's only city
    assert area_problem(one, cand(1, set(), None), "北京市", None) == "city"


def test_district_score_same_one_adjacent_half() -> None:
    ranked = rank([cand(1, {"朝阳区"}), cand(2, {"通州区"}), cand(3, {"海淀区"})], "zh", "朝阳区", None,
                  adjacent=AREA.next_to("北京市", "朝阳区") - {"海淀区"})
    district = {r.housekeeper_id: r.reasons["district"] for r in ranked}
    assert district == {1: 0.1, 2: 0.05, 3: 0.0}


# --- matching in storage, SQLite and PostgreSQL ---------------------------------------------------

def place_staff(be: Backend, plan: dict[int, tuple[str | None, list[str]]], rest: tuple[str | None, list[str]]) -> None:
    with be.db.uow() as s:
        for i, hk in enumerate(s.scalars(select(Housekeeper).order_by(Housekeeper.id))):
            hk.city, hk.districts = plan.get(i, rest)


def test_beijing_job_is_never_offered_to_a_shanghai_housekeeper(be: Backend) -> None:
    place_staff(be, {0: ("北京市", [])}, ("上海市", []))
    with be.db.uow() as s:
        beijing = s.scalars(select(Housekeeper).order_by(Housekeeper.id)).first().id
    c = be.client_for("rest", "alice", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=3, address="北京市朝阳区建国路88号院3号楼2单元501"))
    cands = be.candidates(b["id"])
    offered = [x for x in cands if x["state"] != "excluded"]
    assert [x["housekeeper_id"] for x in offered] == [beijing] or not offered
    assert {x["reasons"].get("excluded") for x in cands if x["state"] == "excluded"} <= {"city", "never_again"}
    assert any(x["reasons"].get("excluded") == "city" for x in cands)
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        assert (s.get(Booking, b["id"]).city, s.get(Booking, b["id"]).district) == ("北京市", "朝阳区")
    if offer is not None:
        assert offer.housekeeper_id == beijing
        be.decline_offer(offer.housekeeper_id, offer.id)
    with be.db.uow() as s:
        hks = {o.housekeeper_id for o in s.scalars(select(Offer).where(Offer.booking_id == b["id"]))}
        assert hks <= {beijing} and s.get(Booking, b["id"]).status == "unassigned"


def test_adjacent_district_allowed_with_lower_score_far_one_excluded(be: Backend) -> None:
    place_staff(be, {0: ("北京市", ["朝阳"]), 1: ("北京市", ["通州区"]), 2: ("北京市", ["Chaoyang"]),
                     3: (None, ["房山区"])}, ("北京市", ["房山区"]))
    c = be.client_for("rest", "bob", "zh")
    b = be.book(c.id, Request("cleaning", tomorrow(), hours=3, address="朝阳区建国路88号"))
    cands = be.candidates(b["id"])
    ranked = {x["housekeeper_id"]: x["reasons"]["district"] for x in cands if x["state"] != "excluded"}
    assert max(ranked.values()) == 0.1 and set(ranked.values()) <= {0.1, 0.05, 0.0}
    with be.db.uow() as s:
        ids = [h.id for h in s.scalars(select(Housekeeper).order_by(Housekeeper.id))]
        far = {h.id for h in s.scalars(select(Housekeeper)) if h.districts == ["房山区"] and h.city}
    assert all(ranked[i] == 0.05 for i in ids[1:2] if i in ranked)  # next to 朝阳区: half the district weight
    assert all(ranked[i] == 0.0 for i in ids[3:4] if i in ranked)  # no city on her row: a preference only
    excluded = {x["housekeeper_id"]: x["reasons"]["excluded"] for x in cands if x["state"] == "excluded"}
    assert excluded and set(excluded.values()) == {"district"} and set(excluded) <= far


def test_out_of_area_booking_refused_by_the_backend(be: Backend) -> None:
    c = be.client_for("rest", "carol", "zh")
    with pytest.raises(DomainError, match="outside_area"):
        be.book(c.id, Request("cleaning", tomorrow(), hours=3, address="广州市天河区体育西路1号"))
    with be.db.uow() as s:
        assert s.scalar(select(Booking).where(Booking.client_id == c.id)) is None


def test_roster_city_and_districts_are_canonical(be: Backend) -> None:
    row = staff.parse_row(1, {"code": "hk-x", "name": "测试", "skills": "cleaning", "city": "Shanghai",
                              "districts": "Pudong;徐汇;Jing'an District"}, be.catalogue)
    assert row.city == "上海市" and row.districts == ["浦东新区", "徐汇区", "静安区"]
    be.import_staff([row])
    with be.db.uow() as s:
        hk = s.scalar(select(Housekeeper).where(Housekeeper.code == "hk-x"))
        assert (hk.city, hk.districts) == ("上海市", ["浦东新区", "徐汇区", "静安区"])
    with pytest.raises(ValueError, match="city must be"):
        staff.parse_row(2, {"code": "hk-y", "name": "x", "skills": "cleaning", "city": "Narnia"}, be.catalogue)
    with pytest.raises(ValueError, match="not in 北京市"):
        staff.parse_row(3, {"code": "hk-z", "name": "x", "skills": "cleaning", "city": "北京",
                            "districts": "浦东"}, be.catalogue)
