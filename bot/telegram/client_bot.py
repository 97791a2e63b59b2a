"""The client bot, on python-telegram-bot: translates updates to IncomingMessage and replies back.

Handlers only translate (python-telegram-bot's examples' style); the dialogue lives in dialogs/.
Webhook updates are checked against the secret token and fed through the application.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
)
from telegram.ext import filters as F

from bot.telegram.common import (
    CallbackRefs,
    RateLimiter,
    Verdict,
    keyboard_rows,
    retry_seconds,
    send_reply,
    with_retries,
)
from config.settings import TelegramSettings
from dialogs.desk import FrontDesk
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
CHANNEL = "telegram"
INLINE_RETRIES = 8


def deep_link(param: str) -> str:
    """/start parameters: book_<service> opens a booking, anything else greets."""
    if param.startswith("book_"):
        return "/book_service" + json.dumps({"service_type": param[5:64]})
    if param.startswith("booking_"):
        return "/check_booking"
    return "/greet"


class ClientBot:
    def __init__(self, desk: FrontDesk, cfg: TelegramSettings, refs: CallbackRefs, limiter: RateLimiter) -> None:
        self.desk, self.cfg, self.refs, self.limiter = desk, cfg, refs, limiter
        builder = (ApplicationBuilder().token(cfg.client_token or "")
                   .base_url(f"{cfg.api_base}/bot").base_file_url(f"{cfg.api_base}/file/bot"))
        if cfg.mode == "webhook":
            builder = builder.updater(None)
        self.app: Application = builder.build()
        self.app.add_handler(CommandHandler("start", self.on_start))
        self.app.add_handler(CommandHandler("lang", self.on_lang))
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(F.CONTACT, self.on_contact))
        self.app.add_handler(MessageHandler(F.TEXT, self.on_text))

    # --- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        if self.cfg.mode == "webhook":
            await self.app.bot.set_webhook(f"{self.cfg.webhook_base_url}/telegram/client",
                                           secret_token=self.cfg.webhook_secret)
        else:
            await self.app.updater.start_polling(timeout=self.cfg.polling_timeout, poll_interval=0.0)

    async def stop(self) -> None:
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.cfg.webhook_secret or not hmac.compare_digest(given, self.cfg.webhook_secret):
            log.warning("client webhook: wrong or missing secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not an update")
        await self.app.process_update(update)
        return web.Response(text="ok")

    # --- handlers -------------------------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = _lang_of(update)
        await self.desk.set_language(CHANNEL, str(update.effective_chat.id), lang)
        payload = deep_link(context.args[0]) if context.args else "/greet"
        await self._turn(update, payload)

    async def on_lang(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = str(update.effective_chat.id)
        wanted = (context.args[0].lower()[:2] if context.args else "")
        if wanted not in ("zh", "en"):
            profile = await asyncio.to_thread(self.desk.be.client_for, CHANNEL, chat, _lang_of(update))
            wanted = "en" if profile.lang == "zh" else "zh"
        await self.desk.set_language(CHANNEL, chat, wanted)
        await self._turn(update, "/greet")

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._turn(update, update.effective_message.text or "")

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        contact = update.effective_message.contact
        if contact.user_id and update.effective_user and contact.user_id != update.effective_user.id:
            return await self._turn(update, contact.phone_number)  # someone else's card: treated as typed text
        await self._turn(update, contact.phone_number, contact_phone=contact.phone_number)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = await asyncio.to_thread(self.refs.resolve, query.data)
        await query.answer()  # always answered, so the client's spinner stops
        if payload is None:
            return
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)  # one tap per keyboard
        await self._turn(update, payload)

    async def _turn(self, update: Update, text: str, contact_phone: str | None = None) -> None:
        chat = update.effective_chat.id
        msg = IncomingMessage(CHANNEL, str(chat), text, message_id=str(update.update_id), lang_hint=_lang_of(update),
                              contact_phone=contact_phone)
        for reply in await self.desk.handle(msg):
            await self.send(chat, reply, inline_retries=INLINE_RETRIES)

    # --- sending --------------------------------------------------------------------------------
    def _markup(self, reply: dict[str, Any]) -> Any:
        if reply.get("buttons"):
            rows = keyboard_rows(reply["buttons"], self.refs)
            return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows])
        custom = reply.get("custom") or {}
        if custom.get("request") == "phone":
            return ReplyKeyboardMarkup([[KeyboardButton(custom.get("button", "📱"), request_contact=True)]],
                                       one_time_keyboard=True, resize_keyboard=True)
        return ReplyKeyboardRemove() if reply.get("remove_keyboard") else None

    async def send(self, chat_id: int | str, reply: dict[str, Any], inline_retries: int = 0) -> None:
        """Send one reply, split if long. No parse mode is used, so user text needs no escaping.
        Raises Retry/Unreachable/Permanent for the outbox once inline retries are spent."""
        markup = await asyncio.to_thread(self._markup, reply)

        async def part(text: str, kb: Any) -> None:
            async def once() -> None:
                await self.limiter.wait(chat_id)
                await self.app.bot.send_message(chat_id, text, reply_markup=kb)

            await with_retries(once, _classify, inline_retries)

        await send_reply(reply.get("text", ""), markup, part)

    async def push(self, external_id: str, reply: dict[str, Any]) -> None:
        """Outbox delivery: no inline retries, the outbox retries durably with backoff."""
        await self.send(int(external_id), reply)


def _classify(e: Exception) -> Verdict | None:
    if isinstance(e, RetryAfter):
        return "wait", retry_seconds(e.retry_after)
    if isinstance(e, Forbidden):
        return "unreachable", None
    if isinstance(e, BadRequest):  # a subclass of NetworkError in python-telegram-bot: check it first
        return "refused", None
    if isinstance(e, NetworkError):
        return "network", None
    return None


def _lang_of(update: Update) -> str:
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    return "en" if code.startswith("en") else "zh"
