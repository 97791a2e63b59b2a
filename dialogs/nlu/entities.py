"""All entity extractors together, with overlaps settled: the longest span wins, ties go to the
more specific kind. Spans are reported in the original text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dialogs.nlu.address import addresses
from dialogs.nlu.data import TrainingData
from dialogs.nlu.normalize import Normalized, normalize
from dialogs.nlu.numerals import finditer
from dialogs.nlu.quantities import areas, durations, phones, ratings
from dialogs.nlu.timeparse import parse_times

SERVICE_TYPES = ("cleaning", "deep_cleaning", "housekeeper", "nanny", "maternity_nurse", "elderly_care",
                 "cooking", "butler")
_PRIORITY = {"phone": 0, "rating": 1, "time": 2, "area": 3, "duration": 4, "service_type": 5, "address": 6}
_EXTRACTOR = {"time": "TimeExtractor", "service_type": "ServiceTypeExtractor", "address": "AddressExtractor"}
# Placeholders stand in for entity values in the classifier's input, so that it learns
# "asks for a service at ⟨time⟩" rather than particular dates or numbers.
PLACEHOLDER = {"service_type": " ⓢ ", "time": " ⓣ ", "phone": " ⓟ ", "area": " ⓐ ", "duration": " ⓓ ", "rating": " ⓡ ",
               "address": " ⓛ "}


class ServiceTypeMatcher:
    """Longest match of the service-type lookup table, values normalised through synonyms."""

    def __init__(self, data: TrainingData) -> None:
        terms: dict[str, str] = {}
        for surface, value in data.synonyms.items():
            if value in SERVICE_TYPES:
                terms[surface] = value
        for ex in data.examples:
            for e in ex.entities:
                if e["entity"] == "service_type" and e["value"] in SERVICE_TYPES:
                    terms.setdefault(ex.text[e["start"]:e["end"]].lower(), e["value"])
        for term in data.lookups.get("service_type", []):
            value = data.synonyms.get(term.lower(), term if term in SERVICE_TYPES else None)
            if value:
                terms.setdefault(term.lower(), value)
        self.terms = {normalize(t).text: v for t, v in terms.items() if normalize(t).text}
        self._rx = _trie_regex(self.terms)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models pickled before the trie pattern carry a flat alternation: rebuild it from the terms.
        self.__dict__.update(state)
        self._rx = _trie_regex(self.terms)

    def __call__(self, text: str) -> list[dict[str, Any]]:
        if self._rx is None:
            return []
        return [{"entity": "service_type", "start": m.start(), "end": m.end(), "value": self.terms[m[0]]}
                for m in finditer(self._rx, text)]


def _trie_regex(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for many literal terms, as a trie: the longest term wins at each position, as
    in an alternation sorted longest first, but each position costs one character test instead of
    one per term (a flat alternation of 100 terms made a 2,000-character message slow).

    English terms match whole words: the first character must not follow a word character, the
    last must not precede one (``\\b`` at the start would hide the first characters from the
    regex engine's fast skip)."""
    trie: dict[str, Any] = {}
    for t in terms:
        node = trie
        for c in t:
            node = node.setdefault(c, {})
        node[""] = {}

    def build(node: dict[str, Any], word: bool) -> str:
        alts = [re.escape(c) + build(child, word) for c, child in sorted(node.items()) if c]
        if "" in node:
            alts.append(r"\b" if word else "")  # the end of a term last: longer terms are tried first
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    branches = [re.escape(c) + (r"(?<!\w.)" if c.isascii() else "") + build(child, c.isascii())
                for c, child in sorted(trie.items())]
    return re.compile("|".join(branches)) if branches else None


def find(text: str, now: datetime, services: ServiceTypeMatcher) -> list[dict[str, Any]]:
    """Entities in normalised ``text``, spans in that text."""
    found: list[dict[str, Any]] = []
    for e in parse_times(text, now):
        found.append({"entity": "time", **e})
    for source in (phones, ratings, areas, durations):
        found.extend(source(text))
    found.extend(services(text))
    chosen: list[dict[str, Any]] = []
    taken_at = bytearray(len(text) + 1)  # occupancy keeps this linear when a text has many matches
    for e in sorted(found, key=lambda e: (-(e["end"] - e["start"]), _PRIORITY[e["entity"]], e["start"])):
        if not any(taken_at[e["start"]:e["end"]]):
            chosen.append(e)
            taken_at[e["start"]:e["end"]] = b"\x01" * (e["end"] - e["start"])
    taken = [(c["start"], c["end"]) for c in chosen if c["entity"] in ("time", "phone")]
    found_addresses = list(addresses(text, taken))
    in_address = bytearray(len(text) + 1)
    for a in found_addresses:
        in_address[a["start"]:a["end"]] = b"\x01" * (a["end"] - a["start"])
    # Numbers inside an address (88号, 3栋) are part of it, not areas or durations.
    chosen = [c for c in chosen
              if c["entity"] not in ("area", "duration", "rating") or not any(in_address[c["start"]:c["end"]])]
    return sorted([*chosen, *found_addresses], key=lambda e: e["start"])


def to_original(norm: Normalized, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's entity format, spans and address values in the text the client sent."""
    out = []
    for e in found:
        start, end = norm.span(e["start"], e["end"])
        ent = {**e, "start": start, "end": end, "extractor": _EXTRACTOR.get(e["entity"], "QuantityExtractor")}
        if e["entity"] == "address":
            ent["value"] = norm.original[start:end].strip()
        out.append(ent)
    return out


def with_placeholders(norm_text: str, found: list[dict[str, Any]]) -> str:
    """The classifier's input: entity spans (in normalised text) replaced by their placeholder."""
    out, pos = [], 0
    for e in found:
        if e["entity"] not in PLACEHOLDER or e["start"] < pos:
            continue
        out.append(norm_text[pos:e["start"]])
        out.append(PLACEHOLDER[e["entity"]])
        pos = e["end"]
    out.append(norm_text[pos:])
    return re.sub(r"\s+", " ", "".join(out)).strip()
