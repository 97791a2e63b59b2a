"""Duration (hours), area (m²), mainland mobile phone and 1–5 rating, from normalised text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dialogs.nlu.numerals import NUM, as_int_if_whole, finditer, negative_before, to_number

_EN_NUM = r"(?:\d{1,6}(?:\.\d{1,3})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an)"

DURATION = [
    re.compile(rf"(?P<n>{NUM})\s*(?:个)?\s*(?P<half>半)?\s*(?:个)?\s*(?:小时|钟头|小时工)(?!后|以后|之后)"),
    re.compile(r"(?P<halfhour>半)\s*(?:个)?\s*(?:小时|钟头)(?!后|以后|之后)"),
    # Southern colloquial, in Simplified too: "做3个钟", "两个半钟" are hours, "3个钟点工" and "两个钟表" are not.
    re.compile(rf"(?P<n>{NUM})\s*个\s*(?P<half>半)?\s*钟(?!点|表|头|后|以后|之后)"),
    re.compile(r"(?P<halfday>半天|半日|half\s+(?:a\s+)?day)(?!后|以后|之后)"),
    re.compile(r"(?P<fullday>(?:一|1)\s*整天|全天|一天|整天|full\s+day|whole\s+day|all\s+day|a\s+full\s+day)"
               r"(?!后|以后|之后|前)"),
    re.compile(rf"\b(?P<n>{_EN_NUM})(?:\s+and\s+a\s+(?P<half>half))?\s*(?:-\s*)?(?:hours?|hrs?|h)\b"),
    re.compile(r"\b(?P<halfhour>half\s+an?)\s+hour\b"),
]
AREA = [
    re.compile(rf"(?P<n>{NUM})\s*(?:多)?\s*(?:平方米|平米|平方|平|m2|㎡|m²|方)(?!时|安|常|台|板|均|面|便|式|案|法|衡)"),
    re.compile(r"\b(?P<n>\d{1,6}(?:\.\d{1,3})?)\s*(?:sqm|sq\.?\s*m(?:eters?|etres?)?\b|square\s+met(?:er|re)s?|m2\b)"),
    re.compile(r"\b(?P<ft>\d{1,6}(?:\.\d{1,3})?)\s*(?:sq\.?\s*ft|square\s+feet|sqft)\b"),
]
PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(?P<p>1[3-9]\d(?:[\s-]?\d){8})(?!\d)")
RATING = [
    re.compile(rf"(?P<n>{NUM})\s*(?:颗|个)?\s*(?:星|分)(?!钟|之|数|店|期|享|别|析|开|手|类|配|布|级)"),
    re.compile(r"(?P<max>满分|五星好评|好评满分)"),
    re.compile(rf"\b(?P<n>{_EN_NUM})\s*(?:/|out\s+of)\s*5\b"),
    re.compile(rf"\b(?P<n>{_EN_NUM})\s*(?:-\s*)?stars?\b"),
    re.compile(r"\b(?:rate|rating|score|give)[:：]?\s*(?:it|her|him|you|them|the\s+service)?\s*(?:a\s+)?"
               r"(?P<n>[1-5])\b(?!\s*(?:hours?|pm|am|:|点))"),
]

# What every match of each pattern above contains (one of these strings): a pattern is scanned only when the
# text has one, since most messages hold no quantity and each scan costs a pass over the text.
_NEEDS = {
    "duration": (("小时", "钟头"), ("小时", "钟头"), ("钟",), ("半", "half"), ("天", "day"), ("h",), ("hour",)),
    "area": (("平", "m2", "㎡", "m²", "方"), ("sq", "m2"), ("sq",)),
    "rating": (("星", "分"), ("满分", "好评"), ("5",), ("star",), ("rat", "score", "give")),
}
_GATES = {k: tuple(re.compile("|".join(map(re.escape, n))) for n in v) for k, v in _NEEDS.items()}


def _scanned(patterns: list[re.Pattern[str]], kind: str, text: str) -> Iterator[re.Pattern[str]]:
    """The patterns of ``kind`` that may match ``text``."""
    return (rx for rx, gate in zip(patterns, _GATES[kind], strict=True) if gate.search(text))


def _value(m: re.Match[str]) -> float | None:
    n = m.groupdict().get("n")
    return to_number(n) if n is not None else None


def _negative(m: re.Match[str], text: str) -> bool:
    """负三小时, -100 m², minus 3 stars: a signed quantity is no quantity at all."""
    group = next((g for g in ("n", "ft") if m.groupdict().get(g) is not None), None)
    return group is not None and negative_before(text, m.start(group))


def durations(text: str) -> Iterator[dict[str, Any]]:
    for rx in _scanned(DURATION, "duration", text):
        for m in finditer(rx, text):
            g = m.groupdict()
            if _negative(m, text):
                continue
            if g.get("halfhour"):
                hours: float | None = 0.5
            elif g.get("halfday"):
                hours = 4
            elif g.get("fullday"):
                hours = 8
            else:
                hours = _value(m)
                if hours is not None and g.get("half"):
                    hours += 0.5
            if hours is not None and 0 < hours <= 24 * 31:
                yield {"entity": "duration", "start": m.start(), "end": m.end(), "value": as_int_if_whole(hours)}


def areas(text: str) -> Iterator[dict[str, Any]]:
    for rx in _scanned(AREA, "area", text):
        for m in finditer(rx, text):
            if _negative(m, text):
                continue
            if m.groupdict().get("ft"):
                v: float | None = round(float(m["ft"]) * 0.092903, 1)
            else:
                v = _value(m)
            if v is not None and 1 <= v <= 10_000:
                yield {"entity": "area", "start": m.start(), "end": m.end(), "value": as_int_if_whole(v)}


def phones(text: str) -> Iterator[dict[str, Any]]:
    for m in finditer(PHONE, text):
        digits = re.sub(r"\D", "", m["p"])
        yield {"entity": "phone", "start": m.start(), "end": m.end(), "value": digits}


def ratings(text: str) -> Iterator[dict[str, Any]]:
    for rx in _scanned(RATING, "rating", text):
        for m in finditer(rx, text):
            if _negative(m, text):
                continue
            v = 5.0 if m.groupdict().get("max") else _value(m)
            if v is not None and 1 <= v <= 5 and (v * 2).is_integer():
                # "give it a 4": the entity is the number, not the verb phrase
                start = m.start("n") if rx is RATING[-1] else m.start()
                yield {"entity": "rating", "start": start, "end": m.end(), "value": as_int_if_whole(v)}
