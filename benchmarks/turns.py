"""Concurrent conversations through the REST channel of a real server on 127.0.0.1.

    .venv/bin/python -m benchmarks.turns [--clients 20] [--rounds 3] [--postgres URL]

Each client runs the whole booking dialog (7 turns, confirm included) `--rounds` times, waiting
`--think` seconds between messages as a person reading and typing would (0 saturates the server);
prints turns/s and turn latency p50/p99 as the client sees it (HTTP included). Uses a throw-away
SQLite database with the demo roster unless --postgres is given.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, web
from cryptography.fernet import Fernet

API_KEY = secrets.token_urlsafe(32)
DIALOG = ["你好", "我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有", "/affirm"]
DIALOG_EN = ["hi", "I need a cleaner tomorrow at 2pm", "3 hours", "Room 1203, 88 Jianguo Road, Chaoyang",
             "+86 139 1234 5678", "no", "/affirm"]


async def client(session: ClientSession, url: str, name: str, rounds: int, times: list[float],
                 think: float = 0.0) -> None:
    await asyncio.sleep(think * (hash(name) % 100) / 100)  # clients do not all start on the same tick
    for r in range(rounds):
        dialog = DIALOG if hash(name) % 2 else DIALOG_EN
        sender = f"{name}-{r}"
        for message in dialog:
            t = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": message},
                                    headers={"X-Api-Key": API_KEY}) as resp:
                await resp.json()
                assert resp.status == 200
            times.append((time.perf_counter() - t) * 1000)
            if think:
                await asyncio.sleep(think)  # the client reads the reply and types the next message


async def main_async(args: argparse.Namespace) -> None:
    from backend.services import staff
    from bot.bootstrap import build
    from bot.server import make_app
    from config import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    settings = load_settings(data_dir=tmp, data_key=Fernet.generate_key().decode())
    settings.auth.api_key = API_KEY  # the trusted back-end path: the benchmark speaks for its clients
    settings.rate_limits = settings.rate_limits.model_copy(update={"rest_per_sender": "100000/minute"})
    app = build(settings, db_url=args.postgres)
    rows = [staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(staff.demo_rows(), 1)]
    app.backend.import_staff(rows)
    runner = web.AppRunner(make_app(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    times: list[float] = []
    async with ClientSession() as session:
        await client(session, url, "warmup", 1, [])
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session, url, f"c{i}", args.rounds, times, args.think)
                               for i in range(args.clients)))
        wall = time.perf_counter() - t0
    await runner.cleanup()
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{'database':<22}{'postgresql' if args.postgres else 'sqlite':>12}")
    print(f"{'concurrent clients':<22}{args.clients:>12}")
    print(f"{'think time (s)':<22}{args.think:>12.1f}")
    print(f"{'turns':<22}{len(times):>12}")
    print(f"{'turns/s':<22}{len(times) / wall:>12.1f}")
    print(f"{'latency p50 (ms)':<22}{statistics.median(times):>12.1f}")
    print(f"{'latency p99 (ms)':<22}{p99:>12.1f}")
    print(f"{'latency max (ms)':<22}{times[-1]:>12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--think", type=float, default=1.0,
                    help="seconds each client waits between its messages (0: as fast as possible)")
    ap.add_argument("--postgres", default=None, help="postgresql://… URL of an empty database")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
