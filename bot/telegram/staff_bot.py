"""The staff bot for housekeepers and managers, on aiogram 3: one Router, handlers that translate.

Only people bound to the roster through a one-time invite link get anything but a polite refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from backend.services import DomainError
from bot.telegram.common import (
    EXTENSIONS,
    CallbackRefs,
    PolledBot,
    Poller,
    RateLimiter,
    Verdict,
    keyboard_rows,
    send_reply,
    split_text,
    with_retries,
)
from bot.workers import Permanent
from config.settings import TelegramSettings
from dialogs.desk import FrontDesk
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
CHANNEL = "telegram_staff"
INLINE_RETRIES = 8
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")  # what sendPhoto shows inline


class StaffBot(PolledBot):
    def __init__(self, desk: FrontDesk, cfg: TelegramSettings, refs: CallbackRefs, limiter: RateLimiter) -> None:
        self.desk, self.cfg, self.refs, self.limiter = desk, cfg, refs, limiter
        session = AiohttpSession(api=TelegramAPIServer.from_base(cfg.api_base))
        self.bot = Bot(cfg.staff_token or "", session=session)
        self.dp = Dispatcher()
        self.router = Router(name="staff")
        self.router.message.register(self.on_start, CommandStart())
        self.router.callback_query.register(self.on_button)
        self.router.message.register(self.on_message, F.text)
        self.dp.include_router(self.router)
        self._webhook_cleared = False
        # One chat at a time in update order, as aiogram's handle_as_tasks=False did (see _fetch).
        self._poller = Poller("staff-polling", self._fetch, self._process, lambda u: 0)

    # --- life cycle -----------------------------------------------------------------------------
    def register_webhook(self, app: web.Application) -> None:
        # aiogram's handler checks the X-Telegram-Bot-Api-Secret-Token header itself.
        ShieldedRequestHandler(self.dp, self.bot, handle_in_background=False,
                               secret_token=self.cfg.webhook_secret).register(app, path="/telegram/staff")

    def limit_senders(self, limits: Any) -> None:
        """Count updates per chat before any handler (outer middleware: after the secret check, in
        webhook and polling mode alike); beyond the limit the chat hears "slow down" once per window."""
        async def guard(handler: Any, event: Any, data: dict[str, Any]) -> Any:
            chat = data.get("event_chat")
            if chat is None or await limits.allow("platform_per_sender", CHANNEL, str(chat.id)):
                return await handler(event, data)
            if await limits.first_refusal("platform_per_sender", CHANNEL, str(chat.id)):
                user = data.get("event_from_user")
                lang = "en" if user is not None and (user.language_code or "").startswith("en") else "zh"
                with contextlib.suppress(Exception):
                    await self.send(chat.id, self.desk.notifier.text("utter_slow_down", lang))
            return None

        self.dp.update.outer_middleware(guard)

    async def start(self) -> None:
        """Ready to send (and, in webhook mode, to receive); polling is started apart, by the worker
        elected to poll (bot/telegram/runner.py)."""
        if self.cfg.mode == "webhook":
            await self.bot.set_webhook(f"{self.cfg.webhook_base_url}/telegram/staff",
                                       secret_token=self.cfg.webhook_secret)

    async def stop(self) -> None:
        await self.stop_polling()
        await self.bot.session.close()

    async def _fetch(self, offset: int | None) -> list[Update]:
        """One getUpdates long-poll; [] after an error. Our own loop rather than aiogram's
        start_polling: aiogram cancels the update being handled when polling stops, and a turn cut
        between its commit and its reply would lose the reply (the update read again by the next
        poller is dropped as a duplicate). Updates go through the dispatcher as aiogram's would."""
        try:
            if not self._webhook_cleared:
                await self.bot.delete_webhook()
                self._webhook_cleared = True
            return list(await self.bot.get_updates(offset=offset, timeout=self.cfg.polling_timeout,
                                                   request_timeout=self.cfg.polling_timeout + 10))
        except TelegramRetryAfter as e:
            await asyncio.sleep(float(e.retry_after))
        except TelegramAPIError as e:
            log.warning("staff bot: getUpdates failed (%s); retrying", type(e).__name__)
            await asyncio.sleep(1.0)
        return []

    async def _process(self, update: Update) -> None:
        await self.dp.feed_update(self.bot, update)

    async def username(self) -> str:
        return self.cfg.staff_bot_username or (await self.bot.get_me()).username or "staff_bot"

    # --- handlers -------------------------------------------------------------------------------
    async def on_start(self, message: Message, command: CommandObject) -> None:
        chat = str(message.chat.id)
        if command.args:
            person = await asyncio.to_thread(self.desk.be.redeem_invite, command.args.strip(), CHANNEL, chat)
            if person is not None:
                await self.send(message.chat.id, self.desk.notifier.text("staff_welcome", person.lang,
                                                                         name=person.name), INLINE_RETRIES)
        await self._turn(message.chat.id, "/help", _message_key(message), _lang(message))

    async def on_message(self, message: Message) -> None:
        await self._turn(message.chat.id, message.text or "", _message_key(message), _lang(message))

    async def on_button(self, query: CallbackQuery) -> None:
        payload = await asyncio.to_thread(self.refs.resolve, query.data)
        await query.answer()
        if payload is None or query.message is None:
            return
        replies = await self._turn(query.message.chat.id, payload, f"c{query.id}", "zh", send=False)
        if replies is not None and _succeeded(payload, replies):
            with contextlib.suppress(TelegramAPIError):
                await query.message.edit_reply_markup(reply_markup=None)  # the offer card cannot be tapped twice
        for r in replies or []:
            await self.send(query.message.chat.id, r, INLINE_RETRIES)

    async def _turn(self, chat_id: int, text: str, message_id: str, lang: str,
                    send: bool = True) -> list[dict[str, Any]] | None:
        replies = await self.desk.handle_staff(IncomingMessage(CHANNEL, str(chat_id), text, message_id=message_id))
        if replies is None:  # not on the roster: a polite refusal and nothing more
            replies = [self.desk.notifier.text("staff_stranger", lang)]
        if send:
            for r in replies:
                await self.send(chat_id, r, INLINE_RETRIES)
        return replies

    # --- sending --------------------------------------------------------------------------------
    def _markup(self, reply: dict[str, Any]) -> InlineKeyboardMarkup | None:
        if not reply.get("buttons"):
            return None
        rows = keyboard_rows(reply["buttons"], self.refs)
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row]
                                                     for row in rows])

    async def send(self, chat_id: int | str, reply: dict[str, Any], inline_retries: int = 0) -> str:
        """Send one reply (split if long, then its files); returns "chat:message_id" of the text's last
        part, the message a later card may edit."""
        markup = await asyncio.to_thread(self._markup, reply)
        sent: list[int] = []

        async def part(text: str, kb: Any) -> None:
            async def once() -> None:
                await self.limiter.wait(("staff", chat_id))
                m = await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=kb)
                sent.append(m.message_id)

            await with_retries(once, _classify, inline_retries)

        await send_reply(reply.get("text", ""), markup, part)
        for f in reply.get("files") or []:
            await self.upload(chat_id, f, inline_retries)
        return f"{chat_id}:{sent[-1]}" if sent else ""

    async def upload(self, chat_id: int | str, file: dict[str, Any], inline_retries: int = 0) -> None:
        """A case file from storage (never a platform file id: those belong to the bot that got them).
        Photos Telegram shows inline go as photos, anything else (HEIC, PDF, video) as a document."""
        try:
            meta, data = await asyncio.to_thread(self.desk.be.attachment, int(file["id"]))
        except DomainError:
            return  # erased or pruned since the card was written: the card's line says it existed
        name = meta.get("filename") or f"case-file-{meta['id']}{EXTENSIONS.get(meta['content_type'], '')}"
        upload = BufferedInputFile(data, filename=name)

        async def once() -> None:
            await self.limiter.wait(("staff", chat_id))
            if meta["content_type"] in PHOTO_TYPES:
                await self.bot.send_photo(chat_id=chat_id, photo=upload)
            else:
                await self.bot.send_document(chat_id=chat_id, document=upload)

        await with_retries(once, _classify, inline_retries)

    async def push(self, external_id: str, reply: dict[str, Any], edit_ref: str | None = None) -> str:
        """Outbox delivery. With ``edit_ref`` (the card this row replaces, delivered to this chat) the old
        message is edited in place, text and buttons, so no stale keyboard is left behind; when Telegram
        refuses the edit (too old, deleted, too long) a new message goes out instead."""
        if edit_ref and not reply.get("files") and len(split_text(reply.get("text", ""))) == 1:
            edited = await self._edit(edit_ref, reply)
            if edited:
                return edited
        return await self.send(int(external_id), reply)

    async def _edit(self, ref: str, reply: dict[str, Any]) -> str | None:
        chat, _, message = ref.partition(":")
        markup = await asyncio.to_thread(self._markup, reply)

        async def once() -> None:
            await self.limiter.wait(("staff", chat))
            try:
                await self.bot.edit_message_text(chat_id=int(chat), message_id=int(message),
                                                 text=reply.get("text") or " ", reply_markup=markup)
            except TelegramBadRequest as e:
                if "not modified" not in str(e):  # the same card again is an edit that already happened
                    raise

        try:
            await with_retries(once, _classify, 0)
        except Permanent:
            log.info("staff bot: a card could not be edited; sending it as a new message")
            return None
        return ref


class ShieldedRequestHandler(SimpleRequestHandler):
    """Telegram hanging up must not cancel a half-done turn: each update runs in its own task."""

    async def handle(self, request: web.Request) -> web.Response:
        return await asyncio.shield(asyncio.ensure_future(super().handle(request)))


def _classify(e: Exception) -> Verdict | None:
    if isinstance(e, TelegramRetryAfter):
        return "wait", float(e.retry_after)
    if isinstance(e, TelegramForbiddenError):
        return "unreachable", None
    if isinstance(e, TelegramBadRequest):
        return "refused", None
    if isinstance(e, TelegramNetworkError | TelegramServerError):
        return "network", None
    return None


def _message_key(message: Message) -> str:
    """Telegram numbers messages per chat, so the chat is part of the key that drops duplicates."""
    return f"m{message.chat.id}:{message.message_id}"


def _lang(message: Message) -> str:
    code = (message.from_user.language_code or "") if message.from_user else ""
    return "en" if code.startswith("en") else "zh"


def _succeeded(payload: str, replies: list[dict[str, Any]]) -> bool:
    """A tap that did something (accepted, declined, acknowledged …) retires its keyboard."""
    return bool(replies) and payload.startswith(("/accept_offer", "/decline_offer", "/arrived", "/finished",
                                                 "/acknowledge", "/resolve", "/take_over"))
