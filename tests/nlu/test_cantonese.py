"""Cantonese written by Hong Kong clients becomes Mandarin in normalisation (dialogs/nlu/cantonese.py)."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.nlu.cantonese import TABLE
from dialogs.nlu.normalize import chinese_script, normalize

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday


@pytest.mark.parametrize(("cantonese", "mandarin"), [
    ("想搵人聽朝嚟打掃", "想找人明早来打扫"),
    ("可唔可以改遲少少", "可不可以改晚一点"),
    ("佢今日冇嚟", "他今日没有来"),
    ("幾多錢一個鐘", "多少钱一个小时"),
    ("唔該晒", "谢谢"),
    ("唔該你幫我睇下", "麻烦你帮我看一下"),
    ("多謝", "谢谢"),
    ("唔使喇", "不用了"),
    ("唔好郁我啲嘢", "不要动我些东西"),
    ("服務唔好", "服务不好"),
    ("係咪聽日", "是不是明天"),
    ("我哋嘅關係好好", "我们的关系好好"),
    ("冇問題", "没问题"),
    ("琴日嗰個", "昨天那个"), ("邊邊角角都冇抹", "边边角角都没有抹"), ("要求其他姐姐嚟", "要求其他姐姐来"),
    ("後日得唔得", "后天行不行"),
    ("聽日下晝三點", "明天下午三点"),
    ("三點三個字", "三点十五分"),
    ("佢哋而家喺邊度", "他们现在在哪里"),
    ("點解仲未嚟", "为什么还没来"),
    ("幾時可以攞返鎖匙", "什么时候可以拿回钥匙"),
    ("工人姐姐打爛咗我隻碗", "保姆打碎了我只碗"),
    ("執屋要幾耐", "打扫要多久"),
    ("200蚊一個鐘", "200元一个小时"),
    ("有冇得平啲", "能不能便宜点"),
    ("使唔使俾按金", "要不要给押金"),
    ("呢個禮拜六", "这个礼拜六"),
    ("咩事", "什么事"),
    ("係咩", "是吗"),
    ("唔記得咗", "忘了"),
    ("早啲嚟", "早点来"),
])
def test_cantonese_becomes_mandarin(cantonese: str, mandarin: str) -> None:
    assert normalize(cantonese).text == mandarin


@pytest.mark.parametrize("simplified", ["听日嚟", "揾人", "冇问题", "唔该晒"])
def test_cantonese_in_simplified_characters(simplified: str) -> None:
    assert normalize(simplified).text == {"听日嚟": "明天来", "揾人": "找人", "冇问题": "没问题",
                                          "唔该晒": "谢谢"}[simplified]


@pytest.mark.parametrize("mandarin", [
    "系统出问题了", "请联系我", "没关系", "我们的关系很好", "这要仲裁", "你呢", "那你呢 明天来吗",
    "唔，好的", "唔 好吧", "阿姨很有耐心", "好耐心的阿姨", "要求返工", "邮件系统", "在海边度过周末",
    "重点解决厨房油污", "一个钟点工", "礼拜六", "求其次", "门闩坏了", "衬衫烫坏了", "帮手不够",
    # everyday Mandarin that holds the characters of a Cantonese word
    "边边角角都没擦干净", "旁边位置", "周边区域", "要求其他阿姨来", "快点搞定", "便宜点算了", "以后日常保洁每周一次",
    "按金额收费吗", "输入数字", "想看更多服务", "床单铺得好平整", "听日语", "钢琴日常", "这个钟坏了", "汽车喇叭",
    "周六呢排得上吗", "你们呢个人信息", "阳台台面都要擦",
])
def test_mandarin_is_untouched(mandarin: str) -> None:
    """Only Cantonese words change: a Mandarin writer's 系, 仲, 呢 and 唔 (mm) stay as written."""
    plain = mandarin.replace("，", ",")
    assert normalize(mandarin).text == plain


@pytest.mark.parametrize(("traditional", "simplified"), [
    ("關係", "关系"), ("聯係", "联系"), ("係數", "系数"), ("沒關係", "没关系"), ("係統", "系统"),
])
def test_xi_in_mandarin_words_stays_xi(traditional: str, simplified: str) -> None:
    assert normalize(traditional).text == simplified


def test_index_spans_the_replaced_words() -> None:
    norm = normalize("聽日下晝三點")
    assert norm.text == "明天下午三点"
    assert norm.span(0, 2) == (0, 2)  # 明天 ← 聽日
    norm = normalize("幾多錢一個鐘")  # 一个小时 (4) ← 一個鐘 (3)
    start = norm.text.index("一个小时")
    assert norm.span(start, start + 4) == (3, 6)
    norm = normalize("唔該晒")  # 谢谢 (2) ← 唔該晒 (3): first to first, last to last
    assert norm.index == (0, 2)
    norm = normalize("佢冇嚟")  # 没有 (2) ← 冇 (1)
    assert norm.text == "他没有来" and norm.index == (0, 1, 1, 2)


def test_cantonese_counts_as_traditional() -> None:
    assert chinese_script("佢冇嚟") == "zh-Hant"
    assert chinese_script("我哋聽日得唔得") == "zh-Hant"
    assert chinese_script("唔，好的") is None  # the Mandarin "mm"
    assert chinese_script("明天好") is None


def test_normalising_stays_fast() -> None:
    text = "唔該，我想搵人聽朝嚟打掃，幾多錢一個鐘？系统联系我" * 40
    normalize(text)
    start = time.perf_counter()
    for _ in range(20):
        normalize(text)
    per_char = (time.perf_counter() - start) / 20 / len(text)
    assert per_char < 5e-6  # ≈ 1 µs a character: a 300-character message well under 1 ms


_WORDS = st.sampled_from([*sorted(TABLE), "系统", "关系", "呢", "唔", "，", " ", "3点", "abc", "😊", "Ａ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_WORDS, st.text(max_size=3)), max_size=12).map("".join))
def test_index_map_is_monotonic_and_in_range(text: str) -> None:
    norm = normalize(text)
    assert len(norm.index) == len(norm.text)
    assert all(0 <= i < len(text) for i in norm.index)
    assert all(a <= b for a, b in zip(norm.index, norm.index[1:], strict=False))
    for start in range(len(norm.text)):
        s, e = norm.span(start, len(norm.text))
        assert 0 <= s <= e <= len(text)


# Through the trained model (tests/conftest.py trains it once per run).

def _entities(parse: dict, name: str) -> list[dict]:
    return [e for e in parse["entities"] if e["entity"] == name]


def test_book_tomorrow_morning(nlu) -> None:
    text = "想搵人聽朝嚟打掃"
    r = nlu.parse(text, now=NOW)
    assert r["intent"]["name"] == "book_service"
    assert r["language"] == "zh-Hant"
    (t,) = _entities(r, "time")
    assert t["value"].startswith("2026-11-19T")
    assert int(t["value"][11:13]) < 12  # the morning
    assert text[t["start"]:t["end"]] == "聽朝"


def test_time_entity_points_at_the_cantonese_words(nlu) -> None:
    text = "聽日下晝三點"
    (t,) = _entities(nlu.parse(text, now=NOW), "time")
    assert t["value"] == "2026-11-19T15:00:00+08:00"
    assert (t["start"], t["end"]) == (0, len(text))
    (t,) = _entities(nlu.parse("聽朝", now=NOW), "time")
    assert t["value"].startswith("2026-11-19T") and (t["start"], t["end"]) == (0, 2)


def test_price_per_hour(nlu) -> None:
    r = nlu.parse("幾多錢一個鐘", now=NOW)
    assert r["intent"]["name"] == "ask_price"
    (d,) = _entities(r, "duration")
    assert "幾多錢一個鐘"[d["start"]:d["end"]] == "一個鐘"


def test_reschedule_a_little_later(nlu) -> None:
    assert nlu.parse("可唔可以改遲少少", now=NOW)["intent"]["name"] == "reschedule_booking"
    r = nlu.parse("可唔可以改去後日", now=NOW)
    assert r["intent"]["name"] == "reschedule_booking"
    (t,) = _entities(r, "time")
    assert t["value"].startswith("2026-11-20")


@pytest.mark.parametrize(("text", "intent"), [
    ("唔該晒", "thank"),
    ("唔要喇取消咗佢", "cancel_booking"),
    ("工人姐姐打爛咗我隻碗", "complain"),
    ("阿姨遲到咗一個鐘", "complain"),
    ("佢今日冇嚟", "complain"),  # a no-show
])
def test_more_cantonese_intents(nlu, text: str, intent: str) -> None:
    assert nlu.parse(text, now=NOW)["intent"]["name"] == intent

