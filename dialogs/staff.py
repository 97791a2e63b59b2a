"""Housekeepers and managers on a chat channel: offers, jobs and escalations by button or command.

No NLU here: staff use buttons and a handful of slash commands, so every action is explicit. This
module dispatches; cases and money live in dialogs.staff_cases.
"""

from __future__ import annotations

from typing import Any

from backend.api import Backend, DomainError
from backend.domain.booking_state import IllegalTransition
from backend.services.people import Person
from dialogs.actions import privacy
from dialogs.engine import parse_payload
from dialogs.notify import Notifier
from dialogs.staff_applications import ApplicationsStaffDesk
from dialogs.staff_butler import ButlerStaffDesk
from dialogs.staff_cases import HOUSEKEEPER_INTENTS, CaseDesk, command_of
from dialogs.staff_jobs import JobsStaffDesk
from dialogs.staff_placements import PlacementsStaffDesk
from dialogs.staff_proposals import ProposalStaffDesk
from dialogs.staff_requests import StaffRequestsDesk
from dialogs.staff_surveys import SurveyStaffDesk
from dialogs.staff_vetting import VettingStaffDesk
from dialogs.threads import hop

ERRORS = {"not_your_offer": "staff_error_not_your_offer", "offer_not_found": "staff_error_not_your_offer",
          "offer_expired": "staff_error_offer_expired", "offer_accepted": "staff_error_offer_taken",
          "offer_declined": "staff_error_offer_taken", "offer_withdrawn": "staff_error_offer_taken",
          "offer_expired_": "staff_error_offer_expired", "slot_taken": "staff_error_slot_taken",
          "not_your_job": "staff_error_not_your_job", "escalation_not_found": "staff_error_escalation",
          "escalation_closed": "staff_error_escalation", "taken_by_other": "staff_error_taken_by_other"}


def text_is_command(cmd: str) -> bool:
    return cmd.startswith("/")


class StaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier
        self.cases = CaseDesk(backend, notifier)
        # Capability desks asked first: each answers its own commands and buttons, None for the rest.
        # The butler's desk first: while she is writing a plan her text is the plan, never a job command.
        self.desks = [ButlerStaffDesk(backend, notifier), SurveyStaffDesk(backend, notifier),
                      ProposalStaffDesk(backend, notifier), JobsStaffDesk(backend, notifier)]
        self.desks.append(StaffRequestsDesk(backend, notifier))  # leave and working hours (issue 10)
        self.desks.append(ApplicationsStaffDesk(backend, notifier))  # job applications (issue 10)
        # Placements, vetting records, the butler's requests (issue 12)
        self.desks += [PlacementsStaffDesk(backend, notifier), VettingStaffDesk(backend, notifier)]

    async def handle(self, person: Person, text: str) -> list[dict[str, Any]]:
        lang = person.lang
        cmd = text.strip().split()[0].lower() if text.strip() else ""
        parsed = parse_payload(text) if text.startswith("/") else None
        intent = parsed["intent"]["name"] if parsed else ""
        args = {e["entity"]: e["value"] for e in (parsed or {}).get("entities", [])}
        try:
            return await self._dispatch(person, lang, cmd, intent, args, text)
        except DomainError as e:
            # A stable code chooses the message; exception text never reaches the chat.
            name = ERRORS.get(e.code, "staff_error_bad_state")
            params = {k: v for k, v in args.items() if k != "detail"}  # payload entities cannot clash
            return [self.n.text(name, lang, detail=e.code, **params)]
        except IllegalTransition as e:
            return [self.n.text("staff_error_bad_state", lang, detail=str(e.current))]
        except (TypeError, ValueError, KeyError):
            return [self.n.text("staff_error_invalid", lang)]

    def suspended_note(self, reasons: list[str], lang: str) -> dict[str, Any]:
        """Why she gets no offers now: her hold reasons in her language."""
        sep = "、" if lang == "zh" else ", "
        return self.n.text("staff_suspended_note", lang,
                           reasons=sep.join(self.n.text(f"staff_hold_{r}", lang)["text"] for r in reasons))

    async def _dispatch(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                        text: str = "") -> list[dict]:
        be, call = self.be, hop
        for desk in self.desks:
            replies = await desk.handle(p, lang, cmd, intent, args, text)
            if replies is not None:
                return replies
        case_command = command_of(cmd, intent)
        if p.kind == "housekeeper":
            if intent in HOUSEKEEPER_INTENTS or cmd == "/emergency":
                return await self.cases.housekeeper(p, lang, intent, args, text)
            if case_command is not None:
                return [self.n.text("staff_error_not_manager", lang)]
            if intent == "accept_offer":
                r = await call(be.accept_offer, p.id, int(args["offer_id"]))
                if r["error"]:
                    raise DomainError(r["error"])
                return [self.n.text("staff_offer_accepted", lang, booking_id=r["booking"]["id"])]
            if intent == "decline_offer":
                await call(be.decline_offer, p.id, int(args["offer_id"]))
                return [self.n.text("staff_offer_declined", lang)]
            if intent == "arrived":
                b = await call(be.arrive, p.id, int(args["booking_id"]))
                return [self.n.text("staff_arrived", lang, booking_id=b["id"])]
            if intent == "finished":
                b = await call(be.finish, p.id, int(args["booking_id"]))
                return [self.n.text("staff_finished", lang, booking_id=b["id"])]
            if cmd in ("/today", "/week"):
                jobs = await call(be.jobs, p.id, 1 if cmd == "/today" else 7)
                if not jobs:
                    return [self.n.text("staff_no_jobs", lang)]
                lines = "\n".join(f"#{j['id']} {self.n.service(j['service'], lang)} · "
                                  f"{self.n.when(j['starts_at'], lang)}–{self.n.when(j['ends_at'], lang, True)} · "
                                  f"{j['status']}" for j in jobs)
                return [self.n.text("staff_jobs", lang, jobs=lines)]
            if cmd == "/offers":
                if p.status == "suspended_from_matching":
                    return [self.suspended_note(await call(be.hold_reasons, p.id), lang)]
                offers = await call(be.pending_offers, p.id)
                if not offers:
                    return [self.n.text("staff_no_jobs", lang)]
                return [self.n.render(o["template"], {**o, "minutes": be.ctx.offer_timeout_minutes,
                                                    "booking_id": o["id"], "district": o.get("district") or ""}, lang)
                        for o in offers]
        if p.kind == "manager":
            if case_command is not None:
                return await self.cases.manager(p, lang, case_command, args, text)
            if cmd == "/privacy" or intent in privacy.STAFF_INTENTS:  # clients' erasure requests (H6)
                return await privacy.staff_command(be, self.n, p, lang, cmd, intent, args) or []
            if intent == "take_over":
                t = await call(be.take_over, p.id, int(args["escalation_id"]))
                return [self.n.text("staff_took_over", lang, client_id=t["client_id"])]
            if cmd == "/done":
                client = await call(be.hand_back, p.id)
                return [self.n.text("staff_handed_back" if client else "staff_no_takeover", lang, client_id=client)]
            if not text_is_command(cmd) and not intent:
                client = await call(be.takeover_of_manager, p.id)
                if client is not None and text.strip():
                    await call(be.relay, "client", client, "manager_message", manager=p.name, text=text[:2000])
                    return []
            if intent in ("acknowledge", "resolve"):
                fn = be.acknowledge if intent == "acknowledge" else be.resolve
                e = await call(fn, p.id, int(args["escalation_id"]))
                return [self.n.text(f"staff_{'acknowledged' if intent == 'acknowledge' else 'resolved'}", lang,
                                    escalation_id=e["id"])]
            if cmd == "/candidates":
                parts = text.split()
                booking_id = int(parts[1].lstrip("#")) if len(parts) > 1 and parts[1].lstrip("#").isdigit() else 0
                cands = await call(be.candidates, booking_id)
                if not cands:
                    return [self.n.text("staff_no_candidates", lang, booking_id=booking_id)]
                # The best 15 and every one left out (with why: vetting, pets, never again …) after them.
                shown = ([c for c in cands if c["state"] != "excluded"][:15]
                         + [c for c in cands if c["state"] == "excluded"][:25])
                lines = "\n".join(
                    f"{c['rank']}. {c['name']} {c['score']:.2f} [{c['state']}] "
                    + ", ".join(f"{k} {v}" for k, v in c["reasons"].items()) for c in shown)
                return [self.n.text("staff_candidates", lang, booking_id=booking_id, lines=lines)]
            if cmd == "/escalations":
                items = await call(be.escalations)
                if not items:
                    return [self.n.text("staff_no_escalations", lang)]
                out = [self.n.text("staff_escalations", lang, items=f"{len(items)}")]
                out += [self.n.render("escalation_new", {"escalation_id": e["id"], **e}, lang) for e in items[:20]]
                return out
        manager_help = self.n.text("staff_manager_help", lang)["text"] if p.kind == "manager" else ""
        return [self.n.text("staff_help", lang, name=p.name, manager_help=manager_help)]
