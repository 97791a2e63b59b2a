"""`frontdesk serve`: the HTTP app, the timer worker and the outbox dispatcher in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from bot import health
from bot.auth import Authenticator, SessionTokens, session_secret
from bot.bootstrap import App
from bot.inbox_worker import InboxWorker
from bot.longpoll import PollHub
from bot.ratelimit import ClientAddress, Limits
from bot.rest import MAX_BODY, RestChannel
from bot.workers import Dispatcher, Pusher, timer_worker

log = logging.getLogger(__name__)
STOP = web.AppKey("stop", asyncio.Event)
TASKS = web.AppKey("tasks", list)
TELEGRAM = web.AppKey("telegram", object)
INBOX = web.AppKey("inbox", InboxWorker)
WECHAT_OA = web.AppKey("wechat_oa", object)
LIMITS = web.AppKey("limits", Limits)
REST = web.AppKey("rest", RestChannel)
REST_PREFIX = "/webhooks/rest/"
CORS_HEADERS = "Authorization, Content-Type, X-Api-Key"


def event_loop() -> asyncio.AbstractEventLoop:
    """The served process's loop: uvloop where installed (every HTTP request, Redis call and long-poll runs
    on it; its loop and transports are C, not Python), asyncio's own elsewhere (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def make_app(app: App, pushers: dict[str, Pusher] | None = None, workers: bool = True,
             telegram: bool = True) -> web.Application:
    app.desk.engine.nlu.warm()
    cors = Cors(app.settings.auth.cors_origins)
    web_app = web.Application(client_max_size=MAX_BODY, middlewares=[cors.preflight, json_errors])
    web_app.on_response_prepare.append(cors.on_prepare)
    limits = Limits(app.settings.rate_limits, app.settings.redis_url)
    web_app[LIMITS] = limits
    web_app[REST] = rest(app, limits)
    web_app[REST].routes(web_app)
    tg = None
    cfg = app.settings.telegram
    if telegram and (cfg.client_token or cfg.staff_token):
        from bot.telegram.runner import TelegramChannels

        tg = TelegramChannels(app)
        for bot in (tg.client, tg.staff):
            if bot is not None:
                bot.limit_senders(limits)  # per platform sender, after the webhook secret; polling too
        tg.routes(web_app)
        pushers = {**tg.pushers, **(pushers or {})}
        web_app[TELEGRAM] = tg

    web_app[INBOX] = InboxWorker(app.desk)  # channels that acknowledge first accept() into it
    wx_cfg = app.settings.wechat
    if wx_cfg.app_id or wx_cfg.app_secret or wx_cfg.token:  # one missing of the three: a clear start-up error
        from bot.wechat.oa import CHANNEL as WECHAT
        from bot.wechat.oa import OAChannel

        oa = OAChannel(app, web_app[INBOX], limits)
        oa.routes(web_app)
        web_app[WECHAT_OA] = oa
        pushers = {WECHAT: oa.push, **(pushers or {})}

        async def close_wechat(_: web.Application) -> None:
            await oa.close()

        web_app.on_cleanup.append(close_wechat)
    if app.settings.wecom.corp_id:
        from bot.wechat.wecom import WeComChannel

        wecom = WeComChannel(app, limits=limits)
        wecom.routes(web_app)
        pushers = {**wecom.pushers, **(pushers or {})}

        async def close_wecom(_: web.Application) -> None:
            await wecom.close()

        web_app.on_cleanup.append(close_wecom)

    health.add_routes(web_app, app.backend.db.engine, app.settings.redis_url)  # GET /health, GET /live

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
                                asyncio.create_task(dispatcher.run(stop), name="dispatcher"),
                                asyncio.create_task(web_app[INBOX].run(stop), name="inbox")]

        async def stop(_: web.Application) -> None:
            web_app[STOP].set()
            for t in web_app[TASKS]:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(t, 5)

        web_app.on_startup.append(start)
        web_app.on_cleanup.append(stop)
    return web_app


def rest(app: App, limits: Limits) -> RestChannel:
    """The REST channel with its gatekeepers: signed sessions, API key, staff tokens, limits."""
    from backend.orm import Encrypted

    cfg = app.settings.auth
    if Encrypted.cipher is None:
        raise RuntimeError("the data key must be loaded before the REST channel is built")
    secret = session_secret(cfg, app.settings.environment, Encrypted.cipher.digest)
    tokens = SessionTokens(secret, cfg.session_days, cfg.stream_token_seconds, lambda: app.backend.now)
    auth = Authenticator(cfg, tokens, app.backend.staff_by_token)
    return RestChannel(app.desk, auth, limits, ClientAddress(cfg.trusted_proxies), PollHub(app.backend.db.engine))


class Cors:
    """Browsers may call the REST channel only from the configured origins; others get no CORS headers
    (so a page elsewhere cannot read a reply). Headers are added as a response is prepared, so
    server-sent events get them too; preflights are answered before any handler runs."""

    def __init__(self, origins: list[str]) -> None:
        self.allowed = set(origins)

    def origin(self, request: web.Request) -> str | None:
        origin = request.headers.get("Origin")
        return origin if request.path.startswith(REST_PREFIX) and origin in self.allowed else None

    @web.middleware
    async def preflight(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method != "OPTIONS" or not request.path.startswith(REST_PREFIX):
            return await handler(request)
        origin = self.origin(request)
        if origin is None:
            return web.Response(status=403)
        return web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600"})

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = self.origin(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "X-Session-Token, X-Session-Expires, Retry-After"
        if request.path.startswith(REST_PREFIX):
            response.headers.add("Vary", "Origin")


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """On the REST channel every refusal is JSON, and an unexpected failure never echoes exception text."""
    if not request.path.startswith(REST_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return web.json_response({"error": e.reason}, status=e.status)
    except Exception:
        log.exception("REST request failed: %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)
