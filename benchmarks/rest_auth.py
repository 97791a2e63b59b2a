"""REST throughput with authentication on (public session tokens) vs off (a trusted back end's API key).

    .venv/bin/python -m benchmarks.rest_auth [--clients 10] [--messages 30] [--postgres URL]

Each of `--clients` concurrent clients sends `--messages` simple messages ("你好") as fast as it gets
answers, through a real server on 127.0.0.1 (HTTP included). "session" verifies an HMAC-signed token on
every call; "api key" is the trusted server-to-server path (one constant-time compare). Rate limits
stay on in both (in memory), set high enough never to refuse. Prints turns/s and latency p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web
from cryptography.fernet import Fernet

API_KEY = secrets.token_urlsafe(32)
GENEROUS = {"rest_per_sender": "100000/minute", "rest_per_address": "1000000/minute",
            "sessions_per_address": "100000/hour"}


@contextlib.asynccontextmanager
async def serve(postgres: str | None = None, workers: bool = False) -> AsyncIterator[tuple[str, Any]]:
    """The whole front desk with the demo roster on a throw-away database; yields (base URL, app)."""
    from backend.services import staff
    from bot.bootstrap import build
    from bot.server import make_app
    from config import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    settings = load_settings(data_dir=tmp, data_key=Fernet.generate_key().decode(),
                             key_file=tmp / "keys" / "data.key")
    settings.auth.api_key = API_KEY
    settings.auth.session_secret = secrets.token_urlsafe(48)
    settings.rate_limits = settings.rate_limits.model_copy(update=GENEROUS)
    app = build(settings, db_url=postgres)
    rows = [staff.parse_row(i, r, app.backend.catalogue) for i, r in enumerate(staff.demo_rows(), 1)]
    app.backend.import_staff(rows)
    runner = web.AppRunner(make_app(app, workers=workers, telegram=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/webhooks/rest", app
    finally:
        await runner.cleanup()
        app.backend.db.dispose()


def percentile(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(len(s) * q))]


async def identities(http: ClientSession, base: str, n: int, mode: str) -> list[tuple[str, dict[str, str]]]:
    """(sender, headers) per client: a fresh public session each, or a name asserted with the API key."""
    out = []
    for i in range(n):
        if mode == "session":
            async with http.post(f"{base}/session", json={}) as r:
                s = await r.json()
            out.append((s["sender"], {"Authorization": f"Bearer {s['token']}"}))
        else:
            out.append((f"bench-{mode}-{i}-{secrets.token_hex(4)}", {"X-Api-Key": API_KEY}))
    return out


async def run(base: str, mode: str, clients: int, messages: int) -> dict[str, float]:
    times: list[float] = []
    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        who = await identities(http, base, clients, mode)

        async def one(sender: str, headers: dict[str, str]) -> None:
            for _ in range(messages):
                t = time.perf_counter()
                async with http.post(f"{base}/webhook", json={"sender": sender, "message": "你好"},
                                     headers=headers) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
                times.append((time.perf_counter() - t) * 1000)

        await one(*who[0])  # warm-up
        times.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(s, h) for s, h in who))
        wall = time.perf_counter() - t0
    return {"turns": len(times), "turns/s": len(times) / wall, "p50": statistics.median(times),
            "p99": percentile(times, 0.99)}


async def main_async(args: argparse.Namespace) -> None:
    results = {}
    async with serve(args.postgres) as (base, _):
        for mode in ("api key", "session", "api key", "session"):  # twice, interleaved: the second counts
            results[mode] = await run(base, mode, args.clients, args.messages)
    print(f"REST throughput, {args.clients} concurrent clients × {args.messages} messages, "
          f"{'postgresql' if args.postgres else 'sqlite'}")
    print(f"{'authentication':<28}{'turns':>8}{'turns/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for mode, label in (("api key", "off (API key, trusted)"), ("session", "on (signed session token)")):
        r = results[mode]
        print(f"{label:<28}{r['turns']:>8}{r['turns/s']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--messages", type=int, default=30)
    ap.add_argument("--postgres", default=None, help="postgresql://… URL of an empty database")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
