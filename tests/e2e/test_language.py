"""Sticky language through REST (issue 10): "ok", "好的 ok", digits, an address, a name, a service name
never switch a conversation's language; "please speak English", "说中文", "講中文", /lang and a full sentence
in the other language do, and the client's stored language follows. Traditional Chinese in → Traditional
out, buttons included, in the configured OpenCC variant. SQLite and PostgreSQL.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.domain import configure_traditional, traditional_variant
from tests.conftest import make_app as make_frontdesk
from tests.e2e.conftest import Chat, buttons, secure, serve, text


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


def stored_lang(chat: Chat, sender: str) -> str:
    return chat.app.backend.client_for("rest", sender, "zh").lang


def conversation_lang(chat: Chat, sender: str) -> str:
    return chat.app.desk.engine.store.load(f"rest:{sender}")["slots"]["language"]


async def test_ok_digits_address_name_and_service_keep_a_chinese_client_in_chinese(chat: Chat) -> None:
    assert "几个小时" in text(await chat.say("我想约明天上午10点的保洁", "zh-1"))
    r = text(await chat.say("ok", "zh-1"))
    assert "几个小时" in r and "hours" not in r  # understood as nothing new: the question again, in Chinese
    assert "几个小时" in text(await chat.say("好的 ok", "zh-1"))
    r = text(await chat.say("3", "zh-1"))  # a bare digit (whatever it answers) is not English
    assert "小时" in r or "地址" in r
    assert conversation_lang(chat, "zh-1") == "zh"
    if "地址" not in r:
        assert "地址" in text(await chat.say("3个小时", "zh-1"))
    r = text(await chat.say("Room 1203, Building 5, 88 Jianguo Road, Chaoyang District", "zh-1"))
    if "哪个城市" in r:  # the service area's question, if it asks: still in Chinese
        r = text(await chat.say("北京", "zh-1"))
    assert "手机号" in r and "mobile" not in r
    assert "需要注意" in text(await chat.say("13812345678", "zh-1"))
    summary = text(await chat.say("Zhang Wei", "zh-1"))
    assert "确认" in summary and "Confirm" not in summary
    assert stored_lang(chat, "zh-1") == "zh" and conversation_lang(chat, "zh-1") == "zh"
    await chat.say("你好", "zh-2")
    r = text(await chat.say("deep cleaning", "zh-2"))  # a service's name is not a sentence
    assert "时间" in r and "When" not in r
    assert "thanks" not in text(await chat.say("thanks", "zh-2")).lower()
    assert stored_lang(chat, "zh-2") == "zh"


async def test_the_first_message_decides(chat: Chat) -> None:
    assert "When" in text(await chat.say("deep cleaning", "en-9"))  # a new client: opens in English
    assert stored_lang(chat, "en-9") == "en"
    assert "好的" not in text(await chat.say("ok", "en-9"))


async def test_an_english_client_stays_in_english_for_chinese_answers(chat: Chat) -> None:
    assert "hours" in text(await chat.say("I need a cleaning tomorrow at 10am", "en-1"))
    assert stored_lang(chat, "en-1") == "en"
    assert "address" in text(await chat.say("3小时", "en-1"))
    r = text(await chat.say("北京市朝阳区建国路88号3号楼501", "en-1"))  # an address, not a sentence
    assert "mobile number" in r
    await chat.say("13812345678", "en-1")
    r = text(await chat.say("好的谢谢", "en-1"))  # a courtesy is not a switch
    assert "Anything we should know" in r
    assert stored_lang(chat, "en-1") == "en" and conversation_lang(chat, "en-1") == "en"


async def test_please_speak_english_mid_form_switches_and_the_form_goes_on(chat: Chat) -> None:
    await chat.say("我想约明天上午10点的保洁", "zh-3")
    r = await chat.say("please speak English", "zh-3")
    assert "English from now on" in text(r) and "How many hours" in text(r)
    assert [b["title"] for b in buttons(r)][:3] == ["2 hours", "3 hours", "4 hours"]
    assert stored_lang(chat, "zh-3") == "en"
    state = chat.app.desk.engine.store.load("rest:zh-3")
    assert state["active_loop"] == "booking_form" and state["slots"]["service_type"] == "cleaning"
    assert "address" in text(await chat.say("3 hours", "zh-3"))
    r = text(await chat.say("说中文", "zh-3"))
    assert "中文" in r and "地址" in r
    assert stored_lang(chat, "zh-3") == "zh"


async def test_a_full_sentence_in_the_other_language_switches(chat: Chat) -> None:
    assert "您好" in text(await chat.say("你好", "zh-4")) or stored_lang(chat, "zh-4") == "zh"
    r = text(await chat.say("Can you send someone to clean my flat tomorrow at 10am?", "zh-4"))
    assert "hours" in r
    assert stored_lang(chat, "zh-4") == "en"
    r = text(await chat.say("我想改成明天下午两点，可以吗", "zh-4"))
    assert stored_lang(chat, "zh-4") == "zh" and "hours" not in r


async def test_lang_command_and_language_buttons(chat: Chat) -> None:
    r = await chat.say("/lang", "zh-5")
    assert "哪种语言" in text(r)
    payload = next(b["payload"] for b in buttons(r) if b["title"] == "English")
    assert "English from now on" in text(await chat.say(payload, "zh-5"))
    assert stored_lang(chat, "zh-5") == "en"
    r = text(await chat.say("/lang zh-Hant", "zh-5"))
    assert "繁體中文" in r and stored_lang(chat, "zh-5") == "zh-Hant"


async def test_traditional_in_traditional_out_with_buttons(chat: Chat) -> None:
    r = await chat.say("你們好", "tw-0")
    assert "這裡是家政服務" in text(r)  # the default variant, s2tw: 這裡
    assert any("預約" in b["title"] for b in buttons(r)) and not any("预约" in b["title"] for b in buttons(r))
    r = await chat.say("你們好，我想預約清潔服務", "tw-1")
    assert stored_lang(chat, "tw-1") == "zh-Hant"
    assert "請問什麼時間上門" in text(r) and "请" not in text(r)
    r = await chat.say("明天上午10點", "tw-1")
    assert "幾個小時" in text(r)
    titles = [b["title"] for b in buttons(r)]
    assert titles and all(t == t.replace("小时", "") for t in titles) and any("小時" in t for t in titles)
    r = text(await chat.say("好的", "tw-1"))  # shared characters: still Traditional
    assert "幾個小時" in r and stored_lang(chat, "tw-1") == "zh-Hant"
    r = text(await chat.say("講中文", "tw-1"))  # Chinese asked for in Traditional characters: Traditional
    assert "繁體中文" in r and stored_lang(chat, "tw-1") == "zh-Hant"


async def test_traditional_booking_lists_and_cancellation_are_traditional(chat: Chat) -> None:
    for m in ("我想預約後天上午10點的清潔", "3個小時", "北京市朝陽區建國路88號3號樓501", "13812345678"):
        await chat.say(m, "tw-2")
    summary = await chat.say("沒有", "tw-2")
    assert "11月20日" in text(summary) and [b["title"] for b in buttons(summary)] == ["確認", "修改", "取消"]
    await chat.say("/affirm", "tw-2")
    for m in ("我想預約大後天上午10點的清潔", "2個小時", "沒有"):
        r = await chat.say(m, "tw-2")
    await chat.say("/affirm", "tw-2")
    r = await chat.say("我要取消預約", "tw-2")
    titles = [b["title"] for b in buttons(r)]  # built by the action: converted too
    assert len(titles) == 2 and all("日常保潔" in t and "週" in t for t in titles), titles
    r = await chat.say("1", "tw-2")
    assert "確認取消預約" in text(r) and "日常保潔" in text(r) and "（週五）" in text(r), text(r)
    assert [b["title"] for b in buttons(r)] == ["確認取消", "不取消"]
    assert stored_lang(chat, "tw-2") == "zh-Hant"


@pytest.fixture
async def hk_chat(tmp_path: Path, trained_model: Path, monkeypatch: pytest.MonkeyPatch, db_url: str):
    """The front desk configured for Hong Kong Traditional (FRONTDESK_TRADITIONAL_VARIANT=s2hk)."""
    from aiohttp import ClientSession

    monkeypatch.setenv("FRONTDESK_TRADITIONAL_VARIANT", "s2hk")
    app = secure(make_frontdesk(tmp_path, db_url=db_url, model=trained_model))
    server = await serve(app)
    try:
        async with ClientSession() as session:
            yield Chat(app, session, str(server.make_url("")).rstrip("/"))
    finally:
        await server.close()
        app.backend.db.dispose()
        configure_traditional("s2tw")  # the process-wide default for the tests that follow


async def test_hong_kong_variant_when_configured(hk_chat: Chat) -> None:
    assert traditional_variant() == "s2hk"
    r = await hk_chat.say("你們好", "hk-1")
    assert "這裏是家政服務" in text(r) and "這裡" not in text(r)  # Hong Kong's 裏, not Taiwan's 裡
    assert "預約服務" in [b["title"] for b in buttons(r)] or any("預約" in b["title"] for b in buttons(r))
    assert stored_lang(hk_chat, "hk-1") == "zh-Hant"


async def test_gibberish_keeps_a_chinese_client_in_chinese(chat: Chat) -> None:
    assert "几个小时" in text(await chat.say("我想约明天上午10点的保洁", "zh-7"))
    r = text(await chat.say("asdfgh qwerty", "zh-7"))
    assert "hours" not in r.lower() and conversation_lang(chat, "zh-7") == "zh"
