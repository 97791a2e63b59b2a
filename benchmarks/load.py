"""Closed-loop load over HTTP against a real `frontdesk serve` (issue 13, "Figures").

    .venv/bin/python -m benchmarks.load                      # the headline, new code vs --baseline 24bcda2
    .venv/bin/python -m benchmarks.load --db postgres --workers 4 --clients 100 --script mix --baseline none
    .venv/bin/python -m benchmarks.load --matrix             # every configuration, shorter windows

Everything runs on this machine and is stopped at the end (also on Ctrl-C or an error): a PostgreSQL
server of its own (initdb in a temp folder, **fsync=off** as in the tests: the figures are CPU and
queueing, not disk flushes), a redis-server per configuration (no persistence), a fresh database per
configuration seeded with `frontdesk db upgrade` + `frontdesk demo`, and `frontdesk serve` as a subprocess
(`--workers N` when N > 1). Clients are closed-loop (the next message leaves when the reply is back, no
think time), each over keep-alive HTTP as the trusted back end (X-Api-Key + ``sender``), one asyncio
process with pre-built JSON bodies so the load generator stays cheap on the shared cores.

Scripts: ``booking`` is the 7-turn booking of benchmarks/turns.py (zh and en alternating, a new sender
per round, a message_id on every message: confirming creates a booking, runs matching, writes an
offer). ``mix`` is the rest of a client's day: the price list, a status question, a complaint (category,
remedy, submit: a case and a manager alert), the complaint's status, and a cancellation request (the
sender has no open booking, so it is answered from the bookings list; the booking script covers writes).

Per configuration one row: turns/s and latency over the measured window only (after the warm-up),
errors (non-200, transport errors, or the desk's "something went wrong" reply), CPU milliseconds per
turn for the app (supervisor + workers), PostgreSQL (postmaster + backends), Redis and this load
generator, from /proc utime+stime deltas over the window, and the largest RSS of an app process.
The baseline (``--baseline REF``, default 24bcda2, the commit before issue 13) is a `git clone` of
this checkout at REF in a temp folder, served by the same venv as one process, as it shipped.
A configuration whose server does not start is reported "n/a" with the reason; the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import postgres

ROOT = Path(__file__).resolve().parent.parent
DIALOG = ["你好", "我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有", "/affirm"]
DIALOG_EN = ["hi", "I need a cleaner tomorrow at 2pm", "3 hours", "Room 1203, 88 Jianguo Road, Chaoyang",
             "+86 139 1234 5678", "no", "/affirm"]
MIX = ["价目表", "我的预约", "我要投诉", '/inform{"complaint_category": "lateness"}', '/inform{"remedy": "apology"}',
       "/affirm", "我的投诉怎么样了", "取消预约"]
MIX_EN = ["price list", "my bookings", "I want to complain", '/inform{"complaint_category": "lateness"}',
          '/inform{"remedy": "apology"}', "/affirm", "how is my complaint going", "cancel my booking"]
SCRIPTS = {"booking": (DIALOG, DIALOG_EN), "mix": (MIX, MIX_EN)}
ERROR_MARKS = ("something went wrong on our side", "系统出了点问题")  # utter_error in dialogs/domain.yml
API_KEY = secrets.token_urlsafe(24)
TICK = os.sysconf("SC_CLK_TCK")
READY_SECONDS = 120.0  # a cold start on 2 busy cores loads the NLU model (per worker)
TARGET_RATIO, TARGET_TPS, TARGET_P99 = 3.0, 250.0, 150.0  # issue 13; stretch 4.5× and p99 < 100 ms


# --- /proc ------------------------------------------------------------------------------------------

def tree(pid: int) -> list[int]:
    """The process and all its descendants (children of every thread), from /proc; no psutil."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue  # gone meanwhile
    return out


def cpu_ticks(pids: list[int]) -> int:
    """utime+stime+cutime+cstime: a reaped child's time moves into its parent's c-times, so a
    backend or worker that exits inside the window is still counted (live children are not in c*)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # fields 14–17 of proc(5), counted after "state"
    return total


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- infrastructure ---------------------------------------------------------------------------------

@dataclass
class Infra:
    """PostgreSQL (one server for the run) and Redis (one per configuration), stopped by close()."""

    tmp: Path
    pg: object | None = None
    pg_url: str | None = None
    redis: subprocess.Popen[bytes] | None = None

    def postgres(self) -> str:
        if self.pg_url is None:
            sys.path.insert(0, str(ROOT))
            from tests.pg import PostgresServer, available

            if not available():
                raise RuntimeError("PostgreSQL is not installed (scripts/test.sh installs it)")
            self.pg = PostgresServer()
            self.pg_url = self.pg.start()  # type: ignore[attr-defined]
        return self.pg_url

    def postmaster(self) -> int | None:
        if self.pg is None:
            return None
        return int((self.pg.dir / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]

    def new_database(self) -> str:
        return postgres.fresh_database(self.postgres(), "load")

    def start_redis(self) -> str:
        self.stop_redis()
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (scripts/test.sh installs it)")
        port = free_port()
        self.redis = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket

        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            try:
                self.redis.wait(5)
            except subprocess.TimeoutExpired:
                self.redis.kill()
            self.redis = None

    def close(self) -> None:
        self.stop_redis()
        if self.pg is not None:
            try:
                self.pg.stop()  # type: ignore[attr-defined]
            except Exception as e:  # a failed stop must not hide the figures
                print(f"(stopping PostgreSQL: {e})", file=sys.stderr)
            self.pg = None


@dataclass
class Tree:
    """A source tree to serve: this checkout, or the baseline clone (same venv, PYTHONPATH first)."""

    label: str
    path: Path
    multi: bool  # has `serve --workers`

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from bot.cli import main; main()", *args]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "PYTHONPATH": str(self.path)}


def clone_baseline(ref: str, tmp: Path) -> Tree:
    """`git clone` of this checkout at ``ref`` into a temp folder; refuse if its code is not the one imported."""
    path = tmp / f"baseline-{ref}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", ref], check=True)
    probe = subprocess.run([sys.executable, "-c", "import bot.cli, backend, dialogs, config; print(bot.cli.__file__)"],
                           cwd=path, env={**os.environ, "PYTHONPATH": str(path)}, capture_output=True, text=True)
    if probe.returncode != 0 or not probe.stdout.strip().startswith(str(path)):
        raise RuntimeError(f"baseline {ref} is not importable from {path}: {probe.stdout}{probe.stderr[-800:]}")
    return Tree(f"baseline {ref}", path, multi=False)


# --- one configuration ------------------------------------------------------------------------------

@dataclass
class Config:
    db: str
    workers: int
    script: str
    clients: int
    tree: Tree


@dataclass
class Result:
    cfg: Config
    turns: int = 0
    seconds: float = 0.0
    lat: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per turn
    rss: float = 0.0
    rounds: int = 0  # scripts run to the end, warm-up included
    booked: int | None = None  # bookings in the database afterwards (the booking script makes one a round)
    na: str | None = None  # why there is no figure

    @property
    def tps(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        xs = sorted(self.lat)
        return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def server_env(folder: Path, cfg: Config, database_url: str | None, redis_url: str | None) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDESK_", "DATABASE_URL", "REDIS_URL"))}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "FRONTDESK_ENVIRONMENT": "development",
        "FRONTDESK_DATA_DIR": str(folder / "data"),
        "FRONTDESK_DATA_KEY": Fernet.generate_key().decode(),
        "FRONTDESK_KEY_FILE": str(folder / "keys" / "data.key"),
        "FRONTDESK_NLU__MODEL_PATH": str(ROOT / "models" / "nlu.pkl"),  # the baseline has none of its own
        "FRONTDESK_AUTH__API_KEY": API_KEY,
        "FRONTDESK_AUTH__SESSION_SECRET": secrets.token_urlsafe(32),
        # The load is many clients from one address at full speed: limits out of the way.
        "FRONTDESK_RATE_LIMITS__REST_PER_SENDER": "1000000/minute",
        "FRONTDESK_RATE_LIMITS__REST_PER_ADDRESS": "1000000/minute",
    })
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return cfg.tree.env(env)


def seed(cfg: Config, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        for args in (["db", "upgrade"], ["demo"]):
            p = subprocess.run(cfg.tree.cmd(*args), cwd=cfg.tree.path, env=env, stdout=out,
                               stderr=subprocess.STDOUT, timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"`frontdesk {' '.join(args)}` exited {p.returncode} (log: {log})")


class Served:
    """`frontdesk serve` in its own session, so the supervisor and every worker go down together."""

    def __init__(self, cfg: Config, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if cfg.workers > 1:
            args += ["--workers", str(cfg.workers)]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cfg.tree.cmd(*args), cwd=cfg.tree.path, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> str | None:
        """None when /health answers 200, else why not (the log's last line)."""
        from aiohttp import ClientError, ClientSession, ClientTimeout

        deadline = time.monotonic() + READY_SECONDS
        async with ClientSession(timeout=ClientTimeout(total=3)) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return f"exited {self.proc.returncode}: {self.tail()}"
                try:
                    async with http.get(self.base + "/health") as r:
                        if r.status == 200:
                            return None
                except (ClientError, TimeoutError, OSError):
                    pass
                await asyncio.sleep(0.2)
        return f"no /health 200 in {READY_SECONDS:.0f} s: {self.tail()}"

    def tail(self) -> str:
        # typer draws errors in a box: keep the words, drop the frame
        lines = [s for x in self.log.read_text(errors="replace").splitlines() if (s := x.strip(" │╭╮╰╯─"))]
        return lines[-1][:200] if lines else "(no output)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(35)  # the supervisor gives workers 30 s to finish their turns
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):  # workers that outlived their supervisor
            os.killpg(self.proc.pid, signal.SIGKILL)


async def drive(cfg: Config, base: str, warmup: float, duration: float,
                probes: dict[str, list[int]], res: Result) -> None:
    """Closed-loop clients; CPU snapshots at the window's edges; latency of turns ending inside it."""
    from aiohttp import ClientSession, ClientTimeout, TCPConnector

    zh, en = SCRIPTS[cfg.script]
    url = base + "/webhooks/rest/webhook"
    headers = {"X-Api-Key": API_KEY, "Content-Type": "application/json"}
    done: list[tuple[float, float, bool]] = []  # (end, ms, ok)
    stop = asyncio.Event()
    tag = secrets.token_hex(3)

    async def client(session: ClientSession, i: int) -> None:
        r = 0
        while not stop.is_set():
            sender = f"{tag}-c{i}-r{r}"
            bodies = [json.dumps({"sender": sender, "message": m, "message_id": f"{sender}-{j}"},
                                 ensure_ascii=False).encode() for j, m in enumerate(zh if (i + r) % 2 else en)]
            for body in bodies:
                if stop.is_set():
                    return
                t = time.perf_counter()
                ok = False
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        raw = await resp.read()
                        ok = resp.status == 200 and not any(m in raw.decode(errors="replace") for m in ERROR_MARKS)
                except Exception:  # a refused or cut connection is an error of the turn
                    ok = False
                end = time.perf_counter()
                done.append((end, (end - t) * 1000, ok))
            r += 1
            res.rounds += 1

    def snapshot() -> dict[str, float]:
        t = os.times()
        snap = {k: float(cpu_ticks(tree(p[0]) if k != "redis" else p)) for k, p in probes.items() if p}
        snap["load generator"] = (t.user + t.system) * TICK
        return snap

    conn = TCPConnector(limit=0, force_close=False)
    async with ClientSession(connector=conn, timeout=ClientTimeout(total=60)) as session:
        tasks = [asyncio.create_task(client(session, i)) for i in range(cfg.clients)]
        try:
            await asyncio.sleep(warmup)
            t0, c0 = time.perf_counter(), snapshot()
            await asyncio.sleep(duration)
            t1, c1 = time.perf_counter(), snapshot()
            res.rss = max((rss_mb(p) for p in tree(probes["app"][0])), default=0.0)
        finally:
            stop.set()
            _, pending = await asyncio.wait(tasks, timeout=30)
            for task in pending:
                task.cancel()
    window = [d for d in done if t0 <= d[0] <= t1]
    res.seconds = t1 - t0
    res.turns = sum(1 for d in window if d[2])
    res.errors = sum(1 for d in window if not d[2])
    res.lat = [d[1] for d in window]
    n = max(1, len(window))
    res.cpu_ms = {k: (c1[k] - c0.get(k, 0.0)) / TICK * 1000 / n for k in c1}


def count_bookings(url: str) -> int | None:
    """How many bookings the run made: a booking round that went off script (nobody free, a re-ask)
    still answers 200, so this is the check that the confirm really booked."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM bookings")).scalar_one())
    except Exception:  # a figure, not a verdict: a schema without the table must not stop the run
        return None
    finally:
        engine.dispose()


async def run_config(cfg: Config, infra: Infra, tmp: Path, warmup: float, duration: float) -> Result:
    res = Result(cfg)
    folder = Path(tempfile.mkdtemp(prefix="cfg-", dir=tmp))
    log = folder / "server.log"
    served: Served | None = None
    try:
        if cfg.workers > 1 and not cfg.tree.multi:
            res.na = "this tree has no --workers"
            return res
        database_url = infra.new_database() if cfg.db == "postgres" else None
        redis_url = infra.start_redis() if cfg.db == "postgres" else None
        env = server_env(folder, cfg, database_url, redis_url)
        seed(cfg, env, log)
        served = Served(cfg, env, log)
        why = await served.ready()
        if why is not None:
            res.na = why
            return res
        probes = {"app": [served.proc.pid], "postgres": [infra.postmaster()] if cfg.db == "postgres" else [],
                  "redis": [infra.redis.pid] if infra.redis else []}
        await drive(cfg, served.base, warmup, duration, {k: [p for p in v if p] for k, v in probes.items()}, res)
        res.booked = count_bookings(database_url or f"sqlite:///{folder / 'data' / 'frontdesk.db'}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res.na = str(e)[:300]
    finally:
        if served is not None:
            served.stop()
        infra.stop_redis()
    return res


# --- output -----------------------------------------------------------------------------------------

COLS = ("tree", "db", "wk", "script", "clients", "turns/s", "p50 ms", "p99 ms", "errors",
        "app ms", "pg ms", "redis ms", "loadgen ms", "RSS MB")
WIDTHS = (16, 9, 3, 8, 8, 9, 8, 8, 7, 8, 7, 9, 11, 7)


def row(cells: list[str]) -> str:
    return "".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, WIDTHS, strict=True)))


def line(r: Result) -> str:
    c = r.cfg
    head = [c.tree.label, c.db, str(c.workers), c.script, str(c.clients)]
    if r.na is not None:
        return row([*head, "n/a", "", "", "", "", "", "", "", ""]) + f"   ({r.na})"
    cpu = r.cpu_ms
    return row([*head, f"{r.tps:.1f}", f"{r.pct(0.5):.1f}", f"{r.pct(0.99):.1f}", str(r.errors),
                f"{cpu.get('app', 0):.2f}", f"{cpu['postgres']:.2f}" if "postgres" in cpu else "-",
                f"{cpu['redis']:.2f}" if "redis" in cpu else "-", f"{cpu.get('load generator', 0):.2f}",
                f"{r.rss:.0f}"]) + (f"   bookings {r.booked}/{r.rounds} rounds" if c.script == "booking" else "")


def header(args: argparse.Namespace) -> None:
    print(f"frontdesk load: closed loop, no think time, warm-up {args.warmup:g} s, measured {args.duration:g} s; "
          f"{os.cpu_count()} cores; PostgreSQL with fsync=off (as in the tests), Redis without persistence")
    head = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    print(f"new = this checkout ({head.stdout.strip() or 'not a git checkout'}); CPU columns are milliseconds "
          "per turn over the measured window; RSS is the largest app process")
    print(row(list(COLS)))


def verdict(pairs: list[tuple[Result, Result]]) -> None:
    """The targets, judged on the median over the rounds (``--repeat``): this machine's speed drifts by
    tens of percent within minutes, so one new/baseline pair can be off either way."""
    pairs = [(n, b) for n, b in pairs if not (n.na or b.na or not b.tps)]
    if not pairs:
        print("ratio: n/a (a configuration did not run)")
        return
    ratios = [n.tps / b.tps for n, b in pairs]
    ratio = statistics.median(ratios)
    tps = statistics.median(n.tps for n, _ in pairs)
    # a round without a finished turn has no p99: it counts as endless, not as NaN (which sorts anywhere)
    p99n = statistics.median(n.pct(0.99) if n.lat else math.inf for n, _ in pairs)
    p99b = statistics.median(b.pct(0.99) if b.lat else math.inf for _, b in pairs)
    errors = (sum(n.errors for n, _ in pairs), sum(b.errors for _, b in pairs))
    met = {True: "met", False: "NOT met"}
    if len(pairs) > 1:
        print(f"rounds: {len(pairs)}; ratio per round: {', '.join(f'{r:.2f}×' for r in ratios)}; "
              f"below: medians over the rounds")
    print(f"ratio turns/s new/baseline: {ratio:.2f}×   new {tps:.1f} turns/s;  p99 new {p99n:.1f} ms, "
          f"baseline {p99b:.1f} ms")
    print(f"targets (issue 13): ≥ {TARGET_RATIO:g}× baseline: {met[ratio >= TARGET_RATIO]};  "
          f"≥ {TARGET_TPS:g} turns/s: {met[tps >= TARGET_TPS]};  p99 < {TARGET_P99:g} ms: "
          f"{met[p99n < TARGET_P99]};  errors: {errors[0]} new, {errors[1]} baseline")
    print(f"stretch: 4.5×: {met[ratio >= 4.5]};  p99 < 100 ms: {met[p99n < 100]}")


# --- main -------------------------------------------------------------------------------------------

def configs(args: argparse.Namespace, new: Tree, base: Tree | None) -> Iterator[Config]:
    if args.matrix:
        for script in ("booking", "mix"):
            for clients in (1, 20, 100):
                yield Config("sqlite", 1, script, clients, new)
                for workers in (1, 2, 4):
                    yield Config("postgres", workers, script, clients, new)
        return
    for _ in range(args.repeat if base is not None else 1):  # new and baseline alternate, round by round
        yield Config(args.db, args.workers, args.script, args.clients, new)
        if base is not None:
            yield Config(args.db, 1, args.script, args.clients, base)  # the baseline ran as one process


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="With no flags: the headline (postgres, 2 workers, booking, 20 clients, "
                                        "60 s after 10 s) and the same against --baseline 24bcda2.")
    ap.add_argument("--duration", type=float, help="measured seconds per configuration (60; --matrix 15)")
    ap.add_argument("--warmup", type=float, help="seconds before measuring (10; --matrix 5)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--script", choices=tuple(SCRIPTS), default="booking")
    ap.add_argument("--matrix", action="store_true", help="clients 1/20/100 × SQLite 1 worker, PostgreSQL "
                                                           "+ Redis 1/2/4 workers × both scripts (no baseline)")
    ap.add_argument("--baseline", default="24bcda2", metavar="REF",
                    help="git ref measured the same way as one process ('none' to skip)")
    ap.add_argument("--repeat", type=int, default=1, metavar="K",
                    help="new and baseline alternately K times each; the targets are judged on the medians")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.repeat > 1 and (args.matrix or args.baseline.lower() == "none"):
        ap.error("--repeat alternates new and baseline rounds: it needs a --baseline and no --matrix")
    args.duration = args.duration if args.duration is not None else (15.0 if args.matrix else 60.0)
    args.warmup = args.warmup if args.warmup is not None else (5.0 if args.matrix else 10.0)
    if args.db == "sqlite" and not args.matrix:
        args.workers = 1  # SQLite is one process (more is refused by the server)
    if args.matrix or args.baseline.lower() == "none":
        args.baseline = None
    return args


async def main_async(args: argparse.Namespace, tmp: Path, infra: Infra) -> None:
    if not (ROOT / "models" / "nlu.pkl").is_file():
        raise SystemExit("no NLU model at models/nlu.pkl: run `frontdesk nlu train` first")
    new = Tree("new (worktree)", ROOT, multi=True)
    base = clone_baseline(args.baseline, tmp) if args.baseline else None
    header(args)
    results = []
    for cfg in configs(args, new, base):
        results.append(await run_config(cfg, infra, tmp, args.warmup, args.duration))
        print(line(results[-1]), flush=True)
    if base is not None:
        verdict(list(zip(results[0::2], results[1::2], strict=True)))


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-load-"))
    os.chmod(tmp, 0o755)
    infra = Infra(tmp)
    # SIGTERM ends the run like Ctrl-C does, so the finally below stops every server it started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(main_async(args, tmp, infra))
    except KeyboardInterrupt:
        print("interrupted: stopping servers", file=sys.stderr)
    finally:
        infra.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
