"""Leave and working hours on the staff desk (issue 10): a housekeeper types "下周三请假" or "我周末不接单",
the request waits for a manager; managers decide with the card's 批准/拒绝 buttons or list what waits with
/requests. Parsing lives in dialogs.staff_requests_parse; the backend stores, decides and notifies."""

from __future__ import annotations

from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from backend.services.staff_requests import CARD, for_lang
from dialogs import staff_requests_parse as parse
from dialogs.notify import Notifier
from dialogs.threads import hop

DECISIONS = {"approve_staff_request": True, "reject_staff_request": False}
LIST_LIMIT = 20


class StaffRequestsDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the message is this desk's, else None (StaffDesk goes on)."""
        if intent in DECISIONS or cmd == "/requests":
            if p.kind != "manager":
                return [self.n.text("staff_error_not_manager", lang)]
            if cmd == "/requests":
                return await self.waiting(lang)
            return await self.decide(p, lang, int(args["request_id"]), DECISIONS[intent])
        if p.kind != "housekeeper" or intent or cmd.startswith("/") or not text.strip():
            return None
        kind = parse.kind_of(text)
        if kind == "leave":
            return await self.leave(p, lang, text)
        if kind == "hours":
            return await self.hours(p, lang, text)
        return None

    # --- the housekeeper ---------------------------------------------------------------------------
    async def leave(self, p: Person, lang: str, text: str) -> list[dict[str, Any]]:
        period = parse.leave_period(text, self.be.ctx.clock.now().astimezone(self.be.ctx.tz))
        if period is None:
            return [self.n.text("staff_leave_ask_dates", lang)]
        try:
            r = await hop(self.be.request_leave, p.id, period[0], period[1], text)
        except DomainError as e:
            if e.code != "invalid_period":
                raise
            return [self.n.text("staff_leave_invalid", lang)]
        return [self.n.text("staff_request_sent", lang, **for_lang(r, lang))]

    async def hours(self, p: Person, lang: str, text: str) -> list[dict[str, Any]]:
        change = parse.hours_change(text)
        if change is None:
            return [self.n.text("staff_hours_ask", lang)]
        try:
            r = await hop(self.be.request_hours, p.id, change.mode, list(change.days),
                                        change.start, change.end, text)
        except DomainError as e:
            if e.code == "same_hours":
                return [self.n.text("staff_hours_same", lang)]
            if e.code in ("no_days", "invalid_hours"):
                return [self.n.text("staff_hours_ask", lang)]
            raise
        return [self.n.text("staff_request_sent", lang, **for_lang(r, lang))]

    # --- managers ----------------------------------------------------------------------------------
    async def decide(self, p: Person, lang: str, request_id: int, approve: bool) -> list[dict[str, Any]]:
        try:
            r = await hop(self.be.decide_staff_request, p.id, request_id, approve)
        except DomainError as e:
            if e.code == "request_decided":
                return [self.n.text("staff_request_already", lang, request_id=request_id)]
            if e.code == "request_not_found":
                return [self.n.text("staff_request_not_found", lang, request_id=request_id)]
            raise
        decision = {"decision_zh": "已批准" if approve else "已拒绝",
                    "decision_en": "approved" if approve else "rejected"}
        return [self.n.text("staff_request_done", lang, **for_lang({**r, **decision}, lang))]

    async def waiting(self, lang: str) -> list[dict[str, Any]]:
        items = await hop(self.be.pending_staff_requests)
        if not items:
            return [self.n.text("staff_requests_none", lang)]
        return [self.n.text("staff_requests_list", lang, count=len(items)),
                *(self.n.render(CARD, for_lang(r, lang), lang) for r in items[:LIST_LIMIT])]
