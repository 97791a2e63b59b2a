"""One rule for digits and typed button words on every text channel (REST, the shell, later WeChat).

* A question that expects a number (hours, area, a rating, a count) shows its buttons as their values,
  not numbered, and a bare number is the answer: "3" to "how many hours" is 3 hours. A reply is such
  a question when the engine marked it (``answer: number``, from the slot the form asks: see
  dialogs/domain.d/times.yml) or when every button's title is itself a number (a 1–5 rating).
* Any other question with buttons is a choice (which booking, which slot, confirm or cancel): its
  options are numbered from 1 across the replies of one turn, and a digit picks one.
* A typed word equal to a button's title (确认, 確認, Confirm, 取消) acts as that button only while the
  button is on offer; otherwise it is read by the NLU as usual.

The channel shows buttons with :func:`numbered` / :func:`is_number_question`; the engine remembers
what was offered (:func:`offer_of`) and maps a typed message back with :func:`press`.
"""

from __future__ import annotations

import re
from typing import Any

from dialogs.nlu.normalize import normalize

NUMBER = "number"
_BARE_NUMBER = re.compile(r"^\s*(\d{1,6}(?:\.\d{1,3})?)\s*$")
_TRIM = " .,!?。，！？~～:："


def is_number_question(reply: dict[str, Any]) -> bool:
    """A reply whose buttons are values to answer with, not options to number."""
    if reply.get("answer") == NUMBER:
        return True
    titles = [str(b.get("title", "")) for b in reply.get("buttons") or []]
    return bool(titles) and all(_BARE_NUMBER.match(t) for t in titles)


def numbered(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons a typed digit picks, in the order shown: those of the choices among ``replies``."""
    return [b for r in replies if not is_number_question(r) for b in r.get("buttons") or []]


def offer_of(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """What one turn put on offer, as the tracker keeps it until the next turn's replies."""
    return {"buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                        for r in replies for b in r.get("buttons") or []],
            "numbered": [b.get("payload", "") for b in numbered(replies)],
            "number": any(is_number_question(r) for r in replies)}


def bare_number(text: str) -> float | None:
    """"3", " 2.5 ": a number and nothing else (no unit, no word)."""
    m = _BARE_NUMBER.match(text)
    return float(m[1]) if m else None


def _key(text: str) -> str:
    return normalize(text).text.strip(_TRIM)


def press(text: str, offer: dict[str, Any] | None) -> str | None:
    """The payload a typed message stands for under the last offer, or None (the NLU reads it).

    A digit picks a numbered option unless a number is asked (then it is the answer); a word picks the
    one button with that title (compared after normalising: 確認 = 确认, CONFIRM = confirm)."""
    if not offer or not text or text.startswith("/"):
        return None
    if bare_number(text) is not None:
        if offer.get("number") or not text.strip().isdigit():
            return None
        n, choices = int(text), offer.get("numbered") or []
        return choices[n - 1] if 1 <= n <= len(choices) else None
    key = _key(text)
    if not key:
        return None
    hits = {b["payload"] for b in offer.get("buttons") or [] if _key(str(b.get("title", ""))) == key}
    return hits.pop() if len(hits) == 1 else None
