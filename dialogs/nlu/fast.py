"""Inference for the fitted linear pipeline without scikit-learn's per-call machinery.

Pipeline/FeatureUnion/joblib and input validation cost more than the model itself on a
one-message call; this reads the fitted vocabularies, idf weights and coefficients once and
computes the same probabilities (a test checks them against ``predict_proba``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline


class FastLinear:
    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline.named_steps["features"]
        clf: LogisticRegression = pipeline.named_steps["clf"]
        self.classes = [str(c) for c in clf.classes_]
        coef = np.asarray(clf.coef_, dtype=np.float64)
        self.intercept = np.asarray(clf.intercept_, dtype=np.float64)
        self.blocks: list[tuple[str, Any, np.ndarray, Any]] = []
        offset = 0
        for _name, transformer in union.transformer_list:
            if isinstance(transformer, TfidfVectorizer):
                width = len(transformer.vocabulary_)
                self.blocks.append(("tfidf", (transformer.build_analyzer(), transformer.vocabulary_,
                                              transformer.idf_, transformer.sublinear_tf, transformer.norm),
                                    coef[:, offset:offset + width], None))
            else:  # a dense-ish transformer with its own transform (the cue features)
                width = transformer.transform([""]).shape[1]
                self.blocks.append(("other", transformer, coef[:, offset:offset + width], None))
            offset += width
        if offset != coef.shape[1]:
            raise ValueError("fast path does not match the fitted pipeline's features")

    def scores(self, text: str) -> np.ndarray:
        total = self.intercept.copy()
        for kind, spec, weights, _ in self.blocks:
            if kind == "tfidf":
                analyzer, vocab, idf, sublinear, norm = spec
                counts = Counter(i for i in (vocab.get(g) for g in analyzer(text)) if i is not None)
                if not counts:
                    continue
                idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(((1.0 + math.log(c)) if sublinear else float(c) for c in counts.values()),
                                 dtype=np.float64, count=len(counts))
                vals = tf * idf[idx]
                if norm == "l2":
                    n = math.sqrt(float(vals @ vals))
                    if n:
                        vals /= n
                total += weights[:, idx] @ vals
            else:  # the cue features: dense, without building a sparse matrix per message
                row = spec.row(text) if hasattr(spec, "row") else spec.transform([text]).toarray()[0]
                nz = np.nonzero(row)[0]
                if len(nz):
                    total += weights[:, nz] @ row[nz]
        return total

    def predict_proba(self, text: str) -> np.ndarray:
        s = self.scores(text)
        if len(self.classes) == 2:  # binary logistic regression: one column of scores
            p = 1.0 / (1.0 + math.exp(-float(s[0])))
            return np.array([1 - p, p])
        e = np.exp(s - s.max())
        return e / e.sum()
