"""Starting and stopping both Telegram bots inside `frontdesk serve`.

Webhook mode: every worker answers webhooks. Polling mode: one process polls both bots. Without
REDIS_URL (one process) that is this process; with it, every worker campaigns for a Redis lease
(bot/election.py) and only the holder polls, so a worker that dies is replaced within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from aiohttp import web

from bot.bootstrap import App
from bot.election import Leadership
from bot.telegram.client_bot import CHANNEL as CLIENT_CHANNEL
from bot.telegram.client_bot import ClientBot
from bot.telegram.common import CallbackRefs, RateLimiter, SharedRateLimiter
from bot.telegram.staff_bot import CHANNEL as STAFF_CHANNEL
from bot.telegram.staff_bot import StaffBot
from bot.workers import Pusher

log = logging.getLogger(__name__)
LEASE_KEY = "frontdesk:poller:telegram"  # not "telegram:…": the log scrubber takes that for a chat


class TelegramChannels:
    def __init__(self, app: App) -> None:
        cfg = app.settings.telegram
        self.cfg = cfg
        refs = CallbackRefs(app.backend.db.engine)
        redis_url = app.settings.redis_url
        # Shared by all workers with REDIS_URL: N workers must not send N times Telegram's limits.
        limiter = (SharedRateLimiter(redis_url, cfg.per_chat_interval, cfg.per_second) if redis_url
                   else RateLimiter(cfg.per_chat_interval, cfg.per_second))
        self.limiter = limiter
        self.leadership = (Leadership.from_url(redis_url, LEASE_KEY, cfg.election_lease_seconds)
                           if redis_url and cfg.mode == "polling" else None)
        self._campaign: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
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

    @property
    def bots(self) -> list[ClientBot | StaffBot]:
        return [b for b in (self.client, self.staff) if b is not None]

    @property
    def polling(self) -> bool:
        return any(b.polling for b in self.bots)

    async def start(self) -> None:
        for bot in self.bots:
            await bot.start()
        if self.cfg.mode == "webhook":
            return
        if self.leadership is None:
            await self.start_polling()
            return
        self._stop.clear()
        self._campaign = asyncio.create_task(
            self.leadership.campaign(self.start_polling, self.stop_polling, self._stop), name="telegram-election")

    async def start_polling(self) -> None:
        if self.leadership is not None:  # among several workers, who polls matters to the engineer on call
            log.warning("worker %d polls Telegram", os.getpid())
        for bot in self.bots:
            bot.start_polling()

    async def stop_polling(self) -> None:
        if self.leadership is not None and self.polling:
            log.warning("worker %d stops polling Telegram", os.getpid())
        await asyncio.gather(*(bot.stop_polling() for bot in self.bots))

    async def stop(self) -> None:
        if self._campaign is not None:
            self._stop.set()  # the campaign stops polling and releases the lease for the next worker
            with contextlib.suppress(asyncio.CancelledError):
                await self._campaign
            self._campaign = None
        for bot in self.bots:
            await bot.stop()
        if self.leadership is not None:
            await self.leadership.close()
        if isinstance(self.limiter, SharedRateLimiter):
            await self.limiter.close()
