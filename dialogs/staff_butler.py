"""Butler on the staff desk (issue 12): this desk's commands and buttons, None for the rest."""

from __future__ import annotations

from typing import Any

from backend.api import Backend
from backend.services.people import Person
from dialogs.notify import Notifier


class ButlerStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the message is this desk's, else None (StaffDesk goes on)."""
        return None
