"""A fake WeChat platform on 127.0.0.1: the Official Account and WeCom APIs, and both platforms' callbacks.

``FakeWeChat`` serves the HTTP APIs the bot calls (one server, both path sets; the OA and the WeCom
clients use the same base URL): access tokens (OA stable_token, WeCom gettoken), customer-service
messages (text, msgmenu), template messages, media download, the custom menu, WeCom message/send
(text, template_card) and update_template_card. It records what was sent and injects failures (an
errcode for the next calls, expired tokens, slow replies, unsubscribed clients).

``FakeWeChatUser`` and ``FakeWeComUser`` play the platform's side of the callbacks: they build the XML
as WeChat does, sign it (and encrypt it, with wechatpy's crypto, in compatible/safe mode and always for
WeCom), POST it to the app and decode the passive reply. The signature helper lives here on purpose,
independent of the code under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import ClientSession, ClientTimeout, web
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

APP_ID = "wx5f3e1c0a9b7d2e41"
APP_SECRET = "oa-secret-for-tests-0123456789ab"
CORP_ID = "ww0a1b2c3d4e5f6789"
CORP_SECRET = "wecom-secret-for-tests-abcdefghijklmnop"
AGENT_ID = 1000002
TOKEN_SECONDS = 7200
TEXT_LIMIT = 2048  # bytes; the fake refuses longer texts (45002) so callers that forget to split are caught
TEMPLATE_FIELD_LIMIT = 20  # characters of one template field (thing-type fields; no line breaks)

_MSG_IDS = itertools.count(int(time.time() * 1000) % 10**12 * 10**4)  # MsgIds are unique platform-wide


@dataclass
class _Tokens:
    """One app's tokens: the current one, and those that expired or were invalidated."""

    prefix: str
    current: str | None = None
    until: float = 0.0
    expired: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)

    def issue(self, force: bool) -> tuple[str, int]:
        now = time.monotonic()
        if self.current and now < self.until and not force:
            return self.current, max(1, int(self.until - now))  # stable: the same token while valid
        if self.current:
            (self.invalid if force and now < self.until else self.expired).add(self.current)
        self.current = f"{self.prefix}-{secrets.token_hex(12)}"
        self.until = now + TOKEN_SECONDS
        return self.current, TOKEN_SECONDS

    def check(self, token: str | None) -> int:
        """0 when the token is good, else WeChat's errcode."""
        if not token:
            return 41001  # access_token missing
        if token in self.expired or (token == self.current and time.monotonic() >= self.until):
            return 42001  # access_token expired
        if token != self.current:
            return 40001  # invalid credential
        return 0


class FakeWeChat:
    """The platform's HTTP APIs for the OA and WeCom clients. ``sent`` holds every delivered message:
    {"api": "custom"|"template"|"wecom_text"|"wecom_card"|"update_card", "to": openid/userid, "payload"}."""

    def __init__(self, app_id: str = APP_ID, app_secret: str = APP_SECRET, corp_id: str = CORP_ID,
                 corp_secret: str = CORP_SECRET, agent_id: int = AGENT_ID) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.oa_tokens = _Tokens("OA")
        self.wecom_tokens = _Tokens("WECOM")
        self.sent: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.token_calls: list[dict[str, Any]] = []  # {"api": "oa"|"wecom", "force_refresh": bool}
        self.calls: list[tuple[str, int]] = []  # (api, errcode) of every API call, refused ones too
        self.unsubscribed: set[str] = set()  # openids that unfollowed: sends answer 43004
        self.unknown_members: set[str] = set()  # WeCom userids outside the app: sends answer 81013
        self.media_files: dict[str, tuple[str, bytes]] = {}
        self.cards: dict[str, dict[str, Any]] = {}  # response_code → {"to", "card", "used"}
        self.uploads: dict[str, tuple[str, str, bytes]] = {}  # WeCom media_id → (type, content type, bytes)
        self.strict_templates = True  # refuse template fields longer than 20 characters or with line breaks
        self._failures: dict[str, list[tuple[int, int]]] = {}  # api → [(errcode, http status)]
        self._delay = 0.0
        self._ids = itertools.count(int(time.time()) * 1000)
        self._client_msg_ids: dict[tuple[str, str], str] = {}
        self.app = web.Application()
        r = self.app.router
        r.add_post("/cgi-bin/stable_token", self.stable_token)
        r.add_get("/cgi-bin/gettoken", self.gettoken)
        r.add_post("/cgi-bin/message/custom/send", self.custom_send)
        r.add_post("/cgi-bin/message/template/send", self.template_send)
        r.add_get("/cgi-bin/media/get", self.media_get)
        r.add_post("/cgi-bin/menu/create", self.menu_create)
        r.add_post("/cgi-bin/message/send", self.wecom_send)
        r.add_post("/cgi-bin/message/update_template_card", self.update_card)
        r.add_post("/cgi-bin/media/upload", self.media_upload)
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app, access_log=None)  # its URLs carry access tokens
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    # --- controls -------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """The current tokens now answer 42001; the next token request issues new ones."""
        for t in (self.oa_tokens, self.wecom_tokens):
            t.until = 0.0

    def fail_next(self, api: str, errcode: int, times: int = 1, status: int = 200) -> None:
        """The next ``times`` calls of ``api`` (custom, template, media, menu, wecom_text, wecom_card,
        update_card, token, wecom_token) answer ``errcode``; a ``status`` ≥ 500 answers that HTTP error."""
        self._failures.setdefault(api, []).extend([(errcode, status)] * times)

    def add_media(self, media_id: str, content_type: str, data: bytes) -> None:
        self.media_files[media_id] = (content_type, data)

    def slow(self, seconds: float) -> None:
        """Delay every send (and media download) by ``seconds``; 0 ends it."""
        self._delay = seconds

    # --- what was sent --------------------------------------------------------------------------
    def to(self, recipient: str, api: str | None = None) -> list[dict[str, Any]]:
        return [s for s in self.sent if s["to"] == recipient and (api is None or s["api"] == api)]

    def texts(self, recipient: str) -> list[str]:
        """What a client or member read, as text: customer-service texts and menus, WeCom texts, and cards
        (title and description), in order."""
        out = []
        for s in self.to(recipient):
            p = s["payload"]
            if s["api"] in ("custom", "wecom_text") and p.get("msgtype") == "text":
                out.append(p["text"]["content"])
            elif s["api"] == "custom" and p.get("msgtype") == "msgmenu":
                m = p["msgmenu"]
                out.append("\n".join([m.get("head_content", ""), *(i["content"] for i in m["list"]),
                                      m.get("tail_content", "")]).strip())
            elif s["api"] == "template":
                out.append("\n".join(f"{k}: {v['value']}" for k, v in p["data"].items()))
            elif s["api"] == "wecom_card":
                title = p["template_card"].get("main_title", {})
                out.append("\n".join(x for x in (title.get("title"), title.get("desc")) if x))
        return out

    async def wait_for(self, recipient: str, needle: str, timeout: float = 15.0, after: int = 0) -> str:
        """The first text to ``recipient`` (from index ``after``) containing ``needle``; fails on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.texts(recipient)[after:]:
                if needle in t:
                    return t
            await asyncio.sleep(0.05)
        raise AssertionError(f"no message with {needle!r} to {recipient}; got {self.texts(recipient)[after:]}")

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _error(errcode: int, errmsg: str, status: int = 200) -> web.Response:
        if status >= 400:
            return web.Response(status=status, text="<html>Bad Gateway</html>", content_type="text/html")
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _injected(self, api: str) -> web.Response | None:
        fails = self._failures.get(api)
        if not fails:
            return None
        errcode, status = fails.pop(0)
        self.calls.append((api, errcode))
        return self._error(errcode, f"injected error {errcode}", status)

    def _auth(self, request: web.Request, api: str, tokens: _Tokens | tuple[_Tokens, ...]) -> web.Response | None:
        """Token check, then injected failures: the platform looks at the token first."""
        token = request.query.get("access_token")
        codes = [t.check(token) for t in (tokens if isinstance(tokens, tuple) else (tokens,))]
        code = 0 if 0 in codes else codes[0]
        if code:
            self.calls.append((api, code))
            msg = {41001: "access_token missing", 42001: "access_token expired"}.get(code, "invalid credential")
            return self._error(code, msg)
        return self._injected(api)

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _ok(self, api: str, **extra: Any) -> web.Response:
        self.calls.append((api, 0))
        return web.json_response({"errcode": 0, "errmsg": "ok", **extra})

    def _refuse(self, api: str, errcode: int, errmsg: str) -> web.Response:
        self.calls.append((api, errcode))
        return self._error(errcode, errmsg)

    # --- tokens ---------------------------------------------------------------------------------
    async def stable_token(self, request: web.Request) -> web.Response:
        body = await self._body(request) or {}
        force = bool(body.get("force_refresh"))
        self.token_calls.append({"api": "oa", "force_refresh": force})
        if (failed := self._injected("token")) is not None:
            return failed
        if body.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if body.get("appid") != self.app_id:
            return self._error(40013, "invalid appid")
        if body.get("secret") != self.app_secret:
            return self._error(40125, "invalid appsecret")
        token, expires_in = self.oa_tokens.issue(force)
        return web.json_response({"access_token": token, "expires_in": expires_in})

    async def gettoken(self, request: web.Request) -> web.Response:
        self.token_calls.append({"api": "wecom", "force_refresh": False})
        if (failed := self._injected("wecom_token")) is not None:
            return failed
        if request.query.get("corpid") != self.corp_id:
            return self._error(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.corp_secret:
            return self._error(40001, "invalid secret")
        token, expires_in = self.wecom_tokens.issue(False)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in})

    # --- Official Account -----------------------------------------------------------------------
    async def custom_send(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request, "custom", self.oa_tokens)) is not None:
            return refused
        await asyncio.sleep(self._delay)
        body = await self._body(request)
        if body is None or not body.get("touser"):
            return self._refuse("custom", 40003, "invalid openid")
        to, msgtype = body["touser"], body.get("msgtype")
        if to in self.unsubscribed:
            return self._refuse("custom", 43004, "require subscribe")
        if msgtype == "text":
            content = (body.get("text") or {}).get("content")
            if not content:
                return self._refuse("custom", 44003, "empty news data")
            if len(content.encode()) > TEXT_LIMIT:
                return self._refuse("custom", 45002, "content size out of limit")
        elif msgtype == "msgmenu":
            menu = body.get("msgmenu") or {}
            items = menu.get("list")
            if not isinstance(items, list) or not items or not all(
                    isinstance(i, dict) and i.get("id") and i.get("content") for i in items):
                return self._refuse("custom", 47001, "data format error: msgmenu.list")
        elif msgtype not in ("image", "voice", "video", "news", "mpnews", "miniprogrampage"):
            return self._refuse("custom", 40008, "invalid message type")
        self.sent.append({"api": "custom", "to": to, "payload": body})
        return self._ok("custom")

    async def template_send(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request, "template", self.oa_tokens)) is not None:
            return refused
        await asyncio.sleep(self._delay)
        body = await self._body(request)
        if body is None or not body.get("touser"):
            return self._refuse("template", 40003, "invalid openid")
        to = body["touser"]
        if not body.get("template_id"):
            return self._refuse("template", 40037, "invalid template_id")
        if to in self.unsubscribed:
            return self._refuse("template", 43004, "require subscribe")
        data = body.get("data")
        if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
            return self._refuse("template", 47001, "data format error")
        if self.strict_templates:
            for k, v in data.items():
                value = str(v["value"])
                if len(value) > TEMPLATE_FIELD_LIMIT or "\n" in value:
                    return self._refuse("template", 47003, f"argument invalid! data.{k}.value invalid")
        dedupe = (to, str(body["client_msg_id"])) if body.get("client_msg_id") else None
        if dedupe and dedupe in self._client_msg_ids:  # the same notification again: sent once only
            return self._ok("template", msgid=int(self._client_msg_ids[dedupe]))
        msgid = next(self._ids)
        if dedupe:
            self._client_msg_ids[dedupe] = str(msgid)
        self.sent.append({"api": "template", "to": to, "payload": body, "msgid": str(msgid)})
        return self._ok("template", msgid=msgid)

    async def media_get(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request, "media", (self.oa_tokens, self.wecom_tokens))) is not None:
            return refused
        await asyncio.sleep(self._delay)
        found = self.media_files.get(request.query.get("media_id", ""))
        if found is None:  # WeChat answers errors as JSON with a text/plain type
            self.calls.append(("media", 40007))
            return web.Response(text='{"errcode":40007,"errmsg":"invalid media_id"}', content_type="text/plain")
        self.calls.append(("media", 0))
        ctype, data = found
        return web.Response(body=data, content_type=ctype,
                            headers={"Content-Disposition": f'attachment; filename="{request.query["media_id"]}"'})

    async def menu_create(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request, "menu", self.oa_tokens)) is not None:
            return refused
        body = await self._body(request)
        if body is None or not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
            return self._refuse("menu", 40016, "invalid button size")
        self.menus.append(body)
        return self._ok("menu")

    # --- WeCom ----------------------------------------------------------------------------------
    async def media_upload(self, request: web.Request) -> web.Response:
        """WeCom's temporary media: a multipart field "media"; the media_id is what message/send takes."""
        if (refused := self._auth(request, "upload", self.wecom_tokens)) is not None:
            return refused
        kind = request.query.get("type", "")
        form = await request.post()
        media = form.get("media")
        if kind not in ("image", "voice", "video", "file") or not isinstance(media, web.FileField):
            return self._refuse("upload", 40004, "invalid media type")
        media_id = f"WM{secrets.token_urlsafe(16)}"
        self.uploads[media_id] = (kind, media.content_type, media.file.read())
        return self._ok("upload", type=kind, media_id=media_id, created_at=str(int(time.time())))

    async def wecom_send(self, request: web.Request) -> web.Response:
        body = await self._body(request) or {}
        if body.get("msgtype") in ("image", "file"):
            return await self._wecom_media(request, body)
        api = "wecom_card" if body.get("msgtype") == "template_card" else "wecom_text"
        if (refused := self._auth(request, api, self.wecom_tokens)) is not None:
            return refused
        await asyncio.sleep(self._delay)
        if body.get("agentid") != self.agent_id:
            return self._refuse(api, 40056, "invalid agentid")
        to = str(body.get("touser") or "")
        if not to or to in self.unknown_members:
            return self._refuse(api, 81013, "user & party & tag all invalid")
        extra: dict[str, Any] = {"invaliduser": "", "invalidparty": "", "invalidtag": "", "unlicenseduser": "",
                                 "msgid": f"wecom-{next(self._ids)}"}
        if api == "wecom_text":
            content = (body.get("text") or {}).get("content")
            if body.get("msgtype") != "text" or not content:
                return self._refuse(api, 40008, "invalid message type")
            if len(content.encode()) > TEXT_LIMIT:
                return self._refuse(api, 45002, "content size out of limit")
        else:
            card = body.get("template_card") or {}
            if not card.get("card_type"):
                return self._refuse(api, 40058, "template_card.card_type missing")
            if card["card_type"] == "button_interaction" and not (card.get("task_id") and card.get("button_list")):
                return self._refuse(api, 40058, "template_card.task_id/button_list missing")
            extra["response_code"] = f"RC{secrets.token_urlsafe(24)}"
            self.cards[extra["response_code"]] = {"to": to, "card": card, "used": False}
        self.sent.append({"api": api, "to": to, "payload": body, "msgid": extra["msgid"],
                          "response_code": extra.get("response_code")})
        return self._ok(api, **extra)

    async def _wecom_media(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        if (refused := self._auth(request, "wecom_media", self.wecom_tokens)) is not None:
            return refused
        kind, to = body["msgtype"], str(body.get("touser") or "")
        media_id = str((body.get(kind) or {}).get("media_id") or "")
        if media_id not in self.uploads or self.uploads[media_id][0] != kind:
            return self._refuse("wecom_media", 40007, "invalid media_id")
        msgid = f"wecom-{next(self._ids)}"
        self.sent.append({"api": "wecom_media", "to": to, "payload": body, "msgid": msgid, "response_code": None})
        return self._ok("wecom_media", msgid=msgid)

    async def update_card(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request, "update_card", self.wecom_tokens)) is not None:
            return refused
        await asyncio.sleep(self._delay)
        body = await self._body(request) or {}
        if body.get("agentid") != self.agent_id:
            return self._refuse("update_card", 40056, "invalid agentid")
        sent = self.cards.get(str(body.get("response_code")))
        if sent is None or sent["used"]:  # each response_code works once
            return self._refuse("update_card", 40058, "invalid response_code")
        if not body.get("template_card") and not (body.get("button") or {}).get("replace_name"):
            return self._refuse("update_card", 40058, "template_card or button.replace_name missing")
        userids = body.get("userids") or []
        if not isinstance(userids, list) or not userids:
            return self._refuse("update_card", 40058, "userids missing")
        sent["used"] = True
        if body.get("template_card"):
            sent["card"] = body["template_card"]
        for userid in userids:
            self.sent.append({"api": "update_card", "to": userid, "payload": body})
        return self._ok("update_card", invaliduser=[])


# --- the platform's callbacks ---------------------------------------------------------------------

def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted parts (token, timestamp, nonce[, encrypted message])."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: dict[str, str | int]) -> str:
    inner = "".join(f"<{k}>{v if isinstance(v, int) else _cdata(v)}</{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>"


@dataclass
class Reply:
    """What the app answered: ``text`` is the passive reply's Content (decrypted) or None for "success",
    an empty body or a reply that is not a text; ``fields`` is the (decrypted) reply XML (for a handshake:
    {"echo": the echostr sent}); ``status`` is 0 when the app did not answer in time."""

    status: int
    body: str
    text: str | None
    fields: dict[str, Any] | None = None
    encrypted: bool = False
    query: dict[str, str] = field(default_factory=dict)


class _CallbackUser:
    """Shared by the OA and WeCom users: signing, posting, decoding, resending."""

    def __init__(self, base_url: str, path: str, token: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + path
        self.token = token
        self.timeout = timeout
        self.clock: Callable[[], float] = time.time
        self._last: tuple[bytes, dict[str, str]] | None = None
        self._last_time = 0

    def create_time(self) -> int:
        """Now, but strictly increasing: two events in one second are not taken for a retry."""
        self._last_time = max(int(self.clock()), self._last_time + 1)
        return self._last_time

    @staticmethod
    def next_msg_id() -> int:
        return next(_MSG_IDS)

    @staticmethod
    def _stamp() -> tuple[str, str]:
        return str(int(time.time())), str(secrets.randbelow(10**10))

    async def _send(self, method: str, body: bytes, query: dict[str, str]) -> tuple[int, str]:
        """(status, body); status 0 when the app did not answer within ``timeout`` (WeChat waits 5 s,
        then gives up on this attempt and retries: see ``resend_last``)."""
        try:
            async with ClientSession(timeout=ClientTimeout(total=self.timeout)) as s, s.request(
                    method, self.url, params=query, data=body or None,
                    headers={"Content-Type": "text/xml"} if body else None) as r:
                return r.status, await r.text()
        except TimeoutError:
            return 0, ""

    async def post_raw(self, body: bytes, query: dict[str, str]) -> Reply:
        """POST exactly this body and query (no signing), for malformed and forged requests."""
        status, text = await self._send("POST", body, query)
        return self._decode(status, text, query)

    async def resend_last(self) -> Reply:
        """The exact same request again, as WeChat retries when the reply is late."""
        assert self._last is not None, "nothing sent yet"
        body, query = self._last
        return await self.post_raw(body, query)

    async def _post(self, body: bytes, query: dict[str, str]) -> Reply:
        self._last = (body, query)
        return await self.post_raw(body, query)

    def _decode(self, status: int, body: str, query: dict[str, str]) -> Reply:
        stripped = body.strip()
        if status != 200 or stripped in ("", "success"):
            return Reply(status, body, None, query=query)
        try:
            fields = xmltodict.parse(stripped)["xml"]
        except Exception:
            return Reply(status, body, None, query=query)
        encrypted = False
        if isinstance(fields, dict) and "Encrypt" in fields:
            plain = self._decrypt(fields)
            fields, encrypted = xmltodict.parse(plain)["xml"], True
        text = fields.get("Content") if isinstance(fields, dict) and fields.get("MsgType") == "text" else None
        return Reply(status, body, text, fields, encrypted, query)

    def _decrypt(self, fields: dict[str, Any]) -> str:  # overridden by users with a key
        raise AssertionError("an encrypted reply where none was expected")


class FakeWeChatUser(_CallbackUser):
    """A client of the Official Account, as the WeChat platform delivers their messages to the app.

    ``mode``: "plaintext" (signature only), "compat" (plaintext fields and <Encrypt>, msg_signature) or
    "safe" (only <Encrypt>); ``aes_key`` is the 43-character EncodingAESKey for the last two."""

    def __init__(self, base_url: str, path: str = "/wechat/oa", token: str = "", app_id: str = APP_ID,
                 aes_key: str | None = None, mode: str = "plaintext", openid: str = "oUser0001",
                 to_user: str = "gh_test", timeout: float = 5.0) -> None:
        if mode not in ("plaintext", "compat", "safe"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode != "plaintext" and not aes_key:
            raise ValueError(f"{mode} mode needs aes_key")
        super().__init__(base_url, path, token, timeout)
        self.app_id, self.mode, self.openid, self.to_user = app_id, mode, openid, to_user
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    # --- messages -------------------------------------------------------------------------------
    async def text(self, content: str, msg_id: int | None = None) -> Reply:
        return await self.deliver({"MsgType": "text", "Content": content,
                                   "MsgId": msg_id if msg_id is not None else self.next_msg_id()})

    async def event(self, event: str, key: str = "") -> Reply:
        """subscribe, unsubscribe, CLICK (key = the menu key), SCAN, VIEW …"""
        fields: dict[str, str | int] = {"MsgType": "event", "Event": event}
        if key or event in ("CLICK", "VIEW", "SCAN"):
            fields["EventKey"] = key
        return await self.deliver(fields)

    async def image(self, media_id: str, pic_url: str = "") -> Reply:
        return await self.deliver({"MsgType": "image", "PicUrl": pic_url or f"http://mmbiz.qpic.cn/{media_id}",
                                   "MediaId": media_id, "MsgId": self.next_msg_id()})

    async def voice(self, media_id: str, recognition: str = "") -> Reply:
        return await self.deliver({"MsgType": "voice", "MediaId": media_id, "Format": "amr",
                                   "Recognition": recognition, "MsgId": self.next_msg_id()})

    async def deliver(self, fields: dict[str, str | int]) -> Reply:
        """Any message: the envelope (ToUserName, FromUserName, CreateTime) is added around ``fields``."""
        msg = {"ToUserName": self.to_user, "FromUserName": self.openid, "CreateTime": self.create_time(),
               **fields}
        body, query = self.sign(_xml(msg))
        return await self._post(body, query)

    async def handshake(self, echostr: str | None = None) -> Reply:
        """The server-verification GET (always a plain signature for the OA); ``text`` is the body."""
        echostr = echostr or str(secrets.randbelow(10**18))
        timestamp, nonce = self._stamp()
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "echostr": echostr}
        status, body = await self._send("GET", b"", query)
        return Reply(status, body, body, {"echo": echostr}, query=query)

    # --- signing --------------------------------------------------------------------------------
    def encrypt(self, xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """(Encrypt, msg_signature) of a plaintext message, as the platform computes them."""
        assert self.crypto is not None
        out = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        return out["Encrypt"], out["MsgSignature"]

    def sign(self, xml: str) -> tuple[bytes, dict[str, str]]:
        """The body and query the platform would POST for this plaintext message in this mode."""
        timestamp, nonce = self._stamp()
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                 "openid": self.openid}
        if self.mode == "plaintext":
            return xml.encode(), query
        encrypt, msg_signature = self.encrypt(xml, timestamp, nonce)
        query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
        if self.mode == "safe":
            return _xml({"ToUserName": self.to_user, "Encrypt": encrypt}).encode(), query
        return xml.replace("</xml>", f"<Encrypt>{_cdata(encrypt)}</Encrypt></xml>").encode(), query

    def _decrypt(self, fields: dict[str, Any]) -> str:
        assert self.crypto is not None, "an encrypted reply in plaintext mode"
        return self.crypto.decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])


class FakeWeComUser(_CallbackUser):
    """A member of the WeCom app, as WeCom delivers their messages (always encrypted) to the app."""

    def __init__(self, base_url: str, path: str = "/wechat/wecom", token: str = "", aes_key: str = "",
                 corp_id: str = CORP_ID, userid: str = "hk_wang", agent_id: int = AGENT_ID,
                 timeout: float = 5.0) -> None:
        super().__init__(base_url, path, token, timeout)
        self.corp_id, self.userid, self.agent_id = corp_id, userid, agent_id
        self.crypto = WeComCrypto(token, aes_key, corp_id)

    async def text(self, content: str, msg_id: int | None = None) -> Reply:
        return await self.deliver({"MsgType": "text", "Content": content,
                                   "MsgId": msg_id if msg_id is not None else self.next_msg_id()})

    async def card_click(self, task_id: str, event_key: str, response_code: str,
                         card_type: str = "button_interaction") -> Reply:
        """A tap on a template card's button: a template_card_event with the card's new response_code."""
        return await self.deliver({"MsgType": "event", "Event": "template_card_event", "EventKey": event_key,
                                   "TaskId": task_id, "CardType": card_type, "ResponseCode": response_code})

    async def event(self, event: str, key: str = "") -> Reply:
        """enter_agent, click (key = menu key) …"""
        return await self.deliver({"MsgType": "event", "Event": event, "EventKey": key})

    async def deliver(self, fields: dict[str, str | int]) -> Reply:
        msg = {"ToUserName": self.corp_id, "FromUserName": self.userid, "CreateTime": self.create_time(),
               **fields, "AgentID": self.agent_id}
        body, query = self.sign(_xml(msg))
        return await self._post(body, query)

    def sign(self, xml: str) -> tuple[bytes, dict[str, str]]:
        timestamp, nonce = self._stamp()
        out = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        body = _xml({"ToUserName": self.corp_id, "AgentID": str(self.agent_id), "Encrypt": out["Encrypt"]})
        return body.encode(), {"msg_signature": out["MsgSignature"], "timestamp": timestamp, "nonce": nonce}

    async def handshake(self, echo: str | None = None) -> Reply:
        """The URL verification GET: an encrypted echostr the app must decrypt and return as plain text."""
        echo = echo or str(secrets.randbelow(10**18))
        timestamp, nonce = self._stamp()
        encrypted = xmltodict.parse(self.crypto.encrypt_message(echo, nonce, timestamp))["xml"]
        query = {"msg_signature": encrypted["MsgSignature"], "timestamp": timestamp, "nonce": nonce,
                 "echostr": encrypted["Encrypt"]}
        status, body = await self._send("GET", b"", query)
        return Reply(status, body, body, {"echo": echo}, query=query)

    def _decrypt(self, fields: dict[str, Any]) -> str:
        return self.crypto.decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
