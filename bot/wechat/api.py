"""Async clients for the WeChat Official Account API (clients) and the WeCom app API (staff).

wechatpy's HTTP client is synchronous (``requests``) and hard-codes its URLs, so the platform calls are
made here with aiohttp against a configurable base URL (tests point it at ``tests/fake_wechat.py``).
Every call has an explicit timeout; platform error codes become the exceptions below so the channel
code can decide: fall back to a template, mark a client unreachable, tell the managers, or retry later.

Access tokens come from ``TokenCache``: in-process, and shared through Redis when configured, refreshed
behind a lock so that several workers never stampede the token endpoint. A call refused with an
invalid or expired token (40001/42001/40014) refreshes the token and is retried once.

Logs carry the API path and the errcode only: never tokens, secrets or message text (personal data).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

TEXT_LIMIT_BYTES = 2048  # customer-service text (OA) and WeCom text: a safe cut for one message

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # invalid credential / invalid token / token expired
WINDOW_CLOSED = frozenset({45015, 45047})  # reply time limit exceeded / out of response count limit
NOT_SUBSCRIBED = frozenset({43004, 43019, 40003, 81013})  # not subscribed, blocked, invalid openid, no such member
NOT_AUTHORISED = frozenset({48001, 48002})  # API unauthorised / disabled for this account or app
TRANSIENT = frozenset({-1, 45009, 45011, 45033})  # system busy, API limits (daily, per-minute, concurrency)
# Refused by the token endpoint itself: wrong appid/secret, IP not whitelisted. Permanent until an admin acts.
BAD_CREDENTIALS = frozenset({40001, 40013, 40125, 40164, 41002, 41004, 60020})


class WeChatError(Exception):
    """The platform refused a call; ``errcode`` is WeChat's (-1 for network errors)."""

    def __init__(self, errcode: int, errmsg: str = "", path: str = "") -> None:
        super().__init__(f"{path or 'wechat'}: errcode {errcode} {errmsg}".rstrip())
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class WindowClosed(WeChatError):
    """45015/45047: outside the customer-service window or its quota is used; send a template instead."""


class NotSubscribed(WeChatError):
    """43004/43019/40003/81013: the client (or WeCom member) cannot be reached; mark them unreachable."""


class NotAuthorised(WeChatError):
    """48001/48002 or refused credentials: permanent until an admin acts; managers are told."""


class Transient(WeChatError):
    """Network error, timeout, HTTP 5xx, system busy or a rate limit: retry later."""


def error_for(errcode: int, errmsg: str = "", path: str = "", token_endpoint: bool = False) -> WeChatError:
    """The exception for a platform errcode (the token endpoint's 40001 means a bad secret, not a bad token)."""
    if token_endpoint and errcode in BAD_CREDENTIALS:
        return NotAuthorised(errcode, errmsg, path)
    for codes, cls in ((WINDOW_CLOSED, WindowClosed), (NOT_SUBSCRIBED, NotSubscribed),
                       (NOT_AUTHORISED, NotAuthorised), (TRANSIENT, Transient)):
        if errcode in codes:
            return cls(errcode, errmsg, path)
    return WeChatError(errcode, errmsg, path)


def split_utf8(text: str, limit_bytes: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit_bytes`` UTF-8 bytes, at line breaks where possible,
    else after a space or punctuation, else between characters (never inside one). Empty text → []."""
    if limit_bytes < 4:
        raise ValueError("limit_bytes must hold at least one character (4 bytes)")
    if len(text.encode()) <= limit_bytes:
        return [text] if text else []
    chunks: list[str] = []
    cur, cur_bytes = "", 0
    for line in text.splitlines(keepends=True):
        size = len(line.encode())
        if cur_bytes + size <= limit_bytes:
            cur, cur_bytes = cur + line, cur_bytes + size
            continue
        if cur:
            chunks.append(cur)
        while size > limit_bytes:  # one line longer than a message
            cut = _cut(line, limit_bytes)
            chunks.append(line[:cut])
            line = line[cut:]
            size = len(line.encode())
        cur, cur_bytes = line, size
    if cur:
        chunks.append(cur)
    return [c for c in (c.rstrip("\r\n") for c in chunks) if c.strip()]


_SOFT_BREAKS = frozenset(" \t，。！？；、,.!?;:：)")


def _cut(line: str, limit_bytes: int) -> int:
    """The length of the longest prefix within the limit, moved back to a soft break in its last third."""
    used, end = 0, 0
    for ch in line:
        n = len(ch.encode())
        if used + n > limit_bytes:
            break
        used, end = used + n, end + 1
    for i in range(end - 1, max(end * 2 // 3, 1) - 1, -1):
        if line[i] in _SOFT_BREAKS:
            return i + 1
    return max(end, 1)


# --- access tokens ----------------------------------------------------------------------------------

Fetch = Callable[[bool], Awaitable[tuple[str, int]]]  # force_refresh → (access_token, expires_in)

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def _cache_seconds(expires_in: int) -> float:
    """Keep a token until 5 minutes before it expires (half its life when it is short already)."""
    return float(expires_in - 300 if expires_in > 600 else max(expires_in // 2, 1))


class TokenCache:
    """An access token for one app, shared by the OA and WeCom clients' calls.

    Kept in process; with ``redis_url`` also in Redis (one key per app, TTL = expires_in − 300 s) so that
    all workers use one token. A refresh runs behind a Redis lock (SET NX PX) — the others wait for the
    new token instead of asking the platform too — and behind an asyncio lock within a process.
    ``rejected`` names the token the platform just refused: any other cached token is taken as newer.
    """

    def __init__(self, key: str, fetch: Fetch, redis_url: str | None = None, timeout: float = 5.0,
                 lock_seconds: float = 15.0) -> None:
        self.key = f"frontdesk:wechat:token:{key}"
        self._fetch_token = fetch
        self._token: str | None = None
        self._until = 0.0  # monotonic
        self._local = asyncio.Lock()
        self._lock_seconds = lock_seconds
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url, decode_responses=True, socket_timeout=timeout,
                                         socket_connect_timeout=timeout)

    @property
    def current(self) -> str | None:
        return self._token

    def _memory(self) -> str | None:
        return self._token if self._token and time.monotonic() < self._until else None

    def _keep(self, token: str, seconds: float) -> None:
        self._token, self._until = token, time.monotonic() + seconds

    async def get(self, rejected: str | None = None, force: bool = False) -> str:
        """A valid token. ``force`` without ``rejected``: the current one is bad (or unknown), ask anew."""
        if force and rejected is None:
            rejected = self._token
        skip_cache = force and rejected is None  # nothing to compare with: go to the platform
        token = self._memory()
        if token and token != rejected and not skip_cache:
            return token
        async with self._local:
            token = self._memory()
            if token and token != rejected and not skip_cache:
                return token  # another task refreshed it while this one waited
            if self._redis is not None:
                try:
                    token, seconds = await self._shared(rejected, skip_cache)
                    self._keep(token, seconds)
                    return token
                except WeChatError:
                    raise
                except Exception as exc:  # Redis down: each worker fetches for itself (stable tokens allow it)
                    log.warning("wechat token: redis unavailable (%s), fetching directly", type(exc).__name__)
            token, expires_in = await self._fetch(rejected)
            self._keep(token, _cache_seconds(expires_in))
            return token

    async def _fetch(self, rejected: str | None) -> tuple[str, int]:
        token, expires_in = await self._fetch_token(False)
        if rejected is not None and token == rejected:  # the platform still hands out the refused one
            token, expires_in = await self._fetch_token(True)
        return token, expires_in

    async def _shared(self, rejected: str | None, skip_cache: bool) -> tuple[str, float]:
        r = self._redis
        lock_key = self.key + ":lock"
        if skip_cache:  # whatever Redis holds now is the token being replaced
            rejected = await r.get(self.key) or rejected
        deadline = time.monotonic() + self._lock_seconds * 2
        while True:
            found = await self._from_redis(rejected)
            if found:
                return found
            me = secrets.token_hex(8)
            if await r.set(lock_key, me, nx=True, px=int(self._lock_seconds * 1000)):
                try:
                    found = await self._from_redis(rejected)  # refreshed between the read and the lock
                    if found:
                        return found
                    token, expires_in = await self._fetch(rejected)
                    seconds = _cache_seconds(expires_in)
                    await r.set(self.key, token, px=int(seconds * 1000))
                    return token, seconds
                finally:
                    await r.eval(_RELEASE, 1, lock_key, me)
            if time.monotonic() > deadline:  # the holder is stuck: its lease ends, then someone fetches
                raise Transient(-1, "token lock wait timed out", "token")
            await asyncio.sleep(0.05)

    async def _from_redis(self, rejected: str | None) -> tuple[str, float] | None:
        token, ttl_ms = await self._redis.get(self.key), await self._redis.pttl(self.key)
        if token and token != rejected and ttl_ms > 0:
            return token, ttl_ms / 1000
        return None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


# --- HTTP -------------------------------------------------------------------------------------------

class _Client:
    """Shared plumbing: one aiohttp session, the error mapping and the retry on a refused token."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self.tokens: TokenCache

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _request(self, method: str, path: str, params: dict[str, str] | None = None,
                       body: Any = None, token_endpoint: bool = False, binary: bool = False,
                       form: Callable[[], aiohttp.FormData] | None = None) -> Any:
        """One HTTP exchange. JSON replies with errcode ≠ 0 raise; ``binary`` returns (content type, bytes)
        unless the platform answered with a JSON error."""
        data: Any = None if body is None else json.dumps(body, ensure_ascii=False).encode()  # raw UTF-8
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        if form is not None:  # a file upload: multipart, built afresh for every attempt
            data, headers = form(), None
        try:
            async with self._http().request(method, self.base_url + path, params=params, data=data,
                                            headers=headers) as resp:
                raw = await resp.read()
                status, ctype = resp.status, resp.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("wechat %s: network error %s", path, type(exc).__name__)
            raise Transient(-1, type(exc).__name__, path) from None  # no chained URL (it has the token)
        if status >= 500 or status == 429:
            log.warning("wechat %s: HTTP %s", path, status)
            raise Transient(-1, f"HTTP {status}", path)
        if status >= 400:
            log.warning("wechat %s: HTTP %s", path, status)
            raise WeChatError(status, f"HTTP {status}", path)
        reply: Any = None
        if not binary or ctype in ("application/json", "text/plain", "text/json"):
            try:
                reply = json.loads(raw)
            except ValueError:
                if not binary:
                    log.warning("wechat %s: reply is not JSON", path)
                    raise Transient(-1, "reply is not JSON", path) from None
        if isinstance(reply, dict) and reply.get("errcode", 0) != 0:
            errcode = int(reply["errcode"])
            log.warning("wechat %s: errcode %s", path, errcode)
            raise error_for(errcode, str(reply.get("errmsg", "")), path, token_endpoint)
        if binary:
            return reply if isinstance(reply, dict) else (ctype, raw)
        if not isinstance(reply, dict):
            raise Transient(-1, "reply is not a JSON object", path)
        return reply

    async def token(self, force: bool = False) -> str:
        return await self.tokens.get(force=force)

    async def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None,
                    binary: bool = False, form: Callable[[], aiohttp.FormData] | None = None) -> Any:
        """An API call with the access token; a refused token is refreshed and the call retried once."""
        token = await self.tokens.get()
        try:
            return await self._request(method, path, {**(params or {}), "access_token": token}, body,
                                       binary=binary, form=form)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_INVALID:
                raise
            log.info("wechat %s: errcode %s, refreshing the access token", path, exc.errcode)
        token = await self.tokens.get(rejected=token)
        return await self._request(method, path, {**(params or {}), "access_token": token}, body, binary=binary,
                                   form=form)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.tokens.close()


class OAClient(_Client):
    """The Official Account (公众号) API: customer-service and template messages, media, the menu."""

    def __init__(self, base_url: str, app_id: str, secret: str, timeout: float = 5.0,
                 redis_url: str | None = None) -> None:
        super().__init__(base_url, timeout)
        self.app_id = app_id
        self._secret = secret
        self.tokens = TokenCache(f"oa:{app_id}", self._fetch_token, redis_url, timeout)

    async def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        # The stable token: normal mode hands every caller the same token while it is valid.
        reply = await self._request("POST", "/cgi-bin/stable_token", body={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self._secret,
            "force_refresh": force_refresh}, token_endpoint=True)
        return _token_of(reply, "/cgi-bin/stable_token")

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service text (inside the window); split long texts with ``split_utf8`` first."""
        await self._call("POST", "/cgi-bin/message/custom/send",
                         {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def send_menu(self, openid: str, head: str, items: list[tuple[str, str]], tail: str = "") -> None:
        """A menu message: each item comes back as the client's text (and ``bizmsgmenuid`` = its id)."""
        await self._call("POST", "/cgi-bin/message/custom/send", {
            "touser": openid, "msgtype": "msgmenu",
            "msgmenu": {"head_content": head, "list": [{"id": str(i), "content": c} for i, c in items],
                        "tail_content": tail}})

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None,
                            client_msg_id: str | None = None) -> str:
        """A template message (verified service accounts); returns its msgid. ``client_msg_id`` lets the
        platform drop a repeat of the same notification (retries after a timeout)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        reply = await self._call("POST", "/cgi-bin/message/template/send", body)
        return str(reply.get("msgid", ""))

    async def media(self, media_id: str) -> tuple[str, bytes]:
        """A temporary media file the client sent (ids live 3 days): (content type, bytes)."""
        got = await self._call("GET", "/cgi-bin/media/get", params={"media_id": media_id}, binary=True)
        if isinstance(got, dict):  # videos come as {"video_url": …}
            url = got.get("video_url") or got.get("down_url")
            if not url:
                raise WeChatError(-2, "media reply without content", "/cgi-bin/media/get")
            try:
                async with self._http().get(url) as resp:
                    if resp.status >= 400:
                        raise Transient(-1, f"HTTP {resp.status}", "/cgi-bin/media/get")
                    return resp.content_type, await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise Transient(-1, type(exc).__name__, "/cgi-bin/media/get") from None
        ctype, raw = got
        return ctype, raw

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """Replace the custom menu (``{"button": [...]}``)."""
        await self._call("POST", "/cgi-bin/menu/create", menu)


class WeComClient(_Client):
    """A WeCom (企业微信) self-built app: texts and template cards to members, card updates."""

    def __init__(self, base_url: str, corp_id: str, secret: str, agent_id: int, timeout: float = 5.0,
                 redis_url: str | None = None) -> None:
        super().__init__(base_url, timeout)
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._secret = secret
        self.tokens = TokenCache(f"wecom:{corp_id}:{self.agent_id}", self._fetch_token, redis_url, timeout)

    async def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        # gettoken returns the same token while it is valid; there is no force mode.
        reply = await self._request("GET", "/cgi-bin/gettoken",
                                    params={"corpid": self.corp_id, "corpsecret": self._secret},
                                    token_endpoint=True)
        return _token_of(reply, "/cgi-bin/gettoken")

    async def _send(self, userid: str, msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
        reply = await self._call("POST", "/cgi-bin/message/send",
                                 {"touser": userid, "msgtype": msgtype, "agentid": self.agent_id,
                                  msgtype: content})
        if userid in str(reply.get("invaliduser") or "").split("|"):  # errcode 0 but not delivered
            raise NotSubscribed(81013, "invalid user", "/cgi-bin/message/send")
        return reply

    async def send_text(self, userid: str, text: str) -> str:
        """A text to one member; returns the msgid. Split long texts with ``split_utf8`` first."""
        reply = await self._send(userid, "text", {"content": text})
        return str(reply.get("msgid", ""))

    async def send_card(self, userid: str, card: dict[str, Any]) -> dict[str, Any]:
        """A template card (e.g. ``button_interaction`` with task_id and button_list) to one member.
        Returns {"msgid", "response_code"}: the code updates this card once, within 72 hours."""
        reply = await self._send(userid, "template_card", card)
        return {"msgid": str(reply.get("msgid", "")), "response_code": str(reply.get("response_code", ""))}

    async def send_file(self, userid: str, data: bytes, filename: str, content_type: str) -> str:
        """A file to one member (a case's photo): uploaded as temporary media (kept 3 days by WeCom),
        then sent as an image when WeCom shows it inline, else as a file. Returns the msgid."""
        kind = "image" if content_type in ("image/jpeg", "image/png") else "file"

        def form() -> aiohttp.FormData:
            f = aiohttp.FormData()
            f.add_field("media", data, filename=filename, content_type=content_type)
            return f

        up = await self._call("POST", "/cgi-bin/media/upload", params={"type": kind}, form=form)
        reply = await self._send(userid, kind, {"media_id": str(up.get("media_id", ""))})
        return str(reply.get("msgid", ""))

    async def update_card(self, userids: list[str], response_code: str, card: dict[str, Any] | None = None,
                          button_text: str | None = None) -> None:
        """Replace a sent card (``card``) or turn its buttons into one grey label (``button_text``)."""
        if (card is None) == (button_text is None):
            raise ValueError("give exactly one of card and button_text")
        body: dict[str, Any] = {"userids": userids, "agentid": self.agent_id, "response_code": response_code}
        if card is not None:
            body["template_card"] = card
        else:
            body["button"] = {"replace_name": button_text}
        await self._call("POST", "/cgi-bin/message/update_template_card", body)


def _token_of(reply: dict[str, Any], path: str) -> tuple[str, int]:
    token = reply.get("access_token")
    if not isinstance(token, str) or not token:
        raise Transient(-1, "token reply without access_token", path)
    return token, int(reply.get("expires_in") or 7200)
