"""Job applications on the staff desk (issue 10): managers list new ones with /applications and record
what happened with /application N contacted|hired|rejected (or the card's buttons)."""

from __future__ import annotations

from typing import Any

from backend.api import Backend, DomainError
from backend.services.applications import NEW, for_lang
from backend.services.people import Person
from dialogs.notify import Notifier
from dialogs.threads import hop

COMMANDS = ("/applications", "/application")
STATUS_WORDS = {"contacted": "contacted", "hired": "hired", "rejected": "rejected", "已联系": "contacted",
                "联系了": "contacted", "录用": "hired", "已录用": "hired", "拒绝": "rejected", "不录用": "rejected"}
LIST_LIMIT = 20


class ApplicationsStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        if cmd not in COMMANDS and intent != "application_status":
            return None
        if p.kind != "manager":
            return [self.n.text("staff_error_not_manager", lang)]
        if intent == "application_status":
            return await self.update(p, lang, str(args.get("application_id", "")), str(args.get("status", "")))
        if cmd == "/applications":
            items = await hop(self.be.applications)
            if not items:
                return [self.n.text("staff_applications_none", lang)]
            return [self.n.text("staff_applications_list", lang, count=len(items)),
                    *(self.n.render(NEW, for_lang(a, lang), lang) for a in items[:LIST_LIMIT])]
        parts = text.split()
        if len(parts) != 3:
            return [self.n.text("staff_application_usage", lang)]
        return await self.update(p, lang, parts[1], parts[2])

    async def update(self, p: Person, lang: str, ref: str, word: str) -> list[dict[str, Any]]:
        ref, status = ref.lstrip("#"), STATUS_WORDS.get(word.strip().lower())
        if not ref.isdigit() or not 0 < int(ref) < 2**31 or status is None:
            return [self.n.text("staff_application_usage", lang)]
        try:
            a = await hop(self.be.set_application_status, p.id, int(ref), status)
        except DomainError as e:
            if e.code != "application_not_found":
                raise
            return [self.n.text("staff_application_not_found", lang, application_id=ref)]
        return [self.n.text("staff_application_updated", lang, application_id=a["application_id"],
                            client_name=a["client_name"],
                            status_text=self.n.text(f"application_status_{status}", lang)["text"])]
