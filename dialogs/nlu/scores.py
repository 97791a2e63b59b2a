"""Reading survey scores out of a free-form answer (回访评分).

The standard scores three dimensions on 1–5: service attitude, skill and result. Clients answer in
every shape: "态度5分技能3分效果3分", "技能四分 態度五分 效果三分", "都是5分", "5 5 4", "all fives but
she was late", "4/5 for skill", ⭐⭐⭐⭐⭐, or only in words ("技能一般", "三项都很好").

``parse_scores(text, asked)`` returns what it could read:

- ``scores``: dimension → 1–5 for numbers tied to a dimension (by its name, by "all"/"都", by the
  order of three numbers in a row — attitude, skill, result — or by ``asked`` for a lone number);
- ``overall``: a lone score with no dimension and nothing asked ("5分", "打5分", "满分"): the
  caller decides (a survey asks which dimension, client feedback may apply it to all three);
- ``words``: dimension or "all" → good|ok|bad where only words were given (ask for the number);
- ``invalid``: numbers given as scores outside 1–5 (0, 6, 10, 4.5): re-ask;
- ``comment``: the rest of the message, in the client's own characters, or None.

Matching runs on normalised text (Traditional → Simplified, full width → half width, lower case);
the comment is cut from the original so the client's words are kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dialogs.nlu.normalize import normalize
from dialogs.nlu.numerals import cn_int

DIMENSIONS = ("attitude", "skill", "result")

_DIM_WORDS: dict[str, tuple[str, ...]] = {
    "attitude": ("服务态度", "工作态度", "态度", "礼貌", "待人", "service attitude", "attitude", "manners", "manner",
                 "friendliness", "courtesy", "politeness"),
    "skill": ("专业技能", "专业水平", "专业度", "专业", "技能", "技术", "技巧", "手艺", "手势", "做嘢", "业务能力",
              "能力", "水平", "skills", "skill", "technique", "professionalism", "competence", "expertise"),
    "result": ("清洁效果", "打扫效果", "服务效果", "干净程度", "效果", "结果", "成果", "results", "result", "outcome",
               "cleanliness", "end result"),
}
_DIM_OF = {w: d for d, ws in _DIM_WORDS.items() for w in ws}


def _alt(words: list[str] | tuple[str, ...]) -> str:
    """Longest first, English words whole."""
    parts = []
    for w in sorted(set(words), key=len, reverse=True):
        e = re.escape(w).replace(r"\ ", r"\s+")
        parts.append(rf"(?<![a-z]){e}(?![a-z])" if w.isascii() else e)
    return "(?:" + "|".join(parts) + ")"


_DIM_ANY = _alt(list(_DIM_OF))
_DIM = rf"(?P<dim>{_DIM_ANY})"
_EN_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "zero": 0}
_EN_PLURAL = {"ones": 1, "twos": 2, "threes": 3, "fours": 4, "fives": 5}
_CN = "零一二两三四五六七八九十"
# A number as a score: digits, a short Chinese numeral not starting a word (一般, 一直, 三项 are words),
# an English number word, or 满分/full marks. The unit that may follow it.
_UNIT = (r"(?:\s*(?:/\s*(?:5|五)(?!\d)|(?:out\s+)?of\s+(?:5|five)(?![a-z])|颗星|个星|粒星|分|星|stars?(?![a-z])"
         r"|points?(?![a-z])|pts?(?![a-z])|marks?(?![a-z])))")
_NOT_A_SCORE = r"小时|点|号|月|年|个?人|口|只|hours?|h\b|am|pm|min"  # 2小时, 3点, 3口人: times and counts
_NUMBER = (rf"(?:(?P<d>(?<![\d.])\d{{1,3}}(?:\.\d)?(?![\d.:]|\s*(?:{_NOT_A_SCORE})))(?:'?s(?![a-z]))?"
           rf"|(?P<c>(?<![{_CN}])[{_CN}]{{1,3}})(?=\s*(?:颗星|个星|粒星|分|星)|\s|$|[,，。.、;；!！~/]|{_DIM_ANY})"
           rf"|(?P<e>(?<![a-z])(?:{'|'.join(_EN_PLURAL)}|{'|'.join(_EN_NUM)})(?:'?s)?(?![a-z]))"
           r"|(?P<full>满分|full\s+marks|top\s+marks|perfect\s+(?:10|5|score)))")
_SCORE = rf"(?:{_NUMBER}(?P<unit>{_UNIT})?)"
# The dimensions not named: "效果3分 其他两项5分", "效果差 其他5分", "skill 3, the rest 5".
_REST_WORD = (r"(?:其他两项|其他两个|其余两项|另外两项|剩下两项|另外两个|剩下的|其他的|其余的|其他|其余|别的|"
              r"the\s+rest|the\s+others|the\s+other\s+two|everything\s+else|(?<![a-z])(?:others|rest)(?![a-z]))")
# What may stand between a dimension and its score: 态度[给]5分, attitude[: ]5, 技能[我打]四分, skill [is a] 4 —
# never another dimension or "the rest" ("态度不错 效果2分", "效果差 其他5分").
_GAP = rf"(?:(?!{_DIM_ANY}|{_REST_WORD})[^\d,，。.;；!！?？、/\n]){{0,6}}?"
_SEP = r"\s*[,，、/;；\s-]\s*"

_LABELLED = re.compile(rf"{_DIM}\s*{_GAP}{_SCORE}")
_REVERSED = re.compile(rf"{_SCORE}\s*(?:for|on|in|给|分给)\s+(?:the\s+|her\s+|his\s+)?{_DIM}")
_ALL_ZH = (r"(?:三项|三个|全部|全都|都|全|各项|每项|每一项|样样|统统|一律|各方面|all\s+three|everything|all\s+of\s+them"
           r"|three(?=\s+\d'?s(?![a-z])))")
_ALL_BEFORE = re.compile(
    rf"{_ALL_ZH}\s*(?:都|是|系|给|打|评|为|满|个|都是|都系|都给|都打|都评|gets?|got|get|are|were|is|a)*\s*{_SCORE}")
_ALL_EN = re.compile(rf"(?<![a-z])(?:all|straight)\s+(?:of\s+them\s+)?{_SCORE}")
_ALL_AFTER = re.compile(
    rf"{_SCORE}\s*(?:across\s+the\s+board|all\s+(?:round|around|the\s+way|three)|for\s+(?:everything|all(?:\s+three)?|"
    rf"each(?:\s+one)?|every\s+(?:one|thing|question))|on\s+(?:everything|all(?:\s+three)?|each)|each|"
    rf"都是|全部|三项都|都给)")
# Not inside a longer number or word ("12 3 4", "v5 4 3"); Chinese may touch it ("分别是5 4 5").
_TRIPLE = re.compile(rf"(?<![0-9a-z.]){_SCORE.replace('?P<', '?P<a_')}{_SEP}{_SCORE.replace('?P<', '?P<b_')}"
                     rf"{_SEP}{_SCORE.replace('?P<', '?P<c_')}(?![0-9a-z.])")
_TRIPLE_UNITS = re.compile(rf"{_SCORE.replace('?P<', '?P<a_')}\s*{_SCORE.replace('?P<', '?P<b_')}\s*"
                           rf"{_SCORE.replace('?P<', '?P<c_')}")
_COMPACT = re.compile(r"^\s*([1-5])([1-5])([1-5])\s*(?:分)?\s*$|^\s*([一二三四五])([一二三四五])([一二三四五])\s*$")
_LONE = re.compile(rf"{_SCORE}")
# Two dimensions sharing one score: "态度和技能都5分", "態度同技術都滿分", "attitude and skill 5".
_PAIR = re.compile(rf"(?P<d1>{_DIM_ANY})\s*(?:和|同|跟|与|及|还有|and|&|,|，|、)\s*(?P<d2>{_DIM_ANY})\s*"
                   rf"(?:都|也|是|给|打|评|both|are|were|gets?|got|:)*\s*{_SCORE}")
_REST = re.compile(rf"{_REST_WORD}\s*(?:都|也|是|给|打|评|are|were|get|gets|got|at|:)*\s*{_SCORE}")
# After "the rest" a bare number must end the clause: "其他3个阿姨" counts people, "其他的2天再说" days.
_CLAUSE_END = re.compile(r"\s*(?:$|[,，。.;；!！~])")
# One score for all but one dimension: "full marks except the result, 3", "5 for everything but skill (4)".
_EXCEPT = re.compile(
    rf"(?:(?<![a-z])all\s+)?{_SCORE.replace('?P<', '?P<a_')}\s*"
    rf"(?:for\s+everything\s+|on\s+everything\s+|across\s+the\s+board\s+)?"
    rf"(?:except|apart\s+from|other\s+than|besides|(?<=everything\s)but|(?<=board\s)but)\s+(?:for\s+|on\s+)?(?:the\s+|her\s+)?{_DIM}"
    rf"(?:[\s,，:：(]*(?:which\s+|that\s+)?(?:is\s+|was\s+|gets?\s+|got\s+|only\s+|just\s+|=\s*)?"
    rf"{_SCORE.replace('?P<', '?P<b_')})?")
# Praise that reads like a negation: "态度没得说5分" is full praise, not "no score".
_PRAISE_IDIOM = re.compile(r"没得说|没话说|没的说|没说的|无可挑剔|没毛病|冇得弹|不用说|没得挑|不错")

_GOOD = ("很好", "非常好", "特别好", "挺好", "蛮好", "真好", "好好", "几好", "不错", "唔错", "很棒", "棒", "好", "满意",
         "非常满意", "很满意", "优秀", "完美", "一流", "到位", "没得说", "冇得弹", "无可挑剔", "没问题", "给力",
         "great", "good", "excellent", "perfect", "amazing", "fantastic", "wonderful", "brilliant", "superb",
         "outstanding", "lovely", "very good", "really good", "spot on", "flawless")
_OK = ("差点", "差一点", "差了点", "一般般", "一般", "还行", "还可以", "可以", "凑合", "马马虎虎", "过得去",
       "普普通通", "普通", "中规中矩", "麻麻", "一般啦", "so-so", "so so", "ok", "okay", "average", "fine",
       "alright", "all right", "not bad", "decent", "mediocre", "acceptable", "passable", "meh")
_BAD = ("不太好", "不是很好", "不是太好", "不够好", "不怎么样", "不咋地", "不满意", "不太满意", "不太行", "不行",
        "不好", "唔好", "很差", "太差", "较差", "比较差", "差劲", "差", "糟糕", "烂", "很烂", "不专业", "不到位",
        "有待提高",
        "not good", "not great", "not very good", "not so good", "poor", "bad", "terrible", "awful", "lousy",
        "disappointing", "horrible", "sloppy", "could be better", "needs work")
_QUALITY_OF = {**{w: "good" for w in _GOOD}, **{w: "ok" for w in _OK}, **{w: "bad" for w in _BAD}}
_QUALITY = rf"(?P<q>{_alt(list(_QUALITY_OF))})"
_NEGATION = re.compile(r"不|没|未|唔|(?<![a-z])(?:not|never|no)(?![a-z])|n't")
_DIM_WORD = re.compile(rf"{_DIM}\s*(?P<gap>{_GAP}){_QUALITY}")
_WORD_DIM = re.compile(rf"(?<![a-z]){_QUALITY}\s+(?:on\s+|for\s+|with\s+)?(?:the\s+)?{_DIM}")
_ALL_WORD = re.compile(
    rf"(?:三项|三个|全部|全都|各方面|方方面面|各项|每项|样样|都|everything|all\s+three|all\s+round|all)"
    rf"\s*(?P<gap>(?:都|也|是|was|were|is|are|\s)*(?:很|非常|特别|挺|蛮|真|相当|超|比较|really|very|pretty|quite)?)"
    rf"\s*{_QUALITY}")
# A lone word answers the question asked: "一般", "挺好的", "ok", "not great".
_BARE_WORD = re.compile(rf"^\s*(?:很|非常|特别|挺|蛮|真|还|也|比较|really|very|pretty|quite|just)?\s*{_QUALITY}"
                        r"\s*(?:的|啊|吧|呀|啦|了|哦|嘅|喔)*\s*[.!！。~]*\s*$")

_LEAD = re.compile(r"^(?:[\s,，。.;；:：、!！~\-—]|but|though|however|and|also|only|although|just|打|给|评|吧|"
                   r"但是|但|不过|就是|只是|而且|另外|还有|然后|可是|可惜|唯一|补充|备注)+", re.I)
_TRAIL = re.compile(r"(?:[\s,，。.;；:：、!！~\-—]|and|but|吧|啦|哈|的|打|给|评|打个|给个|i'?d give|give)+$", re.I)
_FILLER = re.compile(r"^(?:[\s,，。.;；:：、!！~?？\-—]|我|给|打|评|分|都|吧|个|就|啊|呀|啦|哈|嗯|的|了|谢谢|谢|多谢|"
                     r"thanks?|thank\s+you|ok|okay|好的|hi|i|i'd|give|gave|rate|rating|score|scores|is|are|my|the|"
                     r"her|him|she|he|\d)*$", re.I)

# "给赵阿姨打5分": the name says whom the score is for (the caller reads it), it is no comment.
_WHO_SCORED = re.compile(r"^\s*(?:给|給|为|為)?[\u4e00-\u9fff]{0,3}(?:阿姨|姐|嫂|师傅|師傅)\s*(?:打|评|評|给|給)\s*")
_WHO = re.compile(r"^(?:给|為|为|for\s+)?[\u4e00-\u9fff]{0,3}(?:阿姨|姐|嫂|师傅|師傅|老师|老師)$")


@dataclass(frozen=True)
class Scores:
    scores: dict[str, int] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)
    invalid: list[int | float] = field(default_factory=list)
    comment: str | None = None
    overall: int | None = None

    @property
    def complete(self) -> bool:
        """All three dimensions have a valid score."""
        return all(d in self.scores for d in DIMENSIONS)

    @property
    def empty(self) -> bool:
        """Nothing score-like at all: the message is something else (or only a comment)."""
        return not (self.scores or self.words or self.invalid or self.overall is not None)

    def missing(self) -> list[str]:
        return [d for d in DIMENSIONS if d not in self.scores]


def _value(m: re.Match[str], prefix: str = "") -> float | None:
    g = m.groupdict()
    if g.get(prefix + "full"):
        return 5
    if (d := g.get(prefix + "d")) is not None:
        v = float(d)
        return int(v) if v.is_integer() else v
    if (c := g.get(prefix + "c")) is not None:
        n = cn_int(c)
        return None if n is None else n
    if (e := g.get(prefix + "e")) is not None:
        e = e.replace("'", "").lower()
        return _EN_PLURAL.get(e) or _EN_NUM.get(e[:-1] if e.endswith("s") and e not in _EN_NUM else e)
    return None


def _stars(original: str) -> tuple[str, list[int]]:
    """⭐⭐⭐⭐ → "4星", keeping, for each character, its index in ``original``."""
    out: list[str] = []
    idx: list[int] = []
    i = 0
    while i < len(original):
        if original[i] in "⭐🌟★☆":
            j, n = i, 0
            while j < len(original) and original[j] in "⭐🌟★☆\ufe0f":
                n += original[j] in "⭐🌟★"
                j += 1
            # "4⭐" / "4 ⭐": one star after a number is the unit of that number, not a score of 1
            after_digit = n == 1 and "".join(out).rstrip()[-1:].isdigit()
            token = "星 " if after_digit else f" {n}星 "
            out.extend(token)
            idx.extend([i] * len(token))
            i = j
            continue
        out.append(original[i])
        idx.append(i)
        i += 1
    return "".join(out), idx


class _Reader:
    def __init__(self, text: str) -> None:
        self.original = text
        starred, self.idx0 = _stars(text)
        self.norm = normalize(starred)
        self.text = self.norm.text
        self.used = [False] * len(self.text)

    def free(self, m: re.Match[str]) -> bool:
        return not any(self.used[m.start():m.end()])

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.used[i] = True

    def finditer(self, rx: re.Pattern[str]) -> list[re.Match[str]]:
        return [m for m in rx.finditer(self.text) if self.free(m)]

    def rest(self) -> str | None:
        """The original characters not consumed, with connectives at the ends trimmed."""
        keep = sorted({self.idx0[self.norm.index[i]] for i in range(len(self.text)) if not self.used[i]})
        out, last = [], None
        for i in keep:
            if last is not None and i != last + 1:
                out.append(" ")
            out.append(self.original[i])
            last = i
        s = re.sub(r"\s+", " ", "".join(out)).strip()
        s = _WHO_SCORED.sub("", s)
        for _ in range(3):
            s = _TRAIL.sub("", _LEAD.sub("", s)).strip()
        if not s or _FILLER.match(normalize(s).text) or _WHO.match(s):
            return None
        return s


def parse_scores(text: str, asked: str | None = None) -> Scores:
    """The scores in ``text``; ``asked`` is the dimension the survey just asked about, if any."""
    if not isinstance(text, str) or not text.strip():
        return Scores()
    r = _Reader(text[:500])
    scores: dict[str, int] = {}
    invalid: list[int | float] = []
    words: dict[str, str] = {}
    overall: int | None = None

    def put(dim: str | None, v: float | None) -> bool:
        nonlocal overall
        if v is None:
            return False
        if not (isinstance(v, int) and 1 <= v <= 5):
            invalid.append(v)
            return True
        if dim is None:
            overall = v
        elif dim == "all":
            for d in DIMENSIONS:
                scores[d] = v
        else:
            scores[dim] = v
        return True

    for m in r.finditer(_EXCEPT):
        if put("all", _value(m, "a_")):
            dim = _DIM_OF[_dim_key(m["dim"])]
            other = _value(m, "b_")
            if other is None:
                scores.pop(dim, None)  # "all 5 except the result": the result is still to be asked
            else:
                put(dim, other)
            r.take(m.start(), m.end())
    for m in r.finditer(_PAIR):
        v = _value(m)
        for name in ("d1", "d2"):
            put(_DIM_OF[_dim_key(m[name])], v)
        if v is not None:
            r.take(m.start(), m.end())
    for m in r.finditer(_LABELLED):
        gap_start = m.end("dim")
        gap = r.text[gap_start:m.start(next(g for g in ("d", "c", "e", "full") if m.group(g) is not None))]
        if _NEGATION.search(_PRAISE_IDIOM.sub("", gap)) or not r.free(m):
            continue
        if put(_DIM_OF[_dim_key(m["dim"])], _value(m)):
            r.take(m.start(), m.end())
    for m in r.finditer(_REVERSED):
        if put(_DIM_OF[_dim_key(m["dim"])], _value(m)):
            r.take(m.start(), m.end())
    named = {_DIM_OF[_dim_key(m[0])] for m in re.finditer(_DIM_ANY, r.text)}
    if scores or named:
        for m in r.finditer(_REST):
            if m["unit"] is None and not _CLAUSE_END.match(r.text, m.end()):
                continue
            v = _value(m)
            for d in [d for d in DIMENSIONS if d not in scores and d not in named]:
                put(d, v)
            r.take(m.start(), m.end())
    for rx in (_ALL_BEFORE, _ALL_EN, _ALL_AFTER):
        for m in r.finditer(rx):
            v = _value(m)
            if rx is _ALL_EN and m["unit"] is None and m["e"] is None and m["d"] is None and m["full"] is None:
                continue
            if put("all", v):
                r.take(m.start(), m.end())
    if not scores:
        for rx in (_TRIPLE_UNITS, _TRIPLE):
            for m in r.finditer(rx):
                if rx is _TRIPLE_UNITS and not (m["a_unit"] and m["b_unit"]):
                    continue
                vals = [_value(m, p) for p in ("a_", "b_", "c_")]
                if any(v is None for v in vals):
                    continue
                for d, v in zip(DIMENSIONS, vals, strict=True):
                    put(d, v)
                r.take(m.start(), m.end())
                break
            if scores or invalid:
                break
        if not scores and (m := _COMPACT.match(r.text)):
            digits = [g for g in m.groups() if g]
            for d, ch in zip(DIMENSIONS, digits, strict=True):
                put(d, int(ch) if ch.isdigit() else cn_int(ch))
            r.take(0, len(r.text))
    # A lone number: with a unit anywhere ("5分", "给4颗星"), or bare when it is (nearly) all the message.
    lone = [m for m in r.finditer(_LONE)
            if m["unit"] or m["full"] or _FILLER.match(r.text[:m.start()] + r.text[m.end():])]
    if len(lone) == 1 and not scores:
        m = lone[0]
        if put(asked if asked in DIMENSIONS else None, _value(m)):
            r.take(m.start(), m.end())
    elif len(lone) == 1 and asked in DIMENSIONS and asked not in scores:
        m = lone[0]
        if put(asked, _value(m)):
            r.take(m.start(), m.end())

    for rx in (_DIM_WORD, _WORD_DIM):
        for m in r.finditer(rx):
            if rx is _DIM_WORD and _NEGATION.search(m["gap"]) and _QUALITY_OF[_q_key(m["q"])] != "bad":
                continue
            dim = _DIM_OF[_dim_key(m["dim"])]
            if dim not in scores:
                words[dim] = _QUALITY_OF[_q_key(m["q"])]
            r.take(m.start(), m.end())
    for m in r.finditer(_ALL_WORD):
        if _NEGATION.search(m["gap"]):
            continue
        if len(scores) < 3:
            words["all"] = _QUALITY_OF[_q_key(m["q"])]
        r.take(m.start(), m.end())
    if asked in DIMENSIONS and asked not in scores and asked not in words and (m := _BARE_WORD.match(r.text)):
        words[asked] = _QUALITY_OF[_q_key(m["q"])]
        r.take(0, len(r.text))
    return Scores(scores, words, invalid, r.rest(), overall)


def _dim_key(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def _q_key(s: str) -> str:
    return re.sub(r"\s+", " ", s)
