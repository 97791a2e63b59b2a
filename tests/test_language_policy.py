"""dialogs/language.py: when a message changes a conversation's language (issue 10). The NLU's reading is
given as Rasa parse data; the policy comes from dialogs/domain.d/language.yml."""

from __future__ import annotations

import pytest

from dialogs.domain import Domain
from dialogs.language import LanguagePolicy, lang_command


@pytest.fixture(scope="module")
def policy() -> LanguagePolicy:
    return LanguagePolicy.from_domain(Domain.load().raw)


def parse(lang: str, intent: str = "inform", entities: list | None = None) -> dict:
    return {"language": lang, "intent": {"name": intent}, "entities": entities or []}


@pytest.mark.parametrize(("text", "reading"), [
    ("ok", parse("en", "affirm")),
    ("OK thanks", parse("en", "thank")),
    ("thank you so much for your help", parse("en", "thank")),
    ("Zhang Wei", parse("en")),
    ("deep cleaning", parse("en", "book_service", [{"entity": "service_type", "start": 0, "end": 13}])),
    ("Room 1203, Building 5, Jianguo Road", parse("en")),
    ("13812345678", parse("und")),
    ("bye", parse("en", "goodbye")),
    ("asdfgh qwerty zxcv", parse("en", "nlu_fallback")),  # gibberish: no sentence word
    ("hmm", parse("en", "nlu_fallback")),
])
def test_courtesies_names_services_and_numbers_keep_chinese(policy: LanguagePolicy, text: str, reading: dict) -> None:
    assert policy.follow("zh", text, reading, free_text_answer=False, opening=False) == "zh"


def test_a_full_sentence_switches(policy: LanguagePolicy) -> None:
    assert policy.follow("zh", "Can you come earlier?", parse("en"), False, False) == "en"
    assert policy.follow("en", "我想改一下时间", parse("zh"), False, False) == "zh"
    assert policy.follow("en", "我想改一下時間", parse("zh-Hant"), False, False) == "zh-Hant"
    assert policy.follow("en", "保洁", parse("zh", "book_service"), False, False) == "en"
    assert policy.follow("en", "好的谢谢", parse("zh", "thank"), False, False) == "en"


def test_an_answer_to_a_free_text_question_never_switches(policy: LanguagePolicy) -> None:
    addr = "北京市朝阳区建国路88号3号楼501"
    assert policy.follow("en", addr, parse("zh"), free_text_answer=True, opening=False) == "en"
    state = {"active_loop": "booking_form", "slots": {"requested_slot": "address"}}
    assert policy.free_text_answer(state)
    assert not policy.free_text_answer({"active_loop": "booking_form", "slots": {"requested_slot": "duration"}})
    assert policy.free_text_answer({"active_loop": None, "slots": {"change_step": "notes"}})


def test_a_greeting_opens_in_its_language_and_the_script_follows(policy: LanguagePolicy) -> None:
    assert policy.follow("zh", "hi", parse("en", "greet"), False, opening=True) == "en"
    assert policy.follow("zh", "hi", parse("en", "greet"), False, opening=False) == "zh"
    assert policy.follow("zh", "謝謝", parse("zh-Hant", "thank"), False, False) == "zh-Hant"
    assert policy.follow("zh-Hant", "好的", parse("zh", "affirm"), False, False) == "zh-Hant"


@pytest.mark.parametrize(("text", "wanted"), [
    ("please speak English", "en"), ("can you reply in Chinese", "zh"), ("说中文", "zh"), ("講中文", "zh-Hant"),
    ("請用繁體中文", "zh-Hant"), ("别说英文了", "zh"), ("I don't speak English", "zh"), ("我想约保洁", None),
])
def test_explicit_requests(policy: LanguagePolicy, text: str, wanted: str | None) -> None:
    assert policy.requested(text) == wanted


def test_lang_command() -> None:
    assert lang_command("/lang") == (True, None)
    assert lang_command("/lang en") == (True, "en")
    assert lang_command("/lang zh-Hant") == (True, "zh-Hant")
    assert lang_command("/language") == (False, None)


@pytest.mark.parametrize("text", ["有会说英语的阿姨吗", "阿姨会说英文吗", "我要一个会讲英文的阿姨",
                                  "do you have a nanny who speaks English", "a cleaner who can speak Chinese"])
def test_a_wish_about_the_housekeepers_language_is_not_a_request(policy: LanguagePolicy, text: str) -> None:
    assert policy.requested(text) is None


def test_requests_still_switch(policy: LanguagePolicy) -> None:
    assert policy.requested("please speak English") == "en" and policy.requested("说中文") == "zh"


def test_asking_us_to_speak_english_is_a_request(policy: LanguagePolicy) -> None:
    assert policy.requested("你会说英文吗") == "en"
