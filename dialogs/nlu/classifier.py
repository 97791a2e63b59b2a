"""Intent classifier designs. Each takes the classifier text (normalised, entity placeholders in)
and is compared by ``benchmarks/nlu_classifiers.py`` with cross-validation; ``DEFAULT`` is the
design that won that table."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[ⓢⓣⓟⓐⓓⓡⓛ]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_QUESTION = re.compile(
    r"[吗嘛呢?？]|怎么|怎样|多久|多少|几[点天个次]|是否|能不能|可不可以|会不会|有没有|要不要|是不是|[吗么]$|"
    r"^(?:how|what|which|when|where|who|why|do|does|did|is|are|can|could|will|would|should)\b")


def words(text: str) -> list[str]:
    """English words and placeholders (Chinese is covered by character n-grams)."""
    return _WORD.findall(text)


def jieba_words(text: str) -> list[str]:
    import jieba  # only this design needs it; it is slow to load

    jieba.setLogLevel(60)
    toks = words(text)
    for run in _CJK_RUN.findall(text):
        toks.extend(jieba.lcut(run))
    return toks


_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|!")
_WHOLE_TAIL = "啊呀的了吧呢哦嘛!！。.~～ "


def stem(word: str) -> str:
    """A crude English stem, enough for a cue to match its inflections: scratch ~ scratched ~
    scratches, ruin ~ ruined ~ ruining. Both the cue words and the message go through it."""
    for suffix, keep in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _en_ngrams(text: str, n: int = 5, stemmed: bool = False) -> set[tuple[str, ...]]:
    toks = _EN_TOKEN.findall(text)
    if stemmed:
        toks = [stem(t) for t in toks]
    return {tuple(toks[i:i + k]) for k in range(1, n + 1) for i in range(len(toks) - k + 1)}


class CueFeatures(BaseEstimator, TransformerMixin):
    """One binary feature per ``cue_*`` lookup table: does the text contain any of its words?

    English phrases match whole words, Chinese ones as substrings, and a single Chinese
    character only as the whole message. Plain substring and set tests keep this fast on
    long messages, where one big regular expression was not.
    """

    def __init__(self, lookups: dict[str, list[str]] | None = None, weight: float = 1.0) -> None:
        self.lookups = lookups
        self.weight = weight

    def fit(self, texts: list[str], y: object = None) -> CueFeatures:
        from dialogs.nlu.normalize import normalize

        self.names_ = sorted(k for k in (self.lookups or {}) if k.startswith("cue_"))
        self.tables_ = []
        for name in self.names_:
            whole, sub, phrases = set(), set(), set()
            for term in {normalize(t).text for t in self.lookups[name]} - {""}:
                if term.isascii():
                    phrases.add(tuple(stem(w) for w in _EN_TOKEN.findall(term)))
                elif len(term) == 1:
                    whole.add(term)  # 成, 中, 早 mean yes/hello only on their own, not in 成功, 中午, 早上
                else:
                    sub.add(term)
            self.tables_.append((frozenset(whole), tuple(sorted(sub)), frozenset(phrases - {()})))
        self.stemmed_ = True  # models fitted before stemming match their English cues as written
        return self

    # Sets pickle in hash order, which changes from process to process; sorted tuples keep
    # `frontdesk nlu train` byte-for-byte deterministic.
    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        if "tables_" in state:
            state["tables_"] = [(tuple(sorted(w)), s, tuple(sorted(p))) for w, s, p in state["tables_"]]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        if "tables_" in state:
            state["tables_"] = [(frozenset(w), s, frozenset(p)) for w, s, p in state["tables_"]]  # type: ignore[union-attr]
        self.__dict__.update(state)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        rows = []
        for t in texts:
            grams = _en_ngrams(t, stemmed=getattr(self, "stemmed_", False))
            bare = t.strip(_WHOLE_TAIL)
            hits = [1.0 if (bare in whole or not grams.isdisjoint(phrases) or any(w in t for w in sub)) else 0.0
                    for whole, sub, phrases in self.tables_]
            # A cue inside a question means something else ("弄坏了怎么赔" asks about policy,
            # "弄坏了" complains), which a linear model can only see through crossed features.
            q = 1.0 if _QUESTION.search(t) else 0.0
            rows.append([*hits, q, *(h * q for h in hits)])
        width = 2 * len(self.tables_) + 1
        return sparse.csr_matrix(self.weight * np.array(rows, dtype=np.float64).reshape(len(texts), width))


def _char(lo: int, hi: int) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(lo, hi), sublinear_tf=True, min_df=1)


def _word(analyzer: Callable[[str], list[str]]) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, lowercase=False)


Lookups = dict[str, list[str]]


def char_lr(lookups: Lookups) -> Pipeline:
    """Character 1–3-grams, logistic regression."""
    return Pipeline([("features", _char(1, 3)), ("clf", LogisticRegression(C=10, max_iter=3000))])


def char_word_lr(lookups: Lookups) -> Pipeline:
    """Character 1–4-grams plus English words, logistic regression."""
    feats = FeatureUnion([("char", _char(1, 4)), ("word", _word(words))])
    return Pipeline([("features", feats), ("clf", LogisticRegression(C=20, max_iter=3000))])


def cue_char_lr(lookups: Lookups) -> Pipeline:
    """Character 1–2-grams, English words and the cue lookup tables, logistic regression."""
    feats = FeatureUnion([("char", _char(1, 2)), ("word", _word(words)), ("cue", CueFeatures(lookups, 0.25))])
    return Pipeline([("features", feats), ("clf", LogisticRegression(C=100, max_iter=5000))])


def jieba_svm(lookups: Lookups) -> Pipeline:
    """jieba words plus character 1–2-grams, linear SVM with sigmoid-calibrated probabilities."""
    feats = FeatureUnion([("char", _char(1, 2)), ("word", _word(jieba_words))])
    svm = CalibratedClassifierCV(LinearSVC(C=0.5), cv=3, method="sigmoid")
    return Pipeline([("features", feats), ("clf", svm)])


DESIGNS: dict[str, Callable[[Lookups], Pipeline]] = {
    "char-lr": char_lr,
    "char+word-lr": char_word_lr,
    "cue+char-lr": cue_char_lr,
    "jieba-svm": jieba_svm,
}
DEFAULT = "cue+char-lr"
