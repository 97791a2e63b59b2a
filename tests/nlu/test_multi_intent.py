"""Several requests in one message (issue 14, dialogs/nlu/multi.py): the main one first, the other as ``also``."""

from __future__ import annotations

import pytest

from dialogs.nlu import multi
from dialogs.nlu.normalize import normalize


def test_complaint_and_change_the_complaint_is_main(nlu) -> None:
    r = nlu.parse("阿姨迟到了一个小时，下次的改到周六吧")
    assert r["intent"]["name"] == "complain"  # harm before logistics, whatever the whole message read as
    assert r["also"]["name"] == "reschedule_booking" and r["also"]["confidence"] >= multi.CONFIDENT
    assert r["also"]["text"] == "下次的改到周六吧"
    assert r["intent_ranking"][0]["name"] == "complain"


def test_the_clause_is_given_in_the_clients_characters(nlu) -> None:
    r = nlu.parse("阿姨遲到了一個小時，下次的改到週六吧")
    assert r["intent"]["name"] == "complain" and r["also"]["text"] == "下次的改到週六吧"


def test_complaint_and_a_refund_question(nlu) -> None:
    r = nlu.parse("阿姨迟到了一个小时，退款什么时候到账")
    assert r["intent"]["name"] == "complain"
    assert r["also"]["name"] == "ask_refund_status" and r["also"]["text"] == "退款什么时候到账"


def test_booking_and_a_lasting_preference(nlu) -> None:
    r = nlu.parse("帮我约明天上午10点保洁，以后都不要用香味重的清洁剂")
    assert {r["intent"]["name"], r["also"]["name"]} == {"book_service", "state_preference"}
    assert r["also"]["text"] in ("帮我约明天上午10点保洁", "以后都不要用香味重的清洁剂")
    assert any(e["entity"] == "time" for e in r["entities"])  # entities still cover the whole message


@pytest.mark.parametrize("text", [
    "我想约明天上午10点的保洁，3个小时，地址是朝阳区建国路88号",
    "阿姨迟到了一个小时，态度也不好，厨房也没擦干净",
    "阿姨迟到了一个小时，我要退款",  # the complaint's remedy, not a question about a refund
    "Room 1203, Building 5, 88 Jianguo Road",
    "1分，太差了",
    "下周三下午两点，120平，三个小时",
])
def test_one_request_with_commas_has_no_also(nlu, text: str) -> None:
    assert "also" not in nlu.parse(text)


def test_three_clauses_the_first_other_request_is_offered(nlu) -> None:
    r = nlu.parse("阿姨又迟到了，下周的改到周六，另外退款到哪了")
    assert r["intent"]["name"] == "complain"
    assert r["also"]["name"] == "reschedule_booking" and r["also"]["text"] == "下周的改到周六"


def test_english_with_also(nlu) -> None:
    r = nlu.parse("the cleaner was late again. also can we move friday to saturday?")
    assert r["intent"]["name"] == "complain"
    assert r["also"]["name"] == "reschedule_booking" and r["also"]["text"] == "can we move friday to saturday"


def test_line_breaks_and_joiners_split_clauses(nlu) -> None:
    for text in ("阿姨迟到了一个小时\n下次的改到周六吧", "阿姨迟到了一个小时 顺便下次的改到周六"):
        r = nlu.parse(text)
        assert r["intent"]["name"] == "complain" and r["also"]["name"] == "reschedule_booking", text
        assert r["also"]["text"].endswith("改到周六吧") or r["also"]["text"].endswith("改到周六"), text


def test_an_emergency_is_main_and_nothing_else_is_offered(nlu) -> None:
    r = nlu.parse("把周五的改到周六，另外家里漏水了很急")
    assert r["intent"]["name"] == "report_emergency" and "also" not in r


def test_spans_keep_decimals_and_skip_empty_clauses() -> None:
    norm = normalize("保洁3.5小时，，另外 ok")
    assert [norm.text[a:b] for a, b in multi.spans(norm)] == ["保洁3.5小时", "ok"]


def test_at_most_four_clauses_are_classified(nlu) -> None:
    calls: list[str] = []

    def probs(text: str):
        calls.append(text)
        return nlu._probs(text)

    norm = normalize("阿姨迟到了，改到周六，退款到哪了，帮我约明天保洁，价格多少，再就是换个阿姨，嗯")
    multi.classify(norm, [], probs, nlu.intents)
    assert len(calls) == multi.MAX_CLAUSES
