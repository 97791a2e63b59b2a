"""The day of the job for housekeepers: /jobs with the current job's buttons (已到达, 已完成, 晚到, 去不了,
紧急情况), the check-in window on 已到达, "我堵车了，晚到20分钟" / "running 15 minutes late", "去不了 / can't
come" (with a confirmation); for managers /job N, booked against worked time (issue 10)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from dialogs.cards import payload
from dialogs.nlu.numerals import NUM, to_number
from dialogs.notify import Notifier
from dialogs.threads import hop

_MINUTES = re.compile(rf"({NUM})\s*(?:分钟|分|mins?\b|minutes?\b)", re.I)
_HOURS = re.compile(rf"({NUM})\s*(?:个)?\s*(?:小时|钟头|hours?\b|hrs?\b)", re.I)
_HALF_HOUR = re.compile(r"半(?:个)?小时|half an hour|half hour", re.I)
_QUARTER = re.compile(r"一刻钟|a quarter of an hour|quarter of an hour", re.I)


def late_minutes(text: str) -> int | None:
    """The minutes a typed lateness names ("晚到20分钟", "running 15 minutes late", "半小时"), or None."""
    t = text.lower()
    if m := _MINUTES.search(t):
        v = to_number(m.group(1))
        return int(v) if v is not None else None
    if _HALF_HOUR.search(t):
        return 30 + (60 * int(to_number(h.group(1)) or 0) if (h := _HOURS.search(t)) else 0)
    if _QUARTER.search(t):
        return 15
    if m := _HOURS.search(t):
        v = to_number(m.group(1))
        return int(v * 60) if v is not None else None
    return None


class JobsStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        if p.kind == "manager":
            return await self.job_times(lang, text) if cmd == "/job" else None
        if p.kind != "housekeeper":
            return None
        if cmd == "/jobs" or intent == "jobs":
            return await self.current(p, lang)
        if intent == "arrived":
            return await self.arrive(p, lang, int(args["booking_id"]))
        if intent == "late":
            minutes = args.get("minutes")
            return await self.late(p, lang, int(args["booking_id"]), int(minutes) if minutes is not None else None)
        if intent == "cannot_come":
            return await self.cannot_come(p, lang, int(args["booking_id"]), bool(args.get("confirm")))
        if intent or cmd.startswith("/") or not text.strip():
            return None
        policy = self.be.ctx.day_of_job
        if policy.says_cannot_come(text):
            job = await hop(self.be.current_job, p.id)
            if job is None:
                return [self.n.text("staff_no_current_job", lang)]
            return await self.cannot_come(p, lang, job["booking_id"], False)
        if policy.says_late(text):
            job = await hop(self.be.current_job, p.id)
            if job is None:
                return [self.n.text("staff_no_current_job", lang)]
            return await self.late(p, lang, job["booking_id"], late_minutes(text))
        return None

    # --- the job card ------------------------------------------------------------------------------------
    def button(self, name: str, lang: str, intent: str, **entities: Any) -> dict[str, str]:
        return {"title": self.n.text(f"staff_job_button_{name}", lang, **entities)["text"],
                "payload": payload(intent, **entities)}

    def card(self, job: dict[str, Any], lang: str) -> dict[str, Any]:
        bid = job["booking_id"]
        state = []
        if job["status"] == "in_progress":
            state.append(self.n.text("staff_job_state_in_progress", lang,
                                     arrived_time=self.n.when(job.get("arrived_at"), lang, True))["text"])
        elif not job["can_arrive"]:
            state.append(self.n.text("staff_job_state_opens", lang,
                                     opens_time=self.n.when(job["checkin_opens_at"], lang))["text"])
        if job.get("late_minutes") and job["status"] == "confirmed":
            state.append(self.n.text("staff_job_state_late", lang, minutes=job["late_minutes"])["text"])
        notes = self.n.job_notes(job.get("standing_notes"), job.get("booking_notes"), lang, job.get("address_as"))
        msg = self.n.text("staff_job_card", lang, booking_id=bid, service=self.n.service(job["service"], lang),
                          time=self.n.when(job["starts_at"], lang), end=self.n.when(job["ends_at"], lang, True),
                          address=job.get("address") or "-", client_phone=job.get("client_phone") or "-",
                          notes_text=notes, state_text="".join(f"\n{s}" for s in state))
        buttons = []
        if job["can_arrive"]:
            buttons.append(self.button("arrived", lang, "arrived", booking_id=bid))
        if job["can_finish"]:
            buttons += [self.button("finished", lang, "finished", booking_id=bid),
                        self.button("finished_cash", lang, "finished_cash", booking_id=bid)]
        if job["can_be_late"]:
            buttons.append(self.button("late", lang, "late", booking_id=bid))
        if job["can_cancel"]:
            buttons.append(self.button("cannot_come", lang, "cannot_come", booking_id=bid))
        buttons.append(self.button("emergency", lang, "emergency", booking_id=bid))
        return {**msg, "buttons": buttons}

    async def current(self, p: Person, lang: str) -> list[dict[str, Any]]:
        job = await hop(self.be.current_job, p.id)
        return [self.card(job, lang)] if job is not None else [self.n.text("staff_no_current_job", lang)]

    # --- her actions ---------------------------------------------------------------------------------
    async def arrive(self, p: Person, lang: str, booking_id: int) -> list[dict[str, Any]]:
        try:
            b = await hop(self.be.arrive, p.id, booking_id)
        except DomainError as e:
            if e.code != "checkin_too_early":
                raise
            job = await hop(self.be.job_of, p.id, booking_id)
            return [self.n.text("staff_checkin_too_early", lang, booking_id=booking_id,
                                time=self.n.when(job["starts_at"], lang),
                                opens_time=self.n.when(job["checkin_opens_at"], lang))]
        msg = self.n.text("staff_arrived", lang, booking_id=b["id"])
        emergency = self.button("emergency", lang, "emergency", booking_id=b["id"])
        return [{**msg, "buttons": [*(msg.get("buttons") or []), emergency]}]

    async def late(self, p: Person, lang: str, booking_id: int, minutes: int | None) -> list[dict[str, Any]]:
        policy = self.be.ctx.day_of_job
        job = await hop(self.be.job_of, p.id, booking_id)
        if job["status"] != "confirmed":
            return [self.n.text("staff_job_not_upcoming", lang, booking_id=booking_id)]
        if minutes is None:
            msg = self.n.text("staff_late_ask", lang, booking_id=booking_id, time=self.n.when(job["starts_at"], lang))
            return [{**msg, "buttons": [self.button("minutes", lang, "late", booking_id=booking_id, minutes=m)
                                        for m in policy.late_choices]}]
        if not policy.valid_late(minutes):
            msg = self.n.text("staff_late_range", lang, max=policy.max_late_minutes)
            return [{**msg, "buttons": [self.button("cannot_come", lang, "cannot_come", booking_id=booking_id)]}]
        await hop(self.be.report_late, p.id, booking_id, minutes)
        expected = datetime.fromisoformat(job["starts_at"]) + timedelta(minutes=minutes)
        return [self.n.text("staff_late_sent", lang, minutes=minutes,
                            expected_time=self.n.when(expected.isoformat(), lang, True))]

    async def cannot_come(self, p: Person, lang: str, booking_id: int, confirm: bool) -> list[dict[str, Any]]:
        job = await hop(self.be.job_of, p.id, booking_id)
        if job["status"] != "confirmed":
            return [self.n.text("staff_job_not_upcoming", lang, booking_id=booking_id)]
        if not confirm:
            msg = self.n.text("staff_cannot_come_ask", lang, booking_id=booking_id,
                              service=self.n.service(job["service"], lang), time=self.n.when(job["starts_at"], lang))
            return [{**msg, "buttons": [
                {"title": self.n.text("staff_job_button_confirm_cannot_come", lang)["text"],
                 "payload": payload("cannot_come", booking_id=booking_id, confirm=1)},
                {"title": self.n.text("staff_job_button_keep", lang)["text"], "payload": "/jobs"}]}]
        await hop(self.be.cannot_come, p.id, booking_id)
        return [self.n.text("staff_cannot_come_done", lang, booking_id=booking_id)]

    # --- managers ------------------------------------------------------------------------------------
    async def job_times(self, lang: str, text: str) -> list[dict[str, Any]]:
        parts = text.split()
        ref = parts[1].lstrip("#") if len(parts) > 1 else ""
        if not ref.isdigit():
            return [self.n.text("staff_job_usage", lang)]
        t = await hop(self.be.job_times, int(ref))
        if t is None:
            return [self.n.text("staff_job_not_found", lang, booking_id=ref)]
        return [self.n.text("staff_job_times", lang, booking_id=t["id"], service=self.n.service(t["service"], lang),
                            time=self.n.when(t["starts_at"], lang), end=self.n.when(t["ends_at"], lang, True),
                            status_text=self.n.text(f"staff_job_status_{t['status']}", lang)["text"],
                            housekeeper=f"{t['housekeeper']} ({t['housekeeper_code']})" if t["housekeeper"] else "-",
                            booked=t["booked_minutes"], arrived=self.n.when(t["arrived_at"], lang, True) or "-",
                            finished=self.n.when(t["finished_at"], lang, True) or "-",
                            worked=t["worked_minutes"] if t["worked_minutes"] is not None else "-",
                            late=t["late_minutes"] or 0)]
