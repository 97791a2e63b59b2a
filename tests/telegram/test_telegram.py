"""Both real Telegram libraries against a fake Bot API server on 127.0.0.1, end to end."""

from __future__ import annotations

import asyncio

from bot.server import TELEGRAM
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, HK_B, MANAGER, SECRET, STAFF, Env


async def book_via_telegram(tg: Env, chat: int = CUSTOMER) -> None:
    f = tg.fake
    await tg.client_says("/start", chat)
    await f.wait_for(CLIENT, chat, "家政服务前台")
    steps = (("我想约明天上午10点的保洁", "几个小时"), ("3个小时", "地址"), ("朝阳区建国路88号3号楼501", "手机号"))
    for text, expect in steps:
        n = tg.sent(CLIENT, chat)
        await tg.client_says(text, chat)
        await f.wait_for(CLIENT, chat, expect, after=n)
    ask_phone = [m for m in f.bots[CLIENT].sent if m.get("chat_id") == chat and "手机号" in m.get("text", "")][-1]
    assert ask_phone["reply_markup"]["keyboard"][0][0]["request_contact"] is True  # share-contact button
    n = tg.sent(CLIENT, chat)
    await f.send_contact(CLIENT, chat, "+86 138 1234 5678")
    await f.wait_for(CLIENT, chat, "注意", after=n)
    n = tg.sent(CLIENT, chat)
    await tg.client_says("没有", chat)
    summary = await f.wait_for(CLIENT, chat, "确认下单吗", after=n)
    assert "13812345678" in summary
    assert [t for t, _ in f.buttons(CLIENT, chat)] == ["确认", "修改", "取消"]
    n = tg.sent(CLIENT, chat)
    await tg.tap(CLIENT, chat, "确认")
    await f.wait_for(CLIENT, chat, "正在为您安排阿姨", after=n)


async def test_client_books_housekeeper_accepts_client_is_confirmed(tg: Env) -> None:
    f = tg.fake
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    await book_via_telegram(tg)
    card = await f.wait_for(STAFF, HK_A, "新订单 #")
    assert "朝阳区建国路" not in card and "138" not in card  # district only before acceptance
    assert [t for t, _ in f.buttons(STAFF, HK_A)] == ["接单", "拒绝"]
    assert all(len(d.encode()) <= 64 for m in f.bots[CLIENT].sent + f.bots[STAFF].sent
               for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for d in
               [b["callback_data"] for b in row])
    await tg.tap(STAFF, HK_A, "接单")
    await f.wait_for(STAFF, HK_A, "接单成功")
    job = await f.wait_for(STAFF, HK_A, "朝阳区建国路88号3号楼501")
    assert "13812345678" in job  # hers now: the client's full number
    assert any(m["method"] == "editMessageReplyMarkup" for m in f.bots[STAFF].sent)  # the card is retired
    assert any(m["method"] == "answerCallbackQuery" for m in f.bots[STAFF].sent)
    confirmed = await f.wait_for(CLIENT, CUSTOMER, "已确认")
    assert "王阿姨" in confirmed and "13900000101" in confirmed and "4.9" in confirmed
    assert "/today" in (await _ask(tg, "/help", HK_A))
    assert "11月19日" in (await _ask(tg, "/week", HK_A))


async def _ask(tg: Env, text: str, chat: int) -> str:
    n = tg.sent(STAFF, chat)
    await tg.staff_says(text, chat)
    for _ in range(200):
        if tg.sent(STAFF, chat) > n:
            return tg.fake.texts(STAFF, chat)[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("no answer")


async def test_decline_moves_the_offer_to_the_next_housekeeper(tg: Env) -> None:
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    await book_via_telegram(tg)
    await tg.fake.wait_for(STAFF, HK_A, "新订单 #")
    await tg.tap(STAFF, HK_A, "拒绝")
    await tg.fake.wait_for(STAFF, HK_A, "已拒绝")
    await tg.fake.wait_for(STAFF, HK_B, "新订单 #")


async def test_strangers_and_other_peoples_offers(tg: Env) -> None:
    assert "仅供公司员工使用" in await _ask(tg, "你好", 999)
    assert "仅供公司员工使用" in await _ask(tg, "/start not-a-real-invite", 998)
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    await book_via_telegram(tg)
    await tg.fake.wait_for(STAFF, HK_A, "新订单 #")
    accept = dict(tg.fake.buttons(STAFF, HK_A))["接单"]
    n = tg.sent(STAFF, HK_B)
    await tg.fake.tap(STAFF, HK_B, accept)  # HKB presses HKA's button
    await tg.fake.wait_for(STAFF, HK_B, "不是派给您的", after=n)
    n = tg.sent(STAFF, 999)
    await tg.fake.tap(STAFF, 999, accept)  # and a stranger too
    await tg.fake.wait_for(STAFF, 999, "仅供公司员工使用", after=n)
    assert (await asyncio.to_thread(tg.app.backend.booking, 1))["status"] == "offered"


async def test_manager_takes_over_and_hands_back(tg: Env) -> None:
    f = tg.fake
    await tg.bind("MGR01", MANAGER)
    await tg.client_says("/start")
    await f.wait_for(CLIENT, CUSTOMER, "家政服务前台")
    await tg.client_says("转人工")
    await f.wait_for(CLIENT, CUSTOMER, "人工客服")
    await f.wait_for(STAFF, MANAGER, "客户要求人工服务")
    assert [t for t, _ in f.buttons(STAFF, MANAGER)] == ["认领", "回复客户", "接管对话", "结案"]  # the case card
    await tg.tap(STAFF, MANAGER, "接管对话")
    await f.wait_for(STAFF, MANAGER, "您已接管")
    await f.wait_for(CLIENT, CUSTOMER, "周经理已接入")
    n_bot = tg.sent(CLIENT, CUSTOMER)
    await tg.client_says("我家的阿姨能不能换一个")
    await f.wait_for(STAFF, MANAGER, "我家的阿姨能不能换一个")
    await tg.staff_says("可以的，我来安排", MANAGER)
    await f.wait_for(CLIENT, CUSTOMER, "周经理：可以的，我来安排")
    assert not any("机器人" in t or "预约" in t for t in f.texts(CLIENT, CUSTOMER)[n_bot:])  # the bot kept quiet
    await tg.staff_says("/done", MANAGER)
    await f.wait_for(STAFF, MANAGER, "交还给机器人")
    await f.wait_for(CLIENT, CUSTOMER, "由智能助手继续")
    n = tg.sent(CLIENT, CUSTOMER)
    await tg.client_says("月嫂多少钱")
    await f.wait_for(CLIENT, CUSTOMER, "12800", after=n)


async def test_a_duplicate_update_is_processed_once(tg: Env) -> None:
    f = tg.fake
    update = await f.send_text(CLIENT, CUSTOMER, "约个保洁")
    await f.wait_for(CLIENT, CUSTOMER, "什么时间")
    await f.deliver(CLIENT, {k: v for k, v in update.items() if k != "update_id"}, update_id=update["update_id"])
    await asyncio.sleep(1.5)
    assert sum("什么时间" in t for t in f.texts(CLIENT, CUSTOMER)) == 1


async def test_lang_switches_language(tg: Env) -> None:
    await tg.client_says("/start", lang="en")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "front desk of the home-services company")
    await tg.client_says("/lang zh")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "家政服务前台")


async def test_a_429_storm_loses_no_message(tg: Env) -> None:
    # Direct replies wait out retry_after and try again.
    tg.fake.fail(CLIENT, "sendMessage", 429, times=4, retry_after=1)
    await tg.client_says("你好")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "家政服务前台", timeout=20)
    # Outbox deliveries are rescheduled after retry_after (on the test clock) and delivered later.
    await tg.bind("MGR01", MANAGER)
    tg.fake.fail(STAFF, "sendMessage", 429, times=5, retry_after=3)
    kinds = ("human_requested", "complaint", "customization", "unassigned")  # four matters: four cases
    ids = [await asyncio.to_thread(tg.app.backend.escalate, kind, client_id=1, text=f"storm {i}")
           for i, kind in enumerate(kinds)]  # off the loop: a turn in flight holds the database until it finishes
    for _ in range(100):
        got = " ".join(tg.fake.texts(STAFF, MANAGER))
        if all(f"#{i}" in got for i in ids):
            break
        tg.app.clock.advance(seconds=2)
        await asyncio.sleep(0.2)
    got = tg.fake.texts(STAFF, MANAGER)
    for i in ids:
        assert sum(f" #{i} · " in t for t in got) == 1, got  # each alert exactly once, none lost
    assert tg.fake.bots[STAFF].failures["sendMessage"] == []


async def test_a_blocked_housekeeper_loses_the_offer_at_once(tg: Env) -> None:
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    tg.fake.bots[STAFF].blocked.add(HK_A)
    await book_via_telegram(tg)
    await tg.fake.wait_for(STAFF, HK_B, "新订单 #")  # without waiting 10 minutes for the offer to expire


async def test_long_replies_are_split(tg: Env) -> None:
    await tg.app.desk.set_language("telegram", str(CUSTOMER), "zh")
    long_text = "很长的消息。" * 1500
    bot = tg.server.app[TELEGRAM].client
    await bot.send(CUSTOMER, {"text": long_text, "buttons": [{"title": "好", "payload": "/affirm" + " " * 200}]})
    sent = [m for m in tg.fake.bots[CLIENT].sent if m.get("chat_id") == CUSTOMER and m["method"] == "sendMessage"]
    assert len(sent) >= 3 and all(len(m["text"]) <= 4096 for m in sent)
    assert "".join(m["text"] for m in sent).replace("\n", "") == long_text
    assert sent[-1].get("reply_markup") and not sent[0].get("reply_markup")


async def test_webhook_checks_the_secret_token(tg_webhook: Env) -> None:
    f = tg_webhook.fake
    client_url, client_secret = f.bots[CLIENT].webhook
    staff_url, staff_secret = f.bots[STAFF].webhook
    assert client_secret == SECRET and staff_secret == SECRET and client_url.endswith("/telegram/client")
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": CUSTOMER, "type": "private"},
                                          "from": {"id": CUSTOMER, "is_bot": False, "first_name": "x"},
                                          "text": "你好"}}
    assert await f.post_webhook(client_url, update, "wrong") == 403
    assert await f.post_webhook(client_url, update, None) == 403
    assert await f.post_webhook(staff_url, update, "wrong") in (401, 403)
    assert f.texts(CLIENT, CUSTOMER) == []
    await f.send_text(CLIENT, CUSTOMER, "你好")  # delivered by the fake with the right secret
    await f.wait_for(CLIENT, CUSTOMER, "家政服务前台")
    await f.send_text(STAFF, 999, "hi")
    await f.wait_for(STAFF, 999, "仅供公司员工使用")


async def test_deep_link_opens_a_booking_and_staff_messages_of_two_chats_both_count(tg: Env) -> None:
    await tg.client_says("/start book_cleaning")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "什么时间上门")
    await tg.bind("HKA", HK_A)
    await tg.bind("HKB", HK_B)
    # the two chats' messages may carry the same Telegram message id; neither is taken for a duplicate
    for chat in (HK_A, HK_B):
        await tg.fake.deliver(STAFF, {"message": {"message_id": 7, "date": 0, "chat": {"id": chat, "type": "private"},
                                                  "from": {"id": chat, "is_bot": False, "first_name": "x"},
                                                  "text": "/offers", "entities": [{"type": "bot_command",
                                                                                   "offset": 0, "length": 7}]}})
    await tg.fake.wait_for(STAFF, HK_A, "没有订单")
    await tg.fake.wait_for(STAFF, HK_B, "没有订单")


async def test_a_message_kept_waiting_behind_a_busy_conversation_is_answered_busy(tg: Env, redis_url: str) -> None:
    """Several workers (Redis locks): a message that cannot get its conversation within the wait is not
    kept and Telegram will not deliver it again, so the client is told to send it again — and it works."""
    from dialogs.locks import RedisLocks

    tg.app.desk.locks = locks = RedisLocks.from_url(redis_url)
    locks.wait = 0.5
    held = locks.client.lock(locks.name(f"telegram:{CUSTOMER}"), timeout=30)
    assert await held.acquire()  # another worker's long turn of this chat
    await tg.client_says("约个保洁")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "请稍后再发一次")
    assert "什么时间" not in "".join(tg.fake.texts(CLIENT, CUSTOMER))
    await held.release()
    await tg.client_says("约个保洁")
    await tg.fake.wait_for(CLIENT, CUSTOMER, "什么时间")
    await locks.client.aclose()
