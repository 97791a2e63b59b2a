"""Survey answers: the score parser (dialogs/nlu/scores.py) and the intent survey answers get (give_feedback).

The intent sentences are not in nlu_data/ (a test keeps it so): they check what the model learnt.
"""

from __future__ import annotations

import pytest

from dialogs.nlu.data import load
from dialogs.nlu.scores import Scores, parse_scores
from tests.conftest import NLU_DATA

A, S, R = "attitude", "skill", "result"
ALL5 = {A: 5, S: 5, R: 5}

# text, asked, scores, words, invalid, overall, comment
CASES: list[tuple[str, str | None, dict, dict, list, int | None, str | None]] = [
    # every dimension named, any order, Arabic or Chinese numerals, Simplified or Traditional
    ("态度5分技能3分效果3分", None, {A: 5, S: 3, R: 3}, {}, [], None, None),
    ("服务态度5分，技能3分，效果3分", None, {A: 5, S: 3, R: 3}, {}, [], None, None),
    ("技能四分 態度五分 效果三分", None, {A: 4 + 1, S: 4, R: 3}, {}, [], None, None),
    ("态度五，技能五，效果四", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    ("服務態度給5分 專業技能4分 清潔效果5分", None, {A: 5, S: 4, R: 5}, {}, [], None, None),
    ("态度满分，技能四分，效果三分", None, {A: 5, S: 4, R: 3}, {}, [], None, None),
    ("态度五星 技能五星 效果四星 阿姨很准时", None, {A: 5, S: 5, R: 4}, {}, [], None, "阿姨很准时"),
    ("attitude 5, skill 4, result 4", None, {A: 5, S: 4, R: 4}, {}, [], None, None),
    ("Attitude: 5/5, skill: 4/5, result: 5/5", None, {A: 5, S: 4, R: 5}, {}, [], None, None),
    ("skills 3 out of 5", None, {S: 3}, {}, [], None, None),
    ("4/5 for skill", None, {S: 4}, {}, [], None, None),
    ("I'd give her 4 stars for attitude", None, {A: 4}, {}, [], None, None),
    # all three at once
    ("都是5分", None, ALL5, {}, [], None, None),
    ("都给五星", None, ALL5, {}, [], None, None),
    ("全部5分", None, ALL5, {}, [], None, None),
    ("三项都是五分！", None, ALL5, {}, [], None, None),
    ("全部都係5分", None, ALL5, {}, [], None, None),
    ("all fives", None, ALL5, {}, [], None, None),
    ("All 5s from me", None, ALL5, {}, [], None, "from me"),
    ("5 across the board", None, ALL5, {}, [], None, None),
    ("all fives but she was late", None, ALL5, {}, [], None, "she was late"),
    ("都是4分，就是来晚了20分钟", None, {A: 4, S: 4, R: 4}, {}, [], None, "来晚了20分钟"),
    # three numbers in a row: attitude, skill, result
    ("5 5 4", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    ("5,5,4", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    ("5，4，3", None, {A: 5, S: 4, R: 3}, {}, [], None, None),
    ("554", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    ("五五四", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    ("4 4 5 谢谢", None, {A: 4, S: 4, R: 5}, {}, [], None, None),
    ("five five four", None, {A: 5, S: 5, R: 4}, {}, [], None, None),
    # a lone score answers the question asked; without one it is an overall figure
    ("5", A, {A: 5}, {}, [], None, None),
    ("4分", S, {S: 4}, {}, [], None, None),
    ("⭐⭐⭐⭐⭐", S, {S: 5}, {}, [], None, None),
    ("⭐⭐⭐⭐", None, {}, {}, [], 4, None),
    ("满分", R, {R: 5}, {}, [], None, None),
    ("打4分吧，有些角落没擦到", R, {R: 4}, {}, [], None, "有些角落没擦到"),
    ("5分", None, {}, {}, [], 5, None),
    ("4", None, {}, {}, [], 4, None),
    ("给赵阿姨打5分", None, {}, {}, [], 5, None),
    ("给王阿姨打4分，她有点慢", None, {}, {}, [], 4, "她有点慢"),
    # outside 1–5: re-ask
    ("态度6分技能3分效果3分", None, {S: 3, R: 3}, {}, [6], None, None),
    ("0", R, {}, {}, [0], None, None),
    ("10分", None, {}, {}, [10], None, None),
    ("3.5", S, {}, {}, [3.5], None, None),
    ("5 5 9", None, {A: 5, S: 5}, {}, [9], None, None),
    # only words: ask for the number
    ("技能一般", None, {}, {S: "ok"}, [], None, None),
    ("三项都很好", None, {}, {"all": "good"}, [], None, None),
    ("態度好好，手勢一般", None, {}, {A: "good", S: "ok"}, [], None, None),
    ("态度很好，技能一般，效果3分", None, {R: 3}, {A: "good", S: "ok"}, [], None, None),
    ("态度不是很好", None, {}, {A: "bad"}, [], None, None),
    ("great attitude, ok results, poor skill", None, {}, {A: "good", R: "ok", S: "bad"}, [], None, None),
    ("everything was great", None, {}, {"all": "good"}, [], None, None),
    ("一般", S, {}, {S: "ok"}, [], None, None),
    ("挺好的", A, {}, {A: "good"}, [], None, None),
    ("not great", R, {}, {R: "bad"}, [], None, None),
    # no scores: all of it is the comment
    ("she was 2 hours late", None, {}, {}, [], None, "she was 2 hours late"),
    ("阿姨2点才到，3个小时只做了一半", None, {}, {}, [], None, "阿姨2点才到，3个小时只做了一半"),
    ("我家3口人 2只猫", None, {}, {}, [], None, "我家3口人 2只猫"),
    # the rest, pairs, exceptions, Cantonese units, stars after a digit (written differently from the
    # generalisation set on purpose)
    ("技能2分 其余都是4分", None, {A: 4, S: 2, R: 4}, {}, [], None, None),
    ("result 2, the others 4", None, {A: 4, S: 4, R: 2}, {}, [], None, None),
    ("态度跟效果都4分 技能3分", None, {A: 4, S: 3, R: 4}, {}, [], None, None),
    ("4 for everything except skill, which is 2", None, {A: 4, S: 2, R: 4}, {}, [], None, None),
    ("all 4 except the attitude", None, {S: 4, R: 4}, {}, [], None, None),
    ("三項都係四粒星", None, {A: 4, S: 4, R: 4}, {}, [], None, None),
    ("技术没话说5分", None, {S: 5}, {}, [], None, None),
    ("3⭐", S, {S: 3}, {}, [], None, None),
    ("4⭐ 3⭐ 5⭐", None, {A: 4, S: 3, R: 5}, {}, [], None, None),
    ("three 4s", None, {A: 4, S: 4, R: 4}, {}, [], None, None),
    ("就给个3吧", None, {}, {}, [], 3, None),
]


@pytest.mark.parametrize(("text", "asked", "scores", "words", "invalid", "overall", "comment"), CASES,
                         ids=[c[0] for c in CASES])
def test_parse_scores(text: str, asked: str | None, scores: dict, words: dict, invalid: list,
                      overall: int | None, comment: str | None) -> None:
    got = parse_scores(text, asked)
    assert got.scores == scores
    assert got.words == words
    assert got.invalid == invalid
    assert got.overall == overall
    assert got.comment == comment
    assert got.complete == (len(scores) == 3)


def test_scores_is_a_frozen_value() -> None:
    got = parse_scores("5 5 4")
    assert isinstance(got, Scores) and got.complete and got.missing() == [] and not got.empty
    with pytest.raises(AttributeError):
        got.comment = "x"  # type: ignore[misc]
    partial = parse_scores("态度5分")
    assert not partial.complete and partial.missing() == [S, R]
    assert parse_scores("").empty and parse_scores(None).empty  # type: ignore[arg-type]
    assert parse_scores("谢谢").empty and parse_scores("谢谢").comment is None


def test_hostile_input_is_fast_and_safe() -> None:
    import time

    for text in ["5" * 5000, "态度" * 2000, "⭐" * 3000, "all fives " * 500, "\u202e5 5 4"]:
        t0 = time.perf_counter()
        parse_scores(text)
        assert time.perf_counter() - t0 < 0.5, text[:20]


# ---- the intent, through the trained model ----------------------------------------------------

ANSWER_SURVEY = [
    "态度四分 技能五分 效果五分",
    "服务态度给5，技能给4，效果给4",
    "三项都打五分吧",
    "全部满分！",
    "5 4 4",
    "attitude 4 skill 5 result 5",
    "all 4s",
    "fives across the board, thanks",
    "態度5分 技術4分 效果4分",
    "三樣都係五分",
]
GIVE_FEEDBACK = [
    "给赵阿姨打五分",
    "李阿姨做得真不错",
    "the cleaner did a lovely job",
]


@pytest.mark.parametrize("text", ANSWER_SURVEY)
def test_survey_answers_read_as_feedback(nlu, text: str) -> None:
    """Scores typed in any form are feedback: with a survey open they answer it (domain.d/surveys.yml
    makes them `answer_survey` by context), without one they are attached to the visit."""
    assert nlu.parse(text)["intent"]["name"] == "give_feedback"


@pytest.mark.parametrize("text", GIVE_FEEDBACK)
def test_feedback_outside_a_survey_stays_give_feedback(nlu, text: str) -> None:
    assert nlu.parse(text)["intent"]["name"] == "give_feedback"


def test_intent_sentences_are_not_training_data() -> None:
    training = {e.text for e in load(NLU_DATA).examples}
    assert not (set(ANSWER_SURVEY) | set(GIVE_FEEDBACK)) & training
