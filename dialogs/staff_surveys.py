"""Surveys and ratings for staff: a housekeeper's /me, managers' /ratings and /surveys."""

from __future__ import annotations

from typing import Any

from backend.api import Backend
from backend.services.people import Person
from dialogs.notify import Notifier


class SurveyStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        return None
