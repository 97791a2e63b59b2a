"""The image replay: the Dockerfile's own commands, run as an unprivileged user, give a healthy front desk.

No Docker engine runs here, so this reads the Dockerfile and does what `docker build` and `docker run`
would: COPY into a folder standing for the image's file system, ENV, WORKDIR, every RUN (absolute paths
mapped into that folder), then the CMD with the stack's settings (PostgreSQL, Redis, production), and the
HEALTHCHECK command against it. What cannot be replayed is said here and nowhere hidden:
- the whole replay runs as an unprivileged user (nobody, when the tests run as root), so the RUN commands
  that need root (groupadd, useradd, chown) are skipped; USER then makes the install tree read-only;
- `python:3.11-slim` is a Python 3.11 the user can run, and `python -m venv` gets `--without-pip` plus the
  packages setup already installed from the same lock (tests/deploy/conftest.py), so `pip install
  --require-hashes -r runtime.lock.txt` only checks them and fetches what this Python lacks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import ROOT
from tests.conftest import TEST_KEY, fresh_postgres
from tests.deploy.conftest import Process, base_python, clean_env, copy_source, free_port, fresh_venv, http, run
from tests.deploy.dockerfile import Instruction, parse

pytestmark = pytest.mark.deploy
MAPPED = ("src", "dist", "opt", "var", "tmp")  # the absolute folders the Dockerfile uses
NEEDS_ROOT = ("groupadd", "useradd", "chown")
NOBODY = 65534
API_KEY = "replay-api-key-0123456789abcdef-0123456789"


def unprivileged() -> list[str]:
    """A command prefix that drops root (no account is created: nobody exists everywhere)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def python_for(user: list[str]) -> str:
    """A Python 3.11 the unprivileged user can run through a shell, as the image's RUN steps do."""
    candidates = ["/usr/bin/python3.11", shutil.which("python3.11"), base_python()]
    for python in filter(None, candidates):
        probe = f"'{python}' -c 'import sys; assert sys.version_info[:2] == (3, 11)'"
        if subprocess.run([*user, "sh", "-c", probe], capture_output=True, cwd="/").returncode == 0:
            return python
    pytest.fail(f"no Python 3.11 that an unprivileged user may run (tried {candidates})")


def give(path: Path) -> None:
    """Hand a folder to the replay's user, as Docker's root-run steps could write anywhere."""
    if os.geteuid() == 0:
        for p in [path, *path.rglob("*")]:
            os.lchown(p, NOBODY, NOBODY)


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A folder for the image's file system, outside pytest's private temp folder (nobody must reach it)."""
    root = Path(tempfile.mkdtemp(prefix="frontdesk-image-"))
    root.chmod(0o755)
    give(root)
    yield root
    subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
    shutil.rmtree(root, ignore_errors=True)


class Replay:
    def __init__(self, root: Path, context: Path, user: list[str], python_bin: Path, deps: Path) -> None:
        self.root, self.context, self.user, self.deps = root, context, user, deps
        self.base_path = f"{python_bin}:/usr/local/bin:/usr/bin:/bin"
        self.ran: list[str] = []
        self.skipped: list[str] = []
        self.env: dict[str, str] = {}
        self.cwd = root
        self.cmd: list[str] = []
        self.healthcheck: list[str] = []
        self.run_as: str = "root"
        self.volumes: list[Path] = []

    def map(self, text: str) -> str:
        pattern = r"(?<![\w.$/-])/(?:" + "|".join(MAPPED) + r")(?=/|\b|$)"
        return re.sub(pattern, lambda m: str(self.root) + m.group(0), text)

    def expand(self, value: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), value)

    def path(self, p: str) -> Path:
        return Path(self.map(p)) if p.startswith("/") else self.cwd / p

    def new_stage(self) -> None:
        self.env = {"PATH": self.base_path, "HOME": str(self.root / "home"), "LANG": "C.UTF-8",
                    "PIP_CACHE_DIR": str(self.root / "pip-cache")}
        self.cwd = self.root

    def sh(self, command: str) -> None:
        run(["sh", "-c", command], {**clean_env(), **self.env}, self.cwd, timeout=600, user=self.user)

    def copy(self, args: str) -> None:
        words = args.split()
        flags = [w for w in words if w.startswith("--")]
        *sources, dest = [w for w in words if not w.startswith("--")]
        from_stage = any(f.startswith("--from=") for f in flags)
        target = self.path(dest)
        for s in sources:
            src = Path(self.map(s)) if from_stage else self.context / s
            assert src.exists(), f"COPY {s}: not in the build context"
            if src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True)
            else:
                into = target / src.name if dest.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, into)
        give(target if target.is_dir() else target.parent)

    def do(self, ins: Instruction) -> None:
        if ins.op == "WORKDIR":
            target = self.path(ins.args)
            self.sh(f"mkdir -p '{target}'")
            self.cwd = target
        elif ins.op == "COPY":
            self.copy(ins.args)
        elif ins.op == "ENV":
            for key, value in ins.env_pairs():
                self.env[key] = self.expand(self.map(value))
        elif ins.op == "RUN":
            parts = [p.strip() for p in self.map(ins.args).split("&&")]
            self.skipped += [p for p in parts if p.split()[0] in NEEDS_ROOT]
            kept = [p for p in parts if p.split()[0] not in NEEDS_ROOT]
            venv = next((p.split()[-1] for p in kept if " -m venv " in p), None)
            command = " && ".join(kept).replace(" -m venv ", " -m venv --without-pip ")
            self.sh(command)
            self.ran.append(ins.args)
            if venv:
                site = next(Path(venv).glob("lib/python3*/site-packages"))
                (site / "_locked_deps.pth").write_text(f"{self.deps}\n")
        elif ins.op == "USER":
            self.run_as = ins.args
            # What root installed is not the runtime user's to change.
            subprocess.run(["chmod", "-R", "a-w", str(self.root / "opt")], check=True)
        elif ins.op == "VOLUME":
            self.volumes += [Path(self.map(v)) for v in json.loads(ins.args)]
        elif ins.op == "EXPOSE":
            pass
        elif ins.op == "HEALTHCHECK":
            self.healthcheck = ins.exec_form()
        elif ins.op == "CMD":
            self.cmd = ins.exec_form()
        else:
            pytest.fail(f"Dockerfile line {ins.line}: the replay does not know {ins.op}; teach it here")


def test_image_commands_run_as_an_unprivileged_user(image_root: Path, deps_view: Path, postgres_url: str,
                                                    redis_url: str, processes: list[Process]) -> None:
    user = unprivileged()
    # Else the replay would fail later as a puzzling "No module named pip" (see deps_view).
    readable = subprocess.run([*user, "test", "-r", str(deps_view / "pip" / "__init__.py")], capture_output=True)
    assert readable.returncode == 0, f"an unprivileged user cannot read the dependencies in {deps_view}"
    context = copy_source(image_root / "context")
    give(image_root / "context")
    python = python_for(user)
    python_bin = fresh_venv(image_root / "python", python, deps_view, user)  # stands for python:3.11-slim
    replay = Replay(image_root, context, user, python_bin, deps_view)

    stages = parse(ROOT / "Dockerfile")
    assert all(s.base == "python:3.11-slim" for s in stages)
    for stage in stages:
        replay.new_stage()
        for ins in stage.instructions:
            replay.do(ins)

    assert replay.run_as.split(":")[0] not in ("root", "0"), "the image must not run as root"
    assert {p.split()[0] for p in replay.skipped} <= set(NEEDS_ROOT)
    assert any("nlu train" in r for r in replay.ran), "the model is trained at build time"
    model = Path(replay.env["FRONTDESK_NLU__MODEL_PATH"])
    assert model.is_file() and str(model).startswith(str(image_root / "opt"))
    assert replay.env["FRONTDESK_ENVIRONMENT"] == "production"
    home = Path(replay.env["FRONTDESK_HOME"])
    assert home in replay.volumes and home.is_dir()

    port = free_port()
    env = {**clean_env(), **replay.env,
           # what docker-compose.yml sets (the port published on loopback only)
           "FRONTDESK_HOST": "127.0.0.1", "FRONTDESK_PORT": str(port),
           "DATABASE_URL": fresh_postgres(postgres_url), "REDIS_URL": redis_url, "FRONTDESK_DATA_KEY": TEST_KEY,
           "FRONTDESK_AUTH__SESSION_SECRET": "r" * 64, "FRONTDESK_AUTH__API_KEY": API_KEY}
    server = Process(replay.cmd, env, replay.cwd, image_root / "serve.log", user=user)
    processes.append(server)

    def healthcheck() -> int:
        return subprocess.run([*user, *replay.healthcheck], env=env, cwd=replay.cwd, capture_output=True,
                              timeout=30).returncode

    for _ in range(300):
        assert server.proc.poll() is None, f"the CMD exited:\n{server.output()}"
        if healthcheck() == 0:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"HEALTHCHECK never passed:\n{server.output()}")

    status, body = http("GET", f"http://127.0.0.1:{port}/health")
    assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
    status, body = http("POST", f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                        json.dumps({"sender": "replay-client", "message": "你好"}).encode(),
                        {"Content-Type": "application/json", "X-Api-Key": API_KEY})
    assert status == 200 and json.loads(body)[0]["text"], body

    server.stop()
    assert healthcheck() != 0, "the HEALTHCHECK must fail when the front desk is down"
