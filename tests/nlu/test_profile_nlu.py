"""Profile statements: items read by dialogs/nlu/profile_terms.py, and the `state_preference` and
`view_profile` intents. The intent sentences are not in nlu_data/ (a test keeps it so)."""

from __future__ import annotations

import pytest
import yaml

from dialogs.nlu.data import load
from dialogs.nlu.profile_terms import LEXICON, VOCABULARY, needs_plan, profile_items
from tests.conftest import NLU_DATA

# text → [(kind, code, text)]
CASES: list[tuple[str, list[tuple[str, str | None, str]]]] = [
    ("我家有猫，希望阿姨不要用消毒水", [("pet", "cat", "我家有猫"),
                                ("product_avoid", "no_disinfectant", "希望阿姨不要用消毒水")]),
    ("我家有貓，請阿姨別用漂白水", [("pet", "cat", "我家有貓"), ("product_avoid", "no_bleach", "請阿姨別用漂白水")]),
    ("屋企有隻狗，阿姨唔好用漂白水", [("pet", "dog", "屋企有隻狗"),
                               ("product_avoid", "no_bleach", "阿姨唔好用漂白水")]),
    ("别用84消毒液，家里有老人", [("product_avoid", "no_disinfectant", "别用84消毒液"),
                          ("at_home", "elderly_at_home", "家里有老人")]),
    ("消毒水味道太大了不要用", [("product_avoid", "no_disinfectant", "消毒水味道太大了不要用")]),
    ("please use eco-friendly products, we have a dog",
     [("product_use", "eco_products", "please use eco-friendly products"), ("pet", "dog", "we have a dog")]),
    ("no bleach please", [("product_avoid", "no_bleach", "no bleach please")]),
    ("Don't use any disinfectant, our kitten licks the floor",
     [("product_avoid", "no_disinfectant", "Don't use any disinfectant"),
      ("pet", "cat", "our kitten licks the floor")]),
    ("no scented products please", [("product_avoid", "no_fragrance", "no scented products please")]),
    ("用我们自己的清洁用品就行", [("product_use", "own_products", "用我们自己的清洁用品就行")]),
    ("家里有宝宝，进门请换鞋", [("at_home", "baby_at_home", "家里有宝宝"), ("habit", "shoes_off", "进门请换鞋")]),
    ("我们家吃素", [("diet", "vegetarian", "我们家吃素")]),
    ("we're muslim, halal only", [("religion", "halal", "we're muslim, halal only")]),
    ("我们不吃猪肉", [("diet", "no_pork", "我们不吃猪肉")]),
    ("老公对花粉过敏", [("allergy", "pollen_allergy", "老公对花粉过敏")]),
    ("I have a dust allergy", [("allergy", "dust_allergy", "I have a dust allergy")]),
    ("we live on the 6th floor, no lift",
     [("household", None, "we live on the 6th floor"), ("household", "no_lift", "no lift")]),
    ("阿姨要会说英语，我先生是外国人", [("language", "english_speaker", "阿姨要会说英语，我先生是外国人")]),
    # the client's own words when the vocabulary has no code
    ("家里供佛像 擦的时候别挪位置", [("habit", None, "家里供佛像 擦的时候别挪位置")]),
    ("每次来先给花浇水", [("habit", None, "每次来先给花浇水")]),
    ("家裡有老人家，拖地唔好太濕", [("at_home", "elderly_at_home", "家裡有老人家"), ("habit", None, "拖地唔好太濕")]),
    ("kids sleep till 9, no noise before that", [("at_home", "children_at_home", "kids sleep till 9"),
                                                ("habit", "quiet", "kids sleep till 9, no noise before that")]),
    ("我对猫毛过敏", [("allergy", None, "我对猫毛过敏")]),
    ("孩子对花生过敏", [("at_home", "children_at_home", "孩子对花生过敏"), ("allergy", None, "孩子对花生过敏")]),
    ("阿姨最好会说粤语", [("language", None, "阿姨最好会说粤语")]),
    ("叫我王女士就好", [("address_as", None, "王女士")]),
    ("Please call me Dr. Lee", [("address_as", None, "Dr. Lee")]),
    # nothing lasting: denied, one-off, questions, chat
    ("我家没有猫", []),
    ("we don't have pets", []),
    ("明天下午来打扫", []),
    ("这次能不能多打扫一个小时？", []),
    ("你好", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_profile_items(text: str, expected: list) -> None:
    got = [(i["kind"], i["code"], i["text"]) for i in profile_items(text)]
    assert got == expected


def test_item_text_is_capped_and_codes_are_the_vocabulary() -> None:
    long = "家里有猫" + "，它很怕生人" * 40
    items = profile_items(long)
    assert items[0]["code"] == "cat" and all(len(i["text"]) <= 120 for i in items)
    codes = set(yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))["terms"])
    lexicon = yaml.safe_load(LEXICON.read_text(encoding="utf-8"))["nlu"]
    named = {i["lookup"].partition(":")[2] for i in lexicon if ":" in i["lookup"]}
    assert named == codes  # every code has cue words, and every cue names a real code
    # a code not configured is not produced: the fact stays, in the client's words
    assert profile_items("家里有猫", vocabulary={"dog": "pet"}) == [{"kind": "note", "code": None, "text": "家里有猫"}]


@pytest.mark.parametrize(("text", "plan"), [
    ("想请一位别墅管家", True),
    ("能不能出个每周深度保洁的方案", True),
    ("我妈卧床三年了，想找人长期护理", True),
    ("I'd like a villa butler", True),
    ("can you put together a weekly deep-clean plan and a quote?", True),
    ("my father is bedridden and needs care", True),
    ("我家有猫，希望阿姨不要用消毒水", False),
    ("kids sleep till 9, no noise before that", False),
    ("明天下午三点打扫2小时", False),
])
def test_needs_plan(text: str, plan: bool) -> None:
    assert needs_plan(text) is plan


def test_hostile_input_is_fast_and_safe() -> None:
    import time

    for text in ["猫" * 5000, "不要" * 3000, "no " * 3000, "，" * 5000, "\u202e家里有猫"]:
        t0 = time.perf_counter()
        profile_items(text)
        needs_plan(text)
        assert time.perf_counter() - t0 < 0.5, text[:20]


# ---- the intents, through the trained model ---------------------------------------------------

STATE_PREFERENCE = [
    "我家养了两只猫",
    "家里有位九十岁的老人",
    "我们家一直用环保清洁剂",
    "進門要換拖鞋，這是我家規矩",
    "屋企有BB，唔好大聲",
    "we've got a golden retriever",
    "my husband is allergic to dust, please remember that",
    "please remember we never use bleach at home",
    "记一下，我们家不吃辣",
    "以后来我家都别动书房的东西",
]
VIEW_PROFILE = [
    "看看我的档案",
    "我的资料里记了些什么",
    "档案里我家的情况给我看看",
    "你哋記咗我啲咩資料",
    "show me my profile",
    "what notes do you keep about me",
    "what's on my client file",
]


@pytest.mark.parametrize("text", STATE_PREFERENCE)
def test_state_preference_intent(nlu, text: str) -> None:
    assert nlu.parse(text)["intent"]["name"] == "state_preference"


@pytest.mark.parametrize("text", VIEW_PROFILE)
def test_view_profile_intent(nlu, text: str) -> None:
    assert nlu.parse(text)["intent"]["name"] == "view_profile"


def test_intent_sentences_are_not_training_data() -> None:
    training = {e.text for e in load(NLU_DATA).examples}
    assert not (set(STATE_PREFERENCE) | set(VIEW_PROFILE)) & training
