"""A real PostgreSQL server on loopback for the tests (initdb in a temp folder, trust auth)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, base: Path | None = None) -> None:
        # Its own folder: pytest's temp folders are private to root, where the postgres user cannot go.
        base = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
        os.chmod(base, 0o755)
        self.dir = base / "pgdata"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    def _run(self, *cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self._as_postgres else list(cmd)
        p = subprocess.run(full, capture_output=True, timeout=120, cwd="/")
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {p.stderr.decode(errors='replace')[-800:]}")

    def start(self) -> str:
        self.dir.mkdir(parents=True)
        if self._as_postgres:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run(_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(_bin("pg_ctl"), "-D", str(self.dir), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop")
        shutil.rmtree(self.dir.parent, ignore_errors=True)
