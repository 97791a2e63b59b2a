"""The WeCom (企业微信) channel for housekeepers and managers: a self-built app's callback in, texts and
template cards out. An adapter only, like the Telegram staff bot: platform messages become the staff desk's
IncomingMessage, replies become WeCom calls; the staff dialogue lives in dialogs/.

- ``GET /wechat/wecom`` answers the URL verification (an encrypted echostr, decrypted and echoed);
  ``POST /wechat/wecom`` receives encrypted messages and events. A bad signature is 403, a malformed body
  400, an oversized one 413.
- Staff turns are fast, so the callback waits for the turn a little (well inside WeCom's 5 s unless the
  worker's loop is held by a slow turn, dialogs/threads.py; a retry is dropped as seen) and answers ""
  either way; the turn runs in its own task that a platform hang-up cannot cancel. Replies go out
  through the message API, never as passive replies (a card cannot be one).
- Replies with buttons become ``button_interaction`` template cards; a click comes back as a
  ``template_card_event`` whose key is a CallbackRefs reference to the payload. A click that did something
  greys the card's buttons out with its state (已接单 …); the desk refuses stale actions with a clear text.
- A card that replaces an earlier one (offer withdrawn, case changed) updates that card in place while its
  latest response_code is unused and younger than 72 hours, else goes out as a new message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict, deque
from typing import Any

from aiohttp import web

from backend.services import DomainError
from bot.bootstrap import App
from bot.telegram.common import EXTENSIONS, CallbackRefs
from bot.wechat import api as wx
from bot.wechat.cards import BODY_MAX, BUTTONS_MAX, Cards, card, new_task_id, split_title
from bot.wechat.http import fresh, read_body
from bot.wechat.protocol import BadMessage, BadSignature, WeComCallback, WeComInbound
from bot.workers import Permanent, Retry, Unreachable
from config.settings import WeComSettings
from dialogs.domain import TRADITIONAL, traditional
from dialogs.locks import ConversationBusy
from dialogs.messages import IncomingMessage

log = logging.getLogger(__name__)
CHANNEL = "wecom"
PATH = "/wechat/wecom"
MAX_BODY = 65536  # a callback is a small encrypted XML envelope
TEXT_BYTES = 2048  # a WeCom text's limit
REPLY_BUDGET = 3.0  # seconds the callback waits for the turn (WeCom retries after 5)
PUSH_WAIT = 2.0  # an outbox row waits this long for the member's limit, else it is retried later
MAX_TEXT_CHARS = 4000  # what a member's text may be at most; longer is cut before the desk sees it
INVITE = re.compile(r"(?:/start\s+)?([0-9a-f]{32})", re.IGNORECASE)

# A tap that did something retires its card's buttons, showing this state (as on Telegram's staff bot).
DONE_LABELS: dict[str, tuple[str, str]] = {
    "/accept_offer": ("已接单", "Accepted"),
    "/decline_offer": ("已拒绝", "Declined"),
    "/arrived": ("已到达", "Arrived"),
    "/finished": ("已完成", "Finished"),
    "/acknowledge": ("已确认收到", "Acknowledged"),
    "/take_over": ("已接管", "Taken over"),
    "/resolve": ("已解决", "Resolved"),
}
# A replacement card without buttons greys out the old one with this state.
REPLACED_LABELS: dict[str, tuple[str, str]] = {
    "offer_withdrawn": ("已撤回", "Withdrawn"),
    "offer_expired": ("已超时", "Expired"),
}
UPDATED_LABEL = ("已更新", "Updated")


def _label(pair: tuple[str, str], lang: str) -> str:
    if lang.startswith("en"):
        return pair[1]
    return traditional(pair[0]) if lang == TRADITIONAL else pair[0]


class MemberLimiter:
    """WeCom's per-member limit: at most ``per_window`` messages to one member in ``window`` seconds
    (30 a minute); beyond it WeCom refuses the send. Counted in this process."""

    def __init__(self, per_window: int = 30, window: float = 60.0) -> None:
        self.per_window, self.window = per_window, window
        self._sent: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    def delay(self, userid: str) -> float:
        """Seconds until a message to ``userid`` may go out (0: now)."""
        now = time.monotonic()
        q = self._sent.get(userid)
        if q is None:
            return 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        return 0.0 if len(q) < self.per_window else q[0] + self.window - now

    async def pending(self, userid: str) -> float:
        """``delay`` for a caller that may ask Redis (SharedMemberLimiter)."""
        return self.delay(userid)

    async def wait(self, userid: str) -> None:
        while True:
            async with self._lock:
                wait = self.delay(userid)
                if wait <= 0:
                    self._sent.setdefault(userid, deque()).append(time.monotonic())
                    if len(self._sent) > 50_000:  # forget members with nothing in the window
                        old = time.monotonic() - self.window
                        self._sent = {k: q for k, q in self._sent.items() if q and q[-1] > old}
                    return
            await asyncio.sleep(wait)


# A member's sends in the window, in Redis (a sorted set of times): trim, then book a send when there is
# room (ARGV[4] = 1) or only tell the wait. Returns the milliseconds to wait (0: booked or free now).
_MEMBER_WINDOW = """
local now, window, limit, book = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  if book then
    redis.call('ZADD', KEYS[1], now, now .. ':' .. redis.call('INCR', KEYS[1] .. ':n'))
    redis.call('PEXPIRE', KEYS[1], window)
    redis.call('PEXPIRE', KEYS[1] .. ':n', window)
  end
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
return math.max(1, tonumber(oldest) + window - now)
"""


class SharedMemberLimiter(MemberLimiter):
    """The per-member limit counted in Redis, so N workers do not send N× WeCom's limit. Member ids are
    hashed; when Redis fails, this process counts on its own (as MemberLimiter)."""

    def __init__(self, redis_url: str, per_window: int = 30, window: float = 60.0,
                 prefix: str = "frontdesk:wecom:member") -> None:
        super().__init__(per_window, window)
        from redis.asyncio import Redis

        self.prefix, self._failing = prefix, False
        self.redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self.redis.register_script(_MEMBER_WINDOW)

    async def _ask(self, userid: str, book: bool) -> float:
        key = f"{self.prefix}:{hashlib.blake2b(userid.encode(), digest_size=12).hexdigest()}"
        now_ms = int(time.time() * 1000)
        return int(await self._script(keys=[key], args=[now_ms, int(self.window * 1000), self.per_window,
                                                        int(book)])) / 1000

    def _down(self) -> None:
        if not self._failing:  # once per outage
            log.warning("WeCom member limit: Redis unavailable; counting in this process")
        self._failing = True

    async def pending(self, userid: str) -> float:
        try:
            wait = await self._ask(userid, book=False)
        except Exception:
            self._down()
            return await super().pending(userid)
        self._failing = False
        return wait

    async def wait(self, userid: str) -> None:
        while True:
            try:
                wait = await self._ask(userid, book=True)
            except Exception:
                self._down()
                await super().wait(userid)
                return
            self._failing = False
            if wait <= 0:
                return
            await asyncio.sleep(wait)


class WeComChannel:
    CHANNEL = CHANNEL

    def __init__(self, app: App, client: wx.WeComClient | None = None, limits: Any = None,
                 cfg: WeComSettings | None = None, reply_budget: float = REPLY_BUDGET,
                 limiter: MemberLimiter | None = None) -> None:
        cfg = cfg or app.settings.wecom
        if not (cfg.corp_id and cfg.agent_id and cfg.secret and cfg.token and cfg.encoding_aes_key):
            raise ValueError("the WeCom channel needs FRONTDESK_WECOM__CORP_ID, __AGENT_ID, __SECRET, __TOKEN "
                             "and __ENCODING_AES_KEY")
        self.app, self.cfg, self.limits, self.reply_budget = app, cfg, limits, reply_budget
        self.desk, self.be, self.notifier = app.desk, app.backend, app.desk.notifier
        self.callback = WeComCallback(cfg.token, cfg.encoding_aes_key, cfg.corp_id, MAX_BODY)
        self.client = client or wx.WeComClient(cfg.api_base, cfg.corp_id, cfg.secret, cfg.agent_id,
                                               cfg.timeout_seconds, app.settings.redis_url)
        engine = app.backend.db.engine
        self.refs = CallbackRefs(engine)
        self.cards = Cards(engine)
        redis_url = app.settings.redis_url
        self.limiter = limiter or (SharedMemberLimiter(redis_url) if redis_url else MemberLimiter())
        self.pushers = {CHANNEL: self.push}
        self._tasks: set[asyncio.Task[None]] = set()  # turns in flight, kept referenced until done
        self._recent: OrderedDict[str, None] = OrderedDict()  # callbacks seen: WeCom retries a slow answer
        self._refusals: dict[str, list[re.Pattern[str]]] = {}

    def routes(self, web_app: web.Application) -> None:
        web_app.router.add_get(PATH, self.verify)
        web_app.router.add_post(PATH, self.receive)

    async def close(self) -> None:
        if self._tasks:  # let turns in flight finish their sends
            await asyncio.wait(self._tasks, timeout=5)
        await self.client.close()
        if isinstance(self.limiter, SharedMemberLimiter):
            await self.limiter.redis.aclose()

    # --- callbacks ------------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        """The URL verification when the callback is saved in the console: decrypt and echo echostr."""
        try:
            return web.Response(text=self.callback.verify_url(request.query))
        except BadSignature:
            log.warning("wecom: verification with a bad signature from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        except BadMessage as e:
            log.warning("wecom: a malformed verification (%s)", e)
            return web.Response(status=400, text="bad request")

    async def receive(self, request: web.Request) -> web.Response:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return web.Response(status=413, text="too large")
        if not fresh(request.query.get("timestamp", "")):
            return web.Response(status=403, text="forbidden")  # a replayed signed request
        try:
            m = self.callback.open(request.query, body)
        except BadSignature:
            log.warning("wecom: a callback with a bad signature from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        except BadMessage as e:
            log.warning("wecom: a malformed callback (%s)", e)
            return web.Response(status=400, text="bad request")
        if m.agent_id and m.agent_id != str(self.cfg.agent_id):
            return web.Response(text="")  # another app of the corp pointed here: not ours to answer
        if self._seen(m.dedup_key):
            return web.Response(text="")  # WeCom's retry of a callback already taken
        task = asyncio.ensure_future(self._handle(m))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Wait (not shielded: asyncio.wait never cancels the task) so a quick turn has sent its replies
        # before WeCom hears back; a slow one goes on after the answer.
        await asyncio.wait({task}, timeout=self.reply_budget)
        return web.Response(text="")

    def _seen(self, key: str) -> bool:
        if key in self._recent:
            return True
        self._recent[key] = None
        while len(self._recent) > 10_000:
            self._recent.popitem(last=False)
        return False

    async def _handle(self, m: WeComInbound) -> None:
        userid = m.from_user
        try:
            if self.limits is not None and not await self.limits.allow("platform_per_sender", CHANNEL, userid):
                if await self.limits.first_refusal("platform_per_sender", CHANNEL, userid):
                    await self.send(userid, self.notifier.text("utter_slow_down", await self._lang(userid)))
                return
            kind, event = m.msg_type.lower(), m.event.lower()
            if kind == "text":
                await self._text(m)
            elif kind == "event" and event == "template_card_event":
                await self._click(m)
            elif kind == "event" and event == "click" and m.event_key:
                await self._turn(userid, m.event_key, m.dedup_key)  # the app's own menu: keys are commands
            # enter_agent, view, pictures, voice …: staff work by text and buttons, nothing to answer
        except (wx.WeChatError, Retry, Unreachable, Permanent) as e:
            log.warning("wecom: a reply could not be sent (%s)", type(e).__name__)
        except Exception:
            log.exception("wecom: a callback failed")

    async def _text(self, m: WeComInbound) -> None:
        userid, text = m.from_user, m.content.strip()[:MAX_TEXT_CHARS]
        invite = INVITE.fullmatch(text)
        if invite or text.lower().startswith("/start"):
            person = None
            if invite:
                person = await asyncio.to_thread(self.be.redeem_invite, invite[1].lower(), CHANNEL, userid)
            if person is not None:
                await self.send(userid, self.notifier.text("staff_welcome", person.lang, name=person.name))
                text = "/help"
            elif text.lower().startswith("/start"):
                text = "/help"  # as on Telegram: /start with a used or unknown invite shows what this is
        await self._turn(userid, text, m.dedup_key)

    async def _click(self, m: WeComInbound) -> None:
        userid = m.from_user
        # The click's code is the one to update this card with next (each is valid once, for 72 hours).
        await asyncio.to_thread(self.cards.issued, m.task_id, userid, m.response_code, self.be.now)
        payload = await asyncio.to_thread(self.refs.resolve, m.event_key)
        if payload is None:
            log.info("wecom: a card button with an unknown key")
            return
        replies = await self._turn(userid, payload, m.dedup_key, send=False)
        if replies:
            lang = await self._lang(userid)
            label = next((pair for prefix, pair in DONE_LABELS.items() if payload.startswith(prefix)), None)
            if label is not None and not self._refused(replies, lang):
                await self._retire(userid, m.task_id, _label(label, lang))
        await self._deliver(userid, replies or [])

    async def _retire(self, userid: str, task_id: str, label: str) -> None:
        """Grey the card's buttons out with its new state (the click's own code)."""
        code = await asyncio.to_thread(self.cards.take, task_id, userid, self.be.now)
        if code is None:
            return
        try:
            await self.client.update_card([userid], code, button_text=label)
        except wx.Transient:
            await asyncio.to_thread(self.cards.give_back, task_id, code)
        except wx.WeChatError as e:
            log.info("wecom: a card could not be retired (errcode %s)", e.errcode)

    async def _turn(self, userid: str, text: str, message_id: str,
                    send: bool = True) -> list[dict[str, Any]]:
        try:
            replies = await self.desk.handle_staff(IncomingMessage(CHANNEL, userid, text, message_id=message_id))
        except ConversationBusy:  # nothing of it was kept, and WeCom will not deliver it again: say so
            replies = [self.notifier.text("utter_busy", await self._lang(userid))]
        if replies is None:  # not on the roster: a polite refusal in both languages (WeCom has no locale)
            replies = [{"text": "\n".join(self.notifier.text("staff_stranger", lang)["text"] for lang in ("zh", "en"))}]
        if send:
            await self._deliver(userid, replies)
        return replies

    async def _deliver(self, userid: str, replies: list[dict[str, Any]]) -> None:
        """Replies at once; from the first the platform cannot take now (busy, network), the rest go
        through the outbox, which retries with backoff — a confirmation is never just logged and lost."""
        for i, r in enumerate(replies):
            try:
                await self.send(userid, r)
            except (wx.Transient, Retry):
                person = await asyncio.to_thread(self.be.identify, CHANNEL, userid)
                if person is None:
                    return
                for rest in replies[i:]:
                    await asyncio.to_thread(self.be.relay, person.kind, person.id, "reply",
                                            **{k: rest[k] for k in ("text", "buttons") if rest.get(k)})
                return

    async def _lang(self, userid: str) -> str:
        person = await asyncio.to_thread(self.be.identify, CHANNEL, userid)
        return person.lang if person is not None else "zh"

    def _refused(self, replies: list[dict[str, Any]], lang: str) -> bool:
        """Whether the desk refused the action (a stale offer, a case closed by someone else …): its
        replies are one of the staff_error_* texts, whatever their parameters."""
        patterns = self._refusals.get(lang)
        if patterns is None:
            names = [n for n in self.notifier.domain.responses if n.startswith("staff_error_")] + ["utter_error"]
            patterns = []
            for name in names:
                text = str(self.notifier.text(name, lang).get("text") or "")
                if text:
                    parts = re.split(r"\{[a-z_]+\}", text)
                    patterns.append(re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL))
            self._refusals[lang] = patterns
        return any(p.fullmatch(str(r.get("text") or "").strip()) for r in replies for p in patterns)

    # --- sending --------------------------------------------------------------------------------
    async def send(self, userid: str, reply: dict[str, Any]) -> str:
        """One reply and then its files (a case's photos, from storage), as on the Telegram staff bot."""
        ref = await self._send_reply(userid, reply)
        for f in reply.get("files") or []:
            await self._send_file(userid, f)
        return ref

    async def _send_file(self, userid: str, file: dict[str, Any]) -> None:
        try:
            meta, data = await asyncio.to_thread(self.be.attachment, int(file["id"]))
        except DomainError:
            return  # erased or pruned since the card was written: the card's line says it existed
        name = meta.get("filename") or f"case-file-{meta['id']}{EXTENSIONS.get(meta['content_type'], '')}"
        await self.limiter.wait(userid)
        await self.client.send_file(userid, data, name, meta["content_type"])

    async def _send_reply(self, userid: str, reply: dict[str, Any]) -> str:
        """One reply: a text (split at 2,048 bytes), or a template card when it has buttons. Returns
        "userid:task_id" of its (first) card, the message a later card may update; "" for texts."""
        text = str(reply.get("text") or "").strip()
        buttons = [b for b in reply.get("buttons") or [] if b.get("title") and b.get("payload")]
        if not buttons:
            for part in wx.split_utf8(text or " ", TEXT_BYTES):
                await self.limiter.wait(userid)
                await self.client.send_text(userid, part)
            return ""
        title, body = split_title(text)
        if len(body) > BODY_MAX:  # too long for the card: the whole text first, then the card to act on
            for part in wx.split_utf8(text, TEXT_BYTES):
                await self.limiter.wait(userid)
                await self.client.send_text(userid, part)
            body = ""
        keys = [(str(b["title"]), await asyncio.to_thread(self.refs.ref, str(b["payload"]))) for b in buttons]
        first = ""
        for i in range(0, len(keys), BUTTONS_MAX):  # more than 6 buttons: more cards, each its own task
            task_id = new_task_id()
            part_title = title if i == 0 else f"{title} ({i // BUTTONS_MAX + 1})"
            await self.limiter.wait(userid)
            sent = await self.client.send_card(userid, card(task_id, part_title, body if i == 0 else "",
                                                            keys[i:i + BUTTONS_MAX]))
            await asyncio.to_thread(self.cards.issued, task_id, userid, sent["response_code"], self.be.now)
            first = first or _ref(userid, task_id)
        return first

    async def push(self, external_id: str, reply: dict[str, Any], edit_ref: str | None = None,
                   row: dict[str, Any] | None = None) -> str:
        """Outbox delivery. With ``edit_ref`` (a card this row replaces) the card is updated in place while
        its latest response_code is valid; otherwise, or when WeCom refuses the update, a new message goes
        out. Errors become what the dispatcher understands."""
        userid = external_id
        try:
            if edit_ref:
                updated = await self._update(userid, edit_ref, reply, row or {})
                if updated:
                    return updated
            wait = await self.limiter.pending(userid)
            if wait > PUSH_WAIT:  # do not hold a dispatcher slot for a minute: come back later
                raise Retry("WeCom per-member limit", wait)
            return await self.send(userid, reply)
        except wx.NotSubscribed as e:
            raise Unreachable(f"errcode {e.errcode}") from e
        except wx.NotAuthorised as e:
            raise Permanent(f"WeCom API not authorised (errcode {e.errcode})") from e
        except wx.Transient as e:
            raise Retry(f"errcode {e.errcode}") from e
        except wx.WeChatError as e:
            raise Permanent(f"errcode {e.errcode}") from e

    async def _update(self, userid: str, edit_ref: str, reply: dict[str, Any], row: dict[str, Any]) -> str | None:
        owner, _, task_id = edit_ref.partition(":")
        text = str(reply.get("text") or "").strip()
        buttons = [b for b in reply.get("buttons") or [] if b.get("title") and b.get("payload")]
        title, body = split_title(text)
        if owner != userid or not task_id or len(body) > BODY_MAX or len(buttons) > BUTTONS_MAX:
            return None  # not this member's card, or it does not fit one card: a new message
        keys = [(str(b["title"]), await asyncio.to_thread(self.refs.ref, str(b["payload"]))) for b in buttons]
        lang = str(row.get("lang") or "zh")
        label = None if keys else _label(REPLACED_LABELS.get(str(row.get("template")), UPDATED_LABEL), lang)
        code = await asyncio.to_thread(self.cards.take, task_id, userid, self.be.now)
        if code is None:
            return None  # used or older than 72 hours
        try:
            await self.client.update_card([userid], code, card=card(task_id, title, body, keys, label))
        except wx.Transient:
            await asyncio.to_thread(self.cards.give_back, task_id, code)
            raise
        except wx.WeChatError as e:
            log.info("wecom: a card could not be updated (errcode %s); sending a new message", e.errcode)
            return None
        return edit_ref


# The dispatcher hands the outbox row (its template and language) to pushers that ask for it.
WeComChannel.push.wants_row = True  # type: ignore[attr-defined]


def _ref(userid: str, task_id: str) -> str:
    """The platform_ref of a card (at most 64 characters, "external id:…" as the outbox expects); a
    member id too long for it gives "" and the card is then never edited, only followed by a new one."""
    ref = f"{userid}:{task_id}"
    return ref if len(ref) <= 64 else ""


__all__ = ["CHANNEL", "PATH", "MemberLimiter", "SharedMemberLimiter", "WeComChannel"]
