"""Price questions: one service's price, then the whole list is still reachable (issue 10)."""

from __future__ import annotations

from tests.e2e.conftest import Chat, text


async def test_the_full_price_list_is_reachable_after_one_services_price(chat: Chat) -> None:
    one = text(await chat.say("日常保洁多少钱一小时"))
    assert "日常保洁" in one and "深度保洁" not in one
    everything = text(await chat.say("那你们所有服务的价格呢"))
    assert "日常保洁" in everything and "深度保洁" in everything and "月嫂" in everything


async def test_in_english_the_price_list_follows_one_price(chat: Chat) -> None:
    one = text(await chat.say("How much is deep cleaning?"))
    assert "Deep cleaning" in one and "Maternity nurse" not in one
    everything = text(await chat.say("And what is your price list for all services?"))
    assert "Regular cleaning" in everything and "Maternity nurse" in everything


async def test_mid_form_the_price_is_the_drafts_service_unless_the_list_is_asked(chat: Chat) -> None:
    await chat.say("我想约明天上午10点的深度保洁")
    draft = text(await chat.say("多少钱"))
    assert "深度保洁" in draft and "月嫂" not in draft
    everything = text(await chat.say("价目表发我看看"))
    assert "月嫂" in everything and "日常保洁" in everything
