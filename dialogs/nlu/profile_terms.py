"""Profile items (客户档案) read out of what a client writes: "我家有猫，希望阿姨不要用消毒水" →
[{"kind": "pet", "code": "cat", "text": "我家有猫"}, {"kind": "product_avoid", "code": "no_disinfectant",
"text": "希望阿姨不要用消毒水"}].

Coded terms come from the profile vocabulary (``config/profile.yaml``); the words that signal each
code are in ``nlu_data/profile_terms.yml`` (zh, zh-Hant through normalisation, en):
``profile:<code>`` words mean the code unless negated ("我家没有猫"), ``profile_not:<code>`` words
only when negated ("别用84", "no bleach", "消毒水不要用"). A lasting preference the vocabulary has no
code for becomes kind ``habit`` (an instruction: "擦的时候别挪位置") or ``note`` (a fact: "家里供佛像"),
or a kind the words make plain (an allergy, a diet, a language, the home, how to address the client),
always with the client's own clause as ``text`` (≤ 120 characters). One-off details of a single visit
("明天下午来") and questions are not profile items.

``needs_plan(text)`` tells a request that needs a plan or a quote (a villa butler, a weekly deep-clean
plan, care for a bedridden parent): those become a custom request, not profile items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from config import yamlfile
from dialogs.nlu.normalize import normalize

ROOT = Path(__file__).resolve().parents[2]
LEXICON = ROOT / "nlu_data" / "profile_terms.yml"
VOCABULARY = ROOT / "config" / "profile.yaml"
MAX_TEXT = 120

# Negation that makes a `profile:` word false ("没有猫", "no pets", "don't have a dog").
_ABSENT = re.compile(r"(?:没有|没养|不养|没|无|冇|未养|唔养)[^，,。]{0,2}$|(?<![a-z])(?:no|without|"
                     r"don't have|do not have|doesn't have|does not have|haven't got|not have|never had)"
                     r"(?:\s+(?:a|an|any|the))?\s*$")
# Negation that makes a `profile_not:` word true, before it ("别用84", "don't use any bleach") …
_AVOID_BEFORE = re.compile(
    r"(?:不要|不用|不能|不可以|不准|不得|不许|禁止|别|勿|避免|免用|唔好|唔要|咪|切勿|不想|不喜欢|受不了|讨厌|拒绝|对)"
    r"[^，,。!！?？]{0,8}$|(?<![a-z])(?:no|don't|do not|dont|never|avoid|without|not|nothing with|instead of|"
    r"free of|stay away from|skip|allergic to|hate|can't stand|cannot stand|no more)(?:\W+[a-z]+){0,3}\W*$")
# … or after it ("消毒水不要用", "bleach is not allowed", "对消毒水过敏").
_AVOID_AFTER = re.compile(r"^[^，,。!！?？]{0,6}?(?:不要|不用|别|不能|禁止|勿|免了|过敏|敏感|受不了|唔好|不行)|"
                          r"^\W*(?:is|are)?\s*(?:not allowed|off limits|a no|banned|forbidden)")
_ALLERGY = re.compile(r"过敏|敏感|(?<![a-z])allerg")
_DIET = re.compile(r"不吃|忌口|吃不了|口味|清淡|少油|少盐|少糖|不放辣|不吃辣|无糖|食物|饮食|做饭|煮饭|"
                   r"(?<![a-z])(?:don't eat|doesn't eat|do not eat|no spicy|diet|low[- ](?:salt|sugar|fat)|gluten|"
                   r"lactose|meals?|cook)")
_LANGUAGE = re.compile(r"粤语|广东话|白话|上海话|四川话|普通话|方言|闽南语|客家话|(?<![a-z])(?:cantonese|mandarin|"
                       r"putonghua|shanghainese|tagalog|indonesian)")
_HOUSEHOLD = re.compile(r"\d+\s*(?:平|平米|平方|m2|sqm|square)|[一二两三四五六七八九十\d]\s*(?:室|房|厅|层|楼|卫)|复式|"
                        r"别墅|电梯|楼梯|顶楼|(?<![a-z])(?:bedroom|floors?|storey|duplex|stairs|lift|elevator|flat|"
                        r"apartment|house)(?![a-z])")
_ADDRESS_AS = re.compile(r"(?:叫我|称呼我(?:为)?|喊我|(?<![a-z])call me|address me as|refer to me as)\s*"
                         r"(?P<name>[^，,。!！?？]{1,20})")
_DIRECTIVE = re.compile(r"请|要|别|不要|不用|不能|记得|每次|总是|一直|务必|一定|千万|麻烦|以后|下次|先|只|勿|唔好|记住|"
                        r"(?<![a-z])(?:always|never|please|don't|do not|make sure|must|every time|each time|"
                        r"remember|before|after|only|keep|avoid|no)(?![a-z])")
_FACT = re.compile(r"家里|我家|我们家|家中|屋里|屋企|我哋|家有|有个|养了|住着|住在|(?<![a-z])(?:we have|we've got|"
                   r"there is|there's|there are|at home|our|my|lives with|living with)(?![a-z])")
# A single visit's details are for that booking, not the profile.
_ONE_OFF = re.compile(r"明天|今天|后天|今晚|明早|这次|这回|这周|本周|下周|下星期|今个|听日|(?<![a-z])(?:tomorrow|"
                      r"today|tonight|this time|this week|next week|on (?:mon|tues|wednes|thurs|fri|satur|sun)day)"
                      r"(?![a-z])")
_LASTING = re.compile(r"每次|以后|一直|总是|长期|平时|(?<![a-z])(?:always|every time|from now on|in future|usually)")
_QUESTION = re.compile(r"[吗嘛?？]\s*$|能不能|可不可以|有没有|是否|"
                       r"(?<![a-z])(?:can you|could you|do you|is it|are there)")
_SENTENCE = re.compile(r"[^。！？!?;；\n]+")
_CLAUSE = re.compile(r"[^，,、]+")
_LEAD = re.compile(r"^(?:\s|另外|还有|而且|以及|然后|同时|也|and|also|plus|btw|by the way|oh)+[\s:：,，]*", re.I)


@dataclass(frozen=True)
class _Cue:
    code: str
    negated: bool  # the word counts only when negated (profile_not:)


@lru_cache(maxsize=4)
def _lexicon(path: Path = LEXICON) -> tuple[dict[str, _Cue], re.Pattern[str] | None, re.Pattern[str] | None]:
    doc = yamlfile.read(path) or {}
    cues: dict[str, _Cue] = {}
    plan: list[str] = []
    for item in doc.get("nlu") or []:
        name = str(item.get("lookup", ""))
        words = [line[2:].strip() for line in str(item.get("examples", "")).splitlines() if line.startswith("- ")]
        words = [n for w in words if (n := normalize(w).text)]
        if name == "profile_plan":
            plan.extend(words)
        elif name.startswith(("profile:", "profile_not:")):
            kind, _, code = name.partition(":")
            for w in words:
                cues.setdefault(w, _Cue(code, kind == "profile_not"))
    return cues, _regex(cues), _regex(plan)


def _regex(words: Any) -> re.Pattern[str] | None:
    parts = []
    for w in sorted(set(words), key=len, reverse=True):
        e = re.escape(w).replace(r"\ ", r"\s+")
        if w.isascii() and w[:1].isalnum():
            tail = r"(?:s|es)?(?![a-z0-9])" if w[-1:].isalpha() else r"(?![0-9])"
            parts.append(rf"(?<![a-z0-9]){e}{tail}")
        else:
            parts.append(e)
    return re.compile("|".join(parts)) if parts else None


@lru_cache(maxsize=4)
def _vocabulary(path: Path = VOCABULARY) -> dict[str, str]:
    """code → kind, from the profile vocabulary."""
    doc = yamlfile.read(path) or {}
    return {str(code): str(spec.get("kind")) for code, spec in (doc.get("terms") or {}).items()}


def _codes(clause: str, vocabulary: dict[str, str]) -> tuple[list[str], bool]:
    """The codes a clause states, in order (normalised text), and whether it denied one ("没有猫")."""
    cues, rx, _ = _lexicon()
    if rx is None:
        return [], False
    denied = False
    allergic = bool(_ALLERGY.search(clause))
    out: list[str] = []
    for m in rx.finditer(clause):
        cue = cues.get(m[0]) or cues.get(re.sub(r"\s+", " ", m[0])) or _plural(m[0], cues)
        if cue is None or cue.code not in vocabulary:
            continue
        before, after = clause[:m.start()], clause[m.end():]
        if cue.negated:
            if not (_AVOID_BEFORE.search(before) or _AVOID_AFTER.search(after)):
                continue
        else:
            if _ABSENT.search(before):
                denied = True
                continue
            # "我对猫过敏" is an allergy to cats, not a cat in the home.
            if allergic and vocabulary[cue.code] == "pet":
                continue
        if cue.code not in out:
            out.append(cue.code)
    return out, denied


def _plural(word: str, cues: dict[str, _Cue]) -> _Cue | None:
    for suffix in ("es", "s"):
        if word.endswith(suffix) and (c := cues.get(word[: -len(suffix)])):
            return c
    return None


def _clean(s: str) -> str:
    s = _LEAD.sub("", s.strip()).strip(" \t,，。.;；:：!！~")
    return s[:MAX_TEXT].rstrip()


def _uncoded_kind(norm: str, has_codes: bool, codes_kinds: set[str]) -> str | None:
    """The kind of a lasting preference the vocabulary has no code for, or None (not a preference)."""
    if _QUESTION.search(norm) or (_ONE_OFF.search(norm) and not _LASTING.search(norm)):
        return None
    if (m := _ADDRESS_AS.search(norm)) and m["name"].strip():
        return "address_as"
    if _ALLERGY.search(norm) and not codes_kinds & {"allergy", "product_avoid"}:
        return "allergy"
    if has_codes:
        return None
    if _LANGUAGE.search(norm):
        return "language"
    if _DIET.search(norm) and re.search(r"不|少|无|忌|别|(?<![a-z])(?:no|don't|doesn't|low|free|only)(?![a-z])", norm):
        return "diet"
    if _DIRECTIVE.search(norm):
        return "habit"
    if _HOUSEHOLD.search(norm):
        return "household"
    if _FACT.search(norm):
        return "note"
    return None


def profile_items(text: str, vocabulary: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Profile items stated in ``text``: [{"kind", "code" (None when uncoded), "text"}], in text order,
    one per code. ``vocabulary`` (code → kind) defaults to ``config/profile.yaml``'s."""
    if not isinstance(text, str) or not text.strip():
        return []
    vocab = vocabulary if vocabulary is not None else _vocabulary()
    items: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for sm in _SENTENCE.finditer(text[:2000]):
        clauses = [c for m in _CLAUSE.finditer(sm[0]) if (c := _clean(m[0]))]
        context: list[str] = []  # clauses that only set the scene ("kids sleep till 9") for the next item
        last: dict[str, Any] | None = None
        for clause in clauses:
            norm = normalize(clause).text
            codes, denied = _codes(norm, vocab)
            if codes:
                words = _clean("，".join([*context, clause]) if not clause.isascii() else ", ".join([*context, clause]))
                context = []
                for code in codes:
                    if code in by_code:  # said twice ("kids sleep till 9, no noise before that"): one item
                        prev = by_code[code]
                        if clause not in prev["text"]:
                            sep = ", " if clause.isascii() else "，"
                            prev["text"] = _clean(prev["text"] + sep + clause)
                        continue
                    item = {"kind": vocab[code], "code": code, "text": words}
                    by_code[code] = item
                    items.append(item)
                    last = item
            # "我家没有猫" says what is not there: nothing to keep.
            kind = None if denied and not codes else _uncoded_kind(norm, bool(codes), {vocab[c] for c in codes})
            if kind == "address_as":
                m = _ADDRESS_AS.search(clause.lower())
                name = clause[m.start("name"):m.end("name")].strip() if m else clause
                name = re.sub(r"(?:就好|就行|就可以|就得|吧|好了|thanks?|please)+$", "", name, flags=re.I).strip()
                items.append({"kind": "address_as", "code": None, "text": _clean(name)})
            elif kind:
                last = {"kind": kind, "code": None, "text": _clean("，".join([*context, clause]))}
                context = []
                items.append(last)
            elif not codes:
                # Scene-setting without an instruction: kept with the next item, or the last one.
                context.append(clause)
        if context and last is not None and not _QUESTION.search(normalize(context[-1]).text):
            sep = ", " if last["text"].isascii() else "，"
            last["text"] = _clean(sep.join([last["text"], *context]))
    return items


def needs_plan(text: str) -> bool:
    """Does ``text`` ask for something that needs a plan or a quote (a custom request)?"""
    if not isinstance(text, str) or not text.strip():
        return False
    _, _, rx = _lexicon()
    norm = normalize(text[:2000]).text
    if rx is None:
        return False
    declined = re.compile(r"(?:不需要|不用|不要|没有|no|don't need)\s*$")
    return any(not declined.search(norm[:m.start()]) for m in rx.finditer(norm))
