"""REST channel in Rasa's format, plus proactive messages by long-poll or server-sent events.

    POST /webhooks/rest/webhook   {"sender": "...", "message": "...", "message_id"?: "..."}
                                  → [{"recipient_id": "...", "text": "...", "buttons"?: [...]}]
    GET  /webhooks/rest/messages?sender=...&wait=25     long-poll for proactive messages
    GET  /webhooks/rest/stream?sender=...               the same as server-sent events
    GET  /health

The same channel serves a website chat widget, and staff (their roster token is their sender id).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from dialogs.desk import FrontDesk
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
MAX_TEXT = 4096
POLL_INTERVAL = 0.25


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _out(recipient: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"recipient_id": recipient, **r} for r in replies]


def _sender(request: web.Request) -> str | None:
    s = request.query.get("sender", "")
    return s if 0 < len(s) <= 128 else None


class RestChannel:
    name = "rest"

    def __init__(self, desk: FrontDesk) -> None:
        self.desk = desk

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/webhooks/rest/webhook", self.receive)
        app.router.add_get("/webhooks/rest/messages", self.long_poll)
        app.router.add_get("/webhooks/rest/stream", self.stream)

    async def receive(self, request: web.Request) -> web.Response:
        if request.content_length and request.content_length > MAX_BODY:
            return _error(413, f"body over {MAX_BODY} bytes")
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            return _error(400, "body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        sender, text = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not 0 < len(sender) <= 128:
            return _error(400, "sender must be a string of 1 to 128 characters")
        if not isinstance(text, str):
            return _error(400, "message must be a string")
        if len(text) > MAX_TEXT:
            return _error(413, f"message over {MAX_TEXT} characters")
        mid = body.get("message_id")
        msg = IncomingMessage("rest", sender, text, message_id=str(mid) if mid is not None else None,
                              lang_hint=body.get("lang") if isinstance(body.get("lang"), str) else None)
        return web.json_response(_out(sender, await self.desk.handle(msg)), dumps=_dumps)

    async def long_poll(self, request: web.Request) -> web.Response:
        sender = _sender(request)
        if sender is None:
            return _error(400, "sender query parameter required (1 to 128 characters)")
        try:
            wait = min(max(float(request.query.get("wait", "25")), 0.0), 60.0)
        except ValueError:
            return _error(400, "wait must be a number of seconds")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            msgs = await self.desk.pull("rest", sender)
            if msgs or loop.time() >= deadline:
                return web.json_response(_out(sender, msgs), dumps=_dumps)
            await asyncio.sleep(POLL_INTERVAL)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        sender = _sender(request)
        if sender is None:
            return _error(400, "sender query parameter required (1 to 128 characters)")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        try:
            while True:
                for m in await self.desk.pull("rest", sender):
                    await resp.write(f"data: {_dumps({'recipient_id': sender, **m})}\n\n".encode())
                await resp.write(b": keep-alive\n\n")
                await asyncio.sleep(1.0)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
