"""Typo tolerance for the cue lookups (``classifier.CueFeatures``).

Chinese typed on a pinyin keyboard goes wrong by sound, not by shape: 投述 for 投诉, 报洁 or 保jie for
保洁, and southern accents blur zh/z, ch/c, sh/s, n/l, ang/an, eng/en, ing/in (模糊音). So a Chinese
cue term is compared with the message as a sequence of toneless, fuzzily folded pinyin syllables.
English typos are misspellings: a word matches a cue word within a small Damerau–Levenshtein distance.

pypinyin's whole-text conversion costs about 0.25 ms a message, too slow for the 2 ms parse budget, so
messages are converted one character at a time through a cache (the character's most common reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein, Indel
from rapidfuzz.process import extractOne


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Every toneless syllable pypinyin gives a CJK character (ü written v), less the interjections m, n,
# hm: Latin letters inside a Chinese message ("保jie", "阿yi") count as pinyin when they spell these.
SYLLABLES = _words("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong
cou cu cuan cui cun cuo da dai dan dang dao de den deng di dian diao die ding diu dong dou du duan dui dun duo
e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai
guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia
jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan
kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan
lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao
ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao
pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan
shang shao she shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta
tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu
xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu
yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhen zheng zhi zhong zhou zhu
zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo lue nue
""")
_ALIASES = {"lue": "lve", "nue": "nve"}  # keyboards accept both spellings of lüe/nüe
_MAX_SYLLABLE = 6  # zhuang


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def fold(syllable: str) -> str:
    """The 模糊音 class of a toneless syllable: zh→z, ch→c, sh→s, n→l, ang/eng/ing→an/en/in."""
    s = _ALIASES.get(syllable, syllable)
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    elif s[:1] == "n":
        s = "l" + s[1:]
    if s.endswith(("ang", "eng", "ing")):
        s = s[:-1]
    return s


@lru_cache(maxsize=32768)
def char_syllable(ch: str) -> str | None:
    """The folded syllable of one Chinese character's most common reading; None for anything else."""
    if not is_cjk(ch):
        return None
    from pypinyin import Style, lazy_pinyin  # loads its dictionary (~0.4 s): only on first use

    py = lazy_pinyin(ch, style=Style.NORMAL)[0]
    return fold(py) if py.isascii() and py.isalpha() else None


@lru_cache(maxsize=4096)
def split_latin(run: str) -> tuple[str, ...] | None:
    """A run of Latin letters as pinyin syllables ("baojie" → bao jie), or None when it spells none.
    Longest syllable first, backing off when the rest does not split."""
    if not run:
        return ()
    for n in range(min(_MAX_SYLLABLE, len(run)), 0, -1):
        head = run[:n]
        if head in SYLLABLES:
            rest = split_latin(run[n:])
            if rest is not None:
                return (head, *rest)
    return None


_SYLLABLE_OF: dict[str, str | None] = {}

Unit = tuple[str, str]  # (what the client typed: one Chinese character or one Latin syllable, folded syllable)


def syllable_runs(text: str) -> list[list[Unit]]:
    """The message as runs of pinyin units. Chinese characters and Latin letters that spell pinyin
    belong to a run; spaces are skipped; anything else (punctuation, digits, English words,
    placeholders) ends it, so a cue never matches across a sentence break. Latin runs count only
    in a message with Chinese in it: "can" or "men" in an English message is not pinyin."""
    runs: list[list[Unit]] = []
    cur: list[Unit] = []
    seen = _SYLLABLE_OF  # a plain dict in front of the lru_cache: this runs per character of every message
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in seen:
            syl = seen[ch]
        else:
            syl = char_syllable(ch)
            if len(seen) < 32768:
                seen[ch] = syl
        if syl is not None:
            cur.append((ch, syl))
            i += 1
            continue
        if ch == " ":
            i += 1
            continue
        if "a" <= ch <= "z":
            j = i
            while j < n and "a" <= text[j] <= "z":
                j += 1
            parts = split_latin(text[i:j])
            if parts is not None:
                cur.extend((p, fold(p)) for p in parts)
                i = j
                continue
            i = j
        else:
            i += 1
        if cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def term_readings(term: str) -> set[tuple[str, ...]]:
    """Folded syllable sequences of an all-Chinese cue term: its reading as a word (银行 yin hang) and
    character by character (yin xing), since messages are read character by character."""
    from pypinyin import Style, lazy_pinyin

    per_char = tuple(char_syllable(c) for c in term)
    out = set()
    if all(per_char):
        out.add(per_char)  # type: ignore[arg-type]
    word = lazy_pinyin(term, style=Style.NORMAL)
    if len(word) == len(term) and all(p.isascii() and p.isalpha() for p in word):
        out.add(tuple(fold(p) for p in word))
    return out


# Characters that do not make a typo recognisable: a window that keeps only these as written (伤了 for
# 删了, 性的 for 行的, 月一 for 约一) is almost always another word that happens to sound alike.
FUNCTION_CHARS = frozenset("了的得地着过个一是不有吗呢吧啊嘛呀哦啦我你他她它们这那就都也还很太和跟")


def anchored(typed: Sequence[str], term: str, run_start: bool = False) -> bool:
    """A fuzzy Chinese match keeps at least one content character as written: a real typo changes one
    character of a word, while an unrelated word that only sounds alike usually changes them all.
    A two-character term must also keep its first character, unless it starts the run: a window whose
    first character differs is mostly the end of one word and the start of the next (桌子擦 for 只擦,
    几点到 for 电到, 处理好 for 你好)."""
    if len(term) == 2 and not run_start and typed[0] != term[0]:
        return False
    return any(a == b and a not in FUNCTION_CHARS for a, b in zip(typed, term, strict=False))


@lru_cache(maxsize=1)
def _lexicon() -> frozenset[str] | dict[str, object]:
    from pypinyin.constants import PHRASES_DICT

    return PHRASES_DICT


def preload() -> None:
    """pypinyin's tables loaded now (about 0.3 s of CPU) rather than in some client's first turn."""
    char_syllable("约")
    _lexicon()


def is_word(window: str) -> bool:
    """Whether pypinyin knows ``window`` as a word (同意 is not a typo of 同一). Its phrase table only
    holds words whose reading is not character by character, so this catches some real words, not all;
    the words the training texts use catch most of the rest (``CueFeatures.fuzzy_known_``)."""
    return window in _lexicon()


# First two syllables → (whole reading, table, cue term): one dictionary look-up per position.
ZhIndex = dict[tuple[str, str], list[tuple[tuple[str, ...], int, str]]]


def zh_index(entries: Sequence[tuple[str, str, int]]) -> ZhIndex:
    """The look-up table for ``zh_matches`` from (space-separated reading, cue term, table) entries."""
    index: ZhIndex = {}
    for joined, term, i in entries:
        reading = tuple(joined.split(" "))
        index.setdefault((reading[0], reading[1]), []).append((reading, i, term))
    return index


def zh_matches(text: str, index: ZhIndex) -> list[tuple[int, str, str]]:
    """(table, typed window, cue term) for every Chinese cue term whose syllables the text spells with
    at least one character changed, keeping a content character as written."""
    out = []
    for run in syllable_runs(text):
        sylls = [u[1] for u in run]
        for start in range(len(sylls) - 1):
            for reading, i, term in index.get((sylls[start], sylls[start + 1]), ()):
                n = len(reading)
                if tuple(sylls[start:start + n]) == reading:
                    typed = [u[0] for u in run[start:start + n]]
                    window = "".join(typed)
                    if window != term and anchored(typed, term, start == 0):
                        out.append((i, window, term))
    return out


# English words that are close to a cue word but are words in their own right.
EN_STOP = _words("""
clear cancer cooking looking hiring bored board order other there these those where while which would could
should might right night light sight fight tight eight about above after again their three thing think
things store stove dinner diner saint paint point print sorry worry hurry carry marry party price prize
quite quiet since shine shore share spare stare start smart heart horse house mouse cause pause
""")
MIN_FUZZY = 5  # shorter English words have too many neighbours one edit away (book/cook/look)


def max_edits(word: str) -> int:
    """Edits an English word of this length may be away from a cue word: 5–7 letters 1, 8+ letters 2."""
    n = len(word)
    return 2 if n >= 8 else 1 if n >= MIN_FUZZY else 0


def _plausible(word: str, cue: str, edits: int) -> bool:
    """Whether ``word`` looks like a slip of the fingers on ``cue``, not another word. Typists rarely get
    the first letter wrong (leather/weather), and in a short word one changed letter usually makes
    another word (stair/stain, burnt/burst), while a letter dropped, doubled or swapped does not."""
    if word[0] != cue[0]:
        return False
    if len(word) >= 8 or len(cue) >= 8:
        return True
    return Indel.distance(word, cue) <= 1 or (edits == 1 and sorted(word) == sorted(cue))


def closest(word: str, vocab: Sequence[str]) -> str | None:
    """The cue word ``word`` is a misspelling of, or None. Damerau–Levenshtein counts a swapped pair
    of letters ("recieve", "cancle") as one edit."""
    k = max_edits(word)
    if k == 0 or word in EN_STOP or not word.isalpha():
        return None
    hit = extractOne(word, vocab, scorer=DamerauLevenshtein.distance, score_cutoff=k)
    if hit is None:
        return None
    cand, edits = hit[0], int(hit[1])
    # Both words long enough for that many edits, and a plausible slip.
    return cand if max_edits(cand) >= edits and _plausible(word, cand, edits) else None
