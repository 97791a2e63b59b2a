"""A client joins two channels: "绑定" / "link" on one gives a one-time code, "绑定 12345678" / "link 12345678"
on the other joins that chat to the same client (backend/services/linking.py). Handled before the NLU:
these are commands, not something to classify."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any

from backend.api import Backend
from backend.services import DomainError
from dialogs.notify import Notifier
from dialogs.threads import hop

_ASK = re.compile(r"^\s*(?:/link|[绑綁]定(?:微信|账号|賬號|帳號|账户|帳戶)?|link(?:\s+my)?(?:\s+(?:wechat|account))?)"
                  r"\s*[。.!！]?\s*$", re.IGNORECASE)
_CODE = re.compile(r"^\s*(?:/link|[绑綁]定(?:微信|账号|賬號|帳號)?|link)\s*[:：]?\s*(\d{8})\s*$", re.IGNORECASE)
# Wrong codes allowed per chat and, since new chats cost an attacker nothing, across all chats (per
# process) per hour: with 10⁸ codes and a few alive for 15 minutes, guessing one is hopeless.
MAX_TRIES, MAX_TRIES_ALL, WINDOW = 5, 100, 3600.0
_ALL = "*"


class Linking:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.notifier = backend, notifier
        self._wrong: OrderedDict[str, list[float]] = OrderedDict()

    async def handle(self, channel: str, sender_id: str, text: str, person: Any) -> list[dict[str, Any]] | None:
        """The replies when ``text`` is a link command, else None (the dialogue reads it)."""
        if len(text) > 40:
            return None
        if _ASK.match(text):
            code = await hop(self.be.link_code, person.id)
            return [self.notifier.text("link_code_given", person.lang, code=code)]
        m = _CODE.match(text)
        if m is None:
            return None
        key = f"{channel}:{sender_id}"
        if not self._may_try(key):
            return [self.notifier.text("link_too_many", person.lang)]
        try:
            joined = await hop(self.be.link_identity, m[1], channel, sender_id)
        except DomainError as e:
            if e.code == "link_has_bookings":
                return [self.notifier.text("link_has_bookings", person.lang)]
            raise
        if joined is None:
            for k in (key, _ALL):
                self._wrong.setdefault(k, []).append(time.monotonic())
            return [self.notifier.text("link_invalid", person.lang)]
        await hop(self.be.seen, channel, sender_id)  # reminders follow the client here now
        return [self.notifier.text("link_done", joined.lang)]

    def _may_try(self, key: str) -> bool:
        return self._recent(key) < MAX_TRIES and self._recent(_ALL) < MAX_TRIES_ALL

    def _recent(self, key: str) -> int:
        now = time.monotonic()
        tries = [t for t in self._wrong.get(key, []) if t > now - WINDOW]
        self._wrong[key] = tries
        self._wrong.move_to_end(key)
        while len(self._wrong) > 10_000:
            self._wrong.popitem(last=False)
        return len(tries)
