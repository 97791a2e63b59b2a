"""Where files are: writable ones in the home folder, read-only resources from the package (or the home)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import migrate
from config import load_settings
from config.settings import ROOT, default_home


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("FRONTDESK_") or key in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(key)


def test_frontdesk_home_holds_every_writable_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path))
    s = load_settings()
    assert s.home == tmp_path
    assert s.data_dir == tmp_path / "data" and s.key_file == tmp_path / "keys" / "data.key"
    assert s.nlu.model_path == tmp_path / "models" / "nlu.pkl"
    assert s.db_url == f"sqlite:///{tmp_path / 'data' / 'frontdesk.db'}"
    # read-only resources still come from the package: the home folder has no copy
    assert s.nlu.data_dir == ROOT / "nlu_data" and s.services_file == ROOT / "config" / "services.yaml"


def test_a_copy_in_the_home_folder_overrides_a_shipped_resource(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    own = tmp_path / "config" / "services.yaml"
    own.write_text((ROOT / "config" / "services.yaml").read_text())
    (tmp_path / "config" / "frontdesk.yaml").write_text("timezone: Asia/Hong_Kong\n")
    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path))
    s = load_settings()
    assert s.services_file == own and s.timezone == "Asia/Hong_Kong"


def test_relative_home_and_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FRONTDESK_HOME", "site")
    monkeypatch.setenv("FRONTDESK_DATA_DIR", "var/db")
    s = load_settings()
    assert s.home == tmp_path / "site" and s.data_dir == tmp_path / "site" / "var" / "db"
    assert load_settings(data_dir=Path("/srv/data")).data_dir == Path("/srv/data")  # absolute stays


def test_a_checkout_is_its_own_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # whatever the working directory
    assert default_home() == ROOT and load_settings().data_dir == ROOT / "data"


def test_migrations_ship_beside_the_code() -> None:
    assert migrate.MIGRATIONS == ROOT / "migrations" and migrate.heads()
