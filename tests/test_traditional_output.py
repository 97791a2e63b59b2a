"""A client who writes Traditional Chinese reads Traditional Chinese: Domain.render("zh-Hant")
converts our zh texts, never the client's own words, placeholders or button payloads."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.catalogue import load_catalogue
from dialogs.domain import Domain, _response_in_traditional, base_lang, traditional
from dialogs.notify import Notifier

ROOT = Path(__file__).resolve().parents[1]
EN = [{"type": "slot", "name": "language", "value": "en"}]
HANT = [{"type": "slot", "name": "language", "value": "zh-Hant"}]


def domain(responses: dict) -> Domain:
    return Domain({}, responses, {}, {}, [], [])


CASE = {"utter_case_registered": [
    {"condition": EN, "text": "Complaint #{case_id} is registered; a manager will contact you by {due_time}.",
     "buttons": [{"title": "Where is it?", "payload": "/ask_case_status"}]},
    {"text": "投诉 #{case_id} 已登记，客服经理会在 {due_time} 前联系您。{client_name}，请保持电话畅通。",
     "buttons": [{"title": "查看进度", "payload": "/ask_case_status{{\"case_id\": {case_id}}}"},
                 {"title": "满意", "payload": "/case_feedback{\"case_id\": {case_id}, \"satisfied\": true}"}]},
]}


def test_zh_hant_is_the_zh_text_in_traditional_characters() -> None:
    d = domain(CASE)
    params = {"case_id": 7, "due_time": "11月18日 11:30", "client_name": "张伟"}
    zh = d.render("utter_case_registered", "zh", params)
    hant = d.render("utter_case_registered", "zh-Hant", params)
    assert zh["text"] == "投诉 #7 已登记，客服经理会在 11月18日 11:30 前联系您。张伟，请保持电话畅通。"
    assert hant["text"] == "投訴 #7 已登記，客服經理會在 11月18日 11:30 前聯繫您。张伟，請保持電話暢通。"
    # the client's name is data: it stays as it was given (张伟, not 張偉)
    assert [b["title"] for b in hant["buttons"]] == ["查看進度", "滿意"]
    assert [b["payload"] for b in hant["buttons"]] == [b["payload"] for b in zh["buttons"]]
    assert hant["buttons"][1]["payload"] == '/case_feedback{"case_id": 7, "satisfied": true}'


def test_placeholders_survive_the_conversion() -> None:
    hant = domain(CASE).render("utter_case_registered", "zh-Hant", {"case_id": 3})
    assert "{due_time}" in hant["text"] and "{client_name}" in hant["text"]  # unknown params stay visible
    assert hant["text"].startswith("投訴 #3 已登記")


def test_english_and_simplified_are_untouched() -> None:
    d = domain(CASE)
    en = d.render("utter_case_registered", "en", {"case_id": 1, "due_time": "Wed 18 Nov, 11:30"})
    assert en["text"] == "Complaint #1 is registered; a manager will contact you by Wed 18 Nov, 11:30."
    zh = d.render("utter_case_registered", "zh", {"case_id": 1})
    assert zh["text"].startswith("投诉 #1 已登记")


def test_a_written_zh_hant_variant_wins_over_conversion() -> None:
    d = domain({"utter_x": [{"condition": HANT, "text": "親手寫的"}, {"text": "自动转换"}]})
    assert d.render("utter_x", "zh-Hant", {})["text"] == "親手寫的"
    assert d.render("utter_x", "zh", {})["text"] == "自动转换"


def test_everyday_traditional_forms() -> None:
    # s2tw: 這裡 / 為 / 著, the forms Taiwan and Hong Kong readers write; phrases convert as phrases.
    assert traditional("这里为您服务，头发干净，着急") == "這裡為您服務，頭髮乾淨，著急"
    assert base_lang("zh-Hant") == "zh" and base_lang("en") == "en"


def test_templates_are_converted_once_and_client_words_never_cached() -> None:
    _response_in_traditional.cache_clear()
    d = Domain.load()
    for _ in range(3):
        d.render("utter_greet", "zh-Hant", {})
    info = _response_in_traditional.cache_info()
    assert info.misses >= 1 and info.hits >= 2
    traditional("阿姨把我的地板刮花了")  # what the engine may ask about a client's message
    assert _response_in_traditional.cache_info().currsize == info.currsize


@pytest.mark.parametrize("name", ["utter_greet", "utter_ask_service_type", "utter_default_menu"])
def test_every_real_response_renders_in_traditional(name: str) -> None:
    d = Domain.load()
    zh, hant = d.render(name, "zh", {}), d.render(name, "zh-Hant", {})
    assert hant["text"] != zh["text"] and hant["text"] == traditional(zh["text"])
    assert [b["payload"] for b in hant.get("buttons", [])] == [b["payload"] for b in zh.get("buttons", [])]


def test_notifications_follow_the_client_s_script() -> None:
    n = Notifier(Domain.load(), load_catalogue(ROOT / "config" / "services.yaml"), ZoneInfo("Asia/Shanghai"))
    msg = n.render("job_finished", {"booking_id": 12}, "zh-Hant")
    assert msg["text"] == "預約 #12 已完成服務，感謝您的信任！稍後會請您評價。"
    assert n.render("job_finished", {"booking_id": 12}, "en")["text"].startswith("Booking #12 is finished")
    relay = n.render("manager_message", {"manager": "王经理", "text": "我们马上处理"}, "zh-Hant")
    assert relay["text"] == "王经理：我们马上处理"  # a person's words are relayed as written


def test_our_words_in_params_follow_the_script_the_clients_stay() -> None:
    d = Domain.load()
    out = d.render("utter_booking_summary", "zh-Hant", {
        "service": "日常保洁", "time": "11月19日（周四）10:00", "address": "朝阳区建国路88号", "phone": "138",
        "notes": "• 备注：头发别乱放\n", "size": "", "price": 150})
    assert "11月19日（週四）10:00" in out["text"] and "日常保潔" in out["text"]
    assert "朝阳区建国路88号" in out["text"] and "头发别乱放" in out["text"]  # the client's words as given
