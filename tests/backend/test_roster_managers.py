"""Managers in the roster: the supervisor role (breaches go to her) and duty windows from days/hours."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend.api import Backend
from backend.orm import Manager
from backend.services import staff


def manager(be: Backend, code: str) -> Manager:
    with be.db.uow() as s:
        m = s.scalar(select(Manager).where(Manager.code == code))
        s.expunge(m)
        return m


def test_a_csv_roster_adds_a_supervisor_and_duty_windows(be: Backend, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("# format: 1\ncode,role,name,days,hours\n"
                    "SUP01,supervisor,钱主管,mon;tue;wed;thu;fri,09:00-18:00\n"
                    "MGR01,,,sat;sun,\n"
                    "MGR03,manager,孙经理,,20:00-23:30\n", encoding="utf-8")
    tokens = be.import_staff(staff.read_roster(path, be.catalogue))
    assert set(tokens) == {"SUP01", "MGR03"}
    sup, m1, m3, m2 = (manager(be, c) for c in ("SUP01", "MGR01", "MGR03", "MGR02"))
    assert (sup.role, sup.duty_days, sup.duty_start_minute, sup.duty_end_minute) == ("supervisor", [0, 1, 2, 3, 4],
                                                                                     540, 1080)
    assert (m1.role, m1.duty_days, m1.duty_start_minute, m1.duty_end_minute) == ("manager", [5, 6], 0, 1440)
    assert (m3.role, m3.duty_days, m3.duty_start_minute, m3.duty_end_minute) == ("manager", list(range(7)), 1200,
                                                                                 1410)
    assert (m2.duty_days, m2.duty_start_minute, m2.duty_end_minute) == (list(range(7)), 0, 1440)  # no window: always


def test_a_yaml_roster_can_promote_a_manager_but_not_make_her_a_housekeeper(be: Backend, tmp_path: Path) -> None:
    path = tmp_path / "roster.yml"
    path.write_text("format: 1\nstaff:\n  - {code: MGR02, role: supervisor}\n", encoding="utf-8")
    be.import_staff(staff.read_roster(path, be.catalogue))
    assert manager(be, "MGR02").role == "supervisor" and manager(be, "MGR02").name == "Alex Chen"
    path.write_text("format: 1\nstaff:\n  - {code: MGR02, role: housekeeper}\n", encoding="utf-8")
    with pytest.raises(staff.RosterError, match="cannot change someone's role"):
        be.import_staff(staff.read_roster(path, be.catalogue))
    assert manager(be, "MGR02").role == "supervisor"


@pytest.mark.parametrize(("raw", "problem"), [
    ({"code": "X1", "role": "boss", "name": "x"}, "role must be housekeeper, manager or supervisor"),
    ({"code": "X1", "role": "supervisor", "name": "x", "days": "someday"}, "days must be mon..sun"),
    ({"code": "X1", "role": "manager", "name": "x", "hours": "18:00-09:00"}, "hours must end after they start"),
])
def test_bad_manager_rows_are_named(be: Backend, raw: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        staff.parse_row(1, raw, be.catalogue)
