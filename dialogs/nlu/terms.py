"""Entities read from word lists: what a complaint is about and what the client asks for.

``complaint_category`` and ``remedy`` take a closed set of values; their words come from the
training data (``synonym`` items whose value is one of the entity's values, ``lookup`` tables
named after the entity, and ``[text](entity:value)`` annotations). Matching is the longest
word at each position, in normalised text (so Traditional and full-width input match too),
English words whole. A word right after a negation ("不用退款", "no refund") is not a request.
"""

from __future__ import annotations

import re
from typing import Any

from dialogs.nlu.data import TrainingData
from dialogs.nlu.entities import _trie_regex
from dialogs.nlu.normalize import normalize
from dialogs.nlu.numerals import finditer

# The values are the backend's (backend/domain/cases.py CATEGORIES, REMEDIES; a test keeps them equal).
TERM_ENTITIES: dict[str, tuple[str, ...]] = {
    "complaint_category": ("damage", "quality", "lateness", "attitude", "safety", "billing", "other"),
    "remedy": ("apology", "rework", "refund", "compensation"),
}
_NEGATED = re.compile(r"(?:不用|不要|不需要|无需|没必要|用不着|不必|别|no|not|don't|dont|without|never)\s*$")


class TermMatcher:
    """Longest match of one entity's words; values through the synonyms."""

    def __init__(self, entity: str, values: tuple[str, ...], data: TrainingData) -> None:
        self.entity = entity
        terms: dict[str, str] = {}
        for surface, value in data.synonyms.items():
            if value in values:
                terms[surface] = value
        for ex in data.examples:
            for e in ex.entities:
                if e["entity"] == entity and e["value"] in values:
                    terms.setdefault(ex.text[e["start"]:e["end"]].lower(), e["value"])
        for term in data.lookups.get(entity, []):
            value = data.synonyms.get(term.lower())
            if value in values:
                terms.setdefault(term.lower(), value)
        # One Chinese character is too little to go on (脏 in 心脏); such words live in the cues.
        self.terms = {n: v for t, v in terms.items() if (n := normalize(t).text) and (n.isascii() or len(n) > 1)}
        self._rx = _trie_regex(self.terms)

    def __getstate__(self) -> dict[str, Any]:
        return {"entity": self.entity, "terms": self.terms}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rx = _trie_regex(self.terms)

    def __call__(self, text: str) -> list[dict[str, Any]]:
        if self._rx is None:
            return []
        return [{"entity": self.entity, "start": m.start(), "end": m.end(), "value": self.terms[m[0]]}
                for m in finditer(self._rx, text) if not _NEGATED.search(text[max(0, m.start() - 12):m.start()])]


def matchers(data: TrainingData) -> tuple[TermMatcher, ...]:
    return tuple(TermMatcher(entity, values, data) for entity, values in TERM_ENTITIES.items())


def find_terms(text: str, matchers: tuple[TermMatcher, ...]) -> list[dict[str, Any]]:
    """Every matcher's entities in normalised ``text``, in text order. They overlap other kinds
    freely ("late" is a category, "today" in "late today" a time) and stay out of the classifier's
    placeholders: their words are what tells a complaint apart."""
    return sorted((e for m in matchers for e in m(text)), key=lambda e: (e["start"], e["entity"]))
