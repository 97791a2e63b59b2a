"""Placements on the staff desk (issue 12): a housekeeper answers "are you willing?" (愿意 / 不愿意), ends
her trial (confirmed by a second tap) and lists hers with /placements; managers list the open placements
(/placements) and one placement's candidates of every round with states and reasons (/shortlist N)."""

from __future__ import annotations

from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from dialogs.notify import Notifier
from dialogs.threads import hop

ASK_ERRORS = {"ask_not_found": "staff_placement_ask_gone", "not_your_ask": "staff_placement_ask_gone",
              "ask_expired": "staff_placement_ask_expired", "ask_answered": "staff_placement_ask_answered"}
HOUSEKEEPER_INTENTS = ("placement_willing", "placement_unwilling", "placement_end_trial")


def _id(v: Any) -> int | None:
    return int(v) if isinstance(v, int | str) and not isinstance(v, bool) and str(v).isdigit() else None


class PlacementsStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the message is this desk's, else None (StaffDesk goes on)."""
        if intent in HOUSEKEEPER_INTENTS:
            if p.kind != "housekeeper":
                return [self.n.text("staff_placement_housekeepers_only", lang)]
            if intent == "placement_end_trial":
                return await self.end_trial(p, lang, args)
            return await self.answer(p, lang, intent == "placement_willing", args)
        if cmd == "/placements":
            if p.kind == "housekeeper":
                return [self.hers(await hop(self.be.housekeeper_placements, p.id), lang)]
            if p.kind == "manager":
                return [self.open_list(await hop(self.be.open_placements), lang)]
        if cmd == "/shortlist":
            if p.kind != "manager":
                return [self.n.text("staff_error_not_manager", lang)]
            parts = text.split()
            pid = _id(parts[1].lstrip("#Pp")) if len(parts) > 1 else None
            if pid is None:
                return [self.n.text("staff_shortlist_usage", lang)]
            return [await self.shortlist(pid, lang)]
        return None

    # --- housekeepers ---------------------------------------------------------------------------
    async def answer(self, p: Person, lang: str, willing: bool, args: dict[str, Any]) -> list[dict[str, Any]]:
        cid = _id(args.get("candidate_id"))
        if cid is None:
            return [self.n.text("staff_placement_ask_gone", lang)]
        try:
            got = await hop(self.be.answer_placement_ask, p.id, cid, willing)
        except DomainError as e:
            if e.code in ASK_ERRORS:
                return [self.n.text(ASK_ERRORS[e.code], lang)]
            raise
        if got["state"] == "willing":
            return [self.n.text("staff_placement_willing", lang, placement_id=got["placement_id"],
                                hold=self.n.when(got.get("hold_expires_at"), lang))]
        if got["state"] == "excluded":  # she is no longer free for the whole term
            return [self.n.text("staff_placement_not_free", lang, placement_id=got["placement_id"])]
        return [self.n.text("staff_placement_unwilling", lang, placement_id=got["placement_id"])]

    async def end_trial(self, p: Person, lang: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Her 结束试工: asked once more (a button), then the trial ends and the client gets a new round."""
        pid = _id(args.get("placement_id"))
        if pid is None:
            return [self.n.text("staff_placement_not_found", lang)]
        if args.get("confirm") is not True:
            return [self.n.text("staff_placement_end_trial_confirm", lang, placement_id=pid)]
        try:
            await hop(self.be.end_trial, "housekeeper", p.id, pid, True)
        except DomainError as e:
            if e.code == "not_in_trial":
                return [self.n.text("staff_placement_not_in_trial", lang, placement_id=pid)]
            if e.code == "placement_not_found":
                return [self.n.text("staff_placement_not_found", lang)]
            raise
        return [self.n.text("staff_placement_trial_ended", lang, placement_id=pid)]

    def dates(self, v: dict[str, Any], lang: str) -> str:
        return f"{v['start_date']} – {v['end_date']}" if lang == "en" else f"{v['start_date']} 至 {v['end_date']}"

    def state_word(self, state: str, lang: str) -> str:
        found = self.n.domain.render(f"staff_placement_state_{state}", lang, {})
        return found["text"] if found else state

    def hers(self, rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        if not rows:
            return self.n.text("staff_placements_none", lang)
        lines = "\n".join(self.n.text("staff_placement_line", lang, placement_id=v["id"],
                                      service=self.n.service(v["service"], lang), dates=self.dates(v, lang),
                                      state=self.state_word(v.get("state") or v["status"], lang),
                                      place=v.get("district") or v.get("city") or "")["text"] for v in rows)
        buttons = [{"title": self.n.text("staff_placement_end_trial_button", lang, placement_id=v["id"])["text"],
                    "payload": f'/placement_end_trial{{"placement_id": {v["id"]}}}'}
                   for v in rows if v["status"] == "trial" and v.get("state") == "chosen"]
        out = self.n.text("staff_placements_hers", lang, count=len(rows), lines=lines)
        return {**out, "buttons": buttons} if buttons else out

    # --- managers ------------------------------------------------------------------------------
    def open_list(self, rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        if not rows:
            return self.n.text("staff_open_placements_none", lang)
        lines = "\n".join(self.n.text("staff_open_placement_line", lang, placement_id=v["id"],
                                      service=self.n.service(v["service"], lang), dates=self.dates(v, lang),
                                      state=self.state_word(v["status"], lang), round=v["round"],
                                      who=v.get("housekeeper") or "—",
                                      place=v.get("district") or v.get("city") or "")["text"] for v in rows)
        return self.n.text("staff_open_placements", lang, count=len(rows), lines=lines)

    async def shortlist(self, pid: int, lang: str) -> dict[str, Any]:
        rows = await hop(self.be.placement_candidates, pid)
        if not rows:
            return self.n.text("staff_shortlist_none", lang, placement_id=pid)
        lines = []
        for c in rows:
            reasons = ", ".join(f"{k} {v}" for k, v in (c.get("reasons") or {}).items())
            score = f"{c['score']:.2f}" if isinstance(c.get("score"), int | float) else "—"
            lines.append(self.n.text("staff_shortlist_line", lang, round=c["round"], rank=c.get("rank") or "—",
                                     name=c["name"], score=score, state=self.state_word(c["state"], lang),
                                     reasons=reasons or "—")["text"])
        return self.n.text("staff_shortlist", lang, placement_id=pid, lines="\n".join(lines))
