"""``frontdesk nlu test``: intent and entity reports, errors, confusion matrix, confidence histogram."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from dialogs.nlu import classifier
from dialogs.nlu.data import Example, TrainingData
from dialogs.nlu.model import NLU, TRAIN_NOW, train

# Entities whose span is checked against annotations (times are checked by their own test table).
SPAN_ENTITIES = ("service_type", "time", "duration", "area", "phone", "rating", "address")


@dataclass
class Prediction:
    example: Example
    intent: str
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)


def predict(nlu: NLU, examples: list[Example], progress: bool = True, desc: str = "parsing") -> list[Prediction]:
    out = []
    for ex in tqdm(examples, desc=desc, disable=not progress, leave=False):
        r = nlu.parse(ex.text, now=TRAIN_NOW)
        # The report measures the classifier: a fallback counts as its top intent with its confidence
        # (only text with nothing to classify, such as "。。。", stays nlu_fallback).
        top = next((i for i in r["intent_ranking"] if i["name"] != "nlu_fallback"), r["intent"])
        out.append(Prediction(ex, top["name"], float(top["confidence"]), r["entities"]))
    return out


def cross_validate(data: TrainingData, folds: int, design: str = classifier.DEFAULT, threshold: float = 0.35,
                   timezone: str = "Asia/Shanghai", progress: bool = True, seed: int = 0) -> list[Prediction]:
    labels = [e.intent for e in data.examples]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    preds: list[Prediction | None] = [None] * len(labels)
    splits = list(skf.split(np.zeros(len(labels)), labels))
    for train_idx, test_idx in tqdm(splits, desc=f"{folds}-fold cross-validation", disable=not progress):
        part = TrainingData([data.examples[i] for i in train_idx], data.synonyms, data.lookups, data.regexes)
        a = train(part, design)
        nlu = NLU(a["pipeline"], a["services"], threshold, timezone, terms=a["terms"])
        for i, p in zip(test_idx, predict(nlu, [data.examples[i] for i in test_idx], progress=False),
                        strict=True):
            preds[i] = p
    return [p for p in preds if p is not None]


def intent_report(preds: list[Prediction]) -> dict[str, Any]:
    y_true = [p.example.intent for p in preds]
    y_pred = [p.intent for p in preds]
    per = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
        "per_intent": {k: {m: round(float(v[m]), 4) if m != "support" else int(v[m])
                           for m in ("precision", "recall", "f1-score", "support")}
                       for k, v in per.items() if isinstance(v, dict) and k not in ("macro avg", "weighted avg")},
    }


def entity_report(preds: list[Prediction]) -> dict[str, Any]:
    stats = {e: {"tp": 0, "fp": 0, "fn": 0} for e in SPAN_ENTITIES}
    for p in preds:
        gold = {(e["entity"], e["start"], e["end"]) for e in p.example.entities if e["entity"] in stats}
        got = {(e["entity"], e["start"], e["end"]) for e in p.entities if e["entity"] in stats}
        for kind, *_ in gold & got:
            stats[kind]["tp"] += 1
        for kind, *_ in got - gold:
            stats[kind]["fp"] += 1
        for kind, *_ in gold - got:
            stats[kind]["fn"] += 1
    report = {}
    for kind, s in stats.items():
        prec = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 0.0
        rec = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        report[kind] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1-score": round(f1, 4),
                        "support": s["tp"] + s["fn"]}
    return report


def errors(preds: list[Prediction]) -> list[dict[str, Any]]:
    return [{"text": p.example.text, "intent": p.example.intent,
             "intent_prediction": {"name": p.intent, "confidence": round(p.confidence, 4)}}
            for p in preds if p.intent != p.example.intent]


def _plots(preds: list[Prediction], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({p.example.intent for p in preds} | {p.intent for p in preds})
    cm = confusion_matrix([p.example.intent for p in preds], [p.intent for p in preds], labels=labels)
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Intent confusion matrix")
    fig.tight_layout()
    fig.savefig(out / "intent_confusion_matrix.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    right = [p.confidence for p in preds if p.intent == p.example.intent]
    wrong = [p.confidence for p in preds if p.intent != p.example.intent]
    bins = np.linspace(0, 1, 21)
    ax.hist([right, wrong], bins=bins, label=["correct", "wrong"], color=["#2a9d8f", "#e76f51"], stacked=True)
    ax.set_xlabel("confidence")
    ax.set_ylabel("predictions")
    ax.set_title("Intent prediction confidence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "intent_histogram.png", dpi=90)
    plt.close(fig)


def write_reports(preds: list[Prediction], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    intents, ents = intent_report(preds), entity_report(preds)
    (out / "intent_report.json").write_text(json.dumps(intents, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "entity_report.json").write_text(json.dumps(ents, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "errors.json").write_text(json.dumps(errors(preds), ensure_ascii=False, indent=2), encoding="utf-8")
    _plots(preds, out)
    return {"intent": intents, "entity": ents}


def format_table(report: dict[str, Any]) -> str:
    lines = [f"intent accuracy {report['intent']['accuracy']:.4f}   macro-F1 {report['intent']['macro_f1']:.4f}",
             "", f"{'intent':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, m in sorted(report["intent"]["per_intent"].items()):
        lines.append(f"{name:<20}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1-score']:>10.3f}{m['support']:>9}")
    lines += ["", f"{'entity':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, m in report["entity"].items():
        lines.append(f"{name:<20}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1-score']:>10.3f}{m['support']:>9}")
    return "\n".join(lines)
