"""Replies as WeChat text: a passive reply or a customer-service text has no keyboard, so buttons become
lines the client answers with a digit or the words (dialogs/choices.py, shared with the shell and REST)."""

from __future__ import annotations

from typing import Any

from dialogs import choices


def as_text(replies: list[dict[str, Any]]) -> str:
    """One message for a turn's replies (WeChat's passive reply is a single message): a choice's buttons
    numbered across the replies, a number question's values listed to type."""
    parts: list[str] = []
    n = 0
    for r in replies:
        lines = [str(r.get("text") or "").strip()]
        buttons = r.get("buttons") or []
        if buttons and choices.is_number_question(r):
            lines.append(" · ".join(str(b.get("title", "")) for b in buttons))
        else:
            for b in buttons:
                n += 1
                lines.append(f"{n}. {b.get('title', '')}")
        parts.append("\n".join(x for x in lines if x))
    return "\n\n".join(p for p in parts if p)


def menu_items(reply: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons a menu message (msgmenu) can carry: a choice's, never a number question's values."""
    if choices.is_number_question(reply):
        return []
    return [b for b in reply.get("buttons") or [] if b.get("title") and b.get("payload")]
