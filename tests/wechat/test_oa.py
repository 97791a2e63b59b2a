"""The Official Account channel end to end: the real wechatpy crypto on the platform's side, the app's own
HTTP server, the fake WeChat API on 127.0.0.1."""

from __future__ import annotations

import asyncio

from sqlalchemy import ColumnElement, func, select

from backend.orm import Client, Identity, InboxMessage, Notification
from bot.server import WECHAT_OA
from tests.wechat.conftest import OPENID, Env


def count(env: Env, model, *where) -> int:  # type: ignore[no-untyped-def]
    with env.app.backend.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_handshake_answers_echostr_and_refuses_a_bad_signature(wechat: Env) -> None:
    ok = await wechat.user.handshake("12345678901234")
    assert ok.status == 200 and ok.body == "12345678901234"
    wechat.user.token = "not-our-token"
    bad = await wechat.user.handshake("12345678901234")
    assert bad.status == 403 and "1234567" not in bad.body


async def test_subscribe_greets_in_both_languages_and_a_text_is_answered_passively(wechat: Env) -> None:
    hello = await wechat.user.event("subscribe")
    assert hello.encrypted and "欢迎关注" in hello.text and "welcome" in hello.text
    assert hello.text.index("欢迎") < hello.text.index("welcome")  # Chinese first
    assert count(wechat, Identity, Identity.channel == "wechat", Identity.external_id == OPENID) == 1
    reply = await wechat.says("你好")
    assert "家政服务前台" in reply.text
    assert "1. 预约服务" in reply.text  # buttons as numbered lines: a digit picks one
    assert wechat.wx.sent == []  # all of it passive: no customer-service message used
    picked = await wechat.says("1")
    assert "服务" in picked.text and picked.text != reply.text
    with wechat.app.backend.db.read() as s:
        row = s.scalar(select(Notification).where(Notification.key.like("inbox:%")).order_by(Notification.id))
        assert row.status == "delivered" and row.platform_ref == "passive"


async def test_english_client_is_answered_in_english(wechat: Env) -> None:
    reply = await wechat.says("Hi, how much is a 3 hour cleaning?")
    assert "50 CNY/hour" in reply.text
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(Client.lang)) == "en"


async def test_bad_signature_malformed_and_oversized_bodies_are_refused_and_nothing_is_kept(wechat: Env) -> None:
    good = await wechat.says("你好")
    assert good.status == 200
    body, query = wechat.user._last  # type: ignore[misc]
    forged = await wechat.user.post_raw(body, {**query, "msg_signature": "0" * 40})
    assert forged.status == 403
    unsigned = await wechat.user.post_raw(body, {k: v for k, v in query.items() if k != "signature"})
    assert unsigned.status == 403
    malformed = await wechat.user.post_raw(b"<xml><ToUserName>", query)
    assert malformed.status in (400, 403)
    huge = await wechat.user.post_raw(b"<xml>" + b"a" * (80 * 1024) + b"</xml>", query)
    assert huge.status == 413
    assert count(wechat, InboxMessage) == 1


async def test_a_retry_of_one_message_is_answered_again_and_run_once(wechat: Env) -> None:
    first = await wechat.says("我想约明天上午10点的保洁")
    assert "几个小时" in first.text
    for _ in range(3):
        again = await wechat.user.resend_last()
        assert again.text == first.text
    assert count(wechat, InboxMessage) == 1
    nxt = await wechat.says("3个小时")
    assert "地址" in nxt.text  # the form moved on once, not four times


async def test_a_slow_turn_is_acknowledged_with_success_then_sent_as_a_service_message(wechat: Env) -> None:
    turn = wechat.app.desk.engine.turn

    async def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        await asyncio.sleep(3.0)  # beyond the 2 s budget of the tests
        return await turn(*args, **kwargs)

    wechat.app.desk.engine.turn = slow
    first = await wechat.says("你好")
    assert first.status == 200 and first.text is None and first.body == "success"
    retries = [await wechat.user.resend_last() for _ in range(2)]  # WeChat would not, after success
    assert all(r.text is None or "家政服务前台" in r.text for r in retries)
    got = await wechat.wx.wait_for(OPENID, "家政服务前台")
    assert "1. 预约服务" in got or "预约服务" in got
    await asyncio.sleep(0.5)
    wechat.app.desk.engine.turn = turn
    assert len([t for t in wechat.wx.texts(OPENID) if "家政服务前台" in t]) + sum(
        1 for r in retries if r.text) == 1  # one answer, whichever way it went
    assert count(wechat, InboxMessage) == 1


async def book_by_wechat(env: Env, when: str = "下周一上午10点") -> None:
    steps = ((f"我想约{when}的保洁", "几个小时"), ("3个小时", "地址"), ("朝阳区建国路88号3号楼501", "手机号"),
             ("13812345678", "注意"), ("没有", "确认下单吗"))
    for text, expect in steps:
        reply = await env.says(text)
        assert reply.text and expect in reply.text, (text, reply.text)
    assert "1. 确认" in reply.text
    done = await env.says("1")  # the digit picks the numbered option
    assert "正在为您安排阿姨" in done.text


async def test_booking_in_chinese_confirmation_in_the_window_reminder_by_template_after_it(wechat_db: Env) -> None:
    """Subscribe → book by text in Chinese → the housekeeper accepts on WeCom → the client's confirmation
    as a customer-service message → the reminder, after the 48-hour window, as a template message."""
    env = wechat_db
    assert "欢迎" in (await env.user.event("subscribe")).text
    await env.wecom.bind("HKA", "hk_wang")
    await book_by_wechat(env)
    await env.wecom.click("hk_wang", await env.wecom.card("hk_wang", "新订单 #"), "接单")
    await env.wx.wait_for("hk_wang", "接单成功")
    confirmed = await env.wx.wait_for(OPENID, "已确认")  # a customer-service message: the window is open
    assert "王阿姨" in confirmed
    assert env.wx.to(OPENID, "custom") and not env.wx.to(OPENID, "template")
    # Sunday 10:00, the day before the job: the window (48 h from Wednesday's messages) has closed.
    env.app.clock.advance(days=4)
    reminder = await env.wx.wait_for(OPENID, "thing1", timeout=20)
    sent = env.wx.to(OPENID, "template")[-1]["payload"]
    assert sent["template_id"] == "TPL-REMINDER-0001"
    assert all(len(v["value"]) <= 20 and "\n" not in v["value"] for v in sent["data"].values())
    assert "回复消息继续" in reminder
    # The platform answers before the dispatcher records it: wait for the row rather than race the commit.
    reminded = Notification.template == "job_reminder_client"
    row = await until(lambda: (r := row_of(env, reminded)) and r.status == "delivered" and r)
    assert row.platform_ref.startswith("tpl:")


async def until(check, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await asyncio.to_thread(check)
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


def row_of(env: Env, which: str | ColumnElement[bool]) -> Notification | None:
    """The notification with this key (or matching this condition), detached so it can be read later."""
    where = Notification.key == which if isinstance(which, str) else which
    with env.app.backend.db.read() as s:
        n = s.scalar(select(Notification).where(where))
        if n is not None:
            s.expunge(n)
        return n


async def notify(env: Env, key: str, text: str, buttons: list[dict[str, str]] | None = None,
                 subject: str = "") -> None:
    """A proactive message to the client, as any capability queues one."""
    be = env.app.backend
    person = await asyncio.to_thread(be.client_for, "wechat", OPENID, "zh")
    extra = {"buttons": buttons} if buttons else {}

    def queue() -> None:
        from backend.services import outbox

        with be.db.uow() as s:
            outbox.notify(s, be.now, "client", person.id, "reply", key, text=text, subject=subject, **extra)

    await asyncio.to_thread(queue)


async def test_outside_the_window_a_message_without_template_waits_for_the_client_then_goes(wechat: Env) -> None:
    await wechat.says("你好")
    wechat.app.clock.advance(hours=49)
    await notify(wechat, "t:1", "您的发票已开好")
    row = await until(lambda: (r := row_of(wechat, "t:1")) and r.last_error and r)
    assert row.status == "pending" and row.last_error.startswith("deferred")  # honestly: not delivered
    assert "发票" not in " ".join(wechat.wx.texts(OPENID))
    await wechat.says("在吗")  # the client writes: a new window
    await wechat.wx.wait_for(OPENID, "您的发票已开好")
    assert (await until(lambda: (r := row_of(wechat, "t:1")) and r.status == "delivered" and r)).platform_ref


async def test_a_deferred_message_the_client_never_opens_is_reported_to_managers(wechat: Env) -> None:
    await wechat.says("你好")
    wechat.app.clock.advance(hours=49)
    await notify(wechat, "t:2", "回访问卷")
    await until(lambda: (r := row_of(wechat, "t:2")) and r.last_error and r)
    wechat.app.clock.advance(days=8)
    row = await until(lambda: (r := row_of(wechat, "t:2")) and r.status != "pending" and r)
    assert row.status == "undeliverable"
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.template == "delivery_failed", Notification.person_kind == "manager")) >= 1


async def test_quota_of_five_then_the_platform_refusal_falls_back_and_tokens_refresh(wechat: Env) -> None:
    await wechat.says("你好")
    await notify(wechat, "q:0", "通知0号")
    await wechat.wx.wait_for(OPENID, "通知0号")
    wechat.wx.expire_tokens()  # the cached token dies mid-run: refreshed once, the message sent once
    for i in range(1, 5):
        await notify(wechat, f"q:{i}", f"通知{i}号")
    for i in range(1, 5):
        await wechat.wx.wait_for(OPENID, f"通知{i}号")
    assert len(wechat.wx.to(OPENID, "custom")) == 5
    assert len([c for c in wechat.wx.token_calls if c["api"] == "oa"]) == 2
    await notify(wechat, "q:5", "第六条通知")  # the quota is used: it waits for the client
    await until(lambda: (r := row_of(wechat, "q:5")) and r.last_error and r)
    assert len(wechat.wx.to(OPENID, "custom")) == 5
    # The platform closed the window early (45047): believed over our count, the message waits.
    await wechat.says("好的")
    await wechat.wx.wait_for(OPENID, "第六条通知")
    wechat.wx.fail_next("custom", 45047)
    await notify(wechat, "q:6", "第七条通知")
    row = await until(lambda: (r := row_of(wechat, "q:6")) and r.last_error and r)
    assert row.last_error.startswith("deferred") and "第七条通知" not in " ".join(wechat.wx.texts(OPENID))


async def test_unsubscribe_marks_the_client_unreachable_and_managers_hear_of_undelivered(wechat: Env) -> None:
    await wechat.says("你好")
    gone = await wechat.user.event("unsubscribe")
    assert gone.status == 200 and gone.text is None
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(Identity.unreachable).where(Identity.external_id == OPENID)) is True
    await notify(wechat, "u:1", "提醒")
    row = await until(lambda: (r := row_of(wechat, "u:1")) and r.status != "pending" and r)
    assert row.status == "undeliverable" and wechat.wx.to(OPENID) == []
    back = await wechat.user.event("subscribe")
    assert "欢迎" in back.text
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(Identity.unreachable).where(Identity.external_id == OPENID)) is False


async def test_a_blocked_send_marks_the_client_unreachable(wechat: Env) -> None:
    await wechat.says("你好")
    wechat.wx.unsubscribed.add(OPENID)  # 43004 from the platform
    await notify(wechat, "b:1", "提醒")
    await until(lambda: (r := row_of(wechat, "b:1")) and r.status != "pending" and r)
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(Identity.unreachable).where(Identity.external_id == OPENID)) is True


async def test_menu_message_inside_the_window_and_a_tap_comes_back_as_the_button(wechat: Env) -> None:
    await wechat.says("你好")
    await notify(wechat, "m:1", "需要查看预约吗？", [{"title": "我的预约", "payload": "/check_booking"},
                                                   {"title": "人工客服", "payload": "/request_human"}])
    await wechat.wx.wait_for(OPENID, "需要查看预约吗")
    menu = wechat.wx.to(OPENID, "custom")[-1]["payload"]
    assert menu["msgtype"] == "msgmenu"
    item = next(i for i in menu["msgmenu"]["list"] if i["content"] == "我的预约")
    reply = await wechat.user.deliver({"MsgType": "text", "Content": "我的预约", "MsgId": 990001,
                                       "bizmsgmenuid": item["id"]})
    assert "预约" in reply.text


async def test_voice_uses_recognition_or_asks_to_type_and_menu_clicks_are_answered(wechat: Env) -> None:
    heard = await wechat.user.voice("media-v1", "你好")
    assert "家政服务前台" in heard.text
    silent = await wechat.user.voice("media-v2", "")
    assert "打字" in silent.text
    click = await wechat.user.event("CLICK", "PRICES")
    assert "元" in click.text or "价格" in click.text
    with wechat.app.backend.db.read() as s:
        assert s.scalar(select(func.count()).select_from(InboxMessage)) == 2  # the unreadable voice ran no turn


async def test_a_complaint_with_a_photo_keeps_the_photo_on_the_case(wechat: Env) -> None:
    import hashlib
    import re

    from tests.telegram.conftest import HK_A, STAFF

    env, be = wechat, wechat.app.backend
    await env.bind("HKA", HK_A)
    await book_by_wechat(env)
    await env.tg.wait_for(STAFF, HK_A, "新订单 #")
    await env.tg.tap(STAFF, HK_A, dict(env.tg.buttons(STAFF, HK_A))["接单"])
    await env.wx.wait_for(OPENID, "已确认")

    def option(text: str, pick) -> str:  # type: ignore[no-untyped-def]
        """The digit of the first numbered line the client would choose."""
        return next(n for n, title in re.findall(r"^(\d+)\. (.+)$", text, re.M) if pick(title))

    steps = [("哪一次预约", lambda t: t.startswith("#")), ("是关于", lambda t: True),
             ("怎么处理", lambda t: t == "道歉"), ("确认提交", lambda t: t == "提交")]
    said = (await env.says("阿姨把我家的花瓶打碎了")).text
    for _ in range(8):
        if "已登记" in said:
            break
        pick = next(p for n, p in steps if n in said)
        said = (await env.says(option(said, pick))).text
    case_id = int(re.search(r"#(\d+)", said)[1])
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    env.wx.add_media("media-photo-1", "image/png", photo)
    sent = await env.user.image("media-photo-1")
    assert sent.status == 200 and f"#{case_id}" in sent.text
    files = await asyncio.to_thread(be.attachments_of_case, case_id)
    assert [(x["content_type"], x["size"], x["sha256"]) for x in files] == [
        ("image/png", len(photo), hashlib.sha256(photo).hexdigest())]
    again = await env.user.resend_last()  # WeChat's retry: the photo is not stored twice
    assert again.text == sent.text
    assert len(await asyncio.to_thread(be.attachments_of_case, case_id)) == 1


async def test_a_client_of_the_widget_links_wechat_with_a_one_time_code(wechat: Env) -> None:
    import re

    from dialogs.messages import IncomingMessage

    desk, be = wechat.app.desk, wechat.app.backend
    web = await desk.handle(IncomingMessage("rest", "web-visitor-1", "绑定微信", message_id="w1"))
    code = re.search(r"\d{8}", web[0]["text"])[0]
    web_client = await asyncio.to_thread(be.client_for, "rest", "web-visitor-1", "zh")
    wrong = await wechat.says("绑定 00000000" if code != "00000000" else "绑定 00000001")
    assert "不对或已过期" in wrong.text
    done = await wechat.says(f"绑定 {code}")
    assert "绑定成功" in done.text
    with be.db.read() as s:
        ident = s.scalar(select(Identity).where(Identity.channel == "wechat", Identity.external_id == OPENID))
        assert (ident.person_kind, ident.person_id) == ("client", web_client.id)
    again = await wechat.person("oSomeoneElse000000000000001").text(f"绑定 {code}")
    assert "不对或已过期" in again.text  # once only
    await notify(wechat, "l:1", "您的预约提醒")  # proactive messages follow the client to WeChat
    await wechat.wx.wait_for(OPENID, "您的预约提醒")
    # A staff invite box never takes a client's code.
    assert await asyncio.to_thread(be.redeem_invite, f"link:{code}", "telegram_staff", "555") is None


async def test_link_codes_cannot_be_guessed_and_a_chat_with_bookings_is_not_merged(wechat: Env) -> None:
    other = wechat.person("oGuesser0000000000000000001")
    for i in range(5):
        assert "不对或已过期" in await wechat.hears(f"绑定 {10000000 + i}", other)
    assert "次数太多" in await wechat.hears("绑定 10000009", other)
    from dialogs.messages import IncomingMessage

    web = await wechat.app.desk.handle(IncomingMessage("rest", "web-visitor-2", "link", message_id="w2",
                                                       lang_hint="en"))
    assert "link code" in web[0]["text"]
    await book_by_wechat(wechat)
    code = web[0]["text"].split("code: ")[1][:8]
    refused = await wechat.says(f"绑定 {code}")
    assert "人工" in refused.text


async def test_messages_due_together_go_as_one_and_use_one_of_the_quota(wechat: Env) -> None:
    await wechat.says("你好")
    be = wechat.app.backend
    person = await asyncio.to_thread(be.client_for, "wechat", OPENID, "zh")

    def queue() -> None:
        from backend.services import outbox

        with be.db.uow() as s:  # one transaction: the dispatcher finds all three heads in one pass
            for i in range(3):
                outbox.notify(s, be.now, "client", person.id, "reply", f"g:{i}", text=f"第{i}件事",
                              subject=f"booking:{i}")

    await asyncio.to_thread(queue)
    merged = await wechat.wx.wait_for(OPENID, "第0件事")
    assert "第1件事" in merged and "第2件事" in merged
    assert len(wechat.wx.to(OPENID, "custom")) == 1
    assert await asyncio.to_thread(wechat.server.app[WECHAT_OA].windows.left, OPENID, be.now) == 4


async def test_wrong_codes_from_many_chats_are_limited_together(wechat: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """New chats cost an attacker nothing, so wrong codes count across all chats too."""
    from dialogs import linking

    monkeypatch.setattr(linking, "MAX_TRIES_ALL", 3)
    for i in range(3):
        assert "不对或已过期" in await wechat.hears("绑定 12345678", wechat.person(f"oRotating{i:018d}"))
    assert "次数太多" in await wechat.hears("绑定 12345678", wechat.person("oRotating999999999999999999"))
