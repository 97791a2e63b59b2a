"""Reading NLU training data in Rasa 3 YAML (``version: "3.1"``, ``nlu:`` with ``intent``,
``synonym``, ``lookup`` and ``regex`` items; entity annotations ``[text](entity)``,
``[text](entity:value)`` and ``[text]{"entity": ..., "value": ...}``)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import yamlfile

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


class DataError(ValueError):
    """Training data that Rasa would not load; the message names the file and the item."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[dict[str, Any], ...] = ()


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # surface form (lower) → canonical value
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    def fingerprint(self) -> str:
        blob = json.dumps(
            [[(e.text, e.intent, e.entities) for e in self.examples], self.synonyms, self.lookups, self.regexes],
            ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_annotated(line: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    """``约[明天下午](time)[大扫除](service_type:deep_cleaning)`` → plain text and entity spans."""
    out, ents, pos = [], [], 0
    for m in _ANNOTATION.finditer(line):
        out.append(line[pos:m.start()])
        start = sum(len(x) for x in out)
        text = m["text"]
        if m["json"]:
            try:
                spec = json.loads(m["json"])
            except json.JSONDecodeError as exc:
                raise DataError(f"bad entity annotation {m[0]!r}: {exc}") from exc
            name, value = spec.get("entity"), spec.get("value", text)
        else:
            name, _, value = m["short"].partition(":")
            value = value or text
        if not name:
            raise DataError(f"entity annotation without a name: {m[0]!r}")
        ents.append({"entity": name, "start": start, "end": start + len(text), "value": value})
        out.append(text)
        pos = m.end()
    out.append(line[pos:])
    return "".join(out), tuple(ents)


def _examples(block: Any, where: str) -> list[str]:
    if not isinstance(block, str):
        raise DataError(f"{where}: 'examples' must be a block string of '- ' lines")
    items = []
    for n, raw in enumerate(block.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise DataError(f"{where}, example line {n}: must start with '- ': {line!r}")
        items.append(line[2:].strip())
    return items


def load_file(path: Path, data: TrainingData) -> None:
    doc = yamlfile.read(path) or {}
    if not isinstance(doc, dict) or str(doc.get("version")) != "3.1":
        raise DataError(f"{path}: expected a mapping with version: \"3.1\"")
    for i, item in enumerate(doc.get("nlu") or []):
        where = f"{path.name} item {i + 1}"
        if not isinstance(item, dict):
            raise DataError(f"{where}: not a mapping")
        kind = next((k for k in ("intent", "synonym", "lookup", "regex") if k in item), None)
        if kind is None:
            raise DataError(f"{where}: needs one of intent/synonym/lookup/regex")
        name = str(item[kind])
        lines = _examples(item.get("examples"), f"{where} ({kind} {name})")
        if kind == "intent":
            for line in lines:
                text, ents = parse_annotated(line)
                data.examples.append(Example(text, name, ents))
        elif kind == "synonym":
            for line in lines:
                data.synonyms[line.lower()] = name
        elif kind == "lookup":
            data.lookups.setdefault(name, []).extend(lines)
        else:
            data.regexes.setdefault(name, []).extend(lines)


def load(path: Path) -> TrainingData:
    """A file, or every ``*.yml``/``*.yaml`` under a folder (sorted, so training is deterministic)."""
    files = [path] if path.is_file() else sorted([*path.rglob("*.yml"), *path.rglob("*.yaml")])
    if not files:
        raise DataError(f"no NLU data found at {path}")
    data = TrainingData()
    for f in files:
        load_file(f, data)
    if not data.examples:
        raise DataError(f"{path}: no intent examples")
    return data
