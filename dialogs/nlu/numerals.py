"""Numbers written in Arabic digits, Chinese numerals (一百二十, 两千五, 十二) or English words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9, "幺": 1}
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
EN_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "half": 0.5, "a": 1, "an": 1,
}
# A chat message names a handful of entities; reading at most this many matches of each pattern keeps
# a pasted wall of "明天明天明天…" or of phone numbers as fast as a normal message.
MAX_MATCHES = 16


def finditer(rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The first ``MAX_MATCHES`` matches of ``rx`` in ``text``."""
    return islice(rx.finditer(text), MAX_MATCHES)


_CN = "零〇一二两三四五六七八九十百千万幺"
# A number token as it appears in normalised text (digits with an optional decimal, or Chinese).
# Bounded and anchored at the start of its run: a pattern that begins with an unbounded number
# would rescan a 2,000-digit run from every position in it (quadratic), and a number that long is
# no quantity anyway. No quantity we read needs more than 6 digits or 8 Chinese numerals.
NUM = rf"(?:(?<!\d)(?<!\d\.)\d{{1,6}}(?:\.\d{{1,3}})?(?!\d)|(?<![{_CN}])[{_CN}]{{1,8}}(?![{_CN}]))"
NUM_RE = re.compile(NUM)
# Said right before a number, these make it negative (负一百平米, -100 m², minus 3 hours): a
# quantity must then be left out, never read as the positive number.
NEGATIVE = re.compile(r"(?:(?:负|minus|negative)\s?|[-−])$")  # "- 3小时" is a list bullet
_RANGE_DASH = re.compile(r"[\d零〇一二两三四五六七八九十百千万a-z]\s?[-−]$")


def negative_before(text: str, start: int) -> bool:
    """Is the number starting at ``start`` signed negative? A dash between two numbers (2-3小时,
    100-120平) is a range, not a sign."""
    head = text[max(0, start - 10):start]
    return NEGATIVE.search(head) is not None and _RANGE_DASH.search(head) is None


def cn_int(s: str) -> int | None:
    """一百二十 → 120, 两千五 → 2500, 十二 → 12, 二零二六 → 2026; None if not a Chinese numeral."""
    if not s or len(s) > 24 or any(c not in CN_DIGITS and c not in CN_UNITS for c in s):
        return None  # longer than any number a client writes: not a quantity
    if all(c in CN_DIGITS for c in s):  # digit by digit: 二零二六
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total, section, digit, last_unit, zero_seen = 0, 0, None, 1, False
    for c in s:
        if c in CN_DIGITS:
            zero_seen = zero_seen or CN_DIGITS[c] == 0
            digit = CN_DIGITS[c]
        else:
            unit = CN_UNITS[c]
            if unit == 10_000:
                total += (section + (digit or 0)) * unit
                section, digit, last_unit, zero_seen = 0, None, unit, False
                continue
            section += (1 if digit is None else digit) * unit
            digit, last_unit, zero_seen = None, unit, False
    if digit is not None:
        # 两千五 is 2500 and 一万二 is 12000: a digit right after a unit counts one unit lower,
        # unless a 零 stands between them (一百零五 is 105).
        section += digit * (last_unit // 10 if last_unit >= 100 and not zero_seen else 1)
    return total + section


def to_number(s: str) -> float | None:
    """Digits, Chinese numerals or a small English number word → a finite number, else None."""
    s = s.strip()
    if not s or len(s) > 24:
        return None
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        return v if v == v and abs(v) != float("inf") else None  # "nan", "inf" are words, not numbers
    if s in EN_WORDS:
        return float(EN_WORDS[s])
    n = cn_int(s)
    return float(n) if n is not None else None


def as_int_if_whole(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x
