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
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
)
from telegram.ext import filters as F

from bot.telegram.common import (
    CallbackRefs,
    PolledBot,
    Poller,
    RateLimiter,
    Verdict,
    keyboard_rows,
    retry_seconds,
    send_reply,
    with_retries,
)
from config.settings import TelegramSettings
from dialogs.desk import FrontDesk
from dialogs.locks import ConversationBusy
from dialogs.messages import IncomingFile, IncomingMessage

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


class ClientBot(PolledBot):
    def __init__(self, desk: FrontDesk, cfg: TelegramSettings, refs: CallbackRefs, limiter: RateLimiter) -> None:
        self.desk, self.cfg, self.refs, self.limiter = desk, cfg, refs, limiter
        builder = (ApplicationBuilder().token(cfg.client_token or "")
                   .base_url(f"{cfg.api_base}/bot").base_file_url(f"{cfg.api_base}/file/bot"))
        # No library updater: a crash mid-turn must leave the update with Telegram (see Poller).
        builder = builder.updater(None)
        self.app: Application = builder.build()
        # No library updater: our own loop (Poller) confirms a batch only after its turns have finished.
        self._webhook_cleared = False
        self._poller = Poller("client-polling", self._fetch, self.app.process_update,
                              lambda u: u.effective_chat.id if u.effective_chat else u.update_id)
        self.app.add_handler(CommandHandler("start", self.on_start))
        self.app.add_handler(CommandHandler("lang", self.on_lang))
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(F.CONTACT, self.on_contact))
        self.app.add_handler(MessageHandler(F.PHOTO | F.Document.ALL | F.VIDEO, self.on_file))
        self.app.add_handler(MessageHandler(F.TEXT, self.on_text))

    def limit_senders(self, limits: Any) -> None:
        """Count updates per chat before any handler (so before any database work), in webhook and
        polling mode alike; beyond the limit the chat hears "slow down" once per window."""
        async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is None or await limits.allow("platform_per_sender", CHANNEL, str(chat.id)):
                return
            if await limits.first_refusal("platform_per_sender", CHANNEL, str(chat.id)):
                with contextlib.suppress(Exception):
                    await self.send(chat.id, self.desk.notifier.text("utter_slow_down", _lang_of(update)))
            raise ApplicationHandlerStop

        self.app.add_handler(TypeHandler(Update, guard), group=-1)

    # --- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Ready to send (and, in webhook mode, to receive); polling is started apart, by the worker
        elected to poll (bot/telegram/runner.py)."""
        await self.app.initialize()
        await self.app.start()
        if self.cfg.mode == "webhook":
            await self.app.bot.set_webhook(f"{self.cfg.webhook_base_url}/telegram/client",
                                           secret_token=self.cfg.webhook_secret)

    async def stop(self) -> None:
        await self.stop_polling()
        await self.app.stop()
        await self.app.shutdown()

    async def _fetch(self, offset: int | None) -> list[Update]:
        """One getUpdates long-poll (the offset confirms the batch before it, see Poller); [] after an error."""
        try:
            if not self._webhook_cleared:  # Telegram refuses getUpdates while a webhook is set
                await self.app.bot.delete_webhook()
                self._webhook_cleared = True
            return list(await self.app.bot.get_updates(offset=offset, timeout=self.cfg.polling_timeout,
                                                       allowed_updates=Update.ALL_TYPES))
        except RetryAfter as e:
            await asyncio.sleep(retry_seconds(e.retry_after))
        except (NetworkError, TelegramError) as e:
            log.warning("client bot: getUpdates failed (%s); retrying", type(e).__name__)
            await asyncio.sleep(1.0)
        return []

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self.cfg.webhook_secret or not hmac.compare_digest(given, self.cfg.webhook_secret):
            log.warning("client webhook: wrong or missing secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not an update")
        # Telegram hanging up must not cancel a half-done turn: the update runs in its own task.
        await asyncio.shield(asyncio.ensure_future(self.app.process_update(update)))
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

    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, document or video (its caption is the text): fetched now, since its file id is only
        valid for this bot. Files over the size limit are refused without downloading them."""
        m = update.effective_message
        if m.photo:
            item, declared, name = m.photo[-1], "image/jpeg", None  # the largest size Telegram made
        elif m.video:
            item, declared, name = m.video, m.video.mime_type or "video/mp4", m.video.file_name
        else:
            item, declared, name = m.document, m.document.mime_type or "", m.document.file_name
        limits = self.desk.be.attachment_limits
        text = m.caption or ""
        if item.file_size and item.file_size > limits.max_bytes:
            return await self._turn(update, text, refused="too_large")
        try:
            tg_file = await item.get_file()
            data = bytes(await tg_file.download_as_bytearray())
        except BadRequest as e:  # Bot API refuses files over its own download limit (20 MB)
            log.info("client bot: a file could not be fetched (%s)", type(e).__name__)
            return await self._turn(update, text, refused="too_large")
        await self._turn(update, text, files=(IncomingFile(declared, data, name),))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = await asyncio.to_thread(self.refs.resolve, query.data)
        await query.answer()  # always answered, so the client's spinner stops
        if payload is None:
            return
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)  # one tap per keyboard
        await self._turn(update, payload)

    async def _turn(self, update: Update, text: str, contact_phone: str | None = None,
                    files: tuple[IncomingFile, ...] = (), refused: str | None = None) -> None:
        chat = update.effective_chat.id
        msg = IncomingMessage(CHANNEL, str(chat), text, message_id=str(update.update_id), lang_hint=_lang_of(update),
                              contact_phone=contact_phone, attachments=files,
                              metadata={"attachment_refused": refused} if refused else {})
        try:
            replies = await self.desk.handle(msg)
        except ConversationBusy:  # nothing of it was kept, and Telegram will not deliver it again: say so
            replies = [self.desk.notifier.text("utter_busy", _lang_of(update))]
        for reply in replies:
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

    async def send(self, chat_id: int | str, reply: dict[str, Any], inline_retries: int = 0) -> str:
        """Send one reply, split if long. No parse mode is used, so user text needs no escaping.
        Raises Retry/Unreachable/Permanent for the outbox once inline retries are spent. Returns
        "chat:message_id" of the last part."""
        markup = await asyncio.to_thread(self._markup, reply)
        sent: list[int] = []

        async def part(text: str, kb: Any) -> None:
            async def once() -> None:
                await self.limiter.wait(chat_id)
                m = await self.app.bot.send_message(chat_id, text, reply_markup=kb)
                sent.append(m.message_id)

            await with_retries(once, _classify, inline_retries)

        await send_reply(reply.get("text", ""), markup, part)
        return f"{chat_id}:{sent[-1]}" if sent else ""

    async def push(self, external_id: str, reply: dict[str, Any], edit_ref: str | None = None) -> str:
        """Outbox delivery: no inline retries, the outbox retries durably with backoff. Client messages
        are never edited in place (``edit_ref`` is ignored): a client reads them as a conversation."""
        return await self.send(int(external_id), reply)


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
