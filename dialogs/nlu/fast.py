"""Inference for the fitted linear pipeline without scikit-learn's per-call machinery.

Pipeline/FeatureUnion/joblib and input validation cost more than the model itself on a
one-message call; this reads the fitted vocabularies, idf weights and coefficients once and
computes the same probabilities (a test checks them against ``predict_proba``).

A message has a few dozen non-zero features out of ~15,000, so each block yields (column, value) pairs
only, and one gather of the coefficient rows (stored feature-major) scores them all at once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from operator import add
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from dialogs.nlu import classifier, fuzzy

_CJK = re.compile("[\u4e00-\u9fff]")  # fuzzy.is_cjk
_MISS = object()

_TF_CACHED = 512  # tf values precomputed for the counts of an n-gram in a message up to this


class _Tfidf:
    """One fitted TfidfVectorizer: (column, tf-idf value) of the n-grams of a text in its vocabulary."""

    def __init__(self, vec: TfidfVectorizer, offset: int) -> None:
        idf = vec.idf_.tolist()
        self.vocab: dict[str, tuple[int, float]] = {g: (offset + i, idf[i]) for g, i in vec.vocabulary_.items()}
        # tf for each count: 1 + log(count) as TfidfVectorizer's sublinear_tf computes it, or the count
        self.tf = [0.0, *((1.0 + math.log(c)) if vec.sublinear_tf else float(c) for c in range(1, _TF_CACHED))]
        self.sublinear = bool(vec.sublinear_tf)
        self.l2 = vec.norm == "l2"
        if vec.norm not in ("l2", None) or not vec.use_idf or vec.binary:
            raise ValueError("fast path reads l2- or un-normalised tf-idf only")
        p = vec.get_params()
        lo, hi = vec.ngram_range
        # char_wb 1–2-grams counted in C (see _char_wb); any other analyzer as scikit-learn builds it.
        self.char_wb = (p["analyzer"] == "char_wb" and p["preprocessor"] is None and not p["strip_accents"]
                        and p["input"] == "content" and (lo, hi) in ((1, 1), (1, 2)))
        self.bigrams = hi == 2
        self.lower = bool(p["lowercase"])
        # A callable analyzer reads the text as it is (scikit-learn's wrapper only decodes bytes input).
        self.analyzer = vec.analyzer if callable(p["analyzer"]) and p["input"] == "content" else vec.build_analyzer()

    def _char_wb(self, text: str) -> Counter[str]:
        """The n-gram counts of scikit-learn's char_wb analyzer: each white-space separated word padded
        with a space on both sides, its characters and (for 1–2-grams) its character pairs. Joining the
        padded words with nothing between them gives the same characters; its pairs are theirs plus one
        "  " per word boundary, which no vocabulary holds (a padded word has no inner space)."""
        if self.lower:
            text = text.lower()
        words = text.split()
        if not words:
            return Counter()
        s = " " + "  ".join(words) + " "
        counts = Counter(s)
        if self.bigrams:
            counts.update(map(add, s, s[1:]))
        return counts

    def features(self, text: str, cols: list[int], vals: list[float]) -> None:
        counts = self._char_wb(text) if self.char_wb else Counter(self.analyzer(text))
        vocab, tf = self.vocab, self.tf
        start = len(cols)
        for g, c in counts.items():
            e = vocab.get(g)
            if e is not None:
                cols.append(e[0])
                vals.append((tf[c] if c < _TF_CACHED else self._tf(c)) * e[1])
        if self.l2 and len(cols) > start:
            n = math.hypot(*vals[start:])
            if n:
                vals[start:] = [v / n for v in vals[start:]]

    def _tf(self, c: int) -> float:
        return 1.0 + math.log(c) if self.sublinear else float(c)


class _Cues:
    """``classifier.CueFeatures.row`` as (column, value) pairs, read from the fitted tables through
    dictionaries: one look-up per English token or single-character message instead of a set test per table.
    """

    def __init__(self, cues: classifier.CueFeatures, offset: int) -> None:
        self.cues = cues
        self.offset = offset
        self.n = len(cues.tables_)
        self.weight = float(cues.weight)
        self.stemmed = bool(getattr(cues, "stemmed_", False))
        self.fuzzy = hasattr(cues, "fuzzy_zh_")
        self.stems: dict[str, str] = {}  # classifier.stem of the words seen (threads may race: same values)
        self.whole: dict[str, set[int]] = {}
        self.phrases: dict[str, list[tuple[tuple[str, ...], int]]] = {}  # first token → (phrase, table)
        for i, (whole, _, phrases) in enumerate(cues.tables_):
            for w in whole:
                self.whole.setdefault(w, set()).add(i)
            for p in phrases:
                if 0 < len(p) <= 5:  # row() compares phrases with the text's 1–5-grams
                    self.phrases.setdefault(p[0], []).append((p, i))

    def features(self, t: str, cols: list[int], vals: list[float]) -> None:
        cues = self.cues
        terms, starts = cues._subs()
        hit: set[int] = set()
        if not starts.keys().isdisjoint(t):  # an English message has no character a Chinese cue starts with
            for i, c in enumerate(t):
                for n in starts.get(c, ()):
                    tables = terms.get(t[i:i + n])
                    if tables:
                        hit.update(tables)
        toks = classifier._EN_TOKEN.findall(t)
        if self.stemmed:
            stems = self.stems
            if len(stems) > 20000:  # bounded: a long-running bot sees endless new words
                stems.clear()
            toks = [stems.get(w) or stems.setdefault(w, classifier.stem(w)) for w in toks]
        self._phrase_hits(toks, hit)
        whole = self.whole.get(t.strip(classifier._WHOLE_TAIL))
        if whole:
            hit |= whole
        if self.fuzzy:  # CueFeatures.typo_hits, sharing the tokens read above
            if _CJK.search(t):
                hit.update(i for i, _, _ in cues._zh_typos(t))
            if toks:
                self._en_typo_hits(toks, hit)
        q = classifier._QUESTION.search(t) is not None
        w, o = self.weight, self.offset
        for i in sorted(hit):
            cols.append(o + i)
            vals.append(w)
        if q:  # the question flag, and each hit crossed with it
            cols.append(o + self.n)
            vals.append(w)
            for i in sorted(hit):
                cols.append(o + self.n + 1 + i)
                vals.append(w)

    def _phrase_hits(self, toks: list[str], hit: set[int]) -> None:
        """The tables with a phrase of 1–5 tokens that ``toks`` contains."""
        phrases = self.phrases
        for k, w in enumerate(toks):
            for p, i in phrases.get(w, ()):
                if len(p) == 1 or tuple(toks[k:k + len(p)]) == p:
                    hit.add(i)

    def _en_typo_hits(self, toks: list[str], hit: set[int]) -> None:
        """CueFeatures._en_typos's tables: those a phrase hits once the misspelt words are corrected."""
        _, en_list, en_set, known, cache = self.cues._index()
        fixed, typed = [], False
        for w in toks:
            if len(w) >= fuzzy.MIN_FUZZY and w not in en_set and w not in known:
                # Threads share the cache: read it once into a local (another thread may clear it meanwhile).
                c = cache.get(w, _MISS)
                if c is _MISS:
                    if len(cache) > 20000:  # bounded: a long-running bot sees endless new words
                        cache.clear()
                    c = cache[w] = fuzzy.closest(w, en_list)
                if c:
                    typed = True
                    w = c
            fixed.append(w)
        if typed:
            self._phrase_hits(fixed, hit)


class _Dense:
    """Any other transformer: its own transform, the non-zero values kept."""

    def __init__(self, transformer: Any, offset: int) -> None:
        self.transformer = transformer
        self.offset = offset

    def features(self, text: str, cols: list[int], vals: list[float]) -> None:
        t = self.transformer
        row = t.row(text) if hasattr(t, "row") else t.transform([text]).toarray()[0]
        for i in np.nonzero(row)[0].tolist():
            cols.append(self.offset + i)
            vals.append(float(row[i]))


class FastLinear:
    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline.named_steps["features"]
        clf: LogisticRegression = pipeline.named_steps["clf"]
        self.classes = [str(c) for c in clf.classes_]
        coef = np.asarray(clf.coef_, dtype=np.float64)
        self.weights = np.ascontiguousarray(coef.T)  # one row per feature: a message's rows are one gather
        self.intercept = np.asarray(clf.intercept_, dtype=np.float64)
        self.blocks: list[_Tfidf | _Cues | _Dense] = []
        offset = 0
        for _name, transformer in union.transformer_list:
            if isinstance(transformer, TfidfVectorizer):
                width = len(transformer.vocabulary_)
                self.blocks.append(_Tfidf(transformer, offset))
            else:  # a dense-ish transformer with its own transform (the cue features)
                width = transformer.transform([""]).shape[1]
                if isinstance(transformer, classifier.CueFeatures) and width == 2 * len(transformer.tables_) + 1:
                    self.blocks.append(_Cues(transformer, offset))
                else:
                    self.blocks.append(_Dense(transformer, offset))
            offset += width
        if offset != coef.shape[1]:
            raise ValueError("fast path does not match the fitted pipeline's features")

    def scores(self, text: str) -> np.ndarray:
        cols: list[int] = []
        vals: list[float] = []
        for block in self.blocks:
            block.features(text, cols, vals)
        if not cols:
            return self.intercept.copy()
        return self.intercept + np.array(vals) @ self.weights.take(np.array(cols), axis=0)

    def predict_proba(self, text: str) -> np.ndarray:
        s = self.scores(text)
        if len(self.classes) == 2:  # binary logistic regression: one column of scores
            p = 1.0 / (1.0 + math.exp(-float(s[0])))
            return np.array([1 - p, p])
        e = np.exp(s - s.max())
        return e / e.sum()
