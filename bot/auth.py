"""Who is talking on the REST channel: signed public sessions, a trusted back end's API key, staff tokens.

- Public clients (website widget): ``POST /webhooks/rest/session`` hands out a new sender id and a
  token ``v1.<sender>.<expiry>.<signature>`` (HMAC-SHA256 with the server's session secret). Nothing is
  stored: the signature is the proof. EventSource cannot set headers, so the stream also accepts a
  short-lived ``s1.`` token in its URL, never the session token itself.
- Trusted back ends (server to server only): ``X-Api-Key`` may assert any client sender, never staff.
- Staff: ``Authorization: Bearer fds_…``, looked up by hash; the sender is ``staff:<code>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from config.settings import AuthSettings

SESSION, STREAM = "v1", "s1"  # token purposes: a stream token never works as a session token
STAFF_PREFIX = "staff:"  # REST senders of staff members, reserved for their Bearer tokens
STAFF_TOKEN_PREFIX = "fds_"
MAX_TOKEN = 512
MIN_PRODUCTION_SECRET = 32


class AuthError(Exception):
    """A request refused before anything is processed; ``response`` names the polite text shown."""

    def __init__(self, status: int, detail: str, response: str = "utter_auth_required") -> None:
        super().__init__(detail)
        self.status, self.detail, self.response = status, detail, response


@dataclass(frozen=True)
class Caller:
    sender: str | None  # None: a trusted back end that names the sender in the request
    via: str  # session | stream | api_key | staff
    renewed: tuple[str, datetime] | None = None  # a fresh session token when the old one is half spent


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Stateless signed tokens. The sender is base64url-encoded so any sender id fits between the dots."""

    def __init__(self, secret: bytes, session_days: int, stream_seconds: int, now: Callable[[], datetime]) -> None:
        self._key = hashlib.sha256(b"frontdesk-rest-session:" + secret).digest()
        self.lifetime = timedelta(days=session_days)
        self.stream_lifetime = timedelta(seconds=stream_seconds)
        self.now = now

    @staticmethod
    def new_sender() -> str:
        return "web-" + secrets.token_urlsafe(16)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def issue(self, sender: str, purpose: str = SESSION) -> tuple[str, datetime]:
        life = self.lifetime if purpose == SESSION else self.stream_lifetime
        expires = self.now().astimezone(UTC).replace(microsecond=0) + life
        body = f"{purpose}.{_b64(sender.encode('utf-8'))}.{int(expires.timestamp())}"
        return f"{body}.{self._sign(body)}", expires

    def verify(self, token: str, purpose: str = SESSION) -> tuple[str, datetime] | None:
        """(sender, expiry) of a genuine, unexpired token of this purpose; None otherwise."""
        if not token or len(token) > MAX_TOKEN:
            return None
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != purpose:
            return None
        body = ".".join(parts[:3])
        try:
            good = hmac.compare_digest(self._sign(body), parts[3])
            sender = _unb64(parts[1]).decode("utf-8")
            expires = datetime.fromtimestamp(int(parts[2]), UTC)
        except (ValueError, UnicodeError, binascii.Error, OverflowError, OSError):
            return None
        if not good or expires <= self.now():
            return None
        return sender, expires

    def needs_renewal(self, expires: datetime) -> bool:
        return expires - self.now() < self.lifetime / 2


def session_secret(cfg: AuthSettings, environment: str, derive: Callable[[str], str]) -> bytes:
    """The configured secret; in development, one derived from the data key (so every worker sharing the
    key agrees without another file to keep); production refuses to start without its own secret."""
    if cfg.session_secret:
        if environment == "production" and len(cfg.session_secret) < MIN_PRODUCTION_SECRET:
            raise RuntimeError(f"FRONTDESK_AUTH__SESSION_SECRET must be at least {MIN_PRODUCTION_SECRET} characters")
        return cfg.session_secret.encode("utf-8")
    if environment == "production":
        raise RuntimeError("production needs FRONTDESK_AUTH__SESSION_SECRET (e.g. `openssl rand -base64 48`)")
    return derive("frontdesk rest session secret v1").encode("ascii")


class Authenticator:
    """Turns a request's headers into a Caller, or raises AuthError. Reads the database only to look up a
    staff token (by hash); never writes."""

    def __init__(self, cfg: AuthSettings, tokens: SessionTokens,
                 staff_lookup: Callable[[str], Any]) -> None:
        self.api_key = cfg.api_key
        self.tokens = tokens
        self.staff_lookup = staff_lookup  # token → Person | None, blocking

    def has_api_key(self, request: web.Request) -> bool:
        given = request.headers.get("X-Api-Key")
        if given is None:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "apikey" else None
        return bool(self.api_key and given) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                                                     self.api_key.encode("utf-8"))

    async def caller(self, request: web.Request, allow_stream_token: bool = False) -> Caller:
        if self.has_api_key(request):
            return Caller(None, "api_key")
        if request.headers.get("X-Api-Key") is not None or request.headers.get("Authorization", "").lower() \
                .startswith("apikey"):
            raise AuthError(401, "wrong API key")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if token.startswith(STAFF_TOKEN_PREFIX):
                person = await asyncio.to_thread(self.staff_lookup, token)
                if person is None:
                    raise AuthError(401, "staff token unknown, revoked or deactivated", "utter_staff_refused")
                return Caller(STAFF_PREFIX + person.code, "staff")
            found = self.tokens.verify(token, SESSION)
            if found is None:
                raise AuthError(401, "session token invalid or expired: POST /webhooks/rest/session for a new one")
            sender, expires = found
            renewed = self.tokens.issue(sender) if self.tokens.needs_renewal(expires) else None
            return Caller(sender, "session", renewed)
        if scheme:
            raise AuthError(401, "Authorization must be 'Bearer <token>'")
        if allow_stream_token and "token" in request.query:
            found = self.tokens.verify(request.query["token"], STREAM)
            if found is None:
                raise AuthError(401, "stream token invalid or expired: POST /webhooks/rest/stream-token")
            return Caller(found[0], "stream")
        raise AuthError(401, "authentication required: Authorization: Bearer <session token>")

    @staticmethod
    def sender_for(caller: Caller, claimed: Any) -> str:
        """The conversation this request acts on. Token holders act as themselves (a different claimed
        sender is refused); a trusted back end names any client, never a staff member."""
        if caller.sender is not None:
            if claimed not in (None, "", caller.sender):
                raise AuthError(401, "this token belongs to another sender")
            return caller.sender
        if not isinstance(claimed, str) or not claimed:
            raise AuthError(400, "sender required with an API key")
        if claimed.startswith(STAFF_TOKEN_PREFIX):
            raise AuthError(403, "a staff token is never a sender: send it as 'Authorization: Bearer'",
                            "utter_staff_refused")
        if claimed.startswith(STAFF_PREFIX):
            raise AuthError(403, "an API key cannot act as staff: staff use their own Bearer token",
                            "utter_staff_refused")
        return claimed
