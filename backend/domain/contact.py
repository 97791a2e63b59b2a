"""What a client's contact details and a booking's free text may be, whatever path they came by
(dialogue, button payload, action server, REST back end). Pure checks; callers raise DomainError."""

from __future__ import annotations

import re

MOBILE = re.compile(r"1[3-9]\d{9}")  # mainland China mobile numbers
ADDRESS_CHARS = (3, 200)
NOTES_MAX = 500
NAME_CHARS = (1, 50)
_SEPARATORS = re.compile(r"[\s\-()（）]")


def phone(value: str) -> str | None:
    """The 11-digit mobile number (spaces, dashes and a +86 prefix removed), or None if it is not one."""
    digits = _SEPARATORS.sub("", str(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if MOBILE.fullmatch(digits) else None


def _printable(text: str) -> bool:
    return all(c.isprintable() or c in "\n\t" for c in text)


def address(value: str) -> str | None:
    text = str(value).strip()
    lo, hi = ADDRESS_CHARS
    return text if lo <= len(text) <= hi and _printable(text) else None


def notes(value: str) -> str | None:
    text = str(value).strip()
    return text if len(text) <= NOTES_MAX and _printable(text) else None


def name(value: str) -> str | None:
    text = str(value).strip()
    lo, hi = NAME_CHARS
    return text if lo <= len(text) <= hi and _printable(text) else None


def first_name(name: str | None) -> str:
    """What a client is shown of a housekeeper: "Alex Chen" → "Alex"; "赵阿姨" stays; "赵丽华" → "赵阿姨"
    (how clients address a housekeeper, and no full name leaves the company)."""
    name = (name or "").strip()
    if not name:
        return ""
    if " " in name:
        return name.split()[0]
    if name.endswith("阿姨") or not ("\u4e00" <= name[0] <= "\u9fff"):
        return name
    return f"{name[0]}阿姨"
