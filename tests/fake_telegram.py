"""A fake Telegram Bot API server on 127.0.0.1 that speaks the real HTTP protocol.

The real libraries (python-telegram-bot, aiogram) talk to it through their configurable API base URL.
Tests play the users: they queue updates (messages, contacts, photos, documents, button taps), read what
the bots sent (texts, uploaded files, edits) and inject failures (429 with retry_after, 403 blocked, 400).
Files users send are served by getFile and the /file/bot<token>/<path> download route, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

JSON_KEYS = {"reply_markup", "allowed_updates", "entities"}
INT_KEYS = {"chat_id", "offset", "limit", "timeout", "message_id"}


@dataclass
class BotState:
    token: str
    username: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: tuple[str, str | None] | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)  # every successful call that sends or edits
    calls: list[str] = field(default_factory=list)
    failures: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id → (file_path, bytes)
    downloads: list[str] = field(default_factory=list)  # file paths fetched through the download route
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (chat, id) → current
    uneditable: set[int] = field(default_factory=set)  # chats whose messages Telegram refuses to edit
    new_update: asyncio.Event = field(default_factory=asyncio.Event)
    # The client port of every getUpdates call: which process polls (tests/scale/test_election.py).
    poll_ports: list[int] = field(default_factory=list)
    acked: int = 0


class FakeTelegram:
    def __init__(self) -> None:
        self.bots: dict[str, BotState] = {}
        self._ids = itertools.count(1000)
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self.handle)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        self.runner: web.AppRunner | None = None
        self.base = ""
        self.webhook_status: list[int] = []

    def add_bot(self, token: str, username: str) -> BotState:
        self.bots[token] = BotState(token, username)
        return self.bots[token]

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # --- the Bot API ----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        bot = self.bots.get(request.match_info["token"])
        if bot is None:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await _params(request)
        bot.calls.append(method)
        if method == "getUpdates" and request.transport is not None:
            bot.poll_ports.append(request.transport.get_extra_info("peername")[1])
        fails = bot.failures.get(method)
        if fails:
            code, retry_after = fails.pop(0)
            body: dict[str, Any] = {"ok": False, "error_code": code,
                                    "description": "Too Many Requests: retry after 1" if code == 429 else "error"}
            if retry_after is not None:
                body["parameters"] = {"retry_after": retry_after}
            return web.json_response(body, status=code)
        sending = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup")
        if method in sending and int(params.get("chat_id", 0)) in bot.blocked:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"}, status=403)
        result = await getattr(self, f"m_{method}", self.m_unknown)(bot, params)
        return web.json_response({"ok": True, "result": result})

    async def m_unknown(self, bot: BotState, params: dict[str, Any]) -> Any:
        return True

    async def m_getMe(self, bot: BotState, params: dict[str, Any]) -> Any:
        return {"id": abs(hash(bot.token)) % 10**9, "is_bot": True, "first_name": bot.username,
                "username": bot.username, "can_join_groups": False, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def m_getUpdates(self, bot: BotState, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        if offset:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while not bot.updates and time.monotonic() < deadline:
            bot.new_update.clear()
            try:
                await asyncio.wait_for(bot.new_update.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
        return bot.updates[: int(params.get("limit") or 100)]

    async def m_setWebhook(self, bot: BotState, params: dict[str, Any]) -> Any:
        bot.webhook = (params["url"], params.get("secret_token"))
        return True

    async def m_deleteWebhook(self, bot: BotState, params: dict[str, Any]) -> Any:
        bot.webhook = None
        return True

    async def m_getWebhookInfo(self, bot: BotState, params: dict[str, Any]) -> Any:
        return {"url": bot.webhook[0] if bot.webhook else "", "has_custom_certificate": False,
                "pending_update_count": 0}

    async def m_sendMessage(self, bot: BotState, params: dict[str, Any]) -> Any:
        msg = {"message_id": next(self._ids), "date": int(time.time()),
               "chat": {"id": int(params["chat_id"]), "type": "private"},
               "from": {"id": 1, "is_bot": True, "first_name": bot.username}, "text": params.get("text", "")}
        bot.sent.append({"method": "sendMessage", **params, "message_id": msg["message_id"]})
        bot.messages[(int(params["chat_id"]), msg["message_id"])] = {
            "text": msg["text"], "reply_markup": params.get("reply_markup")}
        return msg

    async def m_sendPhoto(self, bot: BotState, params: dict[str, Any]) -> Any:
        return self._upload(bot, "sendPhoto", "photo", params)

    async def m_sendDocument(self, bot: BotState, params: dict[str, Any]) -> Any:
        return self._upload(bot, "sendDocument", "document", params)

    def _upload(self, bot: BotState, method: str, key: str, params: dict[str, Any]) -> Any:
        """A file uploaded as multipart (the only way a file from storage can reach a chat)."""
        up = params.get(key)
        if not isinstance(up, dict):
            raise web.HTTPBadRequest(text=f"{key} must be an uploaded file in this fake")
        msg = {"message_id": next(self._ids), "date": int(time.time()),
               "chat": {"id": int(params["chat_id"]), "type": "private"},
               "from": {"id": 1, "is_bot": True, "first_name": bot.username}}
        file_id = f"up{msg['message_id']}"
        if key == "photo":
            msg["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1,
                             "file_size": len(up["data"])}]
        else:
            msg["document"] = {"file_id": file_id, "file_unique_id": file_id, "file_name": up["filename"],
                               "file_size": len(up["data"])}
        bot.sent.append({"method": method, **params, "message_id": msg["message_id"]})
        return msg

    async def m_editMessageText(self, bot: BotState, params: dict[str, Any]) -> Any:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        current = bot.messages.get(key)
        if current is None:
            raise _bad_request("Bad Request: message to edit not found")
        if key[0] in bot.uneditable:
            raise _bad_request("Bad Request: message can't be edited")
        markup = params.get("reply_markup")
        if current["text"] == params.get("text") and current["reply_markup"] == markup:
            raise _bad_request("Bad Request: message is not modified")
        bot.messages[key] = {"text": params.get("text", ""), "reply_markup": markup}  # no markup: none left
        bot.sent.append({"method": "editMessageText", **params})
        return {"message_id": key[1], "date": int(time.time()), "chat": {"id": key[0], "type": "private"},
                "text": params.get("text", "")}

    async def m_getFile(self, bot: BotState, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in bot.files:
            raise _bad_request("Bad Request: invalid file_id")
        path, data = bot.files[file_id]
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data), "file_path": path}

    async def download(self, request: web.Request) -> web.Response:
        bot = self.bots.get(request.match_info["token"])
        path = request.match_info["path"]
        found = next((data for p, data in (bot.files.values() if bot else ()) if p == path), None)
        if found is None:
            return web.Response(status=404, text="Not Found")
        bot.downloads.append(path)  # type: ignore[union-attr]
        return web.Response(body=found, content_type="application/octet-stream")

    async def m_editMessageReplyMarkup(self, bot: BotState, params: dict[str, Any]) -> Any:
        bot.sent.append({"method": "editMessageReplyMarkup", **params})
        return True

    async def m_answerCallbackQuery(self, bot: BotState, params: dict[str, Any]) -> Any:
        bot.sent.append({"method": "answerCallbackQuery", **params})
        return True

    # --- playing the users ----------------------------------------------------------------------
    def _user(self, chat_id: int, lang: str) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": f"user{chat_id}", "language_code": lang}

    def _message(self, chat_id: int, lang: str, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._ids), "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                "from": self._user(chat_id, lang), **content}

    async def send_text(self, token: str, chat_id: int, text: str, lang: str = "zh") -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self.deliver(token, {"message": self._message(chat_id, lang, **content)})

    async def send_contact(self, token: str, chat_id: int, phone: str, lang: str = "zh") -> dict[str, Any]:
        contact = {"phone_number": phone, "first_name": "me", "user_id": chat_id}
        return await self.deliver(token, {"message": self._message(chat_id, lang, contact=contact)})

    def _file(self, bot: BotState, data: bytes, suffix: str) -> str:
        file_id = f"f{next(self._ids)}"
        bot.files[file_id] = (f"documents/{file_id}{suffix}", data)
        return file_id

    async def send_photo(self, token: str, chat_id: int, data: bytes, caption: str | None = None,
                         lang: str = "zh", file_size: int | None = None) -> dict[str, Any]:
        """A photo as Telegram delivers it: sizes (a thumbnail and the full one) with file ids to fetch."""
        bot = self.bots[token]
        thumb, full = self._file(bot, data[: max(1, len(data) // 4)], ".jpg"), self._file(bot, data, ".jpg")
        sizes = [{"file_id": thumb, "file_unique_id": thumb, "width": 90, "height": 90,
                  "file_size": max(1, len(data) // 4)},
                 {"file_id": full, "file_unique_id": full, "width": 1280, "height": 960,
                  "file_size": file_size if file_size is not None else len(data)}]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return await self.deliver(token, {"message": self._message(chat_id, lang, **content)})

    async def send_document(self, token: str, chat_id: int, data: bytes, filename: str, mime_type: str,
                            caption: str | None = None, lang: str = "zh",
                            file_size: int | None = None) -> dict[str, Any]:
        bot = self.bots[token]
        file_id = self._file(bot, data, "")
        doc = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename, "mime_type": mime_type,
               "file_size": file_size if file_size is not None else len(data)}
        content: dict[str, Any] = {"document": doc}
        if caption:
            content["caption"] = caption
        return await self.deliver(token, {"message": self._message(chat_id, lang, **content)})

    async def tap(self, token: str, chat_id: int, callback_data: str, lang: str = "zh") -> dict[str, Any]:
        query = {"id": str(next(self._ids)), "from": self._user(chat_id, lang), "chat_instance": "1",
                 "data": callback_data, "message": self._message(chat_id, lang, text="card")}
        return await self.deliver(token, {"callback_query": query})

    async def deliver(self, token: str, update: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        bot = self.bots[token]
        update = {"update_id": update_id or next(self._ids), **update}
        if bot.webhook:
            url, secret = bot.webhook
            await self.post_webhook(url, update, secret)
        else:
            bot.updates.append(update)
            bot.new_update.set()
        return update

    async def post_webhook(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with ClientSession() as s, s.post(url, json=update, headers=headers) as r:
            self.webhook_status.append(r.status)
            return r.status

    # --- what the bots did ----------------------------------------------------------------------
    def texts(self, token: str, chat_id: int) -> list[str]:
        return [m["text"] for m in self.bots[token].sent
                if m["method"] == "sendMessage" and int(m["chat_id"]) == chat_id]

    def buttons(self, token: str, chat_id: int) -> list[tuple[str, str]]:
        """(title, callback_data) of the inline keyboard most recently sent to the chat."""
        for m in reversed(self.bots[token].sent):
            if m["method"] == "sendMessage" and int(m["chat_id"]) == chat_id and m.get("reply_markup"):
                kb = m["reply_markup"].get("inline_keyboard")
                if kb:
                    return [(b["text"], b["callback_data"]) for row in kb for b in row]
        return []

    def uploads(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """Files a bot uploaded to the chat: {"method", "filename", "content_type", "data", "caption"}."""
        out = []
        for m in self.bots[token].sent:
            if m["method"] in ("sendPhoto", "sendDocument") and int(m["chat_id"]) == chat_id:
                up = m["photo" if m["method"] == "sendPhoto" else "document"]
                out.append({"method": m["method"], **up, "caption": m.get("caption")})
        return out

    def edits(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.bots[token].sent if m["method"] == "editMessageText" and int(m["chat_id"]) == chat_id]

    def message(self, token: str, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A sent message as the chat shows it now (after edits): {"text", "reply_markup"}."""
        return self.bots[token].messages.get((chat_id, message_id))

    def fail(self, token: str, method: str, code: int, times: int, retry_after: int | None = None) -> None:
        self.bots[token].failures.setdefault(method, []).extend([(code, retry_after)] * times)

    async def wait_for(self, token: str, chat_id: int, needle: str, timeout: float = 15.0, after: int = 0) -> str:
        """The first text to chat_id (from index `after`) containing needle; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.texts(token, chat_id)[after:]:
                if needle in t:
                    return t
            await asyncio.sleep(0.05)
        raise AssertionError(f"no message with {needle!r} to {chat_id}; got {self.texts(token, chat_id)[after:]}")


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        raw = await request.json() if request.can_read_body else {}
    else:
        raw = dict(await request.post()) if request.can_read_body else {}
        raw.update(request.query)
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if hasattr(v, "file"):
            if getattr(v, "filename", None):  # an uploaded file: kept as bytes for the test to compare
                v = {"filename": v.filename, "content_type": v.content_type, "data": v.file.read()}
            else:  # a multipart field that is not a file is read as text
                v = v.file.read().decode()
        if isinstance(v, str) and k in JSON_KEYS:
            with contextlib.suppress(json.JSONDecodeError):
                v = json.loads(v)
        elif isinstance(v, str) and k in INT_KEYS:
            with contextlib.suppress(ValueError):
                v = int(v)
        out[k] = v
    for k, v in list(out.items()):  # aiogram names an upload "attach://<field>" and sends it in <field>
        if isinstance(v, str) and v.startswith("attach://") and isinstance(out.get(v[9:]), dict):
            out[k] = out.pop(v[9:])
    return out


def _bad_request(description: str) -> web.HTTPException:
    return web.HTTPBadRequest(text=json.dumps({"ok": False, "error_code": 400, "description": description}),
                              content_type="application/json")
