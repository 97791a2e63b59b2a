"""The contract between channels and the intent layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IncomingFile:
    """A file that came with a message, already fetched from the platform (its ids expire or are per bot)."""

    content_type: str  # as the platform declared it; the backend sniffs the bytes and trusts those
    data: bytes = field(repr=False)
    filename: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    channel: str  # rest | telegram | wechat | shell
    sender_id: str  # the platform's id for the person
    text: str  # what they typed, or a button payload such as /affirm
    message_id: str | None = None  # platform message id, for dropping duplicate deliveries
    lang_hint: str | None = None  # e.g. Telegram's language_code
    contact_phone: str | None = None  # a shared contact, never packed into the text
    # Request/response channels (REST): a duplicate id is the client retrying because it lost the answer,
    # so it gets the stored answer again. Push channels leave it False: their answer was already sent.
    answer_duplicates: bool = False
    # A platform request waits for this turn against a deadline and answers on its own when the turn is late
    # (WeChat's 5 s): the turn runs on a thread of its own, so the request's loop is free to answer.
    raced: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    # Photos and documents; the desk stores them before the turn and hands the engine their ids
    # (metadata["attachment_ids"]). A channel that refused a file unfetched says why in
    # metadata["attachment_refused"] ("too_large" | "type").
    attachments: tuple[IncomingFile, ...] = ()


def reply(text: str, buttons: list[dict[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"text": text}
    if buttons:
        out["buttons"] = buttons
    return out
