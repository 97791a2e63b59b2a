"""`frontdesk status`: the workers' queues for whoever is on call (no personal data in the output)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli import app, fail, setup_logging

DEFAULT_MAX_LAG = 60.0  # seconds: the dispatchers poll every 0.5 s and timers every second or so


def push_channels() -> list[str]:
    """Every channel the dispatchers push to (a row routed to one that is not configured waits: shown)."""
    from bot.telegram.client_bot import CHANNEL as TELEGRAM
    from bot.telegram.staff_bot import CHANNEL as TELEGRAM_STAFF
    from bot.wechat.oa import CHANNEL as WECHAT
    from bot.wechat.wecom import CHANNEL as WECOM

    return [TELEGRAM, TELEGRAM_STAFF, WECHAT, WECOM]


def poller(redis_url: str | None) -> dict[str, Any]:
    """Who holds the Telegram polling lease (bot/election.py): {"state": "held", "pid", "lease_seconds"},
    {"state": "free"}, {"state": "single"} without Redis (the one process polls) or {"state": "unreachable"}."""
    if not redis_url:
        return {"state": "single"}
    from redis import Redis
    from redis.exceptions import RedisError

    from bot.telegram.runner import LEASE_KEY

    try:
        r = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    except ValueError:
        fail("REDIS_URL is not a redis://, rediss:// or unix:// URL")
    try:
        with r, r.pipeline(transaction=True) as pipe:  # the holder and its lease read together
            token, ttl = pipe.get(LEASE_KEY).pttl(LEASE_KEY).execute()
    except RedisError as e:
        return {"state": "unreachable", "error": type(e).__name__}
    if token is None or ttl == -2:
        return {"state": "free"}
    pid = token.decode(errors="replace").split(":", 1)[0]  # the token is "<pid>:<random>"
    return {"state": "held", "pid": int(pid) if pid.isdigit() else None, "lease_seconds": max(ttl, 0) / 1000}


def _late(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} s"


def _local(iso: str | None, tz: Any) -> str:
    return "-" if iso is None else datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")


def render(r: dict[str, Any], tz: Any, max_lag: float) -> str:
    o, i, t, p = r["outbox"], r["inbox"], r["timers"], r["telegram_poller"]
    polling = {"single": "one process (no REDIS_URL)", "free": "no worker holds the lease",
               "unreachable": f"Redis unreachable ({p.get('error')})"}.get(p["state"])
    if polling is None:
        polling = f"worker pid {p['pid']} (lease {p['lease_seconds']:.1f} s left)"
    lines = [
        f"Front desk status at {_local(r['now'], tz)}",
        f"outbox   pending {o['pending']}, due for push {o['due_push']}, most overdue {_late(o['late_seconds'])}; "
        f"given up in 24 h: failed {o['failed_24h']}, undeliverable {o['undeliverable_24h']}",
        f"inbox    pending {i['pending']}, due {i['due']}, most overdue {_late(i['late_seconds'])}; "
        f"failed (all time) {i['failed']}",
        f"timers   pending {t['pending']}, overdue {t['overdue']}, most overdue {_late(t['late_seconds'])}; "
        f"next due {_local(t['next_due'], tz)}",
        f"telegram polling: {polling}",
    ]
    problems = r["problems"]
    lines.append(f"BEHIND (over {max_lag:.0f} s): {', '.join(problems)}" if problems
                 else f"ok: nothing is more than {max_lag:.0f} s late")
    return "\n".join(lines)


def unreadable(backend: Any, error: Exception) -> str:
    """Why the queues could not be read: a schema to upgrade, or the database's error by its kind (never
    the URL, which may hold a password)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.migrate import is_current

    try:
        with backend.db.engine.connect() as c:
            current = is_current(c)
    except SQLAlchemyError as e:
        return f"cannot reach the database ({type(e).__name__}): is it running, and is DATABASE_URL right?"
    if not current:
        return "the database schema is missing or behind: run `frontdesk db upgrade` first"
    return f"cannot read the database ({type(error).__name__}); `frontdesk serve`'s log may say more"


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    max_lag: Annotated[float, typer.Option("--max-lag", min=0,
                                           help="Seconds a due item may wait before it counts as behind")]
    = DEFAULT_MAX_LAG,
) -> None:
    """The workers' queues for whoever is on call: outbox, inbox and timers (how much waits, how late the
    most overdue item is), and which worker polls Telegram. Exits 1 when a queue is later than --max-lag
    seconds or Redis cannot be reached, so a cron job or a monitor can alert on it."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from backend import testhooks
    from backend.api import Backend
    from backend.services.operations import behind
    from config import load_settings

    setup_logging()
    try:
        settings = load_settings()
        testhooks.configure(settings)  # refuses test hooks in production, as `serve` does
        url = make_url(settings.db_url)
    except (RuntimeError, ValueError) as e:  # a config file that does not parse, hooks in production …
        fail(str(e))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        fail(f"no database at {url.database}: check FRONTDESK_HOME or DATABASE_URL, or run `frontdesk db "
             "upgrade` to create one")  # rather than leave an empty one behind
    try:
        backend = Backend.from_settings(settings, clock=testhooks.clock_for(settings))
    except (RuntimeError, ValueError) as e:
        fail(str(e))
    try:
        r = backend.backlog(push_channels())
    except SQLAlchemyError as e:
        fail(unreadable(backend, e))
    finally:
        backend.db.dispose()
    r["telegram_poller"] = poller(settings.redis_url)
    r["problems"] = behind(r, max_lag) + (["redis unreachable"] if r["telegram_poller"]["state"] == "unreachable"
                                          else [])
    typer.echo(json.dumps(r, indent=2) if as_json else render(r, backend.ctx.tz, max_lag))
    if r["problems"]:
        raise typer.Exit(1)
