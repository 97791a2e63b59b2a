"""Surveys and ratings for staff: a housekeeper's /me, managers' /ratings and /surveys."""

from __future__ import annotations

from typing import Any

from backend.api import Backend
from backend.services.people import Person
from dialogs.notify import Notifier
from dialogs.threads import hop

DIMENSIONS = ("attitude", "skill", "result")
MANAGER_COMMANDS = ("/ratings", "/surveys")


def figure(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


class SurveyStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        if cmd == "/me" and p.kind == "housekeeper":
            return [self.me(await hop(self.be.housekeeper_ratings, p.id), lang)]
        if cmd in MANAGER_COMMANDS:
            if p.kind != "manager":
                return [self.n.text("staff_error_not_manager", lang)]
            if cmd == "/ratings":
                return [self.ratings(await hop(self.be.ratings_overview), lang)]
            return [self.followups(await hop(self.be.survey_followups), lang)]
        return None

    def dims(self, r: dict[str, Any], lang: str) -> str:
        """"态度 4.8 · 技能 4.6 · 效果 4.9" in her language ("—" for none yet)."""
        return " · ".join(f"{self.n.text(f'staff_survey_dim_{d}', lang)['text']} {figure(r.get(d))}"
                          for d in DIMENSIONS)

    def me(self, r: dict[str, Any], lang: str) -> dict[str, Any]:
        if not r["count"]:
            return self.n.text("staff_me_no_surveys", lang, rating=figure(r["rating"]))
        return self.n.text("staff_me", lang, rating=f"{r['rating']:.2f}", count=r["count"],
                           roster_rating=figure(r["roster_rating"]), dims=self.dims(r, lang))

    def ratings(self, rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        if not rows:
            return self.n.text("staff_ratings_none", lang)
        lines = "\n".join(self.n.text("staff_ratings_line", lang, n=i, name=r["name"], code=r["code"],
                                       rating=f"{r['rating']:.2f}", count=r["count"],
                                       dims=f" · {self.dims(r, lang)}" if r["count"] else "")["text"]
                          for i, r in enumerate(rows, 1))
        return self.n.text("staff_ratings", lang, count=len(rows), lines=lines)

    def followups(self, rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        if not rows:
            return self.n.text("staff_followups_none", lang)
        lines = []
        for f in rows:
            scores = " ".join(f"{self.n.text(f'staff_survey_dim_{d}', lang)['text']}{f['scores'][d]}"
                              for d in DIMENSIONS if f["scores"].get(d) is not None)
            lines.append(self.n.text(
                "staff_followup_line", lang, case_id=f["case_id"], booking_id=f["booking_id"],
                housekeeper=f"{f['housekeeper']} ({f['housekeeper_code']})" if f["housekeeper"] else "—",
                scores=scores, comment=f" · “{f['comment']}”" if f["comment"] else "",
                due=self.n.when(f["due_at"], lang),
                overdue=self.n.text("staff_followup_overdue", lang)["text"] if f["breached"] else "")["text"])
        return self.n.text("staff_followups", lang, count=len(rows), lines="\n".join(lines))
