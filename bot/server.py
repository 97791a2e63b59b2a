"""`frontdesk serve`: the HTTP app, the timer worker and the outbox dispatcher in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from sqlalchemy import text

from bot.bootstrap import App
from bot.rest import MAX_BODY, RestChannel
from bot.workers import Dispatcher, Pusher, timer_worker

log = logging.getLogger(__name__)
STOP = web.AppKey("stop", asyncio.Event)
TASKS = web.AppKey("tasks", list)
TELEGRAM = web.AppKey("telegram", object)


def make_app(app: App, pushers: dict[str, Pusher] | None = None, workers: bool = True,
             telegram: bool = True) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY)
    RestChannel(app.desk).routes(web_app)
    tg = None
    cfg = app.settings.telegram
    if telegram and (cfg.client_token or cfg.staff_token):
        from bot.telegram.runner import TelegramChannels

        tg = TelegramChannels(app)
        tg.routes(web_app)
        pushers = {**tg.pushers, **(pushers or {})}
        web_app[TELEGRAM] = tg

    async def health(_: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(_ping, app)
        except Exception as e:  # the check exists to report this
            return web.json_response({"status": "error", "database": str(e)[:200]}, status=503)
        return web.json_response({"status": "ok"})

    web_app.router.add_get("/health", health)

    if tg is not None:
        async def start_telegram(_: web.Application) -> None:
            await tg.start()

        async def stop_telegram(_: web.Application) -> None:
            await tg.stop()

        web_app.on_startup.append(start_telegram)
        web_app.on_cleanup.append(stop_telegram)

    if workers:
        async def start(_: web.Application) -> None:
            stop = asyncio.Event()
            dispatcher = Dispatcher(app.backend, app.notifier, pushers or {})
            web_app[STOP] = stop
            web_app[TASKS] = [asyncio.create_task(timer_worker(app.backend, stop), name="timers"),
                                asyncio.create_task(dispatcher.run(stop), name="dispatcher")]

        async def stop(_: web.Application) -> None:
            web_app[STOP].set()
            for t in web_app[TASKS]:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(t, 5)

        web_app.on_startup.append(start)
        web_app.on_cleanup.append(stop)
    return web_app


def _ping(app: App) -> None:
    with app.backend.db.engine.connect() as c:
        c.execute(text("SELECT 1"))
