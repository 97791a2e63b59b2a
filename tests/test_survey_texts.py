"""The survey's texts in zh, zh-Hant and en, its buttons as the engine reads them back, and which typed
messages the survey context takes as answers (dialogs/actions/surveys.py reads_as_answer)."""

from __future__ import annotations

import re

import pytest

from dialogs.domain import Domain, load_rules
from dialogs.engine import ContextIntent, parse_payload

# Params as the renderer gets them (service and time already in the reader's language; names as stored).
SURVEY = {"survey_id": 12, "booking_id": 34, "service": "Cleaning", "time": "Thu 19 Nov, 10:00",
          "housekeeper": "Alex", "housekeeper_id": 7, "due": "14:30", "attitude": 5, "skill": 4, "result": 3}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load()


def survey_responses(domain: Domain) -> list[str]:
    return [n for n in domain.responses if n.startswith(("utter_survey_", "utter_feedback_which", "notify_survey",
                                                          "utter_feedback_no_booking", "utter_feedback_ask"))]


def test_every_survey_text_exists_in_three_languages_with_its_buttons(domain: Domain) -> None:
    names = survey_responses(domain)
    assert {"notify_survey", "notify_survey_reminder", "utter_survey_followup", "utter_survey_offer_never_again",
            "utter_survey_offer_preferred", "utter_survey_ask_comment"} <= set(names)
    for name in names:
        zh, hant, en = (domain.render(name, lang, SURVEY) for lang in ("zh", "zh-Hant", "en"))
        assert re.search(r"[\u4e00-\u9fff]", zh["text"]) and not re.search(r"[\u4e00-\u9fff]", en["text"]), name
        assert "{" not in zh["text"] + en["text"], name  # every parameter filled
        assert len(zh.get("buttons") or []) == len(en.get("buttons") or []) == len(hant.get("buttons") or []), name
        for z, h in zip(zh.get("buttons") or [], hant.get("buttons") or [], strict=True):
            assert z["payload"] == h["payload"], name  # payloads are never converted


def test_traditional_is_made_from_the_simplified_text(domain: Domain) -> None:
    hant = domain.render("notify_survey", "zh-Hant", SURVEY)["text"]
    assert "服務態度" in hant and "態度5 技能4 效果5" in hant
    assert "客服經理會在 14:30 前回電" in domain.render("utter_survey_followup", "zh-Hant", SURVEY)["text"]


def test_the_survey_message_asks_attitude_first_with_five_buttons_the_engine_reads_back(domain: Domain) -> None:
    msg = domain.render("notify_survey", "zh", SURVEY)
    assert "#34" in msg["text"] and "Alex" in msg["text"] and "服务态度" in msg["text"]
    assert [b["title"] for b in msg["buttons"]] == ["1", "2", "3", "4", "5"]
    entities = domain.raw["entities"]
    for k, b in enumerate(msg["buttons"], 1):
        parse = parse_payload(b["payload"], entities)
        assert parse is not None and parse["intent"]["name"] == "survey_score"
        assert {e["entity"]: e["value"] for e in parse["entities"]} == {"survey_id": 12, "dimension": "attitude",
                                                                         "score": k}
    for name in ("utter_survey_offer_never_again", "utter_survey_offer_preferred", "utter_survey_ask_comment",
                 "notify_survey_reminder", "utter_survey_need_numbers_all"):
        for b in domain.render(name, "en", SURVEY)["buttons"]:
            parse = parse_payload(b["payload"], entities)
            assert parse is not None and parse["intent"]["name"] in domain.intents, (name, b)
            assert all(e["entity"] in entities for e in parse["entities"])


def test_survey_rules_and_the_context_hook_are_loaded(domain: Domain) -> None:
    rules, _ = load_rules()
    by_intent = {(r.intent, tuple(sorted(r.slot_conditions.items()))): r.actions for r in rules}
    assert by_intent[("survey_score", ())] == ["action_survey_answer"]
    assert by_intent[("give_feedback", (("survey_open", True),))] == ["action_survey_answer"]
    assert by_intent[("give_feedback", ())] == ["action_client_feedback"]
    first = next(r for r in rules if r.intent == "give_feedback")
    assert first.slot_conditions == {"survey_open": True}  # a conditioned rule is tried first
    [hook] = [ContextIntent(c) for c in domain.raw["context_intents"] if c["intent"] == "answer_survey"]
    assert hook.intent == "answer_survey" and "report_emergency" in hook.keep
    assert callable(hook.recognizer())


# --- typed answers -------------------------------------------------------------------------------
ASKING = {"survey_step": "attitude", "survey_open_id": 12}
COMMENT = {"survey_step": None, "survey_comment_id": 12}


@pytest.mark.parametrize(("text", "intent", "slots", "loop", "expected"), [
    ("态度5分技能3分效果3分", "give_feedback", ASKING, None, True),
    ("5 5 4", "nlu_fallback", ASKING, None, True),
    ("都是5分", "inform", ASKING, None, True),
    ("5", "inform", ASKING, None, True),           # a bare digit while the question is pending
    ("6分", "nlu_fallback", ASKING, None, True),   # out of range: the survey re-asks
    ("技能一般", "give_feedback", ASKING, None, True),
    ("三项都很好", "give_feedback", ASKING, None, True),
    ("all fives but she was late", "complain", ASKING, None, True),
    ("保洁多少钱一小时", "ask_price", ASKING, None, False),
    ("3", "inform", ASKING, "booking_form", False),  # the form asked "how many hours?"
    ("态度5 技能4 效果5", "inform", ASKING, "booking_form", True),
    ("5", "inform", {}, None, False),               # no survey open
    ("阿姨很细心", "give_feedback", COMMENT, None, True),
    ("阿姨很细心", "give_feedback", COMMENT, "booking_form", False),
])
def test_what_the_survey_context_takes_as_an_answer(text: str, intent: str, slots: dict, loop: str | None,
                                                    expected: bool) -> None:
    from dialogs.actions.surveys import reads_as_answer

    assert reads_as_answer(text, intent, slots, loop) is expected


def test_no_comment_words_are_words(domain: Domain) -> None:
    from dialogs.actions.surveys import _skip_words

    words = domain.raw["survey_skip_words"]
    assert all(isinstance(w, str) for w in words)  # YAML reads a bare no as False
    assert {"跳过", "没有", "no", "skip"} <= _skip_words(domain.raw)
