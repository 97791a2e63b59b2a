"""The day of the job for housekeepers: /jobs with the current job's buttons (已到达, 已完成, 晚到, 紧急情况),
"我堵车了，晚到20分钟", "去不了" (issue 10)."""

from __future__ import annotations

from typing import Any

from backend.api import Backend
from backend.services.people import Person
from dialogs.notify import Notifier


class JobsStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        return None
