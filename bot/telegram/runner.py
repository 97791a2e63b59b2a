"""Starting and stopping both Telegram bots inside `frontdesk serve`."""

from __future__ import annotations

from aiohttp import web

from bot.bootstrap import App
from bot.telegram.client_bot import CHANNEL as CLIENT_CHANNEL
from bot.telegram.client_bot import ClientBot
from bot.telegram.common import CallbackRefs, RateLimiter
from bot.telegram.staff_bot import CHANNEL as STAFF_CHANNEL
from bot.telegram.staff_bot import StaffBot
from bot.workers import Pusher


class TelegramChannels:
    def __init__(self, app: App) -> None:
        cfg = app.settings.telegram
        self.cfg = cfg
        refs = CallbackRefs(app.backend.db.engine)
        limiter = RateLimiter(cfg.per_chat_interval, cfg.per_second)
        self.client = ClientBot(app.desk, cfg, refs, limiter) if cfg.client_token else None
        self.staff = StaffBot(app.desk, cfg, refs, limiter) if cfg.staff_token else None
        if cfg.mode == "webhook" and not (cfg.webhook_base_url and cfg.webhook_secret):
            raise ValueError("webhook mode needs FRONTDESK_TELEGRAM__WEBHOOK_BASE_URL and "
                             "FRONTDESK_TELEGRAM__WEBHOOK_SECRET")

    @property
    def pushers(self) -> dict[str, Pusher]:
        out: dict[str, Pusher] = {}
        if self.client:
            out[CLIENT_CHANNEL] = self.client.push
        if self.staff:
            out[STAFF_CHANNEL] = self.staff.push
        return out

    def routes(self, web_app: web.Application) -> None:
        if self.cfg.mode != "webhook":
            return
        if self.client:
            web_app.router.add_post("/telegram/client", self.client.webhook)
        if self.staff:
            self.staff.register_webhook(web_app)

    async def start(self) -> None:
        for bot in (self.client, self.staff):
            if bot:
                await bot.start()

    async def stop(self) -> None:
        for bot in (self.client, self.staff):
            if bot:
                await bot.stop()
