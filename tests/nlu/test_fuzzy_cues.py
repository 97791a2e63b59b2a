"""Typo-tolerant cue lookups: pinyin homophones and blurred sounds in Chinese, misspellings in English."""

from __future__ import annotations

import pickle

import pytest

from dialogs.nlu import fuzzy
from dialogs.nlu.classifier import CueFeatures

LOOKUPS = {
    "cue_complain": ["投诉", "complain", "complaint"],
    "cue_book": ["预约", "保洁", "book", "housekeeper", "appointment"],
    "cue_greet": ["在吗", "你好"],
    "cue_cancel": ["取消", "cancel", "cancel my booking"],
    "cue_reschedule": ["改期", "reschedule"],
    "cue_refund": ["退款", "refund"],
    "cue_erase": ["删了", "删除"],
    "cue_human": ["阿姨", "人工"],
    "cue_clean": ["clean"],
}


def fired(cf: CueFeatures, text: str) -> set[str]:
    row = cf.transform([text]).toarray()[0][: len(cf.names_)]
    return {n for n, v in zip(cf.names_, row, strict=True) if v}


@pytest.fixture(scope="module")
def cues() -> CueFeatures:
    return CueFeatures(LOOKUPS).fit(["我要投诉", "预约保洁", "cancel my booking", "阿姨受伤了"])


def test_fold_blurs_southern_accents() -> None:
    assert fuzzy.fold("zhang") == fuzzy.fold("zan") == "zan"
    assert fuzzy.fold("shi") == fuzzy.fold("si")
    assert fuzzy.fold("chen") == fuzzy.fold("ceng") == "cen"
    assert fuzzy.fold("nan") == fuzzy.fold("lang")
    assert fuzzy.fold("xing") == fuzzy.fold("xin")
    assert fuzzy.fold("nve") == fuzzy.fold("lue")
    assert fuzzy.fold("zhong") == "zong"  # ong is not ang/eng/ing


def test_char_syllables_and_latin_runs() -> None:
    assert fuzzy.char_syllable("投") == "tou"
    assert fuzzy.char_syllable("诉") == fuzzy.char_syllable("述") == "su"
    assert fuzzy.char_syllable("a") is None
    assert fuzzy.split_latin("baojie") == ("bao", "jie")
    assert fuzzy.split_latin("xian") == ("xian",)
    assert fuzzy.split_latin("cancel") is None
    runs = fuzzy.syllable_runs("明天能来保jie吗, ok")
    assert [[u[1] for u in r] for r in runs] == [["min", "tian", "len", "lai", "bao", "jie", "ma"]]


def test_term_readings_include_word_and_character_readings() -> None:
    readings = fuzzy.term_readings("银行")
    assert ("yin", "han") in readings and ("yin", "xin") in readings


def test_english_distance() -> None:
    vocab = ["cancel", "complain", "reschedule", "refund", "appointment", "housekeeper", "receive", "clean"]
    assert fuzzy.closest("cancle", vocab) == "cancel"
    assert fuzzy.closest("complian", vocab) == "complain"
    assert fuzzy.closest("resceduale", vocab) == "reschedule"  # two edits: ten letters
    assert fuzzy.closest("refnd", vocab) == "refund"
    assert fuzzy.closest("apointment", vocab) == "appointment"
    assert fuzzy.closest("hosekeeper", vocab) == "housekeeper"
    assert fuzzy.closest("recieve", vocab) == "receive"
    assert fuzzy.closest("clear", vocab) is None  # stop list
    assert fuzzy.closest("cleat", vocab) is None  # five letters, one letter changed: another word
    assert fuzzy.closest("cancer", vocab) is None
    assert fuzzy.closest("rfnd", vocab) is None  # four letters: too short for an edit
    assert fuzzy.max_edits("book") == 0 and fuzzy.max_edits("cancel") == 1 and fuzzy.max_edits("schedule") == 2


@pytest.mark.parametrize(("typo", "right"), [
    ("我要投述", "我要投诉"), ("明天能来保jie吗", "明天能来保洁吗"), ("在马", "在吗"), ("我想预月", "我想预约"),
    ("阿yi几点到", "阿姨几点到"), ("什么时候退宽", "什么时候退款"), ("报洁", "保洁"),
    ("i want to cancle my booking", "i want to cancel my booking"), ("pls resceduale", "pls reschedule"),
    ("i want to complian", "i want to complain"), ("need a hosekeeper", "need a housekeeper"),
    ("where is my refnd", "where is my refund"), ("an apointment", "an appointment"),
])
def test_typo_fires_the_same_table(cues: CueFeatures, typo: str, right: str) -> None:
    assert fired(cues, right)
    assert fired(cues, typo) == fired(cues, right)


@pytest.mark.parametrize("text", [
    "阿姨受伤了",  # shang le ≈ shan le (删了) only through the particle 了
    "同一个阿姨",  # 同意 is not a cue here, but 一 alone never anchors a match
    "投宿",  # a real word pypinyin knows
    "投,诉",  # never across punctuation
    "the sky is clear", "he has cancer", "cooking class", "a clear day", "books",
    "can men",  # Latin letters count as pinyin only in a Chinese message
])
def test_lookalikes_do_not_fire(cues: CueFeatures, text: str) -> None:
    exact = CueFeatures(LOOKUPS).fit([])
    for attr in ("fuzzy_zh_", "fuzzy_en_", "fuzzy_known_"):
        delattr(exact, attr)
    assert fired(cues, text) == fired(exact, text)


def test_words_the_training_texts_use_are_not_typos() -> None:
    cf = CueFeatures({"cue_x": ["重点"]}).fit(["钟点工多少钱"])
    assert "钟点" in cf.fuzzy_known_
    assert not fired(cf, "钟点") and fired(cf, "重店") == {"cue_x"}


def test_pickle_round_trip_is_deterministic(cues: CueFeatures) -> None:
    cues.transform(["我要投述"])  # builds the runtime index, which must not be pickled
    blob = pickle.dumps(cues, protocol=5)
    again = pickle.loads(blob)
    assert pickle.dumps(again, protocol=5) == blob
    assert pickle.dumps(CueFeatures(LOOKUPS).fit(["我要投诉", "预约保洁", "cancel my booking", "阿姨受伤了"]),
                        protocol=5) == blob
    assert fired(again, "我要投述") == {"cue_complain"}


def test_a_model_fitted_before_typos_matches_exactly(cues: CueFeatures) -> None:
    old = pickle.loads(pickle.dumps(cues))
    for attr in ("fuzzy_zh_", "fuzzy_en_", "fuzzy_known_"):
        delattr(old, attr)
    old = pickle.loads(pickle.dumps(old))
    assert old.transform(["x"]).shape == cues.transform(["x"]).shape
    assert fired(old, "我要投述") == set() and fired(old, "我要投诉") == {"cue_complain"}


@pytest.mark.parametrize(("text", "intent"), [
    ("我要投述", "complain"),
    ("i want to cancle my booking", "cancel_booking"),
    ("明天能来保jie吗", "book_service"),
])
def test_trained_model_understands_typos(nlu, text: str, intent: str) -> None:
    assert nlu.parse(text)["intent"]["name"] == intent


def test_pickle_is_the_same_in_every_process() -> None:
    """Set order changes with the hash seed; the pickled bytes must not."""
    import os
    import subprocess
    import sys

    code = ("import hashlib, pickle; from tests.nlu.test_fuzzy_cues import LOOKUPS; "
            "from dialogs.nlu.classifier import CueFeatures; "
            "cf = CueFeatures(LOOKUPS).fit(['我要投诉', '阿姨受伤了', 'the floor is wet']); "
            "print(hashlib.sha256(pickle.dumps(cf, protocol=5)).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(digests) == 1  # one digest for all three seeds


def test_warm_loads_pypinyins_tables_before_any_message(nlu) -> None:
    """A served process warms its NLU before it listens: the first client does not wait about 0.3 s
    for pypinyin's dictionaries (loaded on first use)."""
    fuzzy.char_syllable.cache_clear()
    fuzzy._lexicon.cache_clear()
    fuzzy._SYLLABLE_OF.clear()
    nlu.warm()
    assert fuzzy._lexicon.cache_info().currsize == 1 and fuzzy.char_syllable.cache_info().currsize > 0
