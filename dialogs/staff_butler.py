"""Butler on the staff desk (issue 12): the butler's 已到场 / 发方案 / 已完成 buttons, "/plan N text" (or her
next text after tapping 发方案), /butler (her open requests); managers /butler_requests (the open ones with
their clocks) and the same buttons and /plan on a butler's behalf. None for the rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from dialogs import staff_requests_parse
from dialogs.cards import payload
from dialogs.notify import Notifier
from dialogs.threads import hop

INTENTS = ("butler_onsite", "butler_plan", "butler_done")
COMMANDS = ("/plan", "/butler", "/butler_requests")
LIST_LIMIT = 10
# refusals with a message of their own (others: the staff desk's generic one)
ERRORS = ("not_your_butler_request", "butler_request_not_found", "butler_plan_missing", "butler_plan_empty",
          "butler_request_closed", "butler_request_cancelled")


class ButlerStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the message is this desk's, else None (StaffDesk goes on)."""
        if p.kind not in ("housekeeper", "manager"):
            return None
        try:
            return await self._handle(p, lang, cmd, intent, args, text)
        except DomainError as e:
            if e.code not in ERRORS:
                raise
            return [self.n.text(f"staff_{e.code}", lang, request_id=args.get("request_id", ""))]

    async def _handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                      text: str) -> list[dict[str, Any]] | None:
        call = hop
        if intent in INTENTS:
            rid = int(args["request_id"])
            if intent == "butler_onsite":
                r = await call(self.be.butler_onsite, p.kind, p.id, rid)
                return [self.n.text("staff_butler_onsite", lang, request_id=r["id"],
                                    plan_due=self._time(r["plan_due_at"], lang)) | self._buttons(r, lang)]
            if intent == "butler_plan":
                if p.kind != "housekeeper":
                    return [self.n.text("staff_butler_plan_usage", lang, request_id=rid)]
                r = await call(self.be.butler_prompt_plan, p.id, rid)
                return [self.n.text("staff_butler_plan_prompt", lang, request_id=r["id"],
                                    minutes=self.be.ctx.butler.plan_reply_minutes)]
            r = await call(self.be.butler_close, p.kind, p.id, rid)
            return [self.n.text("staff_butler_done", lang, request_id=r["id"])]
        if cmd == "/plan":
            parts = text.strip().split(maxsplit=2)
            if len(parts) < 3 or not parts[1].lstrip("#").isdigit():
                return [self.n.text("staff_butler_plan_usage", lang, request_id="N")]
            args["request_id"] = int(parts[1].lstrip("#"))  # named in a refusal
            return await self._plan(p, lang, args["request_id"], parts[2])
        if cmd == "/butler" and p.kind == "housekeeper":
            return await self._mine(p, lang)
        if cmd == "/butler_requests":
            if p.kind != "manager":
                return [self.n.text("staff_error_not_manager", lang)]
            return await self._all(p, lang)
        if p.kind == "housekeeper" and not intent and not cmd.startswith("/") and text.strip() \
                and staff_requests_parse.kind_of(text) is None:  # "下周三请假" is her leave, never a plan
            waiting = await call(self.be.butler_prompted, p.id)  # she tapped 发方案: this text is the plan
            if waiting is not None:
                return await self._plan(p, lang, waiting["id"], text.strip())
        return None

    async def _plan(self, p: Person, lang: str, rid: int, words: str) -> list[dict[str, Any]]:
        r = await hop(self.be.butler_post_plan, p.kind, p.id, rid, words)
        return [self.n.text("staff_butler_plan_sent", lang, request_id=r["id"]) | self._buttons(r, lang)]

    # --- views ------------------------------------------------------------------------------------------
    def _time(self, iso: str | None, lang: str) -> str:
        return self.n.when(iso, lang, time_only=True) if iso else "-"

    def _clock(self, r: dict[str, Any], lang: str) -> str:
        """Where its clocks stand: what is due next and the minutes left (or past)."""
        now = self.be.now
        if r["onsite_at"] is None:
            due, which = r["onsite_due_at"], "onsite"
        elif r["plan_at"] is None:
            due, which = r["plan_due_at"], "plan"
        else:
            return self.n.text("staff_butler_clock_planned", lang)["text"]
        left = round((datetime.fromisoformat(due) - now).total_seconds() / 60)
        name = f"staff_butler_clock_{which}_{'left' if left >= 0 else 'late'}"
        return self.n.text(name, lang, time=self._time(due, lang), minutes=abs(left))["text"]

    def _buttons(self, r: dict[str, Any], lang: str) -> dict[str, Any]:
        """The buttons valid now: 已到场 until on site, 发方案 until closed, 已完成 once a plan is out."""
        out = []
        if r["onsite_at"] is None:
            out.append(("onsite", "butler_onsite"))
        if r["status"] in ("open", "on_site", "planned"):
            out.append(("plan", "butler_plan"))
        if r["plan_at"] is not None and r["status"] == "planned":
            out.append(("done", "butler_done"))
        return {"buttons": [{"title": self.n.text(f"staff_butler_button_{name}", lang)["text"],
                             "payload": payload(intent, request_id=r["id"])} for name, intent in out]}

    async def _mine(self, p: Person, lang: str) -> list[dict[str, Any]]:
        mine = await hop(self.be.butler_open_requests, p.id)
        if not mine:
            return [self.n.text("staff_butler_none", lang)]
        return [self.n.text("staff_butler_item", lang, request_id=r["id"], text=r["text"],
                            clock=self._clock(r, lang)) | self._buttons(r, lang) for r in mine[:LIST_LIMIT]]

    async def _all(self, p: Person, lang: str) -> list[dict[str, Any]]:
        items = await hop(self.be.butler_open_requests, None, p.id)
        if not items:
            return [self.n.text("staff_butler_none", lang)]
        lines = "\n".join(self.n.text("staff_butler_line", lang, request_id=r["id"], client=r["client_name"] or "",
                                      butler=r["butler"] or "-", text=r["text"][:40], clock=self._clock(r, lang),
                                      case=f" · #{r['case_id']}" if r["case_id"] else "")["text"]
                          for r in items[:20])
        return [self.n.text("staff_butler_requests", lang, count=len(items), lines=lines)]
