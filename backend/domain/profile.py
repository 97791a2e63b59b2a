"""The client profile (客户档案): what kinds of facts it holds, the coded vocabulary from
``config/profile.yaml``, and what a profile demands of a housekeeper.

A profile item is a *kind* (pet, product_avoid …), an optional *code* from the vocabulary ("cat",
"no_disinfectant": our own words in both languages, safe to show on an offer card) and the client's own
words (personal: encrypted, shown only once a housekeeper has accepted the job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# address_as: how to address the client (王女士); household: home size, rooms, floors, lift; at_home:
# who is at home (elderly, a baby); habit: standing instructions (shoes off, quiet mornings).
KINDS = ("address_as", "household", "pet", "allergy", "product_use", "product_avoid", "diet", "religion",
         "at_home", "habit", "language", "note")
SOURCES = ("chat", "booking", "survey", "manager")


@dataclass(frozen=True)
class Term:
    code: str
    kind: str
    labels: dict[str, str]           # zh, en
    needs: str | None = None         # what a housekeeper must have: "pets_ok", "lang:en", or an attribute
    offer: bool = True               # shown on the offer card (before acceptance) as our own words

    def label(self, lang: str) -> str:
        return self.labels.get("en" if lang == "en" else "zh") or self.code


@dataclass(frozen=True)
class Vocabulary:
    terms: dict[str, Term] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Vocabulary:
        terms = {}
        for code, spec in (raw.get("terms") or {}).items():
            if not isinstance(spec, dict):
                raise ValueError(f"terms.{code}: expected a mapping")
            kind = spec.get("kind")
            if kind not in KINDS:
                raise ValueError(f"terms.{code}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
            labels = {k: str(spec[k]) for k in ("zh", "en") if spec.get(k)}
            if set(labels) != {"zh", "en"}:
                raise ValueError(f"terms.{code}: needs both a zh and an en label")
            terms[str(code)] = Term(str(code), kind, labels, spec.get("needs"), bool(spec.get("offer", True)))
        return cls(terms)

    def term(self, code: str | None) -> Term | None:
        return self.terms.get(code) if code else None

    def needs(self, codes: list[str | None]) -> frozenset[str]:
        """The hard requirements a set of profile codes puts on the housekeeper."""
        return frozenset(t.needs for c in codes if (t := self.term(c)) is not None and t.needs)


def unmet(needs: frozenset[str], pets_ok: bool, languages: frozenset[str], attributes: frozenset[str]) -> str | None:
    """The first requirement a housekeeper does not meet ("pets", "language:en", or the attribute), or None."""
    for need in sorted(needs):
        if need == "pets_ok":
            if not pets_ok:
                return "pets"
        elif need.startswith("lang:"):
            if need[5:] not in languages:
                return f"language:{need[5:]}"
        elif need not in attributes:
            return need
    return None
