"""The WeChat Official Account (公众号) channel for clients: callbacks in, passive replies and
customer-service / template messages out. An adapter only: platform messages become IncomingMessage,
replies become platform calls; the dialogue lives in dialogs/.

The 5-second rule: WeChat waits 5 s for the passive reply and retries the same message up to 3 times.
A message is first written to the durable inbox (held for this request), its turn runs in a task the
request cannot cancel, and the request waits up to ``reply_budget_seconds``: a turn done in time is
answered passively (its outbox rows are marked delivered "passive"); otherwise the answer is
``success`` and the held rows are released to the dispatcher, which sends them as customer-service
messages. A retry of a message already received is never run twice: it waits for the same turn or gets
the same passive reply. After a crash the inbox worker runs the message once its hold is over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from backend import testhooks
from backend.services import DomainError
from bot.bootstrap import App
from bot.inbox_worker import InboxWorker
from bot.telegram.common import CallbackRefs
from bot.wechat import api as wx
from bot.wechat.http import fresh, read_body
from bot.wechat.protocol import MAX_REPLY_BYTES, BadMessage, BadSignature, Inbound, OACallback, text_reply
from bot.wechat.render import as_text, menu_items
from bot.wechat.window import Windows
from bot.workers import Deferred, Permanent, Retry, Unreachable
from config import yamlfile
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
CHANNEL = "wechat"
PATH = "/wechat/oa"
TEXT_BYTES = 2000  # a customer-service text's limit is 2,048 bytes
HOLD_MARGIN = 3.0  # seconds a held reply waits beyond the budget for this request to take it
MERGE_SECONDS = 0.1  # notifications handed over within this time go to one client as one message
DEFER_DAYS = 7  # a message that needs the client to write first waits this long, then managers hear of it
FILE_TYPES = {"image": "image/jpeg", "video": "video/mp4", "shortvideo": "video/mp4"}


def menu_keys(path: Path) -> dict[str, str]:
    """The custom menu's click keys → what the click means (an intent payload), from config."""
    if not path.exists():
        return {}
    data = yamlfile.read(path) or {}
    return {str(k): str(v) for k, v in (data.get("keys") or {}).items()}


class OAChannel:
    def __init__(self, app: App, inbox: InboxWorker, limits: Any, client: wx.OAClient | None = None) -> None:
        cfg = app.settings.wechat
        if not (cfg.app_id and cfg.app_secret and cfg.token):
            raise ValueError("the WeChat channel needs FRONTDESK_WECHAT__APP_ID, __APP_SECRET and __TOKEN")
        self.app, self.cfg, self.inbox, self.limits = app, cfg, inbox, limits
        self.desk, self.be = app.desk, app.backend
        # With a key (compatible or safe mode) every callback must be encrypted: a plaintext one's
        # signature does not cover its body, so it could be forged from one captured query.
        self.callback = OACallback(cfg.token, cfg.app_id, cfg.encoding_aes_key, cfg.max_body_bytes,
                                   require_aes=bool(cfg.encoding_aes_key))
        self.client = client or wx.OAClient(cfg.api_base, cfg.app_id, cfg.app_secret, cfg.timeout_seconds,
                                            app.settings.redis_url)
        engine = app.backend.db.engine
        self.windows = Windows(engine, (timedelta(hours=cfg.window_hours), cfg.window_quota),
                               (timedelta(seconds=cfg.event_window_seconds), cfg.event_quota))
        self.refs = CallbackRefs(engine)
        self.keys = menu_keys(cfg.menu_file)
        self._turns: dict[int, asyncio.Task[None]] = {}  # inbox id → its turn, while it runs in this process
        self._releases: set[asyncio.Future[None]] = set()  # kept referenced until they have run
        self.push = Pusher(self)

    def routes(self, web_app: web.Application) -> None:
        web_app.router.add_get(PATH, self.verify)
        web_app.router.add_post(PATH, self.receive)

    async def close(self) -> None:
        await self.client.close()

    # --- callbacks ------------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        """The server-configuration handshake: echo ``echostr`` when the signature is ours."""
        try:
            return web.Response(text=self.callback.verify_url(request.query))
        except BadSignature:
            log.warning("wechat: handshake with a bad signature from %s", request.remote)
            return web.Response(status=403, text="forbidden")

    async def receive(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await read_body(request, self.cfg.max_body_bytes)
        if body is None:
            return web.Response(status=413, text="too large")
        if not fresh(request.query.get("timestamp", "")):
            return web.Response(status=403, text="forbidden")  # a replayed signed query (plaintext mode)
        try:
            inbound, encrypted = self.callback.open(request.query, body)
        except BadSignature:
            log.warning("wechat: a callback with a bad signature from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        except BadMessage as e:
            log.warning("wechat: a malformed callback (%s)", e)
            return web.Response(status=400, text="bad request")
        deadline = started + self.cfg.reply_budget_seconds  # WeChat's 5 s run from the request's arrival
        text = await self._answer(inbound, deadline)
        if not text:
            return web.Response(text="success")  # WeChat never retries after this
        xml = text_reply(inbound, text, int(time.time()))
        sealed = self.callback.seal(xml, encrypted, request.query.get("nonce", ""),
                                    request.query.get("timestamp", str(int(time.time()))))
        return web.Response(text=sealed, content_type="application/xml")

    async def _answer(self, m: Inbound, deadline: float) -> str | None:
        """The passive reply's text, or None for ``success``."""
        openid = m.from_user
        if not await self.limits.allow("platform_per_sender", CHANNEL, openid):
            if await self.limits.first_refusal("platform_per_sender", CHANNEL, openid):
                return await self._say(openid, "utter_slow_down")
            return None
        kind = m.msg_type.lower()
        if kind == "event":
            return await self._event(m, deadline)
        await asyncio.to_thread(self.windows.opened, openid, self.be.now, True)
        await asyncio.to_thread(self.be.wake_deferred, CHANNEL, openid)
        if kind == "text":
            text = m.content
            menu_id = m.raw.get("bizmsgmenuid", "")  # a tap on a menu message's item
            payload = await asyncio.to_thread(self.refs.resolve, menu_id) if menu_id else None
            return await self._turn(m, payload or text, deadline)
        if kind == "voice":
            if m.recognition.strip():  # WeChat's own recognition (being retired): used while it comes
                return await self._turn(m, m.recognition.strip(), deadline)
            return await self._say(openid, "wechat_voice_unreadable")
        if kind in FILE_TYPES:
            return await self._file(m, deadline)
        if kind == "location":
            return await self._turn(m, m.raw.get("Label", ""), deadline)
        if kind == "link":
            return await self._turn(m, f"{m.raw.get('Title', '')} {m.raw.get('Url', '')}".strip(), deadline)
        return await self._say(openid, "wechat_unsupported")

    async def _event(self, m: Inbound, deadline: float) -> str | None:
        openid, event = m.from_user, m.event.lower()
        if event == "unsubscribe":
            await asyncio.to_thread(self.be.identity_gone, CHANNEL, openid)
            return None
        if event in ("subscribe", "click", "scan"):
            await asyncio.to_thread(self.windows.opened, openid, self.be.now, False)
            await asyncio.to_thread(self.be.wake_deferred, CHANNEL, openid)
        if event == "subscribe":
            await asyncio.to_thread(self._subscribed, openid)
            return self.desk.notifier.text("wechat_welcome", "zh")["text"]
        if event == "click" and m.event_key in self.keys:
            return await self._turn(m, self.keys[m.event_key], deadline)
        return None  # views, scans, template receipts: nothing to say

    def _subscribed(self, openid: str) -> None:
        self.be.client_for(CHANNEL, openid, "zh")  # a new follower is a client from now
        self.be.seen(CHANNEL, openid)  # a returning follower is reachable again

    async def _say(self, openid: str, response: str) -> str:
        person = await asyncio.to_thread(self.be.client_for, CHANNEL, openid, "zh")
        return str(self.desk.notifier.text(response, person.lang).get("text", ""))

    async def _file(self, m: Inbound, deadline: float) -> str | None:
        """A photo or video: fetched now (media ids expire after 3 days) and kept with the message."""
        found = await asyncio.to_thread(self._inbox_id, m)
        if found is not None:
            return await self._repeat(found, deadline)
        meta: dict[str, Any] = {}
        try:
            declared, data = await self.client.media(m.media_id)
        except wx.WeChatError as e:
            log.info("wechat: a file could not be fetched (errcode %s)", e.errcode)
            return await self._say(m.from_user, "wechat_media_failed")
        if len(data) > self.be.attachment_limits.max_bytes:
            meta["attachment_refused"] = "too_large"
        else:
            try:
                meta["attachment_ids"] = [await asyncio.to_thread(self._store, m.from_user, declared, data)]
            except DomainError as e:
                meta["attachment_refused"] = e.code.removeprefix("attachment_")
        return await self._turn(m, "", deadline, meta)

    def _store(self, openid: str, declared: str, data: bytes) -> int:
        self.be.check_attachment(data)
        person = self.be.client_for(CHANNEL, openid, "zh")
        return self.be.store_attachment(person.id, declared or "application/octet-stream", data, None)

    def _inbox_id(self, m: Inbound) -> int | None:
        from backend.services import inbox

        with self.be.db.read() as s:
            return inbox.id_of(s, CHANNEL, m.from_user, m.dedup_key)

    # --- a turn, answered passively when it is done in time -----------------------------------------
    async def _turn(self, m: Inbound, text: str, deadline: float,
                    metadata: dict[str, Any] | None = None) -> str | None:
        msg = IncomingMessage(CHANNEL, m.from_user, text[:self.app.settings.nlu.max_chars * 2],
                              message_id=m.dedup_key, metadata=metadata or {}, raced=True)
        inbox_id, new = await self.inbox.accept_held(msg, self.cfg.reply_budget_seconds + HOLD_MARGIN)
        if not new:
            return await self._repeat(inbox_id, deadline)
        if not await asyncio.to_thread(self.be.inbox_is_head, inbox_id):
            # An earlier message of this client is still waiting: order first, so this one goes to the
            # worker behind it and its replies come as customer-service messages.
            await asyncio.to_thread(self.be.inbox_release, inbox_id)
            return None
        task = asyncio.ensure_future(self.inbox.run_held(inbox_id, msg))
        self._turns[inbox_id] = task
        task.add_done_callback(lambda _: self._turns.pop(inbox_id, None))
        return await self._wait(inbox_id, task, deadline)

    async def _wait(self, inbox_id: int, task: asyncio.Future[None], deadline: float) -> str | None:
        """Wait for the turn until the deadline (never cancelling it): its replies, or None (``success``)."""
        await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        if task.done() and time.monotonic() < deadline + 0.5:
            replies = await asyncio.to_thread(self.be.inbox_take_replies, inbox_id, False)  # a look first
            fits = replies is not None and len(as_text(replies).encode()) <= MAX_REPLY_BYTES
            if fits and (replies := await asyncio.to_thread(self.be.inbox_take_replies, inbox_id)) is not None:
                testhooks.crash_point("wechat_passive_taken")
                return as_text(replies) or None
            # Longer than a passive reply holds: customer-service messages, split, carry it whole.
        # Too late for a passive reply: the held rows go to the dispatcher as soon as the turn is done.
        task.add_done_callback(lambda _: self._release(inbox_id))
        return None

    def _release(self, inbox_id: int) -> None:
        f = asyncio.ensure_future(asyncio.to_thread(self.be.inbox_release, inbox_id))
        self._releases.add(f)
        f.add_done_callback(self._releases.discard)
        f.add_done_callback(_released)

    async def _repeat(self, inbox_id: int, deadline: float) -> str | None:
        """WeChat retried a message it did not hear back about: wait for the same turn, or give the same
        passive reply again; never run it twice."""
        task = self._turns.get(inbox_id)
        if task is not None and not task.done():
            return await self._wait(inbox_id, task, deadline)
        replies = await asyncio.to_thread(self.be.inbox_take_replies, inbox_id)
        return as_text(replies) if replies else None


class Pusher:
    """Outbox delivery to WeChat: a customer-service message while the client's window is open (counted
    locally; messages due together go as one, to spare the quota), else a template message where one is
    configured for the kind, else the message waits for the client to write (counted as not delivered;
    after DEFER_DAYS managers are told)."""

    wants_row = True

    def __init__(self, channel: OAChannel) -> None:
        self.ch = channel
        self._batches: dict[str, _Batch] = {}

    async def __call__(self, external_id: str, reply: dict[str, Any], edit_ref: str | None = None,
                       row: dict[str, Any] | None = None) -> str:
        openid = external_id
        menu = not reply.get("parts") and menu_items(reply)  # a turn's replies (parts) read as one text
        sent = await (self._send(openid, reply) if menu else self._merged(openid, reply))
        if sent:
            return f"cs:{openid}"[:64]
        template = (row or {}).get("template", "reply")
        spec = self.ch.cfg.templates.get(template)
        if spec:
            return await self._template(openid, spec, reply, row or {})
        raise Deferred("WeChat window closed and no template for this kind: waits for the client to write",
                       timedelta(days=DEFER_DAYS))

    async def _merged(self, openid: str, reply: dict[str, Any]) -> bool:
        """Texts the dispatcher hands over together for one client go out as one message."""
        batch = self._batches.get(openid)
        if batch is not None and not batch.closed:
            batch.replies.append(reply)
            return await asyncio.shield(batch.done)
        batch = self._batches[openid] = _Batch([reply], asyncio.get_running_loop().create_future())
        await asyncio.sleep(MERGE_SECONDS)
        batch.closed = True
        self._batches.pop(openid, None)
        try:
            sent = await self._send(openid, {"parts": [p for r in batch.replies for p in _parts(r)]})
        except Exception as e:
            if len(batch.replies) > 1:  # the others' rows get the same verdict
                batch.done.set_exception(e)
            raise
        batch.done.set_result(sent)
        return sent

    async def _send(self, openid: str, reply: dict[str, Any]) -> bool:
        """Customer-service messages if the window allows (one of the quota per message sent); False
        when it is closed or used up before anything went. A text too long for one message goes in
        parts: if the window shuts after some of them, the rest is reported, not silently dropped."""
        ch = self.ch
        items = [] if reply.get("parts") else menu_items(reply)
        pieces = [""] if items else wx.split_utf8(as_text(_parts(reply)) or " ", TEXT_BYTES)
        for i, piece in enumerate(pieces):
            partial = f"sent {i} of {len(pieces)} parts, then"
            if not await asyncio.to_thread(ch.windows.take, openid, ch.be.now):
                if i == 0:
                    return False
                raise Permanent(f"{partial} the WeChat window was used up")
            try:
                if items:  # real buttons inside the window: a tap comes back with the item's id
                    refs = [(await asyncio.to_thread(ch.refs.ref, b["payload"]), str(b["title"])) for b in items]
                    await ch.client.send_menu(openid, str(reply.get("text") or ""), refs)
                else:
                    await ch.client.send_text(openid, piece)
            except wx.WindowClosed as e:
                await asyncio.to_thread(ch.windows.close, openid)
                if i == 0:
                    return False
                raise Permanent(f"{partial} the WeChat window closed") from e
            except wx.NotSubscribed as e:
                raise Unreachable(f"errcode {e.errcode}") from e
            except wx.NotAuthorised as e:
                raise Permanent(f"customer-service API not authorised (errcode {e.errcode})") from e
            except wx.Transient as e:
                await asyncio.to_thread(ch.windows.give_back, openid)
                if i == 0:
                    raise Retry(f"errcode {e.errcode}") from e
                raise Permanent(f"{partial} errcode {e.errcode}") from e
            except wx.WeChatError as e:
                raise Permanent(f"errcode {e.errcode}") from e
        return True

    async def _template(self, openid: str, spec: dict[str, Any], reply: dict[str, Any], row: dict[str, Any]) -> str:
        """A template message: fields of at most 20 characters, no line breaks, no buttons; the
        template's own text (set in the console) asks the client to reply to continue."""
        lang = row.get("lang") or "zh"
        values = {**{k: v for k, v in (row.get("params") or {}).items() if isinstance(v, str | int | float)},
                  "text": str(reply.get("text") or "").strip().splitlines()[0] if reply.get("text") else "",
                  "reply_hint": self.ch.desk.notifier.text("wechat_reply_to_continue", lang).get("text", "")}
        data = {name: _field(str(fmt), values) for name, fmt in (spec.get("fields") or {}).items()}
        try:
            # The platform drops a repeat of the same client_msg_id: a retry after a timeout sends once.
            msgid = await self.ch.client.send_template(openid, str(spec["template_id"]), data,
                                                       client_msg_id=f"fd-n{row.get('id', '')}")
        except wx.NotSubscribed as e:
            raise Unreachable(f"errcode {e.errcode}") from e
        except wx.Transient as e:
            raise Retry(f"errcode {e.errcode}") from e
        except wx.WeChatError as e:  # 48001 and the like: managers are told through the outbox
            raise Permanent(f"template message refused (errcode {e.errcode})") from e
        return f"tpl:{msgid}"[:64]


def _released(f: asyncio.Future[None]) -> None:
    if not f.cancelled() and f.exception() is not None:  # the hold runs out on its own: only slower
        log.warning("wechat: releasing a held reply failed (%s)", type(f.exception()).__name__)


def _parts(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """A turn's replies travel as one message with parts; any other message is its own single part."""
    return list(reply.get("parts") or [reply])


@dataclass
class _Batch:
    replies: list[dict[str, Any]]
    done: asyncio.Future[bool]
    closed: bool = False


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _field(fmt: str, values: dict[str, Any]) -> str:
    """A template field: the configured format filled in, one line, at most 20 characters."""
    text = " ".join(fmt.format_map(_Blank(values)).split())
    return text[:20]
