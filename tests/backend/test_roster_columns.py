"""Roster columns for the client profile: pets_ok and attributes (upserted like every column), and the
rating column as the prior of the running rating — a re-import never resets what surveys did."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.api import Backend, Request
from backend.domain.surveys import running_rating
from backend.orm import Booking, Housekeeper, Survey
from backend.services import ratings, staff


def write(tmp_path: Path, name: str, body: str) -> Path:
    f = tmp_path / name
    f.write_text(body, encoding="utf-8")
    return f


def hk(be: Backend, code: str) -> Housekeeper:
    with be.db.uow() as s:
        h = s.scalar(select(Housekeeper).where(Housekeeper.code == code))
        s.expunge(h)
        return h


def test_pets_ok_and_attributes_are_read_and_upserted(be: Backend, tmp_path: Path) -> None:
    assert hk(be, "HK001").pets_ok is True and hk(be, "HK001").attributes == []
    f = write(tmp_path, "pets.csv", "# format: 1\ncode,pets_ok,attributes\nHK001,no,non_smoker;first_aid\n"
                                    "HK003,YES,\nHK005,0,-\n")
    assert be.import_staff(staff.read_roster(f, be.catalogue)) == {}
    assert (hk(be, "HK001").pets_ok, hk(be, "HK001").attributes) == (False, ["non_smoker", "first_aid"])
    assert hk(be, "HK003").pets_ok is True and hk(be, "HK005").pets_ok is False
    y = write(tmp_path, "again.yaml", "format: 1\nstaff:\n- {code: HK001, phone: '13900000999'}\n"
                                      "- {code: HK005, pets_ok: true, attributes: [non_smoker]}\n")
    be.import_staff(staff.read_roster(y, be.catalogue))
    assert (hk(be, "HK001").pets_ok, hk(be, "HK001").attributes) == (False, ["non_smoker", "first_aid"])  # kept
    assert (hk(be, "HK005").pets_ok, hk(be, "HK005").attributes) == (True, ["non_smoker"])
    z = write(tmp_path, "clear.csv", "code,attributes\nHK001,-\n")
    be.import_staff(staff.read_roster(z, be.catalogue))
    assert hk(be, "HK001").attributes == []
    new = write(tmp_path, "new.csv", "code,name,skills\nHK901,新阿姨,cleaning\n")
    be.import_staff(staff.read_roster(new, be.catalogue))
    assert hk(be, "HK901").pets_ok is True and hk(be, "HK901").attributes == []  # the defaults


@pytest.mark.parametrize("body, problem", [
    ("code,pets_ok\nHK001,maybe\n", "pets_ok must be yes or no"),
    ("code,attributes\nHK001,non smoker\n", "attributes must be single words"),
    ("code,pet_ok\nHK001,yes\n", "unknown column"),
])
def test_bad_values_name_the_line_and_change_nothing(be: Backend, tmp_path: Path, body: str, problem: str) -> None:
    f = write(tmp_path, "bad.csv", body)
    with pytest.raises(staff.RosterError, match=problem) as e:
        staff.read_roster(f, be.catalogue)
    assert "bad.csv line" in str(e.value)
    assert hk(be, "HK001").pets_ok is True


def test_the_demo_roster_has_some_who_do_not_work_with_pets(be: Backend) -> None:
    with be.db.uow() as s:
        no_pets = s.scalars(select(Housekeeper.code).where(Housekeeper.pets_ok.is_(False))).all()
    assert 3 <= len(no_pets) <= 8


def answered_survey(be: Backend, code: str, scores: tuple[int, int, int]) -> None:
    """An answered survey of a visit by her (what S1's survey flow stores), and her running rating."""
    c = be.client_for("rest", f"roster-{code}-{sum(scores)}", "zh")
    start = be.now + timedelta(days=1)
    with be.db.uow() as s:
        h = s.scalar(select(Housekeeper).where(Housekeeper.code == code))
        b = Booking(client_id=c.id, service="cleaning", starts_at=start, ends_at=start + timedelta(hours=2),
                    status="completed", housekeeper_id=h.id, finished_at=start + timedelta(hours=2))
        s.add(b)
        s.flush()
        s.add(Survey(booking_id=b.id, client_id=c.id, housekeeper_id=h.id, status="answered", send_at=be.now,
                     answered_at=be.now, attitude=scores[0], skill=scores[1], result=scores[2]))
        s.flush()
        ratings.recompute(be.ctx, s, h.id)


def test_a_reimport_sets_the_prior_and_keeps_the_surveys_effect(be: Backend, tmp_path: Path) -> None:
    weight = be.ctx.surveys.rating_prior_weight
    prior = hk(be, "HK001").roster_rating
    answered_survey(be, "HK001", (2, 2, 3))
    answered_survey(be, "HK001", (3, 3, 3))
    means = [7 / 3, 3.0]
    moved = hk(be, "HK001")
    assert moved.survey_count == 2 and moved.rating == pytest.approx(running_rating(prior, weight, means), abs=1e-3)

    same = write(tmp_path, "same.csv", f"code,rating,phone\nHK001,{prior},13900000123\n")
    be.import_staff(staff.read_roster(same, be.catalogue))
    after = hk(be, "HK001")
    assert (after.rating, after.survey_count) == (moved.rating, 2)  # not reset to the roster's figure

    higher = write(tmp_path, "higher.csv", "code,rating\nHK001,5\n")
    be.import_staff(staff.read_roster(higher, be.catalogue))
    after = hk(be, "HK001")
    assert after.roster_rating == 5.0 and after.survey_count == 2
    assert after.rating == pytest.approx(running_rating(5.0, weight, means), abs=1e-3) and after.rating < 5.0

    untouched = write(tmp_path, "phone.csv", "code,phone\nHK001,13900000124\n")
    be.import_staff(staff.read_roster(untouched, be.catalogue))
    assert hk(be, "HK001").rating == after.rating


def test_a_housekeeper_without_pets_is_skipped_for_a_cat_after_the_import(be: Backend, tmp_path: Path) -> None:
    c = be.client_for("rest", "roster-cat", "zh")
    be.add_profile_items(c.id, [{"kind": "pet", "code": "cat", "text": "有猫"}])
    at = datetime.fromisoformat("2026-11-19T10:00:00+08:00")
    codes = {h.id: h.code for h in (hk(be, f"HK{n:03d}") for n in range(1, 11))}
    f = write(tmp_path, "all-no.csv", "code,pets_ok\n" + "".join(f"{code},no\n" for code in codes.values()))
    be.import_staff(staff.read_roster(f, be.catalogue))
    b = be.book(c.id, Request("cleaning", at, hours=2))
    kept = {x["housekeeper_id"] for x in be.candidates(b["id"]) if x["state"] != "excluded"}
    assert not kept & set(codes)  # only the deep-cleaning and housekeeper-skilled ones who take pets remain


def test_the_wecom_userid_column_binds_her_wecom_account_and_is_upserted(be: Backend, tmp_path: Path) -> None:
    f = write(tmp_path, "wecom.csv", "# format: 1\ncode,wecom_userid\nHK001,hk_wang\nHK003,li.na@corp\n")
    be.import_staff(staff.read_roster(f, be.catalogue))
    assert (be.identify("wecom", "hk_wang").kind, be.identify("wecom", "li.na@corp").kind) == ("housekeeper",) * 2
    hk1 = be.identify("wecom", "hk_wang").id
    again = write(tmp_path, "again.csv", "# format: 1\ncode,wecom_userid\nHK001,wang.fang\nHK003,-\n")
    be.import_staff(staff.read_roster(again, be.catalogue))
    assert be.identify("wecom", "hk_wang") is None and be.identify("wecom", "wang.fang").id == hk1
    assert be.identify("wecom", "li.na@corp") is None  # "-" clears it
    bad = write(tmp_path, "bad.csv", "# format: 1\ncode,wecom_userid\nHK001,王 芳\n")
    with pytest.raises(staff.RosterError, match="wecom_userid"):
        staff.read_roster(bad, be.catalogue)


def test_a_wecom_userid_already_someone_elses_is_refused_and_nothing_changes(be: Backend, tmp_path: Path) -> None:
    be.import_staff(staff.read_roster(write(tmp_path, "a.csv", "# format: 1\ncode,wecom_userid\nHK001,hk_wang\n"),
                                      be.catalogue))
    copied = write(tmp_path, "b.csv", "# format: 1\ncode,wecom_userid,phone\nHK002,hk_wang,13900000888\n")
    with pytest.raises(staff.RosterError, match="already bound"):
        be.import_staff(staff.read_roster(copied, be.catalogue))
    assert be.identify("wecom", "hk_wang").id == hk(be, "HK001").id
    assert hk(be, "HK002").phone != "13900000888"  # the whole import rolled back


@pytest.mark.parametrize("body, problem", [
    ("staff:\n  - " + "[" * 60_000 + "]" * 60_000 + "\n", "nested too deeply"),
    ("staff:\n  - code: HK001\n    pets_ok: [yes\n", "line 4: not valid YAML"),
])
def test_a_hostile_or_broken_yaml_roster_is_refused_with_a_reason(be: Backend, tmp_path: Path, body: str,
                                                                  problem: str) -> None:
    """A roster comes from outside: 60,000 levels of nesting are refused (libyaml would crash the process on
    them), a broken file names its line."""
    with pytest.raises(staff.RosterError, match=problem):
        staff.read_roster(write(tmp_path, "hostile.yaml", body), be.catalogue)
    assert hk(be, "HK001").pets_ok is True
