"""Helpers for the packaging and image tests: a copy of the source tree, a wheel, fresh venvs, subprocesses.

A fresh venv gets the project's dependencies by a .pth file pointing at a view of .venv's site-packages
(symlinks to every installed distribution except the front desk itself), so no test downloads what
scripts/setup.sh already installed from the lock, and the front desk comes only from the wheel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import ROOT

SITE = Path(sysconfig.get_paths()["purelib"])  # .venv's site-packages
OWN = {"bot", "dialogs", "backend", "config", "nlu_data", "migrations"}  # the project's top-level names
LOCAL_STATE = {".git", ".venv", "build", "dist", "data", "keys", "models", "reports", ".pytest_cache", ".ruff_cache",
               ".hypothesis", ".env"}  # at the top of the checkout


def _local_state(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT
    return {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".egg-info")) or (top and n in LOCAL_STATE)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a deployed process: none of the test run's settings leak into it."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("FRONTDESK_", "PYTHON", "VIRTUAL_ENV", "PIP_", "SANIC_"))
            and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**keep, **extra}


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 300,
        user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([*(user or []), *cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Process:
    """A server started as a subprocess in its own process group, its output in a file."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path,
                 user: list[str] | None = None) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen([*(user or []), *cmd], env=env, cwd=cwd, stdout=self._out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_http(self, url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited ({self.proc.returncode}):\n{self.output()}"
            with contextlib.suppress(OSError):
                status, _ = http("GET", url, timeout=5)
                if status == 200:
                    return
            time.sleep(0.3)
        raise AssertionError(f"{url} not ready after {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._out.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Servers registered here are stopped at the end of the test, whatever happened."""
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()


def copy_source(dest: Path) -> Path:
    """The checkout without local state (venv, data, keys, models): what a user's clone holds."""
    shutil.copytree(ROOT, dest, ignore=_local_state, symlinks=True)
    return dest


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def deps_view() -> Iterator[Path]:
    """Symlinks to .venv's installed distributions, without the front desk's editable install.

    Outside pytest's private temp folder, so an unprivileged user can read it too (the image replay). A
    symlink is only followed by a user who may enter every folder above .venv; a checkout others cannot
    enter (`mktemp -d` makes 0700 folders) gets hard links instead (copies across file systems)."""
    view = Path(tempfile.mkdtemp(prefix="frontdesk-deps-"))
    view.chmod(0o755)
    enterable = all(p.stat().st_mode & 0o001 for p in (SITE, *SITE.parents))
    for entry in SITE.iterdir():
        name = entry.name
        if (name.split(".")[0] in OWN or name.startswith(("__editable__", "frontdesk-", "_frontdesk"))
                or name.endswith(".pth") or name == "__pycache__"):
            continue
        if enterable:
            (view / name).symlink_to(entry)
        elif entry.is_dir():
            shutil.copytree(entry, view / name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, view / name)
    yield view
    shutil.rmtree(view, ignore_errors=True)


def fresh_venv(path: Path, python: str, deps: Path, user: list[str] | None = None) -> Path:
    """A new venv whose dependencies come from `deps` (see the module docstring); returns its bin/."""
    run([python, "-m", "venv", "--without-pip", str(path)], clean_env(), path.parent, user=user)
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "_locked_deps.pth").write_text(f"{deps}\n")
    return path / "bin"


def base_python() -> str:
    """The interpreter .venv was made from."""
    return getattr(sys, "_base_executable", sys.executable)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` of a clean copy of the checkout (offline: the build backend comes from .venv)."""
    base = tmp_path_factory.mktemp("wheel")
    src = copy_source(base / "src")
    out = base / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        clean_env(), base)
    (whl,) = out.glob("frontdesk-*.whl")
    return whl
