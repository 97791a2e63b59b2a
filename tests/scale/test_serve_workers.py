"""`frontdesk serve --workers N`: refused where it cannot work, and on PostgreSQL + Redis a supervisor
with N workers behind one port that survives a worker's kill -9 and stops cleanly on SIGTERM.

Real `frontdesk serve` subprocesses; the workers are the supervisor's direct children (/proc), and
`GET /live` names the worker that answered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import ClientSession, ClientTimeout, TCPConnector

from config.settings import ROOT
from tests.crash.conftest import Scenario
from tests.crash.harness import clean_environ, free_port, frontdesk_cmd, text, wait_until
from tests.crash.helpers import book, bookings_of, client_of, offers_of, processed

CLI_SECONDS = 120  # a cold CLI start on 2 busy cores


def refused(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**clean_environ(), "FRONTDESK_DATA_DIR": str(tmp_path / "data"),
           "FRONTDESK_KEY_FILE": str(tmp_path / "key"), **env}
    if "--port" not in args:
        args = ("--port", str(free_port()), *args)
    return subprocess.run([*frontdesk_cmd(), "serve", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=CLI_SECONDS)


@pytest.mark.parametrize(("case", "args", "env", "words"), [
    ("sqlite", ["--workers", "2"], {"REDIS_URL": "redis://127.0.0.1:1/0"},
     ["SQLite", "one writer", "DATABASE_URL=postgresql://", "REDIS_URL", "--workers 1"]),
    ("no redis", [], {"FRONTDESK_WORKERS": "2", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
     ["REDIS_URL", "conversation lock", "rate limits", "Telegram poller", "--workers 1"]),
    ("zero", ["--workers", "0"], {}, ["at least 1"]),
])
def test_workers_are_refused_before_anything_starts(tmp_path: Path, case: str, args: list[str],
                                                    env: dict[str, str], words: list[str]) -> None:
    p = refused(tmp_path, env, *args)
    assert p.returncode == 2, (case, p.returncode, p.stdout, p.stderr)
    for w in words:
        assert w in p.stderr, (case, w, p.stderr)
    assert "front desk on" not in p.stdout  # nothing served …
    assert not (tmp_path / "data" / "frontdesk.db").exists()  # … and nothing created


def test_a_port_in_use_is_reported_once_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0"}
        p = refused(tmp_path, env, "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count(f"cannot listen on 127.0.0.1:{port}") == 1, p.stderr  # once, not once per worker
    assert "Traceback" not in p.stderr and "front desk on" not in p.stdout


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped, or reaped): its sockets are closed."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


async def live_pid(base: str) -> int:
    """GET /live over a fresh connection (each one may go to any worker): the pid that answered."""
    async with (ClientSession(connector=TCPConnector(force_close=True), timeout=ClientTimeout(total=10)) as http,
                http.get(f"{base}/live") as r):
        assert r.status == 200
        body = await r.json()
    assert body["status"] == "ok"
    return int(body["worker"])


async def answering(base: str, want: set[int], timeout: float = 60.0) -> set[int]:
    """Worker pids seen over fresh connections, until all of ``want`` answered (a new worker answers
    once it has built its app) or ``timeout`` seconds have passed."""
    seen: set[int] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not want <= seen and loop.time() < deadline:
        seen.add(await live_pid(base))
        await asyncio.sleep(0.02)
    return seen


@pytest.mark.crash
async def test_workers_serve_one_port_survive_a_kill_and_stop_on_sigterm(workers_scenario: Scenario) -> None:
    sc = workers_scenario
    await sc.server.start()
    assert sc.server.proc is not None
    supervisor = sc.server.proc.pid
    workers = sc.server.worker_pids()
    assert len(workers) == 2 and supervisor not in workers, workers
    assert await answering(sc.server.base, workers) == workers  # both serve the one port
    # A burst of new clients is spread over the workers (the kernel's SO_REUSEPORT hash), not all taken by
    # the first worker to wake: of 40 connections at once each worker serves at least 8 (p < 1e-4 by chance).
    spread = Counter(await asyncio.gather(*(live_pid(sc.server.base) for _ in range(40))))
    assert set(spread) == workers and min(spread.values()) >= 8, spread

    # A whole booking conversation, its turns spread over both workers.
    booking = await book(sc, "w-1", "w1")
    assert bookings_of(sc, client_of(sc, "rest", "w-1")) == [booking]
    assert [o["status"] for o in offers_of(sc, booking)] == ["pending"]

    # A second front desk on the same port is refused, though its sockets would join the SO_REUSEPORT group.
    second = await asyncio.to_thread(refused, sc.folder / "second", sc.server.env, "--host", "127.0.0.1",
                                     "--port", str(sc.server.port), "--workers", "2")
    assert second.returncode == 1 and f"cannot listen on 127.0.0.1:{sc.server.port}" in second.stderr, second
    assert await answering(sc.server.base, workers) == workers  # the first one is untouched

    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    # Its listening socket leaves the port's group when the kernel has closed its files (by the time it
    # is a zombie); a connection handed to it in those milliseconds is reset, as the docs say.
    await wait_until(lambda: gone(victim), "the killed worker's files to be closed", timeout=30)
    for _ in range(20):  # the survivor answers at once, every time
        assert await live_pid(sc.server.base) != victim
    await wait_until(lambda: len(sc.server.worker_pids()) == 2 and victim not in sc.server.worker_pids(),
                     "the supervisor to start a replacement worker", timeout=60)
    now = sc.server.worker_pids()
    assert now - workers and (workers - {victim}) <= now, (workers, now)
    assert await answering(sc.server.base, now) == now  # the replacement serves the port too
    assert "restarting it" in sc.server.log_tail(), sc.server.log_tail()
    # Conversations go on: another client starts a booking (the roster's one free cleaner is taken).
    assert "几个小时" in text(await sc.rest.say("w-2", "我想约后天上午10点的保洁", "w2-1"))
    assert processed(sc, "rest", "w-2", "w2-1") == 1

    sc.server.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(sc.server.proc.wait, 60) == 0, sc.server.log_tail()
    assert not [pid for pid in now if Path(f"/proc/{pid}").exists()], "a worker outlived its supervisor"
    assert "SIGTERM received, stopping 2 workers" in sc.server.log_tail()


@pytest.mark.crash
async def test_keep_alive_clients_are_spread_evenly_over_the_workers(workers_scenario: Scenario) -> None:
    """The kernel's hash may leave most kept-alive clients on one worker: the workers even them out
    (bot/balance.py) by closing a few connections, whose clients come back on a new one."""
    sc = workers_scenario
    await sc.server.start()
    workers = sc.server.worker_pids()
    url = f"{sc.server.base}/live"

    async def pid_of(http: ClientSession) -> tuple[int, bool]:
        async with http.get(url) as r:
            assert r.status == 200
            return int((await r.json())["worker"]), r.headers.get("Connection", "").lower() == "close"

    # One kept-alive connection per client; keep 16 on one worker and 4 on the other.
    sessions = [ClientSession(connector=TCPConnector(limit=1), timeout=ClientTimeout(total=10)) for _ in range(60)]
    first = [p for p, _ in await asyncio.gather(*(pid_of(s) for s in sessions))]
    busy = Counter(first).most_common(1)[0][0]
    keep = ([s for s, p in zip(sessions, first, strict=True) if p == busy][:16]
            + [s for s, p in zip(sessions, first, strict=True) if p != busy][:4])
    assert len(keep) == 20, Counter(first)
    for s in sessions:
        if s not in keep:
            await s.close()
    closed = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8
    while loop.time() < deadline:  # clients at work, one request at a time each
        for _, was_closed in await asyncio.gather(*(pid_of(s) for s in keep)):
            closed += was_closed
        await asyncio.sleep(0.02)
    spread = Counter(p for p, _ in await asyncio.gather(*(pid_of(s) for s in keep)))
    assert set(spread) == workers and min(spread.values()) >= 8, spread  # from 16 and 4
    assert 0 < closed < 60, closed  # a few connections were closed, not every answer
    for s in keep:
        await s.close()
