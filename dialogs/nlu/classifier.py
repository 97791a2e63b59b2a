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

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[ⓣⓟⓐⓓⓡⓛ]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


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


class CueFeatures(BaseEstimator, TransformerMixin):
    """One binary feature per ``cue_*`` lookup table: does the text contain any of its words?

    English words match on word boundaries, Chinese ones as substrings.
    """

    def __init__(self, lookups: dict[str, list[str]] | None = None, weight: float = 1.0) -> None:
        self.lookups = lookups
        self.weight = weight

    def fit(self, texts: list[str], y: object = None) -> CueFeatures:
        from dialogs.nlu.normalize import normalize

        self.names_ = sorted(k for k in (self.lookups or {}) if k.startswith("cue_"))
        self.patterns_ = []
        for name in self.names_:
            alts = []
            for term in sorted({normalize(t).text for t in self.lookups[name]} - {""}, key=len, reverse=True):
                esc = re.escape(term)
                alts.append(rf"(?<![a-z]){esc}(?![a-z])" if term[0].isascii() and term[-1].isascii() else esc)
            self.patterns_.append(re.compile("|".join(alts)))
        return self

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        rows = [[self.weight if p.search(t) else 0.0 for p in self.patterns_] for t in texts]
        return sparse.csr_matrix(np.array(rows, dtype=np.float64).reshape(len(texts), len(self.patterns_)))


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
    """Character 1–4-grams, English words and the cue lookup tables, logistic regression."""
    feats = FeatureUnion([("char", _char(1, 4)), ("word", _word(words)), ("cue", CueFeatures(lookups))])
    return Pipeline([("features", feats), ("clf", LogisticRegression(C=20, max_iter=3000))])


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
