"""The parser the dialogue engine calls: Rasa's format, fallbacks, odd input, threads."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.nlu import NLU, ModelError

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "book_service", "customize_service", "complain",
           "give_feedback", "ask_price", "ask_services", "cancel_booking", "reschedule_booking", "check_booking",
           "request_human", "report_emergency", "inform", "out_of_scope", "request_data_erasure",
           "request_data_export", "ask_case_status", "ask_refund_status", "state_preference",
           "view_profile"}
INTENTS |= {"apply_job"}  # issue 10: job seekers (nlu_data/applications.yml)
INTENTS |= {"switch_language"}  # issue 10: explicit language requests (nlu_data/language.yml)
INTENTS |= {"skip_visit", "cancel_series"}  # issue 10: repeat visits (nlu_data/series.yml)


def test_model_knows_exactly_the_contract_intents(nlu) -> None:
    assert set(nlu.intents) == INTENTS


def test_rasa_parse_format(nlu) -> None:
    r = nlu.parse("明早8点能来人打扫吗", now=NOW)
    assert set(r) >= {"text", "intent", "intent_ranking", "entities"}
    assert r["text"] == "明早8点能来人打扫吗"
    assert set(r["intent"]) == {"name", "confidence"}
    assert len(r["intent_ranking"]) == 5
    confs = [i["confidence"] for i in r["intent_ranking"]]
    assert confs == sorted(confs, reverse=True)
    for e in r["entities"]:
        assert {"entity", "value", "start", "end", "extractor"} <= set(e)


@pytest.mark.parametrize(("text", "intent"), [
    ("明早8点能来人打扫吗", "book_service"), ("約個大掃除", "book_service"),
    ("can u send someone sat morning", "book_service"), ("我对猫毛过敏，阿姨不要养宠物的", "customize_service"),
    ("阿姨把我家花瓶打碎了，我要投诉", "complain"), ("五星好评，阿姨很细心", "give_feedback"),
    ("月嫂多少钱一个月", "ask_price"), ("阿姨都有健康证吗", "ask_services"), ("取消明天的预约", "cancel_booking"),
    ("能改到后天吗", "reschedule_booking"), ("阿姨什么时候到", "check_booking"), ("转人工", "request_human"),
    ("厨房着火了", "report_emergency"), ("120平", "inform"), ("你好", "greet"), ("拜拜", "goodbye"),
    ("谢谢", "thank"), ("好的", "affirm"), ("不用了", "deny"), ("今天天气怎么样", "out_of_scope"),
])
def test_typical_messages(nlu, text: str, intent: str) -> None:
    assert nlu.parse(text, now=NOW)["intent"]["name"] == intent


def test_low_confidence_becomes_fallback(nlu) -> None:
    strict = NLU(nlu.pipeline, nlu.services, threshold=0.99)
    r = strict.parse("嗯那个就是说吧", now=NOW)
    assert r["intent"] == {"name": "nlu_fallback", "confidence": 0.99}
    assert r["intent_ranking"][0]["name"] == "nlu_fallback"
    assert len(r["intent_ranking"]) == 6


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😊😊😊", "。。。", "\x00\x01\x02", "\ufffd\ufffd"])
def test_nothing_to_understand(nlu, text: str) -> None:
    r = nlu.parse(text, now=NOW)
    assert r["intent"]["name"] == "nlu_fallback"
    assert r["entities"] == []
    assert r["text"] == text


def test_huge_and_hostile_input_gets_an_answer(nlu) -> None:
    huge = "打扫" * 5000  # 10,000 characters
    r = nlu.parse(huge, now=NOW)
    assert r["intent"]["name"] in INTENTS | {"nlu_fallback"}
    assert all(e["end"] <= 2000 for e in r["entities"])  # only the configured prefix is read
    for text in [os.urandom(300), bytes(range(256)), "'; DROP TABLE bookings; --", "<script>alert(1)</script>",
                 "明天\u202e下午三点", "混合 mixed 文字 text 123 ١٢٣", None]:
        r = nlu.parse(text, now=NOW)
        assert isinstance(r["intent"]["name"], str)


def test_language_is_detected_or_taken_from_the_hint(nlu) -> None:
    assert nlu.parse("我想约保洁")["language"] == "zh"
    assert nlu.parse("I want a cleaner")["language"] == "en"
    assert nlu.parse("I want a cleaner", lang="zh")["language"] == "zh"


def test_naive_reference_time_is_taken_in_the_configured_zone(nlu) -> None:
    naive = datetime(2026, 11, 18, 10, 30)
    (t,) = [e for e in nlu.parse("明天上午十点", now=naive)["entities"] if e["entity"] == "time"]
    assert t["value"] == "2026-11-19T10:00:00+08:00"


def test_parse_is_thread_safe(nlu) -> None:
    texts = ["明早8点能来人打扫吗", "月嫂多少钱", "转人工", "I'd like to book a cleaning tomorrow at 2pm"] * 50
    expected = [nlu.parse(t, now=NOW) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: nlu.parse(t, now=NOW), texts))
    assert got == expected


def test_missing_or_broken_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="frontdesk nlu train"):
        NLU.load(tmp_path / "missing.pkl")
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        NLU.load(bad)


def test_fast_inference_matches_the_fitted_pipeline(nlu) -> None:
    import numpy as np

    from dialogs.nlu.entities import find, with_placeholders
    from dialogs.nlu.normalize import normalize

    assert nlu._fast is not None
    for text in ["明早8点能来人打扫吗", "can u send someone sat morning", "月嫂多少钱", "x" * 300, "😊", "转人工!!"]:
        t = with_placeholders(normalize(text).text, find(normalize(text).text, NOW, nlu.services))
        np.testing.assert_allclose(nlu._fast.predict_proba(t), nlu.pipeline.predict_proba([t])[0], atol=1e-9)


def test_the_blended_design_runs_on_the_fast_path() -> None:
    # dialogs/nlu/classifier.py LinearBlend: one linear softmax model, so fast.py applies it unchanged.
    from pathlib import Path

    import numpy as np

    from dialogs.nlu import classifier
    from dialogs.nlu.data import load
    from dialogs.nlu.fast import FastLinear

    data = load(Path(__file__).resolve().parents[2] / "nlu_data")
    by_intent: dict[str, list[str]] = {}
    for e in data.examples:
        by_intent.setdefault(e.intent, []).append(e.text)
    texts = [t for xs in by_intent.values() for t in xs[:40]]  # a quick fit: 40 examples an intent
    labels = [i for i, xs in by_intent.items() for _ in xs[:40]]
    pipe = classifier.DESIGNS["cue+char-blend"](data.lookups).fit(texts, labels)
    assert pipe.named_steps["clf"].beta_ > 0
    fast = FastLinear(pipe)
    for text in ["明早8点能来人打扫吗", "can u send someone sat morning", "cancel my regular cleaning", "月嫂", ""]:
        np.testing.assert_allclose(fast.predict_proba(text), pipe.predict_proba([text])[0], atol=1e-9)
        assert abs(fast.predict_proba(text).sum() - 1) < 1e-9
