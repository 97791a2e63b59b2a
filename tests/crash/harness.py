"""Driving a real `frontdesk serve` subprocess that the tests kill -9 and restart.

Everything the server and the test share goes through the environment (settings), the database and
the clock file; the test reads rows with its own SQLAlchemy engine and the same data key. Every wait is
a bounded loop (a deadline and a fixed sleep), and every wait is async so that the fake Telegram
server, which runs in the test's event loop, keeps answering the server's bots meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

from config.settings import ROOT
from tests.fake_telegram import FakeTelegram

START_ISO = "2026-11-18T10:30:00+08:00"  # a Wednesday, as in the other suites
CLIENT_TOKEN = "111111:CRASH-CLIENT-TOKEN"
STAFF_TOKEN = "222222:CRASH-STAFF-TOKEN"
STAFF_BOT = "crash_staff_bot"
READY_SECONDS = 90.0  # a cold start on 2 busy cores loads the NLU model and both bots
POLL = 0.1


def frontdesk_cmd() -> list[str]:
    """The installed `frontdesk` entry point of this interpreter's environment (bot.cli:main)."""
    script = Path(sys.executable).parent / "frontdesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_sockets() -> list[tuple[int, str, str]]:
    """(local port, state — "01" is established, inode) of every TCP socket of the host, from /proc."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()  # sl local remote state ... inode (the 10th column)
                out.append((int(cols[1].rsplit(":", 1)[1], 16), cols[3], cols[9]))
    return out


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets a process holds open (empty when it is gone)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


SETTINGS_ENV = ("FRONTDESK_", "DATABASE_URL", "REDIS_URL")  # the environment variables that are settings


def clean_environ() -> dict[str, str]:
    """The parent's environment without any front desk setting, so only what a test sets counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_ENV)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Clock:
    """The time the server reads (test_hooks.clock_file); written atomically so no read sees half a file."""

    def __init__(self, path: Path, start: str = START_ISO) -> None:
        self.path = path
        self.set(datetime.fromisoformat(start))

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())

    def set(self, t: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(t.isoformat(), encoding="utf-8")
        os.replace(tmp, self.path)

    def advance(self, **delta: float) -> datetime:
        t = self.now() + timedelta(**delta)
        self.set(t)
        return t


async def run_cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run a `frontdesk` command with the scenario's environment; its output, or the test fails."""
    proc = await asyncio.create_subprocess_exec(*frontdesk_cmd(), *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"`frontdesk {' '.join(args)}` did not finish in {timeout:.0f} s") from None
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"`frontdesk {' '.join(args)}` exited {proc.returncode}:\n{text[-3000:]}"
    return text


async def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0,
                     interval: float = POLL) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail naming `what` on time-out."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if isinstance(last, Awaitable):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}")


@dataclass
class Server:
    """One `frontdesk serve` process at a time on a fixed port, restartable after a kill."""

    env: dict[str, str]
    port: int
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_files: list[Path] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)  # how long each start took to be ready
    workers: int = 1  # above 1: `serve --workers N`, a supervisor and its worker processes (tests/scale)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, crash_at: str | None = None, extra: dict[str, str] | None = None) -> None:
        assert self.proc is None or self.proc.poll() is not None, "a server is still running"
        env = {**self.env, **(extra or {})}
        env.pop("FRONTDESK_TEST_HOOKS__CRASH_AT", None)
        if crash_at:
            env["FRONTDESK_TEST_HOOKS__CRASH_AT"] = crash_at
        self.starts += 1
        log = self.logs / f"serve-{self.starts}{'-' + crash_at if crash_at else ''}.log"
        self.log_files.append(log)
        with log.open("wb") as out:
            many = ["--workers", str(self.workers)] if self.workers > 1 else []
            self.proc = subprocess.Popen([*frontdesk_cmd(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                          *many], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        began = time.monotonic()
        await self.wait_ready()
        if self.workers > 1:
            await self.wait_workers()
        self.start_seconds.append(round(time.monotonic() - began, 2))

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        last = "no answer"
        async with ClientSession(timeout=ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    raise AssertionError(f"frontdesk serve exited ({self.returncode}) before it was ready:\n"
                                         f"{self.log_tail()}")
                try:
                    async with http.get(f"{self.base}/health") as r:
                        if r.status == 200:
                            return
                        last = f"{r.status} {(await r.text())[:300]}"
                except (ClientError, TimeoutError) as e:
                    last = repr(e)
                await asyncio.sleep(POLL)
        raise AssertionError(f"frontdesk serve not ready in {READY_SECONDS:.0f} s (last /health: {last}):\n"
                             f"{self.log_tail()}")

    async def wait_workers(self) -> set[int]:
        """Every worker answers on the port: GET /live over new connections until each pid has said so
        (the kernel hands each connection to one of the workers' listening sockets on the port)."""
        seen: set[int] = set()
        connector = TCPConnector(force_close=True)
        async with ClientSession(timeout=ClientTimeout(total=2), connector=connector) as http:
            async def answered() -> bool:
                try:
                    async with http.get(f"{self.base}/live") as r:
                        seen.add(int((await r.json())["worker"]))
                except (ClientError, TimeoutError, ValueError, KeyError):
                    pass
                return len(self.worker_pids()) == self.workers and self.worker_pids() <= seen

            await wait_until(answered, f"all {self.workers} workers to answer /live", READY_SECONDS, interval=0.02)
        return seen

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9, as an OOM killer or a power cut would: nothing is flushed or closed."""
        if self.alive:
            assert self.proc is not None
            if self.workers > 1:
                # Stopped first, so it forks no replacement while its workers die, each by kill -9 too.
                os.kill(self.proc.pid, signal.SIGSTOP)
                for pid in self.worker_pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def worker_pids(self) -> set[int]:
        """The supervisor's direct children (its workers), read from /proc; empty when it is down."""
        if not self.alive:
            return set()
        assert self.proc is not None
        pids: set[int] = set()
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            try:
                pids |= {int(p) for p in children.read_text().split()}
            except OSError:  # a thread that has just ended
                continue
        return pids

    def connections(self, pid: int) -> int:
        """How many established client connections on the server's port the process holds, so a test can
        kill a worker that serves someone."""
        mine = socket_inodes(pid)
        return sum(1 for port, state, inode in tcp_sockets() if port == self.port and state == "01" and inode in mine)

    def kill_worker(self, pid: int) -> None:
        """kill -9 one worker; the supervisor is expected to start another."""
        assert pid in self.worker_pids(), f"{pid} is not a worker of the server"
        os.kill(pid, signal.SIGKILL)

    async def replaced(self, gone: set[int], timeout: float = 45.0) -> set[int]:
        """Wait until none of ``gone`` is a worker any more and all ``workers`` run again; their pids."""
        async def back() -> set[int]:
            now = self.worker_pids()
            return now if not now & gone and len(now) == self.workers else set()

        assert self.alive, f"the supervisor died:\n{self.log_tail()}"
        return await wait_until(back, f"the supervisor to replace workers {sorted(gone)}", timeout)

    async def crashed(self, point: str, timeout: float = 45.0) -> None:
        """Wait for the server to kill itself at the named crash point (SIGKILL, exit -9)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive:
            await asyncio.sleep(POLL)
        if self.alive:
            self.kill()
            raise AssertionError(f"crash point {point!r} was never reached in {timeout:.0f} s: is "
                                 f"backend.testhooks.crash_point({point!r}) called on that path?\n{self.log_tail()}")
        assert self.returncode == -signal.SIGKILL, (
            f"the server died with {self.returncode}, not SIGKILL at {point!r}:\n{self.log_tail()}")

    async def restart(self, crash_at: str | None = None) -> None:
        self.kill()
        await self.start(crash_at)

    def log_tail(self, chars: int = 4000) -> str:
        if not self.log_files:
            return ""
        return self.log_files[-1].read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self) -> None:
        self.kill()


class Rest:
    """The REST channel as a trusted back end (X-Api-Key) and as staff (a Bearer staff token)."""

    def __init__(self, server: Server, api_key: str) -> None:
        self.server, self.api_key = server, api_key
        self.http = ClientSession(timeout=ClientTimeout(total=60))

    async def close(self) -> None:
        await self.http.close()

    def _headers(self, staff_token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {staff_token}"} if staff_token else {"X-Api-Key": self.api_key}

    async def say(self, sender: str, text: str, message_id: str | None = None,
                  staff_token: str | None = None) -> list[dict[str, Any]]:
        """One message; the replies. Fails the test on anything but 200."""
        status, body = await self.post(sender, text, message_id, staff_token)
        assert status == 200, f"POST webhook → {status}: {body}"
        assert isinstance(body, list), body
        return body

    async def post(self, sender: str, text: str, message_id: str | None = None,
                   staff_token: str | None = None) -> tuple[int, Any]:
        payload: dict[str, Any] = {"message": text}
        if not staff_token:  # a staff token names its own sender (staff:<code>)
            payload["sender"] = sender
        if message_id is not None:
            payload["message_id"] = message_id
        async with self.http.post(f"{self.server.base}/webhooks/rest/webhook", json=payload,
                                  headers=self._headers(staff_token)) as r:
            try:
                return r.status, await r.json(content_type=None)
            except ValueError:
                return r.status, await r.text()

    async def try_say(self, sender: str, text: str, message_id: str | None = None) -> list[dict[str, Any]] | None:
        """None when the server is down or dies while answering (the client sees a connection error)."""
        try:
            return await self.say(sender, text, message_id)
        except (ClientError, ConnectionError, TimeoutError):
            return None

    async def poll(self, sender: str, wait: float = 0, ack: list[int] | None = None,
                   staff_token: str | None = None) -> list[dict[str, Any]]:
        """One long-poll for proactive messages, acknowledging the ids of the previous poll."""
        params = {"wait": str(wait)}
        if not staff_token:
            params["sender"] = sender
        if ack:
            params["ack"] = ",".join(str(i) for i in ack)
        async with self.http.get(f"{self.server.base}/webhooks/rest/messages", params=params,
                                 headers=self._headers(staff_token)) as r:
            body = await r.json(content_type=None)
            assert r.status == 200, f"GET messages → {r.status}: {body}"
        return body


def text(replies: list[dict[str, Any]] | None) -> str:
    return "\n".join(r.get("text", "") for r in replies or [])


def buttons(replies: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    return [b for r in replies or [] for b in r.get("buttons") or []]


def booking_number(replies: list[dict[str, Any]] | None) -> int:
    m = re.search(r"#(\d+)", text(replies))
    assert m, f"no booking number in {text(replies)!r}"
    return int(m.group(1))


def new_fake_telegram() -> FakeTelegram:
    fake = FakeTelegram()
    fake.add_bot(CLIENT_TOKEN, "crash_client_bot")
    fake.add_bot(STAFF_TOKEN, STAFF_BOT)
    return fake


# --- WeChat Official Account (tests/crash/test_kill_wechat.py) --------------------------------------
WX_TOKEN = "crash-wechat-callback-token"
WX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console makes them


def wechat_env(api_base: str, budget: float = 2.0) -> dict[str, str]:
    """The server's OA channel against the fake WeChat platform, in safe (AES-only) mode."""
    from tests.fake_wechat import APP_ID, APP_SECRET

    return {
        "FRONTDESK_WECHAT__APP_ID": APP_ID,
        "FRONTDESK_WECHAT__APP_SECRET": APP_SECRET,
        "FRONTDESK_WECHAT__TOKEN": WX_TOKEN,
        "FRONTDESK_WECHAT__ENCODING_AES_KEY": WX_AES_KEY,
        "FRONTDESK_WECHAT__API_BASE": api_base,
        "FRONTDESK_WECHAT__REPLY_BUDGET_SECONDS": str(budget),
    }


def telegram_env(api_base: str) -> dict[str, str]:
    """Both bots polling the fake Telegram at ``api_base``, with limits out of the tests' way."""
    return {
        "FRONTDESK_TELEGRAM__CLIENT_TOKEN": CLIENT_TOKEN,
        "FRONTDESK_TELEGRAM__STAFF_TOKEN": STAFF_TOKEN,
        "FRONTDESK_TELEGRAM__API_BASE": api_base,
        "FRONTDESK_TELEGRAM__MODE": "polling",
        "FRONTDESK_TELEGRAM__POLLING_TIMEOUT": "1",
        "FRONTDESK_TELEGRAM__PER_CHAT_INTERVAL": "0.01",
        "FRONTDESK_TELEGRAM__PER_SECOND": "500",
        "FRONTDESK_TELEGRAM__STAFF_BOT_USERNAME": STAFF_BOT,
    }
