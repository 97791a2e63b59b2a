"""`frontdesk staff vet | vetting | vetting-due` and the roster's vetting columns through `frontdesk staff
import`, in-process (typer's CliRunner) on the test's database (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from bot.cli import app, staff  # noqa: F401  (registers `staff`)
    from tests.conftest import TEST_KEY

    for name, value in {"FRONTDESK_DATA_DIR": str(tmp_path / "data"), "FRONTDESK_DATA_KEY": TEST_KEY,
                        "FRONTDESK_KEY_FILE": str(tmp_path / "keys" / "data.key"), "DATABASE_URL": db_url,
                        "FRONTDESK_VETTING_FILE": str(Path("config/vetting.yaml").resolve())}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    seeded = runner.invoke(app, ["demo"])  # migrations and the demo roster, as a deployment seeds them
    assert seeded.exit_code == 0, seeded.output

    def invoke(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, ["staff", *args])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_vet_records_items_and_vetting_shows_the_file(run) -> None:
    out = run("vet", "HK001", "insurance", "--kind", "accident", "--number", "PA-77", "--expires", "2027-06-30")
    assert "HK001: recorded insurance accident" in out and "expires 2027-06-30" in out
    assert "recorded quality_check pass" in run("vet", "HK001", "quality-check", "--inspector", "检查员张",
                                                "--result", "pass")
    run("vet", "HK001", "training", "--hours", "8", "--kind", "eldercare")
    file = run("vetting", "HK001")
    assert "accident PA-77 until 2027-06-30" in file and "identity checked: " in file
    assert "badges: identity, background, certified, insured" in file and "problems: none" in file
    assert "quality checks this month: 1" in file
    assert "insurance and certificate need --kind and --expires" in run("vet", "HK001", "insurance", ok=False)
    assert "--result must be" in run("vet", "HK001", "background", "--result", "ok", ok=False)
    assert "--expires must be a date" in run("vet", "HK001", "insurance", "--kind", "accident",
                                             "--expires", "next year", ok=False)
    assert "no staff member with code 'HK999'" in run("vet", "HK999", "identity", ok=False)


def test_two_failed_assessments_suspend_and_reinstate_lifts_it(run) -> None:
    assert "suspended" not in run("vet", "HK004", "assessment", "--result", "fail", "--by", "刘老师")
    out = run("vet", "HK004", "assessment", "--result", "fail", "--by", "刘老师")
    assert "suspended from matching (failed_assessment)" in out
    assert "suspended_from_matching (failed_assessment)" in run("show", "HK004")
    assert "HK004 is active" in run("reinstate", "HK004", "--reason", "failed_assessment")


def test_vetting_due_lists_who_needs_quality_checks(run) -> None:
    out = run("vetting-due")
    assert "32 housekeeper(s) due" in out and "HK001" in out and "never checked" in out
    run("vet", "HK002", "quality-check", "--by", "检查员", "--result", "pass")
    run("vet", "HK002", "quality-check", "--by", "检查员", "--result", "fail")
    assert "HK002" not in run("vetting-due")
    assert "--month must look like 2026-12" in run("vetting-due", "--month", "december", ok=False)


def test_roster_vetting_columns_import_and_their_errors(run, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("code,name,skills,birth_year,experience_years,identity_checked,background,insurance,"
                    "training_hours,assessment,certificates\n"
                    "N1,新阿姨,cleaning,1985,7,2026-01-05/王经理,2026-01-06:clear,"
                    "accident:PA123:2027-06-30;liability:LB9:2027-06-30,48,2026-10-01:pass,health:2027-06-30:NO123\n",
                    encoding="utf-8")
    assert "imported 1 staff: 1 new" in run("import", str(good))
    file = run("vetting", "N1")
    assert "born 1985, 7 years' experience" in file and "health NO123 until 2027-06-30" in file
    assert "liability LB9 until 2027-06-30" in file and "training: 48 h" in file
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,skills,background,insurance\n"
                   "N2,乙,cleaning,2026-01-06:clear,accident:PA1:2027-06-30\n"
                   "N3,丙,cleaning,2026-01-06:maybe,accident:2027-06-30\n", encoding="utf-8")
    out = run("import", str(bad), ok=False)
    assert "nothing was changed" in out and "bad.csv line 3: background must look like 2026-01-06:clear" in out
    assert "no staff member with code 'N2'" in run("vetting", "N2", ok=False)
