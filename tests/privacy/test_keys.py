"""The data key: from the environment in production; on the embedded default a generated key file,
0600 in a 0700 folder outside the data folder it protects; an old data/data.key is moved there."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from backend.api import Backend
from config import load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def settings_in(tmp_path: Path, **kw):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=tmp_path / "data", key_file=tmp_path / "keys" / "data.key", **kw)


def start(settings) -> Backend:  # type: ignore[no-untyped-def]
    be = Backend.from_settings(settings)
    be.db.create_all()
    return be


def test_default_key_file_is_outside_the_data_folder() -> None:
    s = load_settings()
    assert not s.path(s.key_file).is_relative_to(s.path(s.data_dir))


def test_generated_key_and_database_are_private(tmp_path: Path) -> None:
    s = settings_in(tmp_path, data_key=None)
    be = start(s)
    client = be.client_for("rest", "web-1")
    be.set_client(client.id, phone="13900001111")
    key_file = tmp_path / "keys" / "data.key"
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    db_file = tmp_path / "data" / "frontdesk.db"
    assert mode(db_file) == 0o600
    for side in tmp_path.joinpath("data").glob("frontdesk.db-*"):
        assert mode(side) & 0o077 == 0, side
    assert not (tmp_path / "data" / "data.key").exists()
    Fernet(key_file.read_bytes().strip())  # a valid key
    be.db.dispose()
    again = start(s)  # the next start reads the same key: the data stays readable
    assert again.client(client.id)["phone"] == "13900001111"
    again.db.dispose()


def test_a_key_in_the_data_folder_is_moved_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = tmp_path / "data" / "data.key"
    old.parent.mkdir(parents=True)
    key = Fernet.generate_key()
    old.write_bytes(key)
    old.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="backend.crypto"):
        be = start(settings_in(tmp_path, data_key=None))
    new = tmp_path / "keys" / "data.key"
    assert not old.exists() and new.read_bytes().strip() == key and mode(new) == 0o600
    assert any("moved the data encryption key" in r.getMessage() for r in caplog.records)
    be.db.dispose()


def test_production_refuses_to_start_without_the_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="FRONTDESK_DATA_KEY"):
        Backend.from_settings(settings_in(tmp_path, data_key=None, environment="production"))
    assert not (tmp_path / "keys").exists()
    be = Backend.from_settings(settings_in(tmp_path, data_key=Fernet.generate_key().decode(),
                                           environment="production"))
    assert not (tmp_path / "keys").exists()  # the environment's key is never written to disk
    be.db.dispose()
