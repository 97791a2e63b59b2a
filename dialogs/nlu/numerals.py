"""Numbers written in Arabic digits, Chinese numerals (一百二十, 两千五, 十二) or English words."""

from __future__ import annotations

import re

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9, "幺": 1}
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
EN_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "half": 0.5, "a": 1, "an": 1,
}

# A number token as it appears in normalised text (digits with an optional decimal, or Chinese).
NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万幺]+)"
NUM_RE = re.compile(NUM)


def cn_int(s: str) -> int | None:
    """一百二十 → 120, 两千五 → 2500, 十二 → 12, 二零二六 → 2026; None if not a Chinese numeral."""
    if not s or any(c not in CN_DIGITS and c not in CN_UNITS for c in s):
        return None
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
    """Digits, Chinese numerals or a small English number word → number."""
    s = s.strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    if s in EN_WORDS:
        return float(EN_WORDS[s])
    v = cn_int(s)
    return float(v) if v is not None else None


def as_int_if_whole(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x
