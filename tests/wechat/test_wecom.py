"""The WeCom staff channel end to end: the real wechatpy crypto on the platform's side, the app's own HTTP
server, the fake WeChat API on 127.0.0.1; the same staff flows as on Telegram's staff bot."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.orm import Notification
from bot.wechat import cards as wc
from bot.wechat.wecom import MemberLimiter, SharedMemberLimiter
from bot.workers import Permanent, Retry, Unreachable
from tests.fake_wechat import FakeWeComUser
from tests.wechat import wecom_conftest
from tests.wechat.wecom_conftest import ADDRESS, AES_KEY, HKA, HKB, MGR, WeComEnv

# The WeCom fixtures live in their own module (tests/wechat/conftest.py is the OA suite's).
wecom, wecom_db = wecom_conftest.wecom, wecom_conftest.wecom_db


async def until(check: Any, timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await asyncio.to_thread(check)
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def ask(env: WeComEnv, userid: str, text: str) -> str:
    n = len(env.wx.texts(userid))
    await env.says(userid, text)
    for _ in range(300):
        if len(env.wx.texts(userid)) > n:
            await asyncio.sleep(0.1)  # a turn may answer with several messages
            return "\n".join(env.wx.texts(userid)[n:])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer to {text!r}")


async def test_url_verification_and_refused_callbacks(wecom: WeComEnv) -> None:
    user = wecom.member(HKA)
    ok = await user.handshake("1234567890123")
    assert ok.status == 200 and ok.body == "1234567890123"
    good = await user.text("/help")
    assert good.status == 200 and good.body == ""
    body, query = user._last  # type: ignore[misc]
    assert (await user.post_raw(body, {**query, "msg_signature": "0" * 40})).status == 403
    assert (await user.post_raw(body, {k: v for k, v in query.items() if k != "msg_signature"})).status == 403
    assert (await user.post_raw(b"<xml><Encrypt>", query)).status in (400, 403)
    assert (await user.post_raw(b"<xml>" + b"a" * (80 * 1024) + b"</xml>", query)).status == 413
    stale = {**query, "timestamp": str(int(time.time()) - 3600)}
    assert (await user.post_raw(body, stale)).status == 403  # a replay of a captured request
    forger = FakeWeComUser(user.url.removesuffix("/wechat/wecom"), token="not-our-token", aes_key=AES_KEY,
                           userid=HKA)
    assert (await forger.handshake("1234567890123")).status == 403
    assert (await forger.text("你好")).status == 403
    await asyncio.sleep(0.3)
    assert wecom.wx.texts("hk_wang") == [wecom.wx.texts("hk_wang")[0]]  # only the answer to the good one


async def test_strangers_are_refused_and_an_invite_binds(wecom: WeComEnv) -> None:
    assert "仅供公司员工使用" in await ask(wecom, "stranger01", "你好")
    said = await ask(wecom, "stranger02", "/start 0123456789abcdef0123456789abcdef")
    assert "仅供公司员工使用" in said and "staff only" in said  # no locale on WeCom: both languages
    person = await asyncio.to_thread(wecom.app.backend.staff_by_code, "HKA")
    token = await asyncio.to_thread(wecom.app.backend.create_invite, person.kind, person.id)
    said = await ask(wecom, HKA, token)  # the bare token works as well as "/start <token>"
    assert "欢迎，王阿姨" in said and "/today" in said
    assert "仅供公司员工使用" in await ask(wecom, "stranger03", f"/start {token}")  # used once only
    assert "这段时间没有订单" in await ask(wecom, HKA, "/today")
    assert "/week" in await ask(wecom, HKA, "/help")


def titles(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["button_list"]]


async def test_an_offer_card_is_accepted_and_a_second_click_is_refused(wecom: WeComEnv) -> None:
    be, wx = wecom.app.backend, wecom.wx
    await wecom.bind("HKA", HKA)
    await wecom.bind("HKB", HKB)
    cid, bid = await wecom.book()
    card = await wecom.card(HKA, f"新订单 #{bid}")
    assert titles(card) == ["接单", "拒绝"]
    assert all(b["key"].startswith("r:") and len(b["key"]) <= 64 for b in card["button_list"])
    assert ADDRESS[:6] not in str(card) and "138" not in str(card)  # district only before acceptance
    assert len(card["main_title"]["title"]) <= wc.TITLE_MAX and len(card["task_id"]) <= 128
    n = len(wx.texts(HKA))
    reply = await wecom.click(HKA, card, "接单")
    assert reply.status == 200 and reply.body == ""
    await wx.wait_for(HKA, "接单成功", after=n)
    job = await wecom.card(HKA, f"订单 #{bid} 已确认")  # the job card, with her next button
    assert titles(job) == ["已到达"] and ADDRESS in job.get("sub_title_text", "") + job["main_title"]["title"]
    assert "13812345678" in str(job)
    assert [u["button"]["replace_name"] for u in wecom.updates(HKA)] == ["已接单"]  # the offer card retired
    assert wecom.updates(HKA)[0]["response_code"].startswith("RC-click-")  # with the click's own code
    assert (await asyncio.to_thread(be.booking, bid))["status"] == "confirmed"
    confirmed = [r for r in await asyncio.to_thread(be.pull, "client", cid) if r["template"] == "booking_confirmed"]
    assert confirmed and confirmed[0]["params"]["housekeeper"] == "王阿姨"
    # the same card again (WeCom greys it out, but a stale client or a forged event may still come)
    n = len(wx.texts(HKA))
    await wecom.click(HKA, card, "接单")
    assert "已经不可接了" in await wx.wait_for(HKA, "抱歉", after=n)
    await asyncio.sleep(0.3)
    assert len(wecom.updates(HKA)) == 1  # a refused action does not claim a state on the card
    assert (await asyncio.to_thread(be.booking, bid))["status"] == "confirmed"


async def test_decline_moves_the_offer_on_and_other_peoples_offers_are_refused(wecom: WeComEnv) -> None:
    be, wx = wecom.app.backend, wecom.wx
    await wecom.bind("HKA", HKA)
    await wecom.bind("HKB", HKB)
    _, bid = await wecom.book()
    card = await wecom.card(HKA, f"新订单 #{bid}")
    n = len(wx.texts(HKB))
    key = next(b["key"] for b in card["button_list"] if b["text"] == "接单")
    await wecom.member(HKB).card_click(card["task_id"], key, "RC-forged")  # HKB taps HKA's button
    await wx.wait_for(HKB, "不是派给您的", after=n)
    n = len(wx.texts("stranger01"))
    await wecom.member("stranger01").card_click(card["task_id"], key, "RC-forged-2")
    await wx.wait_for("stranger01", "仅供公司员工使用", after=n)
    assert (await asyncio.to_thread(be.booking, bid))["status"] == "offered"
    assert wecom.updates(HKA) == [] and wecom.updates(HKB) == []
    await wecom.click(HKA, card, "拒绝")
    await wx.wait_for(HKA, "已拒绝，感谢")
    assert [u["button"]["replace_name"] for u in wecom.updates(HKA)] == ["已拒绝"]
    await wecom.card(HKB, f"新订单 #{bid}")


async def test_a_withdrawn_offer_updates_its_card_or_sends_a_text(wecom_db: WeComEnv) -> None:
    env, be, wx = wecom_db, wecom_db.app.backend, wecom_db.wx
    await env.bind("HKA", HKA)
    cid, bid = await env.book()
    card = await env.card(HKA, f"新订单 #{bid}")
    await asyncio.to_thread(be.cancel, cid, bid)
    update = (await until(lambda: env.updates(HKA), what="the card update"))[0]
    assert update["response_code"] == card["response_code"]  # the code the send returned
    new = update["template_card"]
    assert new["task_id"] == card["task_id"] and f"订单 #{bid} 已撤回" in new["main_title"]["title"]
    assert new["replace_text"] == "已撤回" and not any(b["key"].startswith("r:") for b in new["button_list"])
    def withdrawn_ref() -> str | None:  # recorded once the dispatcher hears the update went through
        with be.db.read() as s:
            return s.scalar(select(Notification.platform_ref).where(Notification.template == "offer_withdrawn"))

    ref = await until(withdrawn_ref, what="the delivered update")
    assert ref == f"{HKA}:{card['task_id']}"  # the updated card stays the one to update next
    assert not any("已撤回" in t for t in wx.texts(HKA))  # updated, not sent again
    # a second booking whose card's code WeCom no longer takes (used elsewhere): a new text goes out
    cid2, bid2 = await env.book(days=4, web_id="web-visitor-2")
    card2 = await env.card(HKA, f"新订单 #{bid2}")
    wx.cards[card2["response_code"]]["used"] = True
    await asyncio.to_thread(be.cancel, cid2, bid2)
    await wx.wait_for(HKA, f"订单 #{bid2} 已撤回")
    assert len(env.updates(HKA)) == 1
    # clicking the withdrawn offer's button: the desk's clear refusal
    n = len(wx.texts(HKA))
    await env.click(HKA, card2, "接单")
    await wx.wait_for(HKA, "已经不可接了", after=n)


async def test_an_expired_response_code_is_not_used(wecom: WeComEnv) -> None:
    cards, now = wecom.ch.cards, wecom.app.backend.now
    await asyncio.to_thread(cards.issued, "fdtask1", HKA, "RC-1", now)
    assert await asyncio.to_thread(cards.take, "fdtask1", HKB, now) is None  # someone else's card
    await asyncio.to_thread(cards.issued, "fdtask1", HKB, "RC-foreign", now)  # nor can she replace its code
    assert await asyncio.to_thread(cards.take, "fdtask1", HKA, now + timedelta(hours=73)) is None
    assert await asyncio.to_thread(cards.take, "fdtask1", HKA, now + timedelta(hours=71)) == "RC-1"
    assert await asyncio.to_thread(cards.take, "fdtask1", HKA, now) is None  # valid once
    await asyncio.to_thread(cards.give_back, "fdtask1", "RC-1")
    await asyncio.to_thread(cards.issued, "fdtask1", HKA, "RC-2", now)  # a click brought a newer one
    assert await asyncio.to_thread(cards.take, "fdtask1", HKA, now) == "RC-2"


async def test_a_managers_case_card_is_updated_in_place_when_claimed(wecom_db: WeComEnv) -> None:
    env, be = wecom_db, wecom_db.app.backend
    await env.bind("MGR01", MGR)
    cid = (await asyncio.to_thread(be.client_for, "rest", "web-visitor-9", "zh")).id
    esc = await asyncio.to_thread(be.escalate, "human_requested", client_id=cid, text="请人工联系我")
    card = await env.card(MGR, f"#{esc}")
    assert "客户要求人工服务" in card["main_title"]["title"]
    assert {"认领", "接管对话", "结案"} <= set(titles(card))
    await env.click(MGR, card, "认领")
    update = (await until(lambda: [u for u in env.updates(MGR) if "template_card" in u], what="an update"))[0]
    assert update["response_code"].startswith("RC-click-")  # the click's code updates the card in place
    new = update["template_card"]
    assert new["task_id"] == card["task_id"] and f"#{esc}" in new["main_title"]["title"]
    assert "认领" not in titles(new) and "结案" in titles(new)
    assert len([c for c in env.cards(MGR) if f"#{esc}" in c["main_title"]["title"]]) == 1  # not sent again


async def test_escalation_buttons_acknowledge_take_over_resolve_and_a_stale_one(wecom: WeComEnv) -> None:
    be, wx = wecom.app.backend, wecom.wx
    await wecom.bind("MGR01", MGR)
    cid = (await asyncio.to_thread(be.client_for, "rest", "web-visitor-9", "zh")).id
    esc = await asyncio.to_thread(be.escalate, "human_requested", client_id=cid, text="请人工联系我")
    await wecom.card(MGR, f"#{esc}")
    await wecom.says(MGR, "/escalations")
    card = await wecom.card(MGR, f"升级事项 #{esc}")
    assert titles(card) == ["确认收到", "接管对话", "已解决"]
    await wecom.click(MGR, card, "确认收到")
    await wx.wait_for(MGR, f"已确认收到升级事项 #{esc}")
    retired = await until(lambda: [u["button"]["replace_name"] for u in wecom.updates(MGR) if "button" in u])
    assert retired == ["已确认收到"]
    await wecom.click(MGR, card, "接管对话")
    await wx.wait_for(MGR, "您已接管客户")
    await wecom.click(MGR, card, "已解决")
    await wx.wait_for(MGR, f"升级事项 #{esc} 已解决")
    labels = [u["button"]["replace_name"] for u in wecom.updates(MGR) if "button" in u]
    assert labels == ["已确认收到", "已接管", "已解决"]
    n = len(wx.texts(MGR))
    await wecom.click(MGR, card, "确认收到")  # the case is closed now (by her here, or by another manager)
    await wx.wait_for(MGR, f"没有找到未处理的升级事项 #{esc}", after=n)
    await asyncio.sleep(0.3)
    assert len([u for u in wecom.updates(MGR) if "button" in u]) == 3  # a refusal claims no state
    assert "交还给机器人" in await ask(wecom, MGR, "/done")


async def test_pushes_map_wecom_errors_for_the_outbox(wecom: WeComEnv) -> None:
    wx, push = wecom.wx, wecom.ch.push
    assert getattr(push, "wants_row", False)
    assert await push(HKA, {"text": "你好"}) == ""
    wx.unknown_members.add("gone01")
    with pytest.raises(Unreachable):
        await push("gone01", {"text": "你好"})
    wx.fail_next("wecom_text", 48002)
    with pytest.raises(Permanent):
        await push(HKA, {"text": "你好"})
    wx.fail_next("wecom_card", -1)
    with pytest.raises(Retry):
        await push(HKA, {"text": "卡片", "buttons": [{"title": "好", "payload": "/affirm"}]})
    wx.fail_next("wecom_text", 40008)
    with pytest.raises(Permanent):
        await push(HKA, {"text": "你好"})
    wx.expire_tokens()  # token expiry mid-send: refreshed and retried once, nothing lost
    ref = await push(HKA, {"text": "卡片", "buttons": [{"title": "好", "payload": "/affirm"}]})
    assert ref.startswith(f"{HKA}:fd")


async def test_long_texts_are_split_and_long_cards_come_with_the_text_first(wecom: WeComEnv) -> None:
    wx, ch = wecom.wx, wecom.ch
    long_text = "很长的消息。" * 700
    await ch.send(HKA, {"text": long_text})
    parts = [s["payload"]["text"]["content"] for s in wx.to(HKA, "wecom_text")]
    assert len(parts) >= 3 and all(len(p.encode()) <= 2048 for p in parts) and "".join(parts) == long_text
    many = [{"title": f"选项{i}", "payload": f"/pick{{\"n\": {i}}}"} for i in range(8)]
    ref = await ch.send(HKA, {"text": "案件 #7：" + "客户描述。" * 40, "buttons": many})
    sent = wx.to(HKA)[len(parts):]
    assert [s["api"] for s in sent] == ["wecom_text", "wecom_card", "wecom_card"]
    first, second = (s["payload"]["template_card"] for s in sent[1:])
    assert len(first["button_list"]) == 6 and len(second["button_list"]) == 2
    assert "sub_title_text" not in first and ref == f"{HKA}:{first['task_id']}"
    assert first["task_id"] != second["task_id"]


def test_titles_and_buttons_fit_the_card() -> None:
    assert wc.split_title("新订单 #12：保洁，11月19日 10:00–13:00，区域：朝阳区。请在10分钟内回复。") == (
        "新订单 #12", "保洁，11月19日 10:00–13:00，区域：朝阳区。请在10分钟内回复。")
    assert wc.split_title("⚠ 升级事项 #3：客户要求人工服务。客户说：请尽快联系我，我在家等到下午三点钟。") == (
        "⚠ 升级事项 #3：客户要求人工服务。", "客户说：请尽快联系我，我在家等到下午三点钟。")
    assert wc.split_title("短标题\n正文") == ("短标题", "正文")
    title, body = wc.split_title("x" * 50)
    assert len(title) == wc.TITLE_MAX and title.endswith("…") and body == "x" * 50
    assert wc.button_text("Acknowledge") == "Acknowled…" and len(wc.button_text("Acknowledge")) == 10


async def test_the_member_limiter_spaces_messages_and_the_outbox_comes_back_later(wecom: WeComEnv) -> None:
    lim = MemberLimiter(per_window=2, window=0.4)
    started = time.monotonic()
    for _ in range(3):
        await lim.wait(HKA)
    assert time.monotonic() - started >= 0.35
    await lim.wait(HKB)  # another member is not held up
    wecom.ch.limiter = MemberLimiter(per_window=1, window=60)
    await wecom.ch.push(HKA, {"text": "第一条"})
    with pytest.raises(Retry) as e:
        await wecom.ch.push(HKA, {"text": "第二条"})
    assert e.value.retry_after and e.value.retry_after > 50


async def test_workers_share_one_member_limit_in_redis(redis_url: str) -> None:
    # Two workers' limiters on one Redis: three sends to one member in a window of two are spaced.
    one, two = (SharedMemberLimiter(redis_url, per_window=2, window=0.4, prefix=f"t{time.time()}") for _ in "ab")
    two.prefix = one.prefix
    started = time.monotonic()
    await one.wait(HKA)
    await two.wait(HKA)
    assert await one.pending(HKA) > 0 and await two.pending(HKB) == 0  # full for her, not for another member
    await one.wait(HKA)
    assert time.monotonic() - started >= 0.35
    for lim in (one, two):
        await lim.redis.aclose()


async def test_a_slow_send_is_answered_at_once_and_a_retry_is_processed_once(wecom: WeComEnv) -> None:
    await wecom.bind("HKA", HKA)
    wecom.ch.reply_budget = 0.2
    wecom.wx.slow(1.0)
    n = len(wecom.wx.texts(HKA))
    started = time.monotonic()
    first = await wecom.member(HKA).text("/today")
    assert first.status == 200 and first.body == "" and time.monotonic() - started < 0.9
    again = await wecom.member(HKA).resend_last()  # WeCom's retry of the same callback
    assert again.status == 200
    await wecom.wx.wait_for(HKA, "这段时间没有订单", after=n)  # the turn went on after the answer
    await asyncio.sleep(1.5)
    assert sum("这段时间没有订单" in t for t in wecom.wx.texts(HKA)[n:]) == 1


async def test_a_manager_opening_a_case_on_wecom_gets_its_photo_from_storage(wecom: WeComEnv) -> None:
    env, be, wx = wecom, wecom.app.backend, wecom.wx
    await env.bind("MGR01", MGR)
    cid = (await asyncio.to_thread(be.client_for, "rest", "web-visitor-7", "zh")).id
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    case = await asyncio.to_thread(be.open_case, "complaint", cid, text="沙发被划坏了")
    case_id = case["id"] if isinstance(case, dict) else int(case)
    att = await asyncio.to_thread(be.store_attachment, cid, "image/png", photo)
    await asyncio.to_thread(be.link_attachments, cid, case_id, [att])
    await env.says(MGR, f"/case {case_id}")
    sent = await until(lambda: wx.to(MGR, "wecom_media"), what="the photo")
    media_id = sent[0]["payload"]["image"]["media_id"]
    assert sent[0]["payload"]["msgtype"] == "image" and wx.uploads[media_id] == ("image", "image/png", photo)


async def test_a_message_kept_waiting_behind_a_busy_conversation_is_answered_busy(wecom: WeComEnv,
                                                                                 redis_url: str) -> None:
    """Several workers (Redis locks): WeCom never delivers a message twice, so one that cannot get its
    conversation within the wait is answered with "send it again" — and sent again, it works."""
    from dialogs.locks import RedisLocks

    await wecom.bind("HKA", HKA)
    wecom.app.desk.locks = locks = RedisLocks.from_url(redis_url)
    locks.wait = 0.5
    held = locks.client.lock(locks.name(f"wecom:{HKA}"), timeout=30)
    assert await held.acquire()  # another worker's long turn of this member
    said = await ask(wecom, HKA, "/today")
    assert "请稍后再发一次" in said and "这段时间没有订单" not in said
    await held.release()
    assert "这段时间没有订单" in await ask(wecom, HKA, "/today")
    await locks.client.aclose()
