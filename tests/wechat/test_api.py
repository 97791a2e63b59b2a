"""The WeChat/WeCom API clients against the fake platform: tokens, errors, message shapes, Redis sharing."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator

import pytest
import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.wechat.api import (
    NotAuthorised,
    NotSubscribed,
    OAClient,
    Transient,
    WeChatError,
    WeComClient,
    WindowClosed,
    split_utf8,
)
from tests.fake_wechat import (
    AGENT_ID,
    APP_ID,
    APP_SECRET,
    CORP_ID,
    CORP_SECRET,
    FakeWeChat,
    FakeWeChatUser,
    FakeWeComUser,
    signature,
)

OPENID = "oUser-zh-0001"
STAFF = "hk_wang"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    f = FakeWeChat()
    await f.start()
    yield f
    await f.stop()


@pytest.fixture
async def oa(fake: FakeWeChat) -> AsyncIterator[OAClient]:
    client = OAClient(fake.base, APP_ID, APP_SECRET, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
async def wecom(fake: FakeWeChat) -> AsyncIterator[WeComClient]:
    client = WeComClient(fake.base, CORP_ID, CORP_SECRET, AGENT_ID, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
def shared_redis(request: pytest.FixtureRequest) -> str:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    return request.getfixturevalue("redis_url")


def oa_token_calls(fake: FakeWeChat) -> int:
    return sum(1 for c in fake.token_calls if c["api"] == "oa")


# --- tokens ---------------------------------------------------------------------------------------

async def test_token_fetched_once_and_cached(fake: FakeWeChat, oa: OAClient) -> None:
    await oa.send_text(OPENID, "你好")
    await oa.send_text(OPENID, "再见")
    assert oa_token_calls(fake) == 1
    assert fake.texts(OPENID) == ["你好", "再见"]
    assert fake.token_calls[0] == {"api": "oa", "force_refresh": False}


async def test_concurrent_calls_fetch_one_token(fake: FakeWeChat, oa: OAClient) -> None:
    await asyncio.gather(*(oa.send_text(OPENID, f"m{i}") for i in range(10)))
    assert oa_token_calls(fake) == 1
    assert len(fake.to(OPENID)) == 10


async def test_expired_token_mid_send_refreshes_and_sends_once(fake: FakeWeChat, oa: OAClient) -> None:
    await oa.send_text(OPENID, "first")
    fake.expire_tokens()
    await oa.send_text(OPENID, "second")
    assert fake.texts(OPENID) == ["first", "second"]
    assert oa_token_calls(fake) == 2
    assert ("custom", 42001) in fake.calls


async def test_invalid_token_retried_once_only(fake: FakeWeChat, oa: OAClient) -> None:
    await oa.token()
    fake.fail_next("custom", 40001)
    await oa.send_text(OPENID, "after one refusal")
    assert fake.texts(OPENID) == ["after one refusal"]
    fake.fail_next("custom", 40001, times=2)
    with pytest.raises(WeChatError) as err:
        await oa.send_text(OPENID, "refused twice")
    assert err.value.errcode == 40001
    assert fake.texts(OPENID) == ["after one refusal"]


async def test_stable_token_forced_when_the_platform_returns_the_refused_token(
        fake: FakeWeChat, oa: OAClient) -> None:
    first = await oa.token()
    fake.fail_next("custom", 40001)  # the platform refuses a token it still hands out in normal mode
    await oa.send_text(OPENID, "hi")
    assert [c["force_refresh"] for c in fake.token_calls] == [False, False, True]
    assert await oa.token() != first


async def test_force_token(fake: FakeWeChat, oa: OAClient) -> None:
    first = await oa.token()
    assert await oa.token() == first
    second = await oa.token(force=True)
    assert second != first and oa_token_calls(fake) == 3  # normal (same token), then forced


async def test_wrong_secret_is_not_authorised(fake: FakeWeChat) -> None:
    oa = OAClient(fake.base, APP_ID, "wrong", timeout=2.0)
    wecom = WeComClient(fake.base, CORP_ID, "wrong", AGENT_ID, timeout=2.0)
    try:
        with pytest.raises(NotAuthorised) as e1:
            await oa.send_text(OPENID, "x")
        with pytest.raises(NotAuthorised) as e2:
            await wecom.send_text(STAFF, "x")
        assert (e1.value.errcode, e2.value.errcode) == (40125, 40001)
    finally:
        await oa.close()
        await wecom.close()
    assert fake.sent == []


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_window_closed(fake: FakeWeChat, oa: OAClient, errcode: int) -> None:
    fake.fail_next("custom", errcode)
    with pytest.raises(WindowClosed) as err:
        await oa.send_text(OPENID, "late")
    assert err.value.errcode == errcode and err.value.path == "/cgi-bin/message/custom/send"
    assert fake.sent == []


async def test_not_subscribed(fake: FakeWeChat, oa: OAClient) -> None:
    fake.unsubscribed.add(OPENID)
    with pytest.raises(NotSubscribed):
        await oa.send_text(OPENID, "hello?")
    with pytest.raises(NotSubscribed) as err:
        await oa.send_template(OPENID, "TPL1", {"thing1": "保洁"})
    assert err.value.errcode == 43004
    fake.fail_next("custom", 43019)  # the client blocked the account
    with pytest.raises(NotSubscribed):
        await oa.send_text("oOther", "hello?")


async def test_not_authorised(fake: FakeWeChat, oa: OAClient) -> None:
    fake.fail_next("template", 48001)
    with pytest.raises(NotAuthorised) as err:
        await oa.send_template(OPENID, "TPL1", {"thing1": "保洁"})
    assert err.value.errcode == 48001


async def test_timeout_is_transient(fake: FakeWeChat) -> None:
    oa = OAClient(fake.base, APP_ID, APP_SECRET, timeout=0.3)
    try:
        await oa.token()
        fake.slow(1.0)
        with pytest.raises(Transient) as err:
            await oa.send_text(OPENID, "slow")
        assert err.value.errcode == -1
        fake.slow(0)
        await oa.send_text(OPENID, "fast")
    finally:
        await oa.close()
    assert fake.texts(OPENID) == ["fast"]


@pytest.mark.parametrize(("errcode", "status"), [(-1, 200), (45009, 200), (0, 502)])
async def test_busy_rate_limit_and_5xx_are_transient(fake: FakeWeChat, oa: OAClient, errcode: int,
                                                     status: int) -> None:
    fake.fail_next("custom", errcode, status=status)
    with pytest.raises(Transient):
        await oa.send_text(OPENID, "x")


async def test_network_error_is_transient() -> None:
    oa = OAClient("http://127.0.0.1:9", APP_ID, APP_SECRET, timeout=1.0)
    try:
        with pytest.raises(Transient) as err:
            await oa.send_text(OPENID, "x")
        assert err.value.errcode == -1
    finally:
        await oa.close()


async def test_logs_carry_no_token_secret_or_text(fake: FakeWeChat, oa: OAClient,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await oa.send_text(OPENID, "我的地址是幸福路 8 号")
    fake.expire_tokens()
    fake.fail_next("custom", 45015)
    with pytest.raises(WindowClosed):
        await oa.send_text(OPENID, "我的地址是幸福路 8 号")
    assert "42001" in caplog.text and "45015" in caplog.text
    for secret in (APP_SECRET, "幸福路", *(t for t in (fake.oa_tokens.current, *fake.oa_tokens.expired) if t)):
        assert secret not in caplog.text


# --- message shapes -------------------------------------------------------------------------------

async def test_template_send_shape(fake: FakeWeChat, oa: OAClient) -> None:
    msgid = await oa.send_template(OPENID, "TPL-REMIND", {"thing1": "日常保洁", "time2": "12月4日 09:00"},
                                   url="https://example.com/b/1")
    sent = fake.to(OPENID, "template")[0]
    assert msgid and sent["msgid"] == msgid
    assert sent["payload"] == {"touser": OPENID, "template_id": "TPL-REMIND", "url": "https://example.com/b/1",
                               "data": {"thing1": {"value": "日常保洁"}, "time2": {"value": "12月4日 09:00"}}}
    with pytest.raises(WeChatError) as err:  # fields: at most 20 characters, no line breaks
        await oa.send_template(OPENID, "TPL-REMIND", {"thing1": "一\n二"})
    assert err.value.errcode == 47003


async def test_template_client_msg_id_sends_once(fake: FakeWeChat, oa: OAClient) -> None:
    a = await oa.send_template(OPENID, "TPL", {"thing1": "x"}, client_msg_id="reminder-42")
    b = await oa.send_template(OPENID, "TPL", {"thing1": "x"}, client_msg_id="reminder-42")
    assert a == b and len(fake.to(OPENID, "template")) == 1


async def test_msgmenu_shape(fake: FakeWeChat, oa: OAClient) -> None:
    await oa.send_menu(OPENID, "您对本次服务满意吗？", [("s5", "5 非常满意"), ("s1", "1 不满意")], "回复数字也可以")
    sent = fake.to(OPENID, "custom")[0]["payload"]
    assert sent == {"touser": OPENID, "msgtype": "msgmenu", "msgmenu": {
        "head_content": "您对本次服务满意吗？", "list": [{"id": "s5", "content": "5 非常满意"},
                                                        {"id": "s1", "content": "1 不满意"}],
        "tail_content": "回复数字也可以"}}


async def test_text_over_the_limit_is_refused_and_split_fits(fake: FakeWeChat, oa: OAClient) -> None:
    long = "\n".join(f"第{i}行：保洁服务说明，请仔细阅读。" for i in range(200))
    with pytest.raises(WeChatError):
        await oa.send_text(OPENID, long)
    for part in split_utf8(long, 2048):
        await oa.send_text(OPENID, part)
    assert "\n".join(fake.texts(OPENID)) == long


async def test_media_download(fake: FakeWeChat, oa: OAClient) -> None:
    fake.add_media("MEDIA1", "image/jpeg", b"\xff\xd8jpegdata")
    assert await oa.media("MEDIA1") == ("image/jpeg", b"\xff\xd8jpegdata")
    with pytest.raises(WeChatError) as err:
        await oa.media("gone")
    assert err.value.errcode == 40007


async def test_create_menu(fake: FakeWeChat, oa: OAClient) -> None:
    menu = {"button": [{"type": "click", "name": "预约", "key": "BOOK"}]}
    await oa.create_menu(menu)
    assert fake.menus == [menu]


# --- WeCom ----------------------------------------------------------------------------------------

CARD = {"card_type": "button_interaction", "main_title": {"title": "新订单", "desc": "12月4日 09:00 日常保洁"},
        "task_id": "offer-17-1", "button_list": [{"text": "接单", "style": 1, "key": "accept:17"},
                                                 {"text": "拒绝", "style": 2, "key": "decline:17"}]}


async def test_wecom_text(fake: FakeWeChat, wecom: WeComClient) -> None:
    msgid = await wecom.send_text(STAFF, "明天 9 点有新单")
    sent = fake.to(STAFF, "wecom_text")[0]
    assert msgid == sent["msgid"]
    assert sent["payload"] == {"touser": STAFF, "msgtype": "text", "agentid": AGENT_ID,
                               "text": {"content": "明天 9 点有新单"}}
    fake.unknown_members.add("ghost")
    with pytest.raises(NotSubscribed):
        await wecom.send_text("ghost", "?")


async def test_wecom_card_and_update(fake: FakeWeChat, wecom: WeComClient) -> None:
    first = await wecom.send_card(STAFF, CARD)
    second = await wecom.send_card("hk_li", {**CARD, "task_id": "offer-17-2"})
    assert first["response_code"] and first["response_code"] != second["response_code"]
    assert fake.to(STAFF, "wecom_card")[0]["payload"]["template_card"] == CARD
    await wecom.update_card([STAFF], first["response_code"], button_text="已被接单")
    update = fake.to(STAFF, "update_card")[0]["payload"]
    assert update == {"userids": [STAFF], "agentid": AGENT_ID, "response_code": first["response_code"],
                      "button": {"replace_name": "已被接单"}}
    with pytest.raises(WeChatError):  # a response_code works once
        await wecom.update_card([STAFF], first["response_code"], button_text="again")
    new_card = {**CARD, "main_title": {"title": "订单已撤回"}, "button_list": [{"text": "已撤回", "key": "x"}]}
    await wecom.update_card(["hk_li"], second["response_code"], card=new_card)
    assert fake.cards[second["response_code"]]["card"] == new_card
    with pytest.raises(ValueError):
        await wecom.update_card([STAFF], "rc")


async def test_wecom_expired_token(fake: FakeWeChat, wecom: WeComClient) -> None:
    await wecom.send_text(STAFF, "1")
    fake.expire_tokens()
    await wecom.send_card(STAFF, CARD)
    assert [c["api"] for c in fake.token_calls] == ["wecom", "wecom"]
    assert len(fake.to(STAFF)) == 2


# --- Redis-shared tokens --------------------------------------------------------------------------

async def test_redis_shared_token_fetched_once(fake: FakeWeChat, shared_redis: str) -> None:
    app_id = f"wx-shared-{id(fake)}"  # a key of its own in the session-wide Redis
    fake.app_id = app_id
    workers = [OAClient(fake.base, app_id, APP_SECRET, timeout=2.0, redis_url=shared_redis) for _ in range(3)]
    try:
        tokens = await asyncio.gather(*(w.token() for w in workers))
        assert len(set(tokens)) == 1 and oa_token_calls(fake) == 1
        await workers[0].send_text(OPENID, "a")
        await workers[1].send_text(OPENID, "b")
        fake.expire_tokens()
        await workers[0].send_text(OPENID, "c")  # refreshes and shares the new token
        await workers[1].send_text(OPENID, "d")  # its old token is refused: takes the new one from Redis
        await workers[2].send_text(OPENID, "e")
        assert oa_token_calls(fake) == 2
        assert fake.texts(OPENID) == ["a", "b", "c", "d", "e"]
    finally:
        for w in workers:
            await w.close()


async def test_redis_down_falls_back_to_direct_fetch(fake: FakeWeChat) -> None:
    oa = OAClient(fake.base, APP_ID, APP_SECRET, timeout=0.5, redis_url="redis://127.0.0.1:9/0")
    try:
        await oa.send_text(OPENID, "still works")
    finally:
        await oa.close()
    assert fake.texts(OPENID) == ["still works"]


# --- split_utf8 -----------------------------------------------------------------------------------

def test_split_utf8() -> None:
    assert split_utf8("") == []
    assert split_utf8("短消息") == ["短消息"]
    lines = [f"{i:03d} 预约确认：王阿姨明天上午九点到。" for i in range(100)]
    parts = split_utf8("\n".join(lines), 300)
    assert all(len(p.encode()) <= 300 for p in parts) and len(parts) > 1
    assert "\n".join(parts).split("\n") == lines  # cut only at line breaks
    one_line = "清" * 1000 + "洁"
    parts = split_utf8(one_line, 100)
    assert all(len(p.encode()) <= 100 for p in parts) and "".join(parts) == one_line
    prose = "，".join(["请保持电话畅通"] * 40)
    parts = split_utf8(prose, 90)
    assert all(p.endswith("，") for p in parts[:-1]) and "".join(parts) == prose
    with pytest.raises(ValueError):
        split_utf8("x", 3)


# --- the fake platform's callbacks, checked with wechatpy's own crypto --------------------------------

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CB_TOKEN = "callback-token"


async def _echo_app(handler: web.Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/cb", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["plaintext", "compat", "safe"])
async def test_fake_user_signs_and_encrypts_like_wechat(mode: str) -> None:
    crypto = WeChatCrypto(CB_TOKEN, AES_KEY, APP_ID)
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        if request.method == "GET":
            assert q["signature"] == signature(CB_TOKEN, q["timestamp"], q["nonce"])
            return web.Response(text=q["echostr"])
        assert q["signature"] == signature(CB_TOKEN, q["timestamp"], q["nonce"])
        body = await request.text()
        if mode == "plaintext":
            msg = xmltodict.parse(body)["xml"]
        else:
            assert q["encrypt_type"] == "aes"
            msg = xmltodict.parse(crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]))["xml"]
            if mode == "compat":  # the plaintext fields too
                assert xmltodict.parse(body)["xml"]["FromUserName"] == msg["FromUserName"]
        seen.append(msg)
        content = str(msg.get("Content")).replace("]]>", "]]]]><![CDATA[>")
        reply = (f"<xml><ToUserName><![CDATA[{msg['FromUserName']}]]></ToUserName><FromUserName><![CDATA["
                 f"{msg['ToUserName']}]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]>"
                 f"</MsgType><Content><![CDATA[收到：{content}]]></Content></xml>")
        if mode == "safe":
            reply = crypto.encrypt_message(reply, q["nonce"], q["timestamp"])
        return web.Response(text=reply, content_type="application/xml")

    runner, base = await _echo_app(handler)
    try:
        user = FakeWeChatUser(base, "/cb", CB_TOKEN, APP_ID, AES_KEY if mode != "plaintext" else None, mode,
                              openid=OPENID)
        hs = await user.handshake()
        assert hs.status == 200 and hs.text == hs.fields["echo"]  # type: ignore[index]
        reply = await user.text("你好 ]]> 世界")
        assert reply.text == "收到：你好 ]]> 世界" and reply.encrypted == (mode == "safe")
        again = await user.resend_last()
        assert again.text == reply.text
        assert seen[0]["MsgId"] == seen[1]["MsgId"] and seen[0]["FromUserName"] == OPENID
        await user.event("CLICK", "BOOK")
        await user.event("CLICK", "BOOK")
        assert seen[2]["EventKey"] == "BOOK" and seen[2]["CreateTime"] != seen[3]["CreateTime"]
    finally:
        await runner.cleanup()


async def test_fake_wecom_user_encrypts_like_wecom() -> None:
    crypto = WeComCrypto(CB_TOKEN, AES_KEY, CORP_ID)
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        if request.method == "GET":
            return web.Response(text=crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"],
                                                            q["echostr"]))
        body = await request.text()
        seen.append(xmltodict.parse(crypto.decrypt_message(body, q["msg_signature"], q["timestamp"],
                                                           q["nonce"]))["xml"])
        return web.Response(text="success")

    runner, base = await _echo_app(handler)
    try:
        user = FakeWeComUser(base, "/cb", CB_TOKEN, AES_KEY, CORP_ID, STAFF)
        hs = await user.handshake()
        assert hs.text == hs.fields["echo"]  # type: ignore[index]
        assert (await user.text("接单")).text is None
        await user.card_click("offer-17-1", "accept:17", "RC-1")
        assert seen[0]["Content"] == "接单" and seen[0]["AgentID"] == str(AGENT_ID)
        assert {k: seen[1][k] for k in ("Event", "EventKey", "TaskId", "ResponseCode", "FromUserName")} == {
            "Event": "template_card_event", "EventKey": "accept:17", "TaskId": "offer-17-1",
            "ResponseCode": "RC-1", "FromUserName": STAFF}
    finally:
        await runner.cleanup()


async def test_fake_user_gives_up_after_its_timeout_and_retries() -> None:
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.query["nonce"])
        if len(calls) == 1:
            await asyncio.sleep(0.6)
        return web.Response(text="success")

    runner, base = await _echo_app(handler)
    try:
        user = FakeWeChatUser(base, "/cb", CB_TOKEN, openid=OPENID, timeout=0.3)
        assert (await user.text("慢")).status == 0
        retry = await user.resend_last()
        assert (retry.status, retry.text) == (200, None) and calls[0] == calls[1]  # the very same request
    finally:
        await runner.cleanup()
