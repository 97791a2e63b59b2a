"""Whole booking conversations through the REST channel, in Chinese and English.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import Chat, buttons, one_cook, text


async def book_cleaning_zh(chat: Chat, sender: str = "client-1") -> int:
    r = await chat.say("我想约明天上午10点的保洁", sender)
    assert "几个小时" in text(r)
    assert "地址" in text(await chat.say("3个小时", sender))
    assert "手机号" in text(await chat.say("朝阳区建国路88号3号楼501", sender))
    assert "注意" in text(await chat.say("13812345678", sender))
    summary = await chat.say("没有", sender)
    s = text(summary)
    assert "日常保洁" in s and "11月19日（周四）10:00" in s and "3小时" in s and "150元" in s
    assert "朝阳区建国路88号3号楼501" in s and "13812345678" in s
    assert [b["title"] for b in buttons(summary)] == ["确认", "修改", "取消"]
    done = text(await chat.say("/affirm", sender))
    booking_id = int(re.search(r"#(\d+)", done).group(1))
    assert "正在为您安排阿姨" in done
    return booking_id


async def test_zh_booking_offer_accept_confirmation(chat: Chat) -> None:
    assert "家政服务前台" in text(await chat.say("你好"))
    booking_id = await book_cleaning_zh(chat)
    _, hk = chat.offer_for(booking_id)
    offer = await chat.inbox(hk)
    assert f"新订单 #{booking_id}" in text(offer) and "朝阳区建国路" not in text(offer)  # no address before accepting
    accept = next(b["payload"] for b in buttons(offer) if b["title"] == "接单")
    assert "接单成功" in text(await chat.say(accept, hk))
    job = await chat.inbox(hk)
    assert "朝阳区建国路88号3号楼501" in text(job) and "13812345678" in text(job)  # hers now: the full number
    confirmed = text(await chat.inbox("client-1", wait=1))
    assert f"预约 #{booking_id} 已确认" in confirmed and re.search(r"139\d{8}", confirmed)
    assert "评分" in confirmed and "11月19日（周四）10:00" in confirmed
    mine = text(await chat.say("我的预约"))
    assert f"#{booking_id}" in mine and "已确认" in mine


async def test_en_booking_asks_only_what_is_missing(chat: Chat) -> None:
    r = await chat.say("I need a deep clean this Saturday at 9am, 120 sqm", "en-1")
    assert "address" in text(r)  # service, time and area were all in the first message
    address = "Room 1203, Building 5, 88 Jianguo Road, Chaoyang District, Beijing"
    assert "mobile" in text(await chat.say(address, "en-1"))
    assert "pets" in text(await chat.say("+86 139-1234-5678", "en-1"))
    summary = text(await chat.say("we have a cat, please close the door", "en-1"))
    assert "Deep cleaning" in summary and "Sat 21 Nov, 9:00" in summary and "120 sqm" in summary
    assert "960 CNY" in summary and "13912345678" in summary and "we have a cat" in summary
    assert "received" in text(await chat.say("/affirm", "en-1"))


async def test_invalid_answers_get_a_helpful_re_ask(chat: Chat) -> None:
    assert "什么时间" in text(await chat.say("约个保洁"))
    assert "已经过去" in text(await chat.say("今天早上8点"))
    assert "提前2小时" in text(await chat.say("今天中午12点"))
    assert "几个小时" in text(await chat.say("明天下午两点"))
    r = text(await chat.say("20个小时"))
    assert "2到8小时" in r
    assert "地址" in text(await chat.say("4个小时"))
    assert "完整地址" in text(await chat.say("这"))
    await chat.say("海淀区学院路20号")
    assert "有效的手机号" in text(await chat.say("12345"))
    assert "注意" in text(await chat.say("139 1234 5678"))


async def test_date_without_time_asks_the_time_of_day(chat: Chat) -> None:
    await chat.say("约个保洁")
    assert "几点上门" in text(await chat.say("下周三"))
    await chat.say("上午10点")
    summary = await chat.say("/affirm")  # not a summary yet: the form goes on
    assert "几个小时" in text(summary) or "小时" in text(summary)
    for answer in ("3小时", "浦东新区张江路100弄5号", "13812345678", "没有"):
        r = await chat.say(answer)
    assert "11月25日（周三）10:00" in text(r)


async def test_the_day_given_stays_in_the_time_question_after_another_answer(chat: Chat) -> None:
    """"下周三下午" asks the hour; answering the hours first ("3个钟", southern colloquial) asks the hour again
    with the same day and the same bookable hours, and a bare "2点" then lands on that Wednesday afternoon."""
    first = await chat.say("下周三下午要个保洁")
    assert "11月25日（周三）12:00–18:00" in text(first)
    again = await chat.say("3个钟")
    assert "11月25日（周三）12:00–18:00" in text(again)
    assert [b["title"] for b in buttons(again)] == [b["title"] for b in buttons(first)]
    for answer in ("2点", "浦东新区张江路100弄5号", "13812345678", "没有"):
        r = await chat.say(answer)
    assert "11月25日（周三）14:00" in text(r) and "3小时" in text(r)


async def test_another_time_while_booking_with_nothing_booked_moves_the_booking_being_made(chat: Chat) -> None:
    """"换个时间吧" reads as moving a booking; with none booked yet it is the one being made: its time is asked
    again (not "you have no open bookings"), the rest of the draft is kept, and the new time is booked."""
    await chat.say("明天上午10点要个保洁")
    r = text(await chat.say("换个时间吧"))
    assert "换个时间" in r and "什么时间上门" in r and "没有进行中的预约" not in r
    for answer in ("后天下午3点", "3小时", "浦东新区张江路100弄5号", "13812345678", "没有"):
        r = text(await chat.say(answer))
    assert "11月20日（周五）15:00" in r and "3小时" in r
    await chat.say("book a cleaner tomorrow 10am", "en-1")
    await chat.say("3 hours", "en-1")
    r = text(await chat.say("can we do it another time", "en-1"))
    assert "different time" in r and "When should we come" in r and "no open bookings" not in r


async def test_leaving_the_form_at_any_step(chat: Chat) -> None:
    await chat.say("约个保洁")
    assert "没有下单" in text(await chat.say("算了"))
    assert "价格" in text(await chat.say("多少钱"))  # no form any more
    await chat.say("book a cleaning tomorrow at 10am", "en-2")
    assert "Nothing was booked" in text(await chat.say("stop", "en-2"))
    await book_cleaning_steps_until_summary(chat, "c-3")
    assert "没有下单" in text(await chat.say("/deny", "c-3"))
    assert "没有进行中的预约" in text(await chat.say("我的预约", "c-3"))


async def book_cleaning_steps_until_summary(chat: Chat, sender: str) -> None:
    for m in ("我想约明天上午10点的保洁", "3个小时", "朝阳区建国路88号", "13812345678", "没有"):
        r = await chat.say(m, sender)
    assert "确认下单吗" in text(r)


async def test_question_mid_form_is_answered_and_the_form_resumes(chat: Chat) -> None:
    await chat.say("约个保洁")
    r = text(await chat.say("保洁多少钱一小时"))
    assert "日常保洁：50元/小时" in r and "继续刚才的预约" in r and "什么时间" in r
    r = text(await chat.say("阿姨都有健康证吗"))
    assert "健康证" in r and "什么时间" in r
    assert "几个小时" in text(await chat.say("明天上午10点"))


async def test_nobody_free_offers_the_nearest_slots_as_buttons(chat: Chat) -> None:
    one_cook(chat)
    for m in ("I'd like a home cook next Monday at 9am for 3 hours", "88 Jianguo Road, Chaoyang", "13812345678"):
        await chat.say(m, "en-3")
    r = await chat.say("no", "en-3")
    assert "nobody is free" in text(r)
    slots = [b for b in buttons(r) if b["payload"].startswith("/choose_slot")]
    assert len(slots) == 3 and buttons(r)[-1]["title"] == "Cancel"
    summary = await chat.say(slots[0]["payload"], "en-3")
    assert "Please check your booking" in text(summary) and slots[0]["title"] in text(summary)
    assert "received" in text(await chat.say("/affirm", "en-3"))


async def test_change_button_goes_through_the_details_again(chat: Chat) -> None:
    await book_cleaning_steps_until_summary(chat, "c-4")
    r = text(await chat.say("/change_booking", "c-4"))
    assert "重新确认" in r and "什么时间" in r
    for m in ("后天下午两点", "2小时", "徐汇区漕溪北路398号", "没有"):
        r = await chat.say(m, "c-4")
    assert "11月20日（周五）14:00" in text(r) and "100元" in text(r)


async def test_decline_and_expiry_cascade_to_a_manager(chat: Chat) -> None:
    one_cook(chat)
    for m in ("我想约家庭厨师，这周五上午9点，3小时", "静安区南京西路1266号", "13812345678", "没有"):
        await chat.say(m, "c-5")
    booking_id = int(re.search(r"#(\d+)", text(await chat.say("/affirm", "c-5"))).group(1))
    _, cook = chat.offer_for(booking_id)
    offer = await chat.inbox(cook)
    decline = next(b["payload"] for b in buttons(offer) if b["title"] == "拒绝")
    assert "已拒绝" in text(await chat.say(decline, cook))
    assert "暂时没有阿姨接单" in text(await chat.inbox("c-5"))
    alert = await chat.inbox(chat.token("MGR01"))
    assert "订单无人接单" in text(alert) and f"#{booking_id}" in text(alert)
    ack = next(b["payload"] for b in buttons(alert) if b["title"] == "确认收到")
    assert "已确认收到" in text(await chat.say(ack, chat.token("MGR01")))
    assert "nobody accepted a booking" in text(await chat.inbox(chat.token("MGR02")))  # the English-speaking manager
    why = text(await chat.say(f"/candidates {booking_id}", chat.token("MGR01")))
    assert "候选阿姨" in why and "[declined]" in why and "rating" in why

    booking_2 = await book_cleaning_zh(chat, "c-6")
    first_offer, first_hk = chat.offer_for(booking_2)
    assert chat.tick(9) == 0
    assert chat.tick(2) == 1
    assert "已超时" in text(await chat.inbox(first_hk))
    _, second_hk = chat.offer_for(booking_2)
    assert second_hk != first_hk
    late = await chat.say(f'/accept_offer{{"offer_id": {first_offer}}}', first_hk)
    assert "已超时" in text(late) or "不可接" in text(late)


async def test_staff_can_act_only_on_their_own_offers(chat: Chat) -> None:
    booking_id = await book_cleaning_zh(chat, "c-7")
    offer_id, hk = chat.offer_for(booking_id)
    other = next(t for code, t in chat.app.tokens.items() if code.startswith("HK") and t != hk)
    assert "不是派给您的" in text(await chat.say(f'/accept_offer{{"offer_id": {offer_id}}}', other))
    assert "不是您的订单" in text(await chat.say(f'/arrived{{"booking_id": {booking_id}}}', other))
    help_text = text(await chat.say("hello", hk))
    assert "/today" in help_text
    await chat.say(f'/accept_offer{{"offer_id": {offer_id}}}', hk)
    chat.tick(23 * 60)  # the next morning at 09:30: check-in opens an hour before the 10:00 start
    assert "签到" in text(await chat.say(f'/arrived{{"booking_id": {booking_id}}}', hk))
    assert "已完成" in text(await chat.say(f'/finished{{"booking_id": {booking_id}}}', hk))
    assert f"#{booking_id}" in text(await chat.say("/week", hk))


async def test_two_misunderstandings_offer_a_person(chat: Chat) -> None:
    assert "换个说法" in text(await chat.say("我想问一下那个东西"))
    r = await chat.say("这个那个")
    assert "转接人工" in text(r)
    person = next(b["payload"] for b in buttons(r) if b["payload"] == "/request_human")
    assert "人工客服" in text(await chat.say(person))
    assert "客户要求人工服务" in text(await chat.inbox(chat.token("MGR01")))


async def test_small_talk_prices_and_services_in_both_languages(chat: Chat) -> None:
    assert "不客气" in text(await chat.say("谢谢"))
    assert "再见" in text(await chat.say("拜拜"))
    prices = text(await chat.say("价格表发我看看"))
    assert "月嫂：12800元/月起" in prices and "日常保洁：50元/小时，2小时起" in prices
    assert "Maternity nurse: 12800 CNY/month" in text(await chat.say("how much is a maternity nurse", "en-9"))
    assert "health certificate" in text(await chat.say("are your cleaners background checked?", "en-9"))
    assert "You're welcome" in text(await chat.say("thanks!", "en-9"))
    assert "120" in text(await chat.say("救命，阿姨摔倒了流了好多血"))
    assert "是关于物品损坏吗" in text(await chat.say("我要投诉，阿姨把我家花瓶打碎了"))  # the complaint form


async def test_a_returning_client_is_not_asked_for_phone_and_address_again(chat: Chat) -> None:
    await book_cleaning_zh(chat, "c-8")
    for m, expect in (("再约一次保洁，后天下午两点", "几个小时"), ("2小时", "注意")):
        assert expect in text(await chat.say(m, "c-8"))
    summary = text(await chat.say("没有", "c-8"))
    assert "13812345678" in summary and "朝阳区建国路88号3号楼501" in summary and "11月20日（周五）14:00" in summary


async def test_cancel_and_reschedule_an_existing_booking(chat: Chat) -> None:
    """Asking to move a booking never cancels it (tests/e2e/test_changes.py follows the change through);
    cancelling is always confirmed first."""
    first = await book_cleaning_zh(chat, "c-9")
    r = text(await chat.say("我想改个时间", "c-9"))
    assert f"#{first}" in r, r
    assert chat.app.backend.booking(first)["status"] != "cancelled"
    await chat.say("算了", "c-9")
    assert chat.app.backend.booking(first)["status"] != "cancelled"
    r = text(await chat.say("取消预约", "c-9"))
    assert f"#{first}" in r and chat.app.backend.booking(first)["status"] != "cancelled", r  # asked first, always
    r = text(await chat.say("确认取消", "c-9"))
    assert f"#{first}" in r and "已取消" in r, r
    assert chat.app.backend.booking(first)["status"] == "cancelled"
    assert "没有" in text(await chat.say("取消订单", "c-9"))
