"""The client's side of cases: the complaint form, joining an open complaint, case and refund status,
the satisfaction answer after a case is closed, and files sent in the chat.

A complaint never touches a booking: it only names one. The promise ("before HH:MM") is always the
case's own due time from the policy, never a figure written here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.booking import lang_of
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.domain import TRADITIONAL, traditional

COMPLAINT_SLOTS = ("complaint_booking", "complaint_category", "complaint_category_guess", "complaint_remedy",
                   "complaint_text", "awaiting_complaint_confirmation", "awaiting_case_choice",
                   "complaint_join_case", "complaint_new_matter", "attachment_ids")
CATEGORIES = ("damage", "quality", "lateness", "attitude", "safety", "billing", "other")
REMEDIES = ("apology", "rework", "refund", "compensation", "none")
WORDS_MAX = 500  # of the client's words kept per message on the case


def labels(domain: dict[str, Any], tracker: Tracker) -> dict[str, Any]:
    """The domain's words for lines and buttons an action builds, in the conversation's language
    (zh-Hant: the zh words in Traditional characters, as the renderer does for responses)."""
    lab = (domain.get("labels") or {}).get(lang_of(tracker)) or {}
    return _traditional(lab) if tracker.get_slot("language") == TRADITIONAL else lab


def _traditional(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _traditional(v) for k, v in value.items()}
    return traditional(value) if isinstance(value, str) else value


def entity(tracker: Tracker, name: str) -> Any:
    return next((e["value"] for e in tracker.latest_message.get("entities", []) if e.get("entity") == name), None)


def words(tracker: Tracker) -> str:
    """What the client wrote in this message (a button payload carries no words)."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text[:WORDS_MAX]


def due_text(iso: str | None, lang: str) -> str:
    """A promise as people read it: "14:30" today, else the day and the time."""
    if not iso:
        return ""
    be = backend()
    t = datetime.fromisoformat(iso).astimezone(be.ctx.tz)
    if t.date() == be.now.astimezone(be.ctx.tz).date():
        return f"{t:%H:%M}"
    return when(iso, lang)


def clear_complaint() -> list[EventType]:
    return [SlotSet(s, None) for s in COMPLAINT_SLOTS]


def open_complaints(client_id: int) -> list[dict[str, Any]]:
    return [c for c in backend().open_cases_of(client_id, "complaint") if c["status"] != "closed"]


def about(booking_id: Any, lang: str, lab: dict[str, Any]) -> str:
    if booking_id in (None, "none"):
        return lab.get("about_none", "")
    b = backend().booking(int(booking_id))
    if b is None:
        return f"#{booking_id}"
    return lab.get("about_booking", "#{id}").format(id=b["id"], service=service_name(b["service"], lang),
                                                     time=when(b["starts_at"], lang))


def start_form(text: str | None, guess: str | None, booking_id: int | None, remedy: str | None = None,
               new_matter: bool = False) -> list[EventType]:
    """The complaint form with what the first message already said (its words, the category the NLU
    read, a booking, the remedy asked for: "我要求赔偿" is not asked again)."""
    return [*[SlotSet(s, None) for s in COMPLAINT_SLOTS if s != "attachment_ids"],
            SlotSet("complaint_text", text or None), SlotSet("complaint_category_guess", guess),
            SlotSet("complaint_booking", booking_id),
            SlotSet("complaint_remedy", remedy if remedy in REMEDIES else None),
            SlotSet("complaint_new_matter", True if new_matter else None),
            ActiveLoop("complaint_form"), FollowupAction("complaint_form")]


async def join(dispatcher: CollectingDispatcher, tracker: Tracker, case_id: int, text: str | None) -> list[EventType]:
    files = tracker.get_slot("attachment_ids") or None
    case = await call(backend().add_to_case, tracker.get_slot("client_id"), int(case_id), text or None, files)
    dispatcher.utter_message(response="utter_complaint_joined", case_id=case["id"])
    return clear_complaint()


class ActionComplaint(Action):
    """A complaint: on the open case about the same booking it joins it; an open case and no booking
    named asks "is this about complaint #N?"; otherwise the complaint form starts."""

    def name(self) -> str:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang, lab, client_id = lang_of(tracker), labels(domain, tracker), tracker.get_slot("client_id")
        text, booking = words(tracker), entity(tracker, "booking_id")
        guess = entity(tracker, "complaint_category")
        guess = guess if guess in CATEGORIES else None
        remedy = entity(tracker, "remedy")
        remedy = remedy if remedy in REMEDIES else None
        booking_id = int(booking) if isinstance(booking, int | str) and str(booking).isdigit() else None
        cases = await call(open_complaints, client_id)
        same = next((c for c in cases if booking_id is not None and c.get("booking_id") == booking_id), None)
        if same is not None:
            return await join(dispatcher, tracker, same["id"], text)
        if cases and booking_id is None:
            first = cases[0]
            buttons = [{"title": lab.get("affirm", "OK"), "payload": f'/inform{{"case_id": {first["id"]}}}'}]
            buttons += [{"title": f"#{c['id']}", "payload": f'/inform{{"case_id": {c["id"]}}}'} for c in cases[1:3]]
            buttons.append({"title": lab.get("new_matter", "New"), "payload": "/deny"})
            dispatcher.utter_message(response="utter_complaint_which_case", case_id=first["id"],
                                     about=about(first.get("booking_id"), lang, lab), buttons=buttons)
            return [SlotSet("awaiting_case_choice", True), SlotSet("complaint_join_case", first["id"]),
                    SlotSet("complaint_text", text or None), SlotSet("complaint_category_guess", guess),
                    SlotSet("complaint_remedy", remedy)]
        return start_form(text, guess, booking_id, remedy)


class ActionComplaintJoin(Action):
    def name(self) -> str:
        return "action_complaint_join"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        chosen = entity(tracker, "case_id") or tracker.get_slot("complaint_join_case")
        try:
            return await join(dispatcher, tracker, int(chosen), tracker.get_slot("complaint_text"))
        except (DomainError, TypeError, ValueError):
            # not one of this client's open cases (closed meanwhile, or a typed id): a new complaint
            return await ActionComplaintNew().run(dispatcher, tracker, domain)


class ActionComplaintNew(Action):
    def name(self) -> str:
        return "action_complaint_new"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        return start_form(tracker.get_slot("complaint_text"), tracker.get_slot("complaint_category_guess"), None,
                          tracker.get_slot("complaint_remedy"), new_matter=True)


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        slots, intent = tracker.slots, tracker.latest_message.get("intent", {}).get("name")
        asked = slots.get("requested_slot")
        if asked == "complaint_category" and slots.get("complaint_category") is None:
            guess = slots.get("complaint_category_guess")
            if intent == "affirm" and guess:
                events.append(SlotSet("complaint_category", guess))
                slots["complaint_category"] = guess
            elif intent == "deny":
                events.append(SlotSet("complaint_category_guess", None))
        if slots.get("complaint_booking") is None and asked is None \
                and not await call(backend().recent_bookings, slots.get("client_id")):
            events.append(SlotSet("complaint_booking", "none"))  # nothing to choose from: not asked
            slots["complaint_booking"] = "none"
        if all(slots.get(s) is not None for s in ("complaint_booking", "complaint_category", "complaint_remedy")):
            lang = lang_of(tracker)
            lab = labels(domain, tracker)
            files = slots.get("attachment_ids") or []
            dispatcher.utter_message(
                response="utter_complaint_summary", about=about(slots["complaint_booking"], lang, lab),
                category=lab.get("category", {}).get(slots["complaint_category"], slots["complaint_category"]),
                remedy=lab.get("remedy", {}).get(slots["complaint_remedy"], slots["complaint_remedy"]),
                words=(slots.get("complaint_text") or "-")[:200],
                files=lab.get("files", "").format(count=len(files)) if files else "")
            events.append(SlotSet("awaiting_complaint_confirmation", True))
        return events

    async def validate_complaint_booking(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: dict[str, Any]) -> dict[str, Any]:
        if value in ("none", None):
            return {"complaint_booking": value}
        mine = {b["id"] for b in await call(backend().recent_bookings, tracker.get_slot("client_id"))}
        try:
            booking_id = int(value)
        except (TypeError, ValueError):
            booking_id = -1
        if booking_id in mine:
            return {"complaint_booking": booking_id}
        dispatcher.utter_message(response="utter_invalid_complaint_booking")
        return {"complaint_booking": None}

    def validate_complaint_category(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> dict[str, Any]:
        return {"complaint_category": value if value in CATEGORIES else None}

    def validate_complaint_remedy(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict[str, Any]) -> dict[str, Any]:
        return {"complaint_remedy": value if value in REMEDIES else None}


class ActionAskComplaintBooking(Action):
    def name(self) -> str:
        return "action_ask_complaint_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        lab = labels(domain, tracker)
        items = await call(backend().recent_bookings, tracker.get_slot("client_id"))
        buttons = [{"title": f"#{b['id']} {service_name(b['service'], lang)} · {when(b['starts_at'], lang)}"[:60],
                    "payload": f'/inform{{"booking_id": {b["id"]}}}'} for b in items[:6]]
        buttons.append({"title": lab.get("no_booking", "-"), "payload": '/inform{"booking_id": "none"}'})
        dispatcher.utter_message(response="utter_ask_complaint_booking", buttons=buttons)
        return []


class ActionAskComplaintCategory(Action):
    """Confirm what the NLU read ("是关于物品损坏吗？") with the other categories as buttons; no guess:
    all categories."""

    def name(self) -> str:
        return "action_ask_complaint_category"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        guess = tracker.get_slot("complaint_category_guess")
        if guess not in CATEGORIES:
            dispatcher.utter_message(response="utter_ask_complaint_category")
            return []
        names = labels(domain, tracker).get("category", {})
        buttons = [{"title": labels(domain, tracker).get("affirm", "OK"),
                    "payload": f'/inform{{"complaint_category": "{guess}"}}'}]
        buttons += [{"title": names.get(c, c), "payload": f'/inform{{"complaint_category": "{c}"}}'}
                    for c in CATEGORIES if c != guess]
        dispatcher.utter_message(response="utter_confirm_complaint_category", category=names.get(guess, guess),
                                 buttons=buttons)
        return []


class ActionComplaintDetail(Action):
    """More words about the matter while the form runs: kept with the first ones."""

    def name(self) -> str:
        return "action_complaint_detail"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = words(tracker)
        if not text:
            return []
        before = tracker.get_slot("complaint_text")
        dispatcher.utter_message(response="utter_complaint_detail_added")
        return [SlotSet("complaint_text", f"{before}\n{text}"[:2000] if before else text)]


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        slots = tracker.slots
        booking = slots.get("complaint_booking")
        try:
            case = await call(backend().open_case, "complaint", slots.get("client_id"),
                              None if booking in (None, "none") else int(booking), by_client=True,
                              category=slots.get("complaint_category"), remedy=slots.get("complaint_remedy"),
                              text=slots.get("complaint_text") or None, lang=slots.get("language"),
                              attachments=slots.get("attachment_ids") or None,
                              new_matter=bool(slots.get("complaint_new_matter")))
        except DomainError as e:
            if e.code != "escalation_limit":
                raise
            dispatcher.utter_message(response="utter_escalation_limit")
            return clear_complaint()
        if case.get("joined"):
            dispatcher.utter_message(response="utter_complaint_joined", case_id=case["id"])
        else:
            dispatcher.utter_message(response="utter_complaint_registered", case_id=case["id"],
                                     due=due_text(case.get("due_at"), lang_of(tracker)))
        return clear_complaint()


class ActionLeaveComplaint(Action):
    def name(self) -> str:
        return "action_leave_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_complaint_left")
        return [ActiveLoop(None), *clear_complaint()]


class ActionCaseStatus(Action):
    """Where the client's cases stand: state in words, who handles them, the next deadline."""

    def name(self) -> str:
        return "action_case_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        lab = labels(domain, tracker)
        cases = await call(backend().client_cases, tracker.get_slot("client_id"))
        if not cases:
            dispatcher.utter_message(response="utter_no_cases")
            return []
        kinds, states = lab.get("case_kind", {}), lab.get("case_status", {})
        lines = []
        for c in cases:
            owner = c.get("owner_name") or lab.get("team", "")
            status = states.get(c["status"], c["status"]).format(owner=owner)
            due = ""
            if c["status"] != "closed" and not c.get("first_response_at") and c.get("due_at"):
                due = lab.get("case_due", "").format(due=due_text(c["due_at"], lang))
            booking = f" · #{c['booking_id']}" if c.get("booking_id") else ""
            lines.append(lab.get("case_line", "{kind} #{id}{about}: {status}{due}").format(
                kind=kinds.get(c["kind"], kinds.get("default", "")), id=c["id"], about=booking, status=status,
                due=due))
        dispatcher.utter_message(response="utter_case_status", cases="\n".join(lines))
        return []


class ActionRefundStatus(Action):
    def name(self) -> str:
        return "action_refund_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        lab = labels(domain, tracker)
        refunds = await call(backend().client_refunds, tracker.get_slot("client_id"))
        if not refunds:
            dispatcher.utter_message(response="utter_no_refunds")
            return []
        kinds, states = lab.get("refund_kind", {}), lab.get("refund_status", {})
        lines = []
        for r in refunds[:5]:
            status = states.get(r["status"], r["status"]).format(
                due=due_text(r.get("due_at"), lang), paid=due_text(r.get("paid_at"), lang),
                reason=r.get("rejected_reason") or "")
            lines.append(lab.get("refund_line", "{kind} #{id} {amount}: {status}").format(
                kind=kinds.get(r["kind"], r["kind"]), id=r["id"], amount=f"¥{r['amount_cents'] / 100:.2f}",
                status=status))
        dispatcher.utter_message(response="utter_refund_status", refunds="\n".join(lines))
        return []


class ActionCaseFeedback(Action):
    """The buttons under "case closed": satisfied is recorded; not satisfied reopens one level up."""

    def name(self) -> str:
        return "action_case_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        case_id, answer = entity(tracker, "case_id"), entity(tracker, "satisfied")
        satisfied = answer if isinstance(answer, bool) else str(answer).lower() in ("true", "1", "yes")
        if case_id is None or answer is None:
            dispatcher.utter_message(response="utter_default_menu")
            return []
        try:
            case = await call(backend().case_satisfaction, tracker.get_slot("client_id"), int(case_id), satisfied)
        except DomainError as e:
            late = e.code == "satisfaction_closed"
            dispatcher.utter_message(response="utter_feedback_too_late" if late else "utter_feedback_recorded",
                                     case_id=case_id)
            return []
        except ValueError:
            dispatcher.utter_message(response="utter_feedback_recorded", case_id=case_id)
            return []
        if case.get("satisfied") is not None and case["satisfied"] != satisfied:
            dispatcher.utter_message(response="utter_feedback_recorded", case_id=case["id"])  # answered before
        elif satisfied:
            dispatcher.utter_message(response="utter_feedback_satisfied")
        else:
            dispatcher.utter_message(response="utter_feedback_reopened", case_id=case["id"],
                                     due=due_text(case.get("due_at"), lang_of(tracker)))
        return []


class ActionAttachmentReceived(Action):
    """A photo or file: kept with the complaint being written, added to the open complaint, or else
    the client is asked whether it is a complaint (the files wait in the slot)."""

    def name(self) -> str:
        return "action_attachment_received"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.active_loop.get("name") == "complaint_form" or tracker.get_slot("awaiting_complaint_confirmation"):
            dispatcher.utter_message(response="utter_attachment_kept")
            return []
        client_id = tracker.get_slot("client_id")
        cases = await call(open_complaints, client_id)
        files = tracker.get_slot("attachment_ids") or []
        if cases and files:
            case = await call(backend().add_to_case, client_id, cases[0]["id"], words(tracker) or None, files)
            dispatcher.utter_message(response="utter_attachment_added", case_id=case["id"])
            return [SlotSet("attachment_ids", None)]
        dispatcher.utter_message(response="utter_attachment_what")
        return []
