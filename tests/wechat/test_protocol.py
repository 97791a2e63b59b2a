"""The WeChat callback protocol: requests built the way the platform builds them (wechatpy's encrypt side)."""

from __future__ import annotations

import base64

import defusedxml.ElementTree as SafeET
import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner

from bot.wechat.protocol import (
    MAX_REPLY_BYTES,
    BadMessage,
    BadSignature,
    Inbound,
    OACallback,
    WeComCallback,
    WeComInbound,
    signature,
    signature_ok,
    text_reply,
)

TOKEN = "frontdeskToken"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like the console's EncodingAESKey
APP_ID = "wx1234567890abcdef"
CORP_ID = "ww0123456789abcdef"
TS, NONCE = "1764777600", "372549105"


def _xml(**fields: str | int) -> str:
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>"


def _text(content: str = "你好，我想预约保洁", msg_id: str = "24321987654321") -> str:
    return _xml(ToUserName="gh_abc", FromUserName="oCLIENT", CreateTime=1764777600, MsgType="text",
                Content=content, MsgId=msg_id)


def _event(event: str, key: str = "", **more: str) -> str:
    return _xml(ToUserName="gh_abc", FromUserName="oCLIENT", CreateTime=1764777601, MsgType="event",
                Event=event, EventKey=key, **more)


class Platform:
    """Signs (and encrypts) callbacks like the WeChat platform, with wechatpy's encrypt side."""

    def __init__(self, app_id: str = APP_ID, token: str = TOKEN) -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, KEY, app_id)

    def query(self, **extra: str) -> dict[str, str]:
        return {"signature": signature(self.token, TS, NONCE), "timestamp": TS, "nonce": NONCE,
                "openid": "oCLIENT", **extra}

    def plain(self, xml: str) -> tuple[dict[str, str], bytes]:
        return self.query(), xml.encode()

    def _encrypt(self, xml: str) -> str:
        envelope = self.crypto.encrypt_message(xml, NONCE, TS)
        return xmltodict.parse(envelope)["xml"]["Encrypt"]

    def safe(self, xml: str) -> tuple[dict[str, str], bytes]:
        encrypted = self._encrypt(xml)
        query = self.query(encrypt_type="aes", msg_signature=signature(self.token, TS, NONCE, encrypted))
        return query, f"<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><Encrypt><![CDATA[{encrypted}]]>" \
                      f"</Encrypt></xml>".encode()

    def compatible(self, xml: str, plaintext_xml: str | None = None) -> tuple[dict[str, str], bytes]:
        """Plaintext fields and <Encrypt> side by side (the plaintext may differ, to see which one is used)."""
        encrypted = self._encrypt(xml)
        query = self.query(encrypt_type="aes", msg_signature=signature(self.token, TS, NONCE, encrypted))
        plain = plaintext_xml or xml
        return query, plain.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()


@pytest.fixture
def oa() -> OACallback:
    return OACallback(TOKEN, APP_ID, KEY)


@pytest.fixture
def platform() -> Platform:
    return Platform()


# --- signatures ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=20), st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_signature_is_wechats_rule(token: str, parts: list[str]) -> None:
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    assert signature(token, *parts) == signer.signature
    assert signature(token, *parts) == signature(token, *reversed(parts))  # sorted, so order-free
    assert signature_ok(signature(token, *parts), token, *parts)


def test_signature_ok_rejects_wrong_empty_and_non_ascii() -> None:
    good = signature(TOKEN, TS, NONCE)
    assert signature_ok(good, TOKEN, TS, NONCE)
    assert not signature_ok(good[:-1] + ("0" if good[-1] != "0" else "1"), TOKEN, TS, NONCE)
    assert not signature_ok("", TOKEN, TS, NONCE)
    assert not signature_ok(None, TOKEN, TS, NONCE)
    assert not signature_ok("签名", TOKEN, TS, NONCE)
    assert not signature_ok(good, "otherToken", TS, NONCE)
    assert not signature_ok("\ud800", TOKEN, TS, "\udfff")  # lone surrogates: a mismatch, not a crash


# --- OA handshake ----------------------------------------------------------------------------------------


def test_handshake_echoes_echostr(oa: OACallback, platform: Platform) -> None:
    assert oa.verify_url(platform.query(echostr="8812763981726")) == "8812763981726"


@pytest.mark.parametrize("query", [
    {"signature": "0" * 40, "timestamp": TS, "nonce": NONCE, "echostr": "1"},
    {"timestamp": TS, "nonce": NONCE, "echostr": "1"},
    {"signature": signature(TOKEN, TS, NONCE), "timestamp": "1", "nonce": NONCE, "echostr": "1"},
])
def test_handshake_bad_signature(oa: OACallback, query: dict[str, str]) -> None:
    with pytest.raises(BadSignature):
        oa.verify_url(query)


def test_handshake_with_other_token_refused(oa: OACallback) -> None:
    with pytest.raises(BadSignature):
        oa.verify_url(Platform(token="stolen?").query(echostr="1"))


# --- OA messages in the three modes ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_text_message_in_every_mode(oa: OACallback, platform: Platform, mode: str) -> None:
    query, body = getattr(platform, mode)(_text())
    inbound, encrypted = oa.open(query, body)
    assert encrypted is (mode != "plain")
    assert inbound == Inbound(to_user="gh_abc", from_user="oCLIENT", create_time=1764777600, msg_type="text",
                              msg_id="24321987654321", content="你好，我想预约保洁")
    assert inbound.dedup_key == "24321987654321"
    assert inbound.raw["Content"] == "你好，我想预约保洁"


def test_plaintext_only_callback(platform: Platform) -> None:
    oa = OACallback(TOKEN, APP_ID, None)
    inbound, encrypted = oa.open(*platform.plain(_text("hi")))
    assert (inbound.content, encrypted) == ("hi", False)
    with pytest.raises(BadMessage):  # the console was switched to safe mode but no key is configured
        oa.open(*platform.safe(_text()))
    assert oa.seal("<xml/>", False, NONCE, TS) == "<xml/>"


def test_compatible_mode_uses_the_encrypted_part(oa: OACallback, platform: Platform) -> None:
    query, body = platform.compatible(_text("真的"), plaintext_xml=_text("forged"))
    inbound, encrypted = oa.open(query, body)
    assert (inbound.content, encrypted) == ("真的", True)


def test_require_aes_refuses_plaintext(platform: Platform) -> None:
    oa = OACallback(TOKEN, APP_ID, KEY, require_aes=True)
    with pytest.raises(BadSignature):
        oa.open(*platform.plain(_text()))
    assert oa.open(*platform.safe(_text()))[0].content == "你好，我想预约保洁"


def test_image(oa: OACallback, platform: Platform) -> None:
    xml = _xml(ToUserName="gh_abc", FromUserName="oCLIENT", CreateTime=1764777600, MsgType="image",
               PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="MEDIA_1", MsgId="777")
    inbound, _ = oa.open(*platform.safe(xml))
    assert (inbound.msg_type, inbound.pic_url, inbound.media_id, inbound.msg_id) == (
        "image", "http://mmbiz.qpic.cn/x.jpg", "MEDIA_1", "777")


def test_voice_with_recognition(oa: OACallback, platform: Platform) -> None:
    xml = _xml(ToUserName="gh_abc", FromUserName="oCLIENT", CreateTime=1764777600, MsgType="voice",
               MediaId="VOICE_1", Format="amr", Recognition="明天上午打扫", MsgId="778")
    inbound, _ = oa.open(*platform.plain(xml))
    assert (inbound.msg_type, inbound.format, inbound.recognition, inbound.media_id) == (
        "voice", "amr", "明天上午打扫", "VOICE_1")
    empty = xml.replace("明天上午打扫", "")
    assert oa.open(*platform.plain(empty))[0].recognition == ""


def test_location_fields_are_in_raw(oa: OACallback, platform: Platform) -> None:
    xml = _xml(ToUserName="gh_abc", FromUserName="oCLIENT", CreateTime=1, MsgType="location",
               Location_X="31.2304", Location_Y="121.4737", Scale="15", Label="上海市", MsgId="9")
    inbound, _ = oa.open(*platform.plain(xml))
    assert (inbound.raw["Location_X"], inbound.raw["Label"]) == ("31.2304", "上海市")


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_subscribe_unsubscribe_click(oa: OACallback, platform: Platform, mode: str) -> None:
    send = getattr(platform, mode)
    sub, _ = oa.open(*send(_event("subscribe")))
    assert (sub.msg_type, sub.event, sub.msg_id) == ("event", "subscribe", None)
    assert sub.dedup_key == "oCLIENT:1764777601:subscribe:"
    qr, _ = oa.open(*send(_event("subscribe", "qrscene_123", Ticket="TICKET")))
    assert (qr.event_key, qr.ticket) == ("qrscene_123", "TICKET")
    unsub, _ = oa.open(*send(_event("unsubscribe")))
    assert unsub.event == "unsubscribe"
    click, _ = oa.open(*send(_event("CLICK", "BOOK")))
    assert (click.event, click.event_key) == ("CLICK", "BOOK")
    assert click.dedup_key == "oCLIENT:1764777601:CLICK:BOOK"
    assert len({sub.dedup_key, qr.dedup_key, unsub.dedup_key, click.dedup_key}) == 4


def test_retry_has_same_dedup_key(oa: OACallback, platform: Platform) -> None:
    first, _ = oa.open(*platform.safe(_event("CLICK", "BOOK")))
    retry, _ = oa.open(*platform.safe(_event("CLICK", "BOOK")))  # freshly encrypted, same message
    assert first.dedup_key == retry.dedup_key


def test_dedup_key_is_capped() -> None:
    long = Inbound(to_user="gh", from_user="o" * 100, create_time=1, msg_type="event", event="CLICK",
                   event_key="K" * 128)
    assert len(long.dedup_key) <= 128
    other = Inbound(to_user="gh", from_user="o" * 100, create_time=1, msg_type="event", event="CLICK",
                    event_key="K" * 127 + "L")
    assert long.dedup_key != other.dedup_key


# --- OA refusals -----------------------------------------------------------------------------------------


def test_bad_plain_signature(oa: OACallback, platform: Platform) -> None:
    for mode in ("plain", "safe"):
        query, body = getattr(platform, mode)(_text())
        query["signature"] = "f" * 40
        with pytest.raises(BadSignature):
            oa.open(query, body)


def test_bad_msg_signature(oa: OACallback, platform: Platform) -> None:
    query, body = platform.safe(_text())
    with pytest.raises(BadSignature):
        oa.open({**query, "msg_signature": "0" * 40}, body)
    with pytest.raises(BadSignature):
        oa.open({k: v for k, v in query.items() if k != "msg_signature"}, body)
    # A different ciphertext under the same query: the msg_signature no longer covers it.
    _, other = platform.safe(_text("forged"))
    with pytest.raises(BadSignature):
        oa.open(query, other)


def test_bad_signature_before_parsing(oa: OACallback) -> None:
    with pytest.raises(BadSignature):  # 403 wins even for garbage: nothing unauthenticated is parsed
        oa.open({"signature": "x", "timestamp": TS, "nonce": NONCE}, b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>")


def test_wrong_app_id(oa: OACallback) -> None:
    with pytest.raises(BadMessage, match="AppID"):
        oa.open(*Platform(app_id="wxSOMEONEELSE00000").safe(_text()))


def test_tampered_ciphertext_is_bad_message(oa: OACallback, platform: Platform) -> None:
    query, body = platform.safe(_text())
    encrypted = xmltodict.parse(body)["xml"]["Encrypt"]
    raw = bytearray(base64.b64decode(encrypted))
    raw[-1] ^= 0x55  # breaks the padding
    for bad in (base64.b64encode(bytes(raw)).decode(), "not base64!", base64.b64encode(b"short").decode(), ""):
        q = {**query, "msg_signature": signature(TOKEN, TS, NONCE, bad)}
        with pytest.raises(BadMessage):
            oa.open(q, f"<xml><Encrypt><![CDATA[{bad}]]></Encrypt></xml>".encode())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>gh_abc</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_abc</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content></xml>"""
BARE_DTD = b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml><ToUserName>a</ToUserName></xml>'

MALFORMED = [
    b"",
    b"not xml at all",
    b"<xml><ToUserName>gh_abc</ToUserName>",
    b"<notxml><ToUserName>a</ToUserName></notxml>",
    b'<?xml version="1.0" encoding="no-such-codec"?><xml/>',
    b"\xff\xfe\x00<",
    _text().replace("<FromUserName><![CDATA[oCLIENT]]></FromUserName>", "").encode(),
    _text().replace("<CreateTime>1764777600</CreateTime>", "<CreateTime>soon</CreateTime>").encode(),
    _text().replace("</xml>", "<FromUserName>oOTHER</FromUserName></xml>").encode(),  # ambiguous sender
    _text().replace("<MsgType><![CDATA[text]]></MsgType>", "").encode(),
]


@pytest.mark.parametrize("body", [*MALFORMED, BILLION_LAUGHS, XXE, BARE_DTD])
def test_malformed_and_hostile_plain_bodies(oa: OACallback, platform: Platform, body: bytes) -> None:
    with pytest.raises(BadMessage):
        oa.open(platform.query(), body)


@pytest.mark.parametrize("inner", [BILLION_LAUGHS.decode(), XXE.decode(), "<xml><ToUserName>"])
def test_hostile_inner_xml_after_decryption(oa: OACallback, platform: Platform, inner: str) -> None:
    with pytest.raises(BadMessage):
        oa.open(*platform.safe(inner))


def test_hostile_outer_xml_in_aes_mode(oa: OACallback, platform: Platform) -> None:
    query, _ = platform.safe(_text())
    with pytest.raises(BadMessage):
        oa.open(query, BILLION_LAUGHS)
    with pytest.raises(BadMessage):
        oa.open(query, b"<xml><ToUserName>gh_abc</ToUserName></xml>")  # no <Encrypt>


def test_oversized_body(platform: Platform) -> None:
    oa = OACallback(TOKEN, APP_ID, KEY, max_bytes=1024)
    padded = _text("x" * 2000)
    with pytest.raises(BadMessage, match="larger"):
        oa.open(*platform.plain(padded))
    with pytest.raises(BadMessage, match="larger"):
        oa.open(*platform.safe(padded))
    assert oa.open(*platform.plain(_text("x" * 100)))[0].content == "x" * 100


def test_unknown_encrypt_type(oa: OACallback, platform: Platform) -> None:
    query, body = platform.plain(_text())
    with pytest.raises(BadMessage):
        oa.open({**query, "encrypt_type": "rot13"}, body)


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        OACallback(TOKEN, APP_ID, "too-short")
    with pytest.raises(ValueError):
        OACallback(TOKEN, APP_ID, None, require_aes=True)
    with pytest.raises(ValueError):
        WeComCallback(TOKEN, KEY[:-1] + "!", CORP_ID)


# --- passive replies -------------------------------------------------------------------------------------


def _reply_content(xml: str) -> str:
    root = SafeET.fromstring(xml, forbid_dtd=True)
    return root.findtext("Content") or ""


def test_text_reply_addresses_and_cdata() -> None:
    inbound = Inbound(to_user="gh_abc", from_user="oCLIENT", create_time=1, msg_type="text")
    xml = text_reply(inbound, "a]]><x>&amp;</Content></xml>", now=1764777700)
    root = SafeET.fromstring(xml, forbid_dtd=True)
    assert (root.findtext("ToUserName"), root.findtext("FromUserName")) == ("oCLIENT", "gh_abc")
    assert (root.findtext("MsgType"), root.findtext("CreateTime")) == ("text", "1764777700")
    assert root.findtext("Content") == "a]]><x>&amp;</Content></xml>"
    assert len(root) == 5


def test_text_reply_drops_what_xml_cannot_hold() -> None:
    inbound = Inbound(to_user="gh_abc", from_user="oCLIENT", create_time=1, msg_type="text")
    assert _reply_content(text_reply(inbound, "a\x00b\x1bc\ud800d\r\ne\tf", now=1)) == "abcd\ne\tf"


def test_text_reply_cut_at_char_boundary() -> None:
    inbound = Inbound(to_user="gh_abc", from_user="oCLIENT", create_time=1, msg_type="text")
    content = _reply_content(text_reply(inbound, "预" * 1000, now=1))  # 3,000 bytes
    assert content == "预" * (MAX_REPLY_BYTES // 3)
    assert _reply_content(text_reply(inbound, "a" * 5000, now=1)) == "a" * MAX_REPLY_BYTES


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=900))
def test_text_reply_round_trip(content: str) -> None:
    inbound = Inbound(to_user="gh_abc", from_user="oCLIENT", create_time=1, msg_type="text")
    got = _reply_content(text_reply(inbound, content, now=1))
    assert len(got.encode()) <= MAX_REPLY_BYTES
    clean = "".join(ch for ch in content.replace("\r\n", "\n").replace("\r", "\n")
                    if ch in "\t\n" or (ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff"))
    assert clean.startswith(got)
    if len(clean.encode()) <= MAX_REPLY_BYTES:
        assert got == clean


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=300).filter(lambda s: s.isprintable()))
def test_passive_reply_round_trip_encrypted(content: str) -> None:
    oa, platform = OACallback(TOKEN, APP_ID, KEY), Platform()
    inbound, encrypted = oa.open(*platform.safe(_text()))
    sealed = oa.seal(text_reply(inbound, content, now=1764777700), encrypted, "reply-nonce", "1764777700")
    envelope = xmltodict.parse(sealed)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert signature(TOKEN, "1764777700", "reply-nonce", envelope["Encrypt"]) == envelope["MsgSignature"]
    plain = platform.crypto.decrypt_message(sealed, envelope["MsgSignature"], "1764777700", "reply-nonce")
    assert _reply_content(plain) == content


def test_seal_success_and_plain(oa: OACallback) -> None:
    assert oa.seal("success", True, NONCE, TS) == "success"
    assert oa.seal("", True, NONCE, TS) == ""
    assert oa.seal("<xml/>", False, NONCE, TS) == "<xml/>"


# --- WeCom -----------------------------------------------------------------------------------------------


class WeComPlatform:
    def __init__(self, corp_id: str = CORP_ID) -> None:
        self.corp_id = corp_id
        self.crypto = WeComCrypto(TOKEN, KEY, corp_id)

    def verification(self, plaintext: str) -> dict[str, str]:
        echostr = WeComPrp(self.crypto.key).encrypt(plaintext, self.corp_id).decode()
        return {"msg_signature": signature(TOKEN, TS, NONCE, echostr), "timestamp": TS, "nonce": NONCE,
                "echostr": echostr}

    def post(self, xml: str) -> tuple[dict[str, str], bytes]:
        encrypted = xmltodict.parse(self.crypto.encrypt_message(xml, NONCE, TS))["xml"]["Encrypt"]
        body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>" \
               f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return {"msg_signature": signature(TOKEN, TS, NONCE, encrypted), "timestamp": TS, "nonce": NONCE}, \
            body.encode()


@pytest.fixture
def wecom() -> WeComCallback:
    return WeComCallback(TOKEN, KEY, CORP_ID)


def test_wecom_url_verification(wecom: WeComCallback) -> None:
    query = WeComPlatform().verification("5927782489442352469")
    assert wecom.verify_url(query) == "5927782489442352469"
    # A query parser that turned "+" into " " does not break it.
    assert wecom.verify_url({**query, "echostr": query["echostr"].replace("+", " ")}) == "5927782489442352469"


def test_wecom_url_verification_refusals(wecom: WeComCallback) -> None:
    query = WeComPlatform().verification("123")
    with pytest.raises(BadSignature):
        wecom.verify_url({**query, "msg_signature": "0" * 40})
    with pytest.raises(BadSignature):
        wecom.verify_url({**query, "echostr": WeComPlatform().verification("456")["echostr"]})
    with pytest.raises(BadMessage, match="CorpID"):
        wecom.verify_url(WeComPlatform(corp_id="wwOTHER").verification("123"))


TEMPLATE_CARD_EVENT = """<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName>
<FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1764777602</CreateTime>
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[accept]]></EventKey><TaskId><![CDATA[offer-42-1]]></TaskId>
<CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[RC_abc123]]></ResponseCode>
<AgentID>1000002</AgentID>
<SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>
<OptionIds><OptionId><![CDATA[opt1]]></OptionId><OptionId><![CDATA[opt2]]></OptionId></OptionIds>
</SelectedItem><SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey>
<OpitonIds><OpitonId><![CDATA[opt3]]></OpitonId></OpitonIds></SelectedItem></SelectedItems></xml>"""


def test_wecom_template_card_event(wecom: WeComCallback) -> None:
    inbound = wecom.open(*WeComPlatform().post(TEMPLATE_CARD_EVENT))
    assert inbound == WeComInbound(
        to_user=CORP_ID, from_user="zhangsan", create_time=1764777602, msg_type="event", agent_id="1000002",
        event="template_card_event", event_key="accept", task_id="offer-42-1", card_type="button_interaction",
        response_code="RC_abc123", selected=("opt1", "opt2", "opt3"))
    assert inbound.dedup_key == "zhangsan:1764777602:template_card_event:accept:offer-42-1"


def test_wecom_text(wecom: WeComCallback) -> None:
    xml = _xml(ToUserName=CORP_ID, FromUserName="lisi", CreateTime=1764777603, MsgType="text",
               Content="/cases", MsgId="1234567", AgentID=1000002)
    inbound = wecom.open(*WeComPlatform().post(xml))
    assert (inbound.from_user, inbound.content, inbound.agent_id, inbound.dedup_key) == (
        "lisi", "/cases", "1000002", "1234567")
    assert inbound.selected == ()


def test_wecom_refusals(wecom: WeComCallback) -> None:
    query, body = WeComPlatform().post(TEMPLATE_CARD_EVENT)
    with pytest.raises(BadSignature):
        wecom.open({**query, "msg_signature": "1" * 40}, body)
    with pytest.raises(BadMessage, match="CorpID"):
        wecom.open(*WeComPlatform(corp_id="wwOTHER").post(TEMPLATE_CARD_EVENT))
    with pytest.raises(BadMessage):
        wecom.open(query, XXE)
    with pytest.raises(BadMessage):
        WeComCallback(TOKEN, KEY, CORP_ID, max_bytes=256).open(query, body)
    with pytest.raises(BadMessage):
        wecom.open(*WeComPlatform().post(BILLION_LAUGHS.decode()))


def test_wecom_passive_reply_round_trip(wecom: WeComCallback) -> None:
    platform = WeComPlatform()
    inbound = wecom.open(*platform.post(TEMPLATE_CARD_EVENT))
    sealed = wecom.seal(text_reply(inbound, "已接单 ✅", now=1764777700), "n", "1764777700")
    envelope = xmltodict.parse(sealed)["xml"]
    plain = platform.crypto.decrypt_message(sealed, envelope["MsgSignature"], "1764777700", "n")
    root = SafeET.fromstring(plain)
    assert (root.findtext("ToUserName"), root.findtext("Content")) == ("zhangsan", "已接单 ✅")
    assert wecom.seal("success", "n", "1") == "success"
