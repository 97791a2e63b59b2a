"""The WeChat callback protocol, pure and synchronous: signatures, AES envelopes and safe XML parsing.

Covers the Official Account (OA) callback in plaintext, compatible and safe modes and the WeCom app callback
(always encrypted). No I/O here: the channel modules hand in the query and body and map the two exceptions
to HTTP statuses (BadSignature → 403, BadMessage → 400).

Security rules, and why:
- Signatures are checked here in constant time, before anything is decrypted or parsed; wechatpy's own
  checks compare with `!=` and are never used.
- XML goes through defusedxml with DTDs forbidden (billion laughs, XXE), after a size check, including the
  decrypted inner XML (defence in depth: only the token holder can produce it, but it costs nothing).
- The AES frame is unpacked strictly (padding, length, AppID/CorpID) so a tampered or foreign envelope
  is a BadMessage, never a crash or a message from the wrong account.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.crypto import PrpCrypto as _OAPrpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as _WeComPrpCrypto

__all__ = [
    "MAX_REPLY_BYTES",
    "SUCCESS",
    "BadMessage",
    "BadSignature",
    "Inbound",
    "OACallback",
    "WeComCallback",
    "WeComInbound",
    "signature",
    "signature_ok",
    "text_reply",
]

SUCCESS = "success"  # the platform's "received, do not retry" answer; never encrypted
MAX_REPLY_BYTES = 2048  # passive text reply limit (UTF-8 bytes of Content)
_DEDUP_MAX = 128

_EMPTY: Mapping[str, str] = MappingProxyType({})
# Characters XML 1.0 cannot carry at all; a reply containing one would be rejected by the platform.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DIGITS = re.compile(r"[0-9]{1,20}")


class BadSignature(Exception):
    """The request is not from the platform (signature or msg_signature mismatch): answer 403."""


class BadMessage(Exception):
    """Malformed, oversized, DTD/entities, undecryptable or for another AppID/CorpID: answer 400."""


# --- signatures --------------------------------------------------------------------------------------------


def signature(token: str, *parts: str) -> str:
    """WeChat's SHA-1 signature: the token and the parts sorted as byte strings, concatenated."""
    # surrogatepass: a lone surrogate from a hostile query must give a mismatch, not an exception (500).
    items = sorted(p.encode("utf-8", "surrogatepass") for p in (token, *parts))
    return hashlib.sha1(b"".join(items)).hexdigest()


def signature_ok(given: str | None, token: str, *parts: str) -> bool:
    """Whether `given` is the signature of `parts` under `token`, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(signature(token, *parts).encode("ascii"), given.encode("utf-8", "surrogatepass"))


# --- AES envelopes -----------------------------------------------------------------------------------------


class _SecureRandomMixin:
    # The 16 random bytes in front of every frame stand in for an IV (the platform fixes IV = key[:16]);
    # wechatpy draws them with `random`, we draw them with `secrets`.
    def get_random_string(self) -> str:
        return secrets.token_hex(8)


class _OACrypto(_SecureRandomMixin, _OAPrpCrypto):
    pass


class _WeComCrypto(_SecureRandomMixin, _WeComPrpCrypto):
    pass


def _aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key from the console's 43-character EncodingAESKey (a config error raises ValueError)."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("EncodingAESKey is not valid base64") from exc
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def _decrypt(crypto: _OAPrpCrypto | _WeComPrpCrypto, encrypted: str, receive_id: str) -> str:
    """Decrypt one frame (random16 | len32 | xml | id) and check the id; anything off is BadMessage."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadMessage("Encrypt is not base64") from exc
    if not data or len(data) % 16:
        raise BadMessage("Encrypt is not whole AES blocks")
    plain = crypto.cipher.decrypt(data)
    pad = plain[-1]
    if not 1 <= pad <= 32 or len(plain) < 20 + pad or plain[-pad:] != bytes([pad]) * pad:
        raise BadMessage("bad padding")
    content = plain[16:-pad]
    (length,) = struct.unpack(">I", content[:4])
    if length > len(content) - 4:
        raise BadMessage("bad frame length")
    xml, from_id = content[4 : 4 + length], content[4 + length :]
    if not hmac.compare_digest(from_id, receive_id.encode("utf-8")):
        raise BadMessage("message is for another AppID/CorpID")
    try:
        return xml.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage("inner XML is not UTF-8") from exc


def _envelope(crypto: _OAPrpCrypto | _WeComPrpCrypto, token: str, receive_id: str, reply_xml: str,
              nonce: str, timestamp: str) -> str:
    """wechatpy's reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce), signed with our signature()."""
    encrypted = crypto.encrypt(reply_xml, receive_id).decode("ascii")
    msg_signature = signature(token, timestamp, nonce, encrypted)
    return (
        "<xml>\n"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt>\n"
        f"<MsgSignature>{_cdata(msg_signature)}</MsgSignature>\n"
        f"<TimeStamp>{escape(timestamp)}</TimeStamp>\n"
        f"<Nonce>{_cdata(nonce)}</Nonce>\n"
        "</xml>"
    )


# --- XML ---------------------------------------------------------------------------------------------------


def _cdata(text: str) -> str:
    """A CDATA section that holds any text: a "]]>" inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _parse(body: bytes | str, max_bytes: int) -> Element:
    """Parse a callback body with defusedxml (no DTD, no entities) after the size check; root must be <xml>."""
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8"))
    if size > max_bytes:
        raise BadMessage(f"body larger than {max_bytes} bytes")
    if not size:
        raise BadMessage("empty body")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, ParseError, LookupError, ValueError) as exc:
        raise BadMessage(f"bad XML: {exc}") from exc
    if root.tag != "xml":
        raise BadMessage("root element is not <xml>")
    return root


# Fields the protocol layer reads; two copies of one of them make the message ambiguous.
_KNOWN = frozenset({
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "MsgID", "Content", "Event", "EventKey",
    "MediaId", "PicUrl", "Recognition", "Format", "Ticket", "Encrypt", "AgentID", "TaskId", "CardType",
    "ResponseCode",
})


def _fields(root: Element) -> dict[str, str]:
    """The text of the root's leaf children by tag (nested elements such as SelectedItems are skipped)."""
    out: dict[str, str] = {}
    for child in root:
        if len(child) or not isinstance(child.tag, str):
            continue
        if child.tag in out and child.tag in _KNOWN:
            raise BadMessage(f"duplicate <{child.tag}>")
        out.setdefault(child.tag, child.text or "")
    return out


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise BadMessage(f"missing <{name}>")
    return value


def _create_time(fields: Mapping[str, str]) -> int:
    value = _required(fields, "CreateTime")
    if not _DIGITS.fullmatch(value):
        raise BadMessage("CreateTime is not a number")
    return int(value)


def _msg_id(fields: Mapping[str, str]) -> str | None:
    # Messages say MsgId; some events (template send results) say MsgID.
    value = (fields.get("MsgId") or fields.get("MsgID") or "").strip()
    return value or None


def _cap(key: str) -> str:
    """Keep a dedup key within 128 characters (long EventKeys): hash it when longer."""
    if len(key) <= _DEDUP_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _encrypt_field(fields: Mapping[str, str]) -> str:
    encrypted = fields.get("Encrypt", "").strip()
    if not encrypted:
        raise BadMessage("missing <Encrypt>")
    return encrypted


# --- Official Account --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """One OA message or event. Values are as WeChat sends them (Event "subscribe", "CLICK", "SCAN"…)."""

    to_user: str  # the OA's original id (gh_…)
    from_user: str  # the client's openid
    create_time: int
    msg_type: str  # text|image|voice|video|shortvideo|location|link|event
    msg_id: str | None = None
    content: str = ""
    event: str = ""
    event_key: str = ""  # menu key; "qrscene_…" on subscribe by QR code
    media_id: str = ""
    pic_url: str = ""
    recognition: str = ""  # voice: the platform's speech recognition (may be empty)
    format: str = ""  # voice: amr|speex
    ticket: str = ""  # QR scan
    # Every leaf field as sent (Location_X, Label, Title, Url, ThumbMediaId…), for the rarer types.
    raw: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def dedup_key(self) -> str:
        """MsgId; for events WeChat's rule: sender, create time, event (and key). At most 128 characters."""
        if self.msg_id:
            return _cap(self.msg_id)
        return _cap(f"{self.from_user}:{self.create_time}:{self.event}:{self.event_key}")


def _inbound(fields: Mapping[str, str]) -> Inbound:
    return Inbound(
        to_user=_required(fields, "ToUserName"),
        from_user=_required(fields, "FromUserName"),
        create_time=_create_time(fields),
        msg_type=_required(fields, "MsgType"),
        msg_id=_msg_id(fields),
        content=fields.get("Content", ""),
        event=fields.get("Event", "").strip(),
        event_key=fields.get("EventKey", "").strip(),
        media_id=fields.get("MediaId", "").strip(),
        pic_url=fields.get("PicUrl", "").strip(),
        recognition=fields.get("Recognition", "").strip(),
        format=fields.get("Format", "").strip(),
        ticket=fields.get("Ticket", "").strip(),
        raw=MappingProxyType(dict(fields)),
    )


class OACallback:
    """The Official Account callback: GET handshake, POST messages in plaintext, compatible or safe mode.

    `encoding_aes_key=None` accepts plaintext only. With a key, both plaintext and encrypted requests are
    accepted (the console's mode can change without a restart) unless `require_aes` is set: then a request
    without encrypt_type=aes is refused as BadSignature, because in plaintext mode the signature does not
    cover the body.
    """

    def __init__(self, token: str, app_id: str, encoding_aes_key: str | None, max_bytes: int = 65536,
                 *, require_aes: bool = False) -> None:
        if not token:
            raise ValueError("token is required")
        if require_aes and not encoding_aes_key:
            raise ValueError("require_aes needs an EncodingAESKey")
        self.token = token
        self.app_id = app_id
        self.max_bytes = max_bytes
        self.require_aes = require_aes
        self._crypto = _OACrypto(_aes_key(encoding_aes_key)) if encoding_aes_key else None

    def _check_plain_signature(self, query: Mapping[str, str]) -> None:
        if not signature_ok(query.get("signature"), self.token, query.get("timestamp", ""),
                            query.get("nonce", "")):
            raise BadSignature("signature mismatch")

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The GET handshake: a good signature over (token, timestamp, nonce) returns echostr to echo back."""
        self._check_plain_signature(query)
        echostr = query.get("echostr", "")
        if len(echostr.encode("utf-8")) > self.max_bytes:
            raise BadMessage("echostr too long")
        return echostr

    def open(self, query: Mapping[str, str], body: bytes) -> tuple[Inbound, bool]:
        """Verify and parse one POST; returns the message and whether the reply must be encrypted."""
        self._check_plain_signature(query)
        encrypt_type = (query.get("encrypt_type") or "raw").lower()
        if encrypt_type == "aes":
            # Safe mode, or the encrypted half of compatible mode (its plaintext fields are ignored).
            outer = _fields(_parse(body, self.max_bytes))
            encrypted = _encrypt_field(outer)
            if not signature_ok(query.get("msg_signature"), self.token, query.get("timestamp", ""),
                                query.get("nonce", ""), encrypted):
                raise BadSignature("msg_signature mismatch")
            if self._crypto is None:
                raise BadMessage("encrypted message but no EncodingAESKey configured")
            inner = _decrypt(self._crypto, encrypted, self.app_id)
            return _inbound(_fields(_parse(inner, self.max_bytes))), True
        if encrypt_type != "raw":
            raise BadMessage(f"unknown encrypt_type {encrypt_type!r}")
        if self.require_aes:
            raise BadSignature("plaintext request but safe mode is required")
        return _inbound(_fields(_parse(body, self.max_bytes))), False

    def seal(self, reply_xml: str, encrypted: bool, nonce: str, timestamp: str) -> str:
        """The body to answer with: the reply encrypted in wechatpy's envelope when the request was.

        "success" and "" pass through unencrypted (the platform accepts them as they are in every mode).
        """
        if not encrypted or reply_xml in ("", SUCCESS):
            return reply_xml
        if self._crypto is None:
            raise ValueError("cannot encrypt without an EncodingAESKey")
        return _envelope(self._crypto, self.token, self.app_id, reply_xml, nonce, timestamp)


def text_reply(inbound: Inbound | WeComInbound, content: str, now: int) -> str:
    """A passive text reply to `inbound`, safe for any content.

    Characters XML cannot hold are dropped, line ends become "\\n" (XML would fold "\\r" anyway), the text is
    cut to 2,048 UTF-8 bytes at a character boundary, and a "]]>" cannot end the CDATA section early.
    """
    text = _XML_ILLEGAL.sub("", content).replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-8")[:MAX_REPLY_BYTES].decode("utf-8", "ignore")
    return (
        "<xml>\n"
        f"<ToUserName>{_cdata(inbound.from_user)}</ToUserName>\n"
        f"<FromUserName>{_cdata(inbound.to_user)}</FromUserName>\n"
        f"<CreateTime>{int(now)}</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        f"<Content>{_cdata(text)}</Content>\n"
        "</xml>"
    )


# --- WeCom -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeComInbound:
    """One WeCom app message or event (from_user is the member's userid, to_user the CorpID)."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    agent_id: str = ""
    msg_id: str | None = None
    content: str = ""
    event: str = ""  # click|view|enter_agent|template_card_event|…
    event_key: str = ""  # template_card_event: the clicked button's key
    task_id: str = ""  # template_card_event: the card's task_id as sent
    card_type: str = ""
    response_code: str = ""  # for update_template_card: works once, for 72 hours
    selected: tuple[str, ...] = ()  # template_card_event option ids (vote/multiple interaction cards)
    raw: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def dedup_key(self) -> str:
        """MsgId; for events sender, create time, event, key and card task. At most 128 characters."""
        if self.msg_id:
            return _cap(self.msg_id)
        return _cap(f"{self.from_user}:{self.create_time}:{self.event}:{self.event_key}:{self.task_id}")


def _selected(root: Element) -> tuple[str, ...]:
    # <SelectedItems><SelectedItem><QuestionKey/><OptionIds><OptionId/>…; WeCom's documentation also
    # spells it "OpitonIds"/"OpitonId", so both spellings are read.
    ids: list[str] = []
    for item in root.iterfind("SelectedItems/SelectedItem"):
        for group in item:
            if group.tag not in ("OptionIds", "OpitonIds"):
                continue
            ids.extend((opt.text or "").strip() for opt in group if opt.tag in ("OptionId", "OpitonId"))
    return tuple(i for i in ids if i)


class WeComCallback:
    """The WeCom app callback: GET verification with an encrypted echostr, POST always encrypted."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str, max_bytes: int = 65536) -> None:
        if not token or not corp_id:
            raise ValueError("token and corp_id are required")
        self.token = token
        self.corp_id = corp_id
        self.max_bytes = max_bytes
        self._crypto = _WeComCrypto(_aes_key(encoding_aes_key))

    def _check(self, query: Mapping[str, str], encrypted: str) -> None:
        if not signature_ok(query.get("msg_signature"), self.token, query.get("timestamp", ""),
                            query.get("nonce", ""), encrypted):
            raise BadSignature("msg_signature mismatch")

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET: check msg_signature over (token, timestamp, nonce, echostr), return the decrypted echostr."""
        # Base64 has no spaces: a space is a "+" that a query parser turned into one.
        echostr = query.get("echostr", "").replace(" ", "+")
        if len(echostr) > self.max_bytes:
            raise BadMessage("echostr too long")
        self._check(query, echostr)
        if not echostr:
            raise BadMessage("missing echostr")
        return _decrypt(self._crypto, echostr, self.corp_id)

    def open(self, query: Mapping[str, str], body: bytes) -> WeComInbound:
        """Verify msg_signature, decrypt and parse one POST."""
        outer = _fields(_parse(body, self.max_bytes))
        encrypted = _encrypt_field(outer)
        self._check(query, encrypted)
        root = _parse(_decrypt(self._crypto, encrypted, self.corp_id), self.max_bytes)
        fields = _fields(root)
        return WeComInbound(
            to_user=_required(fields, "ToUserName"),
            from_user=_required(fields, "FromUserName"),
            create_time=_create_time(fields),
            msg_type=_required(fields, "MsgType"),
            agent_id=fields.get("AgentID", "").strip(),
            msg_id=_msg_id(fields),
            content=fields.get("Content", ""),
            event=fields.get("Event", "").strip(),
            event_key=fields.get("EventKey", "").strip(),
            task_id=fields.get("TaskId", "").strip(),
            card_type=fields.get("CardType", "").strip(),
            response_code=fields.get("ResponseCode", "").strip(),
            selected=_selected(root),
            raw=MappingProxyType(fields),
        )

    def seal(self, reply_xml: str, nonce: str, timestamp: str) -> str:
        """A passive reply in WeCom's encrypted envelope ("" and "success" pass through)."""
        if reply_xml in ("", SUCCESS):
            return reply_xml
        return _envelope(self._crypto, self.token, self.corp_id, reply_xml, nonce, timestamp)
