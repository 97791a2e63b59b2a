"""`frontdesk serve --workers N`: one supervisor, N worker processes serving one port.

The supervisor reserves the port once, does what must happen once (migrations, the NLU model, the
retention and vetting timers: what ``build()`` does), closes its database connections, then forks the
workers. Each worker builds its own app (no tables, no training) and serves the port with the HTTP
app, the outbox dispatcher, the timer worker and the inbox worker; they share work through
``FOR UPDATE SKIP LOCKED`` and Redis.

Why a listening socket per worker (``SO_REUSEPORT``) and not one shared socket: on a shared socket
asyncio accepts every pending connection in one go, so the worker that wakes first takes a whole burst
of clients and keeps their keep-alive connections: under load one worker ran at 100 % while the other
idled. With ``SO_REUSEPORT`` the kernel spreads connections over the workers' sockets by their address
hash, and a dead worker's socket leaves the group with it. The price: connections the kernel had queued
for the dead worker, not yet accepted, are reset (the client sends again) unless the host sets
``net.ipv4.tcp_migrate_req=1`` (the compose file does), which moves them to another worker; and while no
worker listens (before the first is ready, or all are dead) connections are refused, not queued. The hash
spreads connections unevenly (7 and 13 of 20 keep-alive clients in one run): the workers even them out by
closing a few (bot/balance.py).

A worker that dies is restarted (with a back-off when it keeps dying at start); SIGTERM or SIGINT stops
every worker gracefully and the supervisor exits 0.

Why fork and not spawn: the parent holds no thread, event loop or open connection when it forks
(checked), and a forked worker starts with the modules and the loaded data already in memory, so a
replacement is ready in a fraction of a spawned interpreter's start.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from config import Settings

if TYPE_CHECKING:
    from bot.balance import Shares

log = logging.getLogger("frontdesk.supervisor")
STOP_SECONDS = 30.0  # a worker's graceful stop (turns in flight, outbox sends) before SIGKILL
SHUTDOWN_SECONDS = 5.0  # of those, for open HTTP requests (long-polls) before aiohttp closes them
QUICK_DEATH = 10.0  # a worker dying sooner than this after its start counts towards the back-off
MAX_BACKOFF = 30.0
EXIT_REFUSED = 78  # a worker refused its settings at start (EX_CONFIG): restarting cannot help
SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
PR_SET_PDEATHSIG = 1


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot run on these settings, or None."""
    if workers < 1:
        return f"--workers must be at least 1 (got {workers})."
    if workers == 1:
        return None
    url = settings.database_url or ""
    if not url.startswith(("postgresql", "postgres")):
        return (f"--workers {workers} needs PostgreSQL: the embedded SQLite database has one writer process, "
                "so several workers would queue behind its lock. Set DATABASE_URL=postgresql://… and "
                "REDIS_URL=redis://…, or run with --workers 1.")
    if not settings.redis_url:
        return (f"--workers {workers} needs REDIS_URL: the conversation lock, the rate limits and the "
                "election of the one Telegram poller must be shared by all workers. Set REDIS_URL=redis://…, "
                "or run with --workers 1.")
    return None


_PORT_LOCKS: list[socket.socket] = []  # the supervisor's hold on "one front desk per port", for its lifetime


def _reuseport_socket(family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does: restarts reuse TIME_WAIT
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def bind(host: str, port: int) -> socket.socket:
    """The supervisor's reservation of the port: a socket in the workers' ``SO_REUSEPORT`` group that
    never listens (so it is never handed a connection). A port in use fails here, once, before anything
    starts: held by a program without ``SO_REUSEPORT`` (the bind), by anything listening on it, such as
    another front desk's workers, whose group would otherwise take this one's in silently (a probe bind
    without ``SO_REUSEPORT``), or by another front desk still starting (an abstract socket named after
    the port, on Linux). Processes of other users can never join the group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = _reuseport_socket(family)
    try:
        sock.bind((host, port))
        address = sock.getsockname()  # the real port when 0 was asked for
        if sys.platform == "linux":
            lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                lock.bind(f"\0frontdesk-serve:{address[1]}")
            except OSError:
                lock.close()
                raise
            _PORT_LOCKS.append(lock)
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def listener(reserved: socket.socket) -> socket.socket:
    """A worker's own listening socket on the reserved address (its full address: an IPv6 scope id
    included), in the same ``SO_REUSEPORT`` group."""
    sock = _reuseport_socket(reserved.family)
    try:
        sock.bind(reserved.getsockname())
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class Slot:
    """One worker position: its current process, and how often it died young in a row."""

    index: int
    pid: int = 0
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0
    history: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, sock: socket.socket, workers: int, run_worker: Any) -> None:
        self.sock, self.run_worker = sock, run_worker
        self.slots = [Slot(i) for i in range(workers)]
        self.pid = os.getpid()
        self.stopping = False
        self.failed = False

    # --- the worker side ------------------------------------------------------------------------
    def _child(self, slot: Slot) -> None:
        """In the forked worker: never returns."""
        code = 1
        try:
            for s in (signal.SIGTERM, signal.SIGCHLD):
                signal.signal(s, signal.SIG_DFL)
            # A terminal's Ctrl-C reaches the whole process group: the supervisor stops each worker once
            # (SIGTERM), so a worker ignores SIGINT rather than stop twice.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())  # the supervisor blocks them; a worker must not
            # The worker goes when the supervisor goes, even by kill -9: no orphan keeps serving.
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != self.pid:  # the supervisor died before the line above
                os._exit(1)
            code = self.run_worker(slot.index, self.sock)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            log.exception("worker %d failed", slot.index)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code or 0)

    # --- the supervisor side --------------------------------------------------------------------
    def _start(self, slot: Slot) -> None:
        sys.stdout.flush()  # or the child would write the parent's buffered lines a second time
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child(slot)
        slot.pid, slot.started = pid, time.monotonic()
        slot.history.append(pid)

    def _reaped(self, pid: int, status: int) -> None:
        slot = next((s for s in self.slots if s.pid == pid), None)
        if slot is None:
            return
        slot.pid = 0
        how = (f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
               else f"exit code {os.waitstatus_to_exitcode(status)}")
        if self.stopping:
            log.info("worker %d (pid %d) stopped: %s", slot.index, pid, how)
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_REFUSED:
            log.error("worker %d (pid %d) refused its settings: stopping the front desk", slot.index, pid)
            self.failed = self.stopping = True
            return
        lived = time.monotonic() - slot.started
        slot.quick_deaths = slot.quick_deaths + 1 if lived < QUICK_DEATH else 0
        delay = 0.0 if slot.quick_deaths == 0 else min(MAX_BACKOFF, 0.5 * 2 ** (slot.quick_deaths - 1))
        slot.restart_at = time.monotonic() + delay
        log.warning("worker %d (pid %d) died after %.0f s (%s); restarting it%s", slot.index, pid, lived, how,
                    f" in {delay:.1f} s (died at start {slot.quick_deaths} times in a row)" if delay else "")

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._reaped(pid, status)

    def _alive(self) -> list[Slot]:
        return [s for s in self.slots if s.pid]

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; the exit code (0 after a requested stop)."""
        if threading.active_count() > 1:  # fork copies only the calling thread: nothing may run beside it
            log.warning("the supervisor holds %d threads before forking its workers", threading.active_count())
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # taken with sigtimedwait, never mid-fork
        for slot in self.slots:
            self._start(slot)
        log.warning("front desk: %d workers (pids %s) on one port; supervisor pid %d", len(self.slots),
                    " ".join(str(s.pid) for s in self.slots), self.pid)
        while not self.stopping:
            now = time.monotonic()
            waits = [s.restart_at - now for s in self.slots if not s.pid]
            info = signal.sigtimedwait(SIGNALS, max(0.05, min(waits, default=1.0)))
            if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                log.warning("front desk: %s received, stopping %d workers", signal.Signals(info.si_signo).name,
                            len(self._alive()))
                self.stopping = True
            self._reap()
            if self.stopping:
                break
            now = time.monotonic()
            for slot in self.slots:
                if not slot.pid and now >= slot.restart_at:
                    self._start(slot)
        self._stop_all()
        self.sock.close()
        return 1 if self.failed else 0

    def _stop_all(self) -> None:
        for slot in self._alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self._alive() and time.monotonic() < deadline:
            signal.sigtimedwait({signal.SIGCHLD}, max(0.05, deadline - time.monotonic()))
            self._reap()
        for slot in self._alive():
            log.warning("worker %d (pid %d) did not stop in %.0f s: SIGKILL", slot.index, slot.pid, STOP_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.pid, signal.SIGKILL)
        while self._alive():
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self._reaped(pid, status)


def prepare(settings: Settings) -> None:
    """What must happen once, before any worker: what ``build()`` does with its tables (migrations, the
    retention and vetting timers, the NLU model trained when stale) and the NLU's lazy tables. Its database
    connections are closed so that no worker inherits a connection another process uses."""
    from bot.bootstrap import build

    app = build(settings, create_tables=True)
    app.desk.engine.nlu.warm()  # the tables pypinyin loads are shared with every worker forked after
    app.backend.db.dispose()


def run_worker(settings: Settings, index: int, reserved: socket.socket, shares: Shares | None = None) -> int:
    """One worker: its own app on its own listening socket of the reserved port, until SIGTERM (aiohttp's
    graceful exit). ``shares``: the keep-alive clients kept even over the workers (bot/balance.py)."""
    from aiohttp import web

    from bot.bootstrap import build
    from bot.server import event_loop, make_app

    try:
        web_app = make_app(build(settings, create_tables=False))
    except (RuntimeError, ValueError) as e:  # settings refused (test hooks in production, secrets …)
        print(f"frontdesk serve: worker {index} cannot start: {e}", file=sys.stderr)
        return EXIT_REFUSED
    web_app.on_startup.insert(0, _graceful_on_sigterm)
    if shares is not None:
        shares.attach(web_app, index)
    # Listening only now, with the app built: a starting worker is handed no connection it cannot answer.
    try:
        sock = listener(reserved)
    except OSError as e:  # restarting cannot help: stop the front desk with the reason
        print(f"frontdesk serve: worker {index} cannot listen on {reserved.getsockname()}: {e.strerror or e}",
              file=sys.stderr)
        return EXIT_REFUSED
    for held in (reserved, *_PORT_LOCKS):  # the supervisor's, inherited across fork
        held.close()
    # Open long-polls and SSE streams are cut after SHUTDOWN_SECONDS, so the cleanup (Telegram's batch in
    # hand, the lease, the workers) still fits in the supervisor's STOP_SECONDS.
    web.run_app(web_app, sock=sock, print=None, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS,
                loop=event_loop())
    return 0


async def _graceful_on_sigterm(_: Any) -> None:
    """SIGTERM starts aiohttp's graceful exit once; a second one (the process group's and the
    supervisor's) must not cut the clean-up short, nor must a terminal's Ctrl-C (see ``_child``)."""
    import asyncio

    from aiohttp.web_runner import GracefulExit

    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.add_signal_handler(signal.SIGTERM, lambda: None)
        raise GracefulExit()

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, lambda: None)
