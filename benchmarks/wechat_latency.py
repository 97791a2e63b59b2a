"""WeChat Official Account: how fast the callback answers, and how often in time for a passive reply.

    .venv/bin/python -m benchmarks.wechat_latency [--clients 20] [--seconds 30] [--budget 4.0] [--think 0]
                                                  [--postgres URL]

The whole front desk in this process (SQLite in a temp folder unless --postgres; the timer worker, the
inbox worker and the outbox dispatcher running), on 127.0.0.1 with the OA channel in safe (AES) mode
against the fake WeChat platform of the tests (tests/fake_wechat.py). First one client, then
`--clients` concurrent clients (distinct openids), each following a client's usual conversation
(follow, greeting, a price question, a booking confirmed, hours, address, …) with no think time
(or `--think` seconds on average), for `--seconds`. Every callback is signed and encrypted as WeChat
does it, and decrypted on return.

WeChat waits 5 s for the passive reply, so the client here gives up after 5 s too (counted as an error,
as WeChat would retry). A turn not done within the reply budget is answered "success" and its reply goes
out as a customer-service message (counted as a fallback). The per-sender rate limit is lifted: a
client with no think time would otherwise be told to slow down, which is not what this measures.
The NLU model is trained once into /tmp (never into models/). In a closed loop without think time the
clients wait for each other: the mean latency is about clients / throughput, so it measures capacity —
on SQLite one turn runs at a time (Database.gate: one writer), so turns queue; PostgreSQL runs several.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import random
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.fernet import Fernet

MODEL = Path(tempfile.gettempdir()) / "frontdesk-bench-model" / "nlu.pkl"
TOKEN = "bench-wechat-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console makes them
WECHAT_WAITS = 5.0  # seconds WeChat waits for the passive reply before it retries
# What a client says, in order, then again from the top: None is the follow (subscribe) event.
SCRIPT: list[str | None] = [
    None, "你好", "日常保洁多少钱一个小时", "我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501",
    "13812345678", "没有", "1", "你们几点上班", "你们公司地址在哪里", "我的预约", "谢谢",
    "hello, how much is deep cleaning?",
]  # "1" picks 确认 on the summary: a booking commits and is matched, the heaviest turn


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)  # ms of every answered callback
    passive: int = 0
    success: int = 0
    errors: int = 0
    sample: list[str] = field(default_factory=list)  # the first few errors, to say what went wrong

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.sample) < 3:
            self.sample.append(what)


@contextlib.asynccontextmanager
async def serve(postgres: str | None, budget: float) -> AsyncIterator[tuple[str, Any, Any]]:
    """The front desk with the OA channel, and the fake platform; yields (base URL, app, fake)."""
    from backend.services import staff
    from bot.bootstrap import build
    from bot.server import make_app
    from config import load_settings
    from config.settings import WeChatSettings
    from tests.fake_wechat import APP_ID, APP_SECRET, FakeWeChat

    fake = FakeWeChat()
    api_base = await fake.start()
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-wx-bench-"))
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=tmp, data_key=Fernet.generate_key().decode(), key_file=tmp / "keys" / "data.key",
                             nlu={"model_path": MODEL})  # build() trains it there when missing or stale
    settings.auth.session_secret = secrets.token_urlsafe(48)
    settings.rate_limits = settings.rate_limits.model_copy(update={"platform_per_sender": "100000/minute"})
    settings.wechat = WeChatSettings(app_id=APP_ID, app_secret=APP_SECRET, token=TOKEN, encoding_aes_key=AES_KEY,
                                     api_base=api_base, reply_budget_seconds=budget)
    app = build(settings, db_url=postgres)
    app.backend.import_staff([staff.parse_row(i, r, app.backend.catalogue)
                              for i, r in enumerate(staff.demo_rows(), 1)])
    runner = web.AppRunner(make_app(app, workers=True, telegram=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", app, fake
    finally:
        await runner.cleanup()
        await fake.stop()
        app.backend.db.dispose()


async def client(base: str, openid: str, until: float, tally: Tally, think: float = 0.0) -> None:
    from tests.fake_wechat import APP_ID, FakeWeChatUser

    user = FakeWeChatUser(base, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY, mode="safe", openid=openid,
                          timeout=WECHAT_WAITS)
    for line in itertools.cycle(SCRIPT):
        if time.monotonic() >= until:
            return
        if think:  # a person reads and types: uniform around the mean, so clients do not march in step
            await asyncio.sleep(random.uniform(0.5, 1.5) * think)
        t = time.perf_counter()
        try:
            reply = await (user.event("subscribe") if line is None else user.text(line))
        except Exception as e:  # a failed request, or a reply that does not decrypt: counted, the run goes on
            tally.error(f"{type(e).__name__}: {e}")
            continue
        ms = (time.perf_counter() - t) * 1000
        if reply.status != 200:
            tally.error("no answer within 5 s" if reply.status == 0 else f"HTTP {reply.status}: {reply.body[:80]}")
            continue
        tally.times.append(ms)
        if reply.body.strip() in ("", "success"):
            tally.success += 1
        else:
            tally.passive += 1


def percentile(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(len(s) * q))] if s else float("nan")


def service_messages(fake: Any) -> int:
    return sum(1 for s in fake.sent if s["api"] == "custom")


def undelivered(app: Any) -> int:
    """Messages still owed to the clients: inbox rows not run yet, and turn replies not sent yet."""
    from sqlalchemy import func, select

    from backend.orm import Notification

    with app.backend.db.read() as s:
        replies = s.scalar(select(func.count()).select_from(Notification).where(
            Notification.key.like("inbox:%"), Notification.status == "pending")) or 0
    return replies + app.backend.inbox_pending()


def owed_detail(app: Any) -> list[str]:
    """Why something is still owed: the rows, with attempts and last error."""
    from sqlalchemy import select

    from backend.orm import InboxMessage, Notification

    now = app.backend.now
    with app.backend.db.read() as s:
        rows = [f"reply {n.key}: attempts {n.attempts}, due in {(n.next_attempt_at - now).total_seconds():.0f} s, "
                f"{n.last_error or 'no error'}" for n in s.scalars(select(Notification).where(
                    Notification.key.like("inbox:%"), Notification.status == "pending"))]
        rows += [f"inbox {m.id}: attempts {m.attempts}, due in {(m.next_attempt_at - now).total_seconds():.0f} s"
                 for m in s.scalars(select(InboxMessage).where(InboxMessage.status == "pending"))]
    return rows


class ServerErrors(logging.Handler):
    """The app's own ERROR log records during the run (failed turns, failed sends)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("aiohttp"):
            self.records.append(f"{record.name}: {record.getMessage()}"[:160])


async def settle(app: Any, limit: float = 15.0) -> float:
    """Seconds until every fallback's reply has gone out (at most ``limit``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and await asyncio.to_thread(undelivered, app):
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def phase(base: str, clients: int, seconds: float, think: float = 0.0) -> tuple[Tally, float]:
    tally = Tally()
    tag = secrets.token_hex(3)
    t0 = time.monotonic()
    await asyncio.gather(*(client(base, f"oBench{tag}{i:020d}", t0 + seconds, tally, think)
                           for i in range(clients)))
    return tally, time.monotonic() - t0


async def main_async(args: argparse.Namespace) -> None:
    rows = []
    started = time.monotonic()
    errors = ServerErrors()
    logging.getLogger().addHandler(errors)
    async with serve(args.postgres, args.budget) as (base, app, fake):
        ready = time.monotonic() - started
        await phase(base, 1, 2.0)  # warm-up: first NLU call, connection pools
        for n, seconds in ((1, args.seconds / 3), (args.clients, args.seconds)):
            sent_before = service_messages(fake)
            tally, wall = await phase(base, n, seconds, args.think)
            drained = await settle(app)  # the last fallbacks' customer-service messages go out
            service = service_messages(fake) - sent_before
            rows.append((n, tally, wall, service, drained, await asyncio.to_thread(owed_detail, app)))
        logged = list(errors.records)  # not what the shutdown cuts off
    print(f"\nWeChat OA callback latency: safe (AES) mode, reply budget {args.budget:.1f} s, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}, "
          f"{f'think time ~{args.think:g} s' if args.think else 'no think time'} (app ready in {ready:.0f} s)")
    head = (f"{'clients':>7} {'messages':>8} {'msg/s':>6} {'passive':>7} {'success':>7} {'cs msgs':>7} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6} {'drain s':>7} {'owed':>4}")
    print(head)
    print("-" * len(head))
    for n, t, wall, service, drained, owed_rows in rows:
        owed = len(owed_rows)
        total = len(t.times) + t.errors
        print(f"{n:>7} {total:>8} {total / wall:>6.1f} {t.passive:>7} {t.success:>7} {service:>7} "
              f"{percentile(t.times, 0.5):>7.0f} {percentile(t.times, 0.95):>7.0f} {percentile(t.times, 0.99):>7.0f} "
              f"{max(t.times, default=float('nan')):>7.0f} {t.errors:>6} {drained:>7.1f} {owed:>4}")
        for s in t.sample:
            print(f"        error: {s}")
        for s in owed_rows[:3]:
            print(f"        owed: {s}")
    print("passive: answered in the callback itself; success: too late for that, the turn's replies go out as\n"
          "customer-service messages (cs msgs, one per reply); latency: callback POST to its answer, as WeChat\n"
          "sees it; errors: no answer within WeChat's 5 s (it would retry) or a failed request; drain s: time after\n"
          "the phase until every reply owed was sent (owed: still unsent then).")
    print(f"server-side ERROR log records: {len(logged)}")
    for r in logged[:3]:
        print(f"    {r}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--budget", type=float, default=4.0, help="reply_budget_seconds (the production default)")
    p.add_argument("--think", type=float, default=0.0, help="mean seconds a client waits between messages")
    p.add_argument("--postgres", help="a PostgreSQL URL instead of a temporary SQLite file")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # Sends still in flight when the server shuts down are cut off; the fake platform would log each one.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
