"""Turn latency of a client conversation with 300 idle long-polls open vs none.

    .venv/bin/python -m benchmarks.long_poll [--polls 300] [--rounds 8] [--postgres URL]

A real server on 127.0.0.1 (timer worker and outbox dispatcher running). `--polls` known clients keep
a long-poll open (wait=60, re-opened when it returns); meanwhile one client runs the whole booking
dialog `--rounds` times, and its turn latency p50/p99 is compared with the same dialog and no poll
open. Idle polls should cost nothing measurable: one watcher per process reads new outbox rows and
wakes only the polls they are for. "idle SQL/s" counts the statements the server runs while nobody
talks (timer worker and dispatcher included), so it shows the polls' own cost whatever the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from benchmarks.rest_auth import API_KEY, percentile, serve

DIALOG = ["你好", "我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号3号楼501", "13812345678", "没有", "/affirm",
          "我的预约", "价格"]
KEY = {"X-Api-Key": API_KEY}


async def conversation(http: ClientSession, base: str, rounds: int, tag: str) -> list[float]:
    times = []
    for r in range(rounds):
        sender = f"talker-{tag}-{r}"
        for message in DIALOG:
            t = time.perf_counter()
            async with http.post(f"{base}/webhook", json={"sender": sender, "message": message}, headers=KEY) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
            times.append((time.perf_counter() - t) * 1000)
    return times


async def idle_poller(http: ClientSession, base: str, sender: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            async with http.get(f"{base}/messages", params={"sender": sender, "wait": "60"}, headers=KEY) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()


async def main_async(args: argparse.Namespace) -> None:
    from sqlalchemy import event

    rows = []
    async with serve(args.postgres, workers=True) as (base, app), \
            ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=90)) as http:
        statements = [0]

        @event.listens_for(app.backend.db.engine, "before_cursor_execute")
        def count(*_: object) -> None:
            statements[0] += 1

        pollers = [f"idle-{i}" for i in range(args.polls)]
        for s in pollers:  # known clients, as a widget that has spoken once
            async with http.post(f"{base}/webhook", json={"sender": s, "message": "你好"}, headers=KEY) as r:
                assert r.status == 200
        await conversation(http, base, 1, "warmup")
        phases = [("none", 0), (f"{args.polls} idle long-polls", args.polls)] * 2
        for i, (label, n) in enumerate(phases):
            stop = asyncio.Event()
            tasks = [asyncio.create_task(idle_poller(http, base, s, stop)) for s in pollers[:n]]
            await asyncio.sleep(3.0)  # let every poll be open and idle
            before, t0 = statements[0], time.perf_counter()
            await asyncio.sleep(args.idle)  # idle: what do open polls alone cost the database?
            idle_rate = (statements[0] - before) / (time.perf_counter() - t0)
            times = await conversation(http, base, args.rounds, f"{i}")
            stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            rows.append((label, len(times), percentile(times, 0.5), percentile(times, 0.99), idle_rate))
        print(f"Turn latency of a booking conversation ({len(DIALOG)} turns × {args.rounds}), "
              f"{'postgresql' if args.postgres else 'sqlite'}; phases interleaved")
        print(f"{'open long-polls':<26}{'turns':>8}{'p50 ms':>10}{'p99 ms':>10}{'idle SQL/s':>12}")
        for label, n, p50, p99, rate in rows:
            print(f"{label:<26}{n:>8}{p50:>10.1f}{p99:>10.1f}{rate:>12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--polls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds of idle polling measured for SQL/s")
    ap.add_argument("--postgres", default=None, help="postgresql://… URL of an empty database")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
