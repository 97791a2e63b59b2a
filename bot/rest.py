"""REST channel in Rasa's format, plus proactive messages by long-poll or server-sent events.

    POST /webhooks/rest/session        {} → {"sender", "token", "expires_at"}       (public clients)
    POST /webhooks/rest/stream-token   {} → {"sender", "token", "expires_at"}       (for EventSource)
    POST /webhooks/rest/webhook        {"sender"?, "message", "message_id"?, "lang"?}
                                       → [{"recipient_id", "text", "buttons"?}]
    GET  /webhooks/rest/messages?wait=25&ack=1,2     long-poll for proactive messages
    GET  /webhooks/rest/stream[?token=s1.…]          the same as server-sent events
    POST /webhooks/rest/ack            {"ids": [1, 2]}                             delivered

Every call is authenticated (bot/auth.py) and rate limited (bot/ratelimit.py) before anything touches the
database. POSTs must be application/json, so a cross-site "simple" request cannot reach a turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, TypeVar

from aiohttp import web

from bot.auth import SESSION, STREAM, Authenticator, AuthError, Caller, SessionTokens
from bot.longpoll import PollHub
from bot.ratelimit import ClientAddress, Limits
from dialogs.desk import FrontDesk
from dialogs.locks import ConversationBusy
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
MAX_TEXT = 4096
MAX_ID = 128
MAX_WAIT = 60.0
MAX_ACK = 200
KEEP_ALIVE = 15.0
HANG_UP_CHECK = 1.0  # seconds between looks at the connection while a poll waits
CHANNEL = "rest"
SESSION_HEADER = "X-Session-Token"
R = TypeVar("R", bound=web.StreamResponse)


class Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _out(recipient: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"recipient_id": recipient, **r} for r in replies]


def valid_text(s: str) -> bool:
    """No lone surrogates (they cannot be stored or sent as UTF-8) and no control characters but
    tab and line breaks (NUL cannot be stored in PostgreSQL text, and none of them is typed by people)."""
    return not any(("\ud800" <= c <= "\udfff") or (c < " " and c not in "\t\n\r") or c == "\x7f" for c in s)


def valid_id(s: Any) -> bool:
    return isinstance(s, str) and 0 < len(s) <= MAX_ID and s.isprintable()


class RestChannel:
    name = CHANNEL

    def __init__(self, desk: FrontDesk, auth: Authenticator, limits: Limits, addresses: ClientAddress,
                 hub: PollHub) -> None:
        self.desk, self.auth, self.limits, self.addresses, self.hub = desk, auth, limits, addresses, hub
        self.tokens: SessionTokens = auth.tokens

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/webhooks/rest/session", self.session)
        app.router.add_post("/webhooks/rest/stream-token", self.stream_token)
        app.router.add_post("/webhooks/rest/webhook", self.receive)
        app.router.add_post("/webhooks/rest/ack", self.ack)
        app.router.add_get("/webhooks/rest/messages", self.long_poll)
        app.router.add_get("/webhooks/rest/stream", self.stream)

    # --- errors ---------------------------------------------------------------------------------
    def polite(self, response: str) -> dict[str, str]:
        return {lang: self.desk.notifier.text(response, lang).get("text", "") for lang in ("zh", "en")}

    def error(self, status: int, detail: str, response: str | None = None,
              headers: dict[str, str] | None = None) -> web.Response:
        body: dict[str, Any] = {"error": detail}
        if response:
            body["message"] = self.polite(response)
        return web.json_response(body, status=status, headers=headers, dumps=_dumps)

    # --- the checks every call goes through, in this order, none of them writing ------------------
    def address(self, request: web.Request) -> str:
        return self.addresses.of(request.remote, request.headers.getall("X-Forwarded-For", []))

    async def _limit(self, rule: str, *key: str) -> None:
        if not await self.limits.allow(rule, *key):
            wait = await self.limits.retry_after(rule, *key)
            raise Refused(self.error(429, "too many requests, slow down", "utter_slow_down",
                                     headers={"Retry-After": str(wait)}))

    async def _caller(self, request: web.Request, kind: str, allow_stream_token: bool = False) -> Caller:
        """Per-address limit (except for a trusted back end, which speaks for many clients), then who."""
        if not self.auth.has_api_key(request):
            await self._limit("rest_per_address", kind, self.address(request))
        try:
            return await self.auth.caller(request, allow_stream_token)
        except AuthError as e:
            raise Refused(self.error(e.status, e.detail, e.response)) from None

    def _sender(self, caller: Caller, claimed: Any) -> str:
        try:
            sender = self.auth.sender_for(caller, claimed)
        except AuthError as e:
            raise Refused(self.error(e.status, e.detail, e.response)) from None
        if not valid_id(sender) or not valid_text(sender):
            raise Refused(self.error(400, f"sender must be 1 to {MAX_ID} printable characters"))
        return sender

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Refused(self.error(415, "Content-Type must be application/json"))
        if request.content_length and request.content_length > MAX_BODY:
            raise Refused(self.error(413, f"body over {MAX_BODY} bytes"))
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(self.error(413, f"body over {MAX_BODY} bytes")) from None
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
            raise Refused(self.error(400, "body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}")) from None
        if not isinstance(body, dict):
            raise Refused(self.error(400, "body must be a JSON object"))
        return body

    def _renew(self, resp: R, caller: Caller) -> R:
        if caller.renewed is not None:
            token, expires = caller.renewed
            resp.headers[SESSION_HEADER] = token
            resp.headers["X-Session-Expires"] = expires.isoformat()
        return resp

    # --- sessions -------------------------------------------------------------------------------
    async def session(self, request: web.Request) -> web.Response:
        """A new public client: a fresh sender id and its signed token. No server state."""
        try:
            await self._body(request)
            await self._limit("sessions_per_address", self.address(request))
        except Refused as r:
            return r.response
        sender = self.tokens.new_sender()
        token, expires = self.tokens.issue(sender, SESSION)
        return web.json_response({"sender": sender, "token": token, "expires_at": expires.isoformat()})

    async def stream_token(self, request: web.Request) -> web.Response:
        """A short-lived token for EventSource's URL, for the caller authenticated by header."""
        try:
            body = await self._body(request)
            caller = await self._caller(request, "token")
            sender = self._sender(caller, body.get("sender"))
        except Refused as r:
            return r.response
        token, expires = self.tokens.issue(sender, STREAM)
        resp = web.json_response({"sender": sender, "token": token, "expires_at": expires.isoformat()})
        return self._renew(resp, caller)

    # --- messages -------------------------------------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            caller = await self._caller(request, "message")
            sender = self._sender(caller, body.get("sender"))
            await self._limit("rest_per_sender", "message", sender)
            text, mid, lang = body.get("message"), body.get("message_id"), body.get("lang")
            if not isinstance(text, str):
                raise Refused(self.error(400, "message must be a string"))
            if len(text) > MAX_TEXT:
                raise Refused(self.error(413, f"message over {MAX_TEXT} characters"))
            if not valid_text(text):
                raise Refused(self.error(400, "message must be text without control characters or lone surrogates"))
            if mid is not None and not (isinstance(mid, str | int) and not isinstance(mid, bool)
                                        and valid_id(str(mid))):
                raise Refused(self.error(400, f"message_id must be a string or integer of 1 to {MAX_ID} characters"))
        except Refused as r:
            return r.response
        msg = IncomingMessage(CHANNEL, sender, text, message_id=str(mid) if mid is not None else None,
                              lang_hint=lang if isinstance(lang, str) else None, answer_duplicates=True)
        # A dropped connection must not cancel a half-done turn: the turn runs in its own task.
        try:
            replies = await asyncio.shield(asyncio.ensure_future(self.desk.handle(msg)))
        except ConversationBusy as busy:  # nothing was kept: the same message again later is safe
            return self._renew(self.error(503, "this conversation is busy with an earlier message; send it again",
                                          "utter_busy", headers={"Retry-After": str(busy.retry_after)}), caller)
        return self._renew(web.json_response(_out(sender, replies), dumps=_dumps), caller)

    async def _pull(self, sender: str, ack: list[int] | None) -> list[dict[str, Any]]:
        if ack:  # acknowledging writes: like a turn, it must not be cut short by a hang-up
            return await asyncio.shield(asyncio.ensure_future(self.desk.pull(CHANNEL, sender, ack=ack)))
        return await self.desk.pull(CHANNEL, sender)

    def _acks(self, raw: Any) -> list[int] | None:
        """ack=1,2,3 (query) or [1, 2, 3] (body): the ids the client has received."""
        if raw is None or raw == "":
            return None
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list) or len(items) > MAX_ACK:
            raise Refused(self.error(400, f"ack must be a list of at most {MAX_ACK} message ids"))
        try:
            ids = [int(i) for i in items if not isinstance(i, bool | float)]
        except (TypeError, ValueError):
            raise Refused(self.error(400, "ack must hold integer message ids")) from None
        if len(ids) != len(items) or any(not 0 < i < 2**63 for i in ids):
            raise Refused(self.error(400, "ack must hold positive integer message ids"))
        return ids

    async def ack(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            caller = await self._caller(request, "poll")
            sender = self._sender(caller, body.get("sender"))
            await self._limit("rest_per_sender", "poll", sender)
            ids = self._acks(body.get("ids")) or []
        except Refused as r:
            return r.response
        if ids:
            await self._pull(sender, ids)
        return web.json_response({"acknowledged": len(ids)})

    async def long_poll(self, request: web.Request) -> web.Response:
        try:
            caller = await self._caller(request, "poll")
            sender = self._sender(caller, request.query.get("sender"))
            raw = request.query.get("wait", "25")
            try:
                wait = float(raw)
            except ValueError:
                wait = math.nan
            if not math.isfinite(wait) or not 0 <= wait <= MAX_WAIT:
                raise Refused(self.error(400, f"wait must be a number of seconds from 0 to {MAX_WAIT:g}"))
            ack = self._acks(request.query.get("ack"))
            await self._limit("rest_per_sender", "poll", sender)
        except Refused as r:
            return r.response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        async with self.hub.watch(self.desk.be, CHANNEL, sender) as waiter:
            msgs = await self._pull(sender, ack)
            while not msgs and not _gone(request):
                left = deadline - loop.time()
                if left <= 0:
                    break
                if await waiter.wait(min(left, HANG_UP_CHECK)):
                    msgs = await self._pull(sender, None)
        return self._renew(web.json_response(_out(sender, msgs), dumps=_dumps), caller)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events until the client leaves or its token's time is up (the browser reconnects
        with a fresh stream token). Each message carries its id: the client acknowledges it by POST /ack."""
        try:
            caller = await self._caller(request, "poll", allow_stream_token=True)
            sender = self._sender(caller, request.query.get("sender"))
            await self._limit("rest_per_sender", "poll", sender)
        except Refused as r:
            return r.response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.tokens.stream_lifetime.total_seconds()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
        self._renew(resp, caller)
        await resp.prepare(request)
        sent: set[Any] = set()
        try:
            async with self.hub.watch(self.desk.be, CHANNEL, sender) as waiter:
                while not _gone(request) and loop.time() < deadline:
                    for m in await self._pull(sender, None):
                        if m.get("id") is not None and m["id"] in sent:
                            continue
                        sent.add(m.get("id"))
                        event = f"id: {m['id']}\n" if m.get("id") is not None else ""
                        await resp.write(f"{event}data: {_dumps({'recipient_id': sender, **m})}\n\n".encode())
                    quiet_until = min(loop.time() + KEEP_ALIVE, deadline)
                    while not _gone(request) and loop.time() < quiet_until:
                        if await waiter.wait(min(HANG_UP_CHECK, quiet_until - loop.time())):
                            break
                    else:
                        await resp.write(b": keep-alive\n\n")
        except (ConnectionResetError, ConnectionError):
            pass
        return resp


def _gone(request: web.Request) -> bool:
    """The client hung up (aiohttp only cancels handlers on disconnect when asked to; check both ways)."""
    transport = request.transport
    return transport is None or transport.is_closing()
