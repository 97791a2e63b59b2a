"""Answers outside the booking form: prices, bookings, cancel (confirmed first), reschedule, a person,
emergencies and custom requests (the last three are cases: their promise is the case's due time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.booking import FORM_SLOTS, lang_of
from dialogs.actions.complaints import COMPLAINT_SLOTS, due_text
from dialogs.actions.runtime import backend, call, price_text, service_name, when
from dialogs.domain import base_lang, localise

STATUS = {"zh": {"requested": "已提交", "offered": "正在安排阿姨", "confirmed": "已确认", "in_progress": "服务中",
                 "unassigned": "暂无阿姨接单，经理处理中", "completed": "已完成", "cancelled": "已取消"},
          "en": {"requested": "received", "offered": "arranging a housekeeper", "confirmed": "confirmed",
                 "in_progress": "in progress", "unassigned": "no housekeeper yet, a manager is on it",
                 "completed": "completed", "cancelled": "cancelled"}}


async def client_escalation(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str,
                            booking_id: int | None = None, quiet: bool = False, **detail: Any) -> int | None:
    """Open a case the client asked for; None (and, unless ``quiet``, a polite word that the earlier
    request is already with the team) when this client has opened too many this hour."""
    try:
        return await call(backend().escalate, kind, client_id=tracker.get_slot("client_id"), booking_id=booking_id,
                          by_client=True, **detail)
    except DomainError as e:
        if e.code != "escalation_limit":
            raise
        if not quiet:
            dispatcher.utter_message(response="utter_escalation_limit")
        return None


async def client_case(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str, *, capped: bool = True,
                      **detail: Any) -> dict[str, Any] | None:
    """Open (or join) a case of ``kind`` for the client on the case machinery; None when ``capped`` and
    the client has opened too many this hour (told politely)."""
    try:
        return await call(backend().open_case, kind, tracker.get_slot("client_id"), by_client=capped,
                          lang=tracker.get_slot("language"), **detail)
    except DomainError as e:
        if e.code != "escalation_limit":
            raise
        dispatcher.utter_message(response="utter_escalation_limit")
        return None


def entity(tracker: Tracker, name: str) -> Any:
    return next((e["value"] for e in tracker.latest_message.get("entities", []) if e.get("entity") == name), None)


class ActionAnswerPrice(Action):
    def name(self) -> str:
        return "action_answer_price"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        lang, be = lang_of(tracker), backend()
        service = entity(tracker, "service_type") or tracker.get_slot("service_type")
        if service in be.catalogue:
            dispatcher.utter_message(response="utter_price_one", service=service_name(service, lang),
                                     price=price_text(service, lang))
        else:
            colon = ": " if lang == "en" else "："
            lines = "\n".join(f"• {service_name(s, lang)}{colon}{price_text(s, lang)}" for s in be.catalogue.services)
            dispatcher.utter_message(response="utter_price_all", prices=lines)
        return []


class ActionServices(Action):
    """utter_services needs the catalogue's names filled in."""

    def name(self) -> str:
        return "action_services"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        sep = ", " if lang == "en" else "、"
        dispatcher.utter_message(response="utter_services",
                                 services=sep.join(service_name(s, lang) for s in backend().catalogue.services))
        return []


def status_text(status: str, script: str) -> str:
    """A booking status in the client's words (zh-Hant: the zh ones in Traditional characters)."""
    return localise(STATUS[base_lang(script)].get(status, status), script)


def script_of(tracker: Tracker) -> str:
    """The conversation's language including the script (zh, zh-Hant, en): for our words put in params."""
    lang = tracker.get_slot("language")
    return lang if lang in ("zh", "zh-Hant", "en") else lang_of(tracker)


def booking_line(b: dict[str, Any], lang: str) -> str:
    who = f", {b['housekeeper']} ({b['housekeeper_phone']})" if b.get("housekeeper") else ""
    return f"#{b['id']} {service_name(b['service'], lang)} · {when(b['starts_at'], lang)} · " \
           f"{status_text(b['status'], lang)}{who}"


class ActionCheckBooking(Action):
    def name(self) -> str:
        return "action_check_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = await call(backend().open_bookings, tracker.get_slot("client_id"))
        if not items:
            dispatcher.utter_message(response="utter_no_bookings")
        else:
            dispatcher.utter_message(response="utter_bookings_list",
                                     bookings="\n".join(booking_line(b, script_of(tracker)) for b in items))
        return []


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        items = [b for b in await call(be.open_bookings, client_id) if b["status"] != "in_progress"]
        chosen = entity(tracker, "booking_id")
        if chosen is None and len(items) > 1:
            script = script_of(tracker)
            buttons = [{"title": booking_line(b, script)[:60], "payload": f'/cancel_booking{{"booking_id": {b["id"]}}}'}
                       for b in items]
            dispatcher.utter_message(response="utter_which_booking_to_cancel", buttons=buttons)
            return []
        if chosen is None and not items:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        booking_id = int(chosen) if chosen is not None else items[0]["id"]
        b = await call(be.booking, booking_id)
        if b is None or b["id"] not in {i["id"] for i in items}:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        # Asked first, always: a misread message ("scratched my floor") never destroys a booking.
        dispatcher.utter_message(response="utter_cancel_confirm", booking_id=booking_id,
                                 service=service_name(b["service"], lang), time=when(b["starts_at"], lang))
        return [SlotSet("awaiting_cancel", True), SlotSet("cancel_booking_id", booking_id)]


class ActionCancelBookingConfirmed(Action):
    def name(self) -> str:
        return "action_cancel_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        booking_id = int(tracker.get_slot("cancel_booking_id"))
        done = [SlotSet("awaiting_cancel", None), SlotSet("cancel_booking_id", None)]
        try:
            b = await call(be.cancel, client_id, booking_id)
        except DomainError as e:
            b = await call(be.booking, booking_id)
            if b is None or e.code == "booking_not_found":
                dispatcher.utter_message(response="utter_no_bookings")
                return done
            dispatcher.utter_message(response="utter_cannot_cancel", booking_id=booking_id,
                                     status=status_text(b["status"], script_of(tracker)))
            await client_escalation(dispatcher, tracker, "cancel_help", booking_id=booking_id, quiet=True)
            return done
        dispatcher.utter_message(response="utter_booking_cancelled", booking_id=b["id"],
                                 service=service_name(b["service"], lang), time=when(b["starts_at"], lang))
        return done


class ActionCancelBookingKept(Action):
    def name(self) -> str:
        return "action_cancel_booking_kept"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancel_kept", booking_id=tracker.get_slot("cancel_booking_id"))
        return [SlotSet("awaiting_cancel", None), SlotSet("cancel_booking_id", None)]


class ActionRescheduleBooking(Action):
    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = [b for b in await call(backend().open_bookings, tracker.get_slot("client_id"))
                 if b["status"] != "in_progress"]
        if not items:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        dispatcher.utter_message(response="utter_reschedule_help", booking_id=items[0]["id"])
        return []


class ActionRequestHuman(Action):
    """A person: in desk hours "within N minutes", out of hours the time the policy really gives."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        case = await client_case(dispatcher, tracker, "human_requested",
                                 text=tracker.latest_message.get("text", "")[:300] or None)
        if case is not None:
            be = backend()
            due = datetime.fromisoformat(case["due_at"]) if case.get("due_at") else None
            desk_open = be.ctx.desk is None or be.ctx.desk.is_open(be.now)
            minutes = round((due - be.now).total_seconds() / 60) if due else 0
            if due is not None and desk_open and 0 < minutes <= 60:
                dispatcher.utter_message(response="utter_human_coming", case_id=case["id"], minutes=minutes)
            else:  # the desk closes before the promise runs out (20:50), or is closed: the real time
                dispatcher.utter_message(response="utter_human_coming_by" if desk_open else "utter_human_coming_later",
                                         case_id=case["id"], due=due_text(case.get("due_at"), lang_of(tracker)))
        return [SlotSet("fallback_count", 0)]


class ActionEmergency(Action):
    """Safety advice first, in the client's language; then the emergency case (never capped). Any form
    is left for good: nobody in danger is asked for a booking's notes afterwards."""

    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_emergency")  # people first: whom to call comes before all else
        bookings = [b for b in await call(backend().open_bookings, tracker.get_slot("client_id"))
                    if b["status"] in ("in_progress", "confirmed")]
        case = await client_case(dispatcher, tracker, "emergency", capped=False,
                                 booking_id=bookings[0]["id"] if bookings else None,
                                 text=tracker.latest_message.get("text", "")[:500] or None,
                                 attachments=tracker.get_slot("attachment_ids") or None)
        if case is not None:
            dispatcher.utter_message(response="utter_emergency_case", case_id=case["id"])
        drop = {*FORM_SLOTS, *COMPLAINT_SLOTS} - {"phone", "address"}
        return [ActiveLoop(None), SlotSet("suspended_forms", None), *[SlotSet(s, None) for s in sorted(drop)]]


class ActionCustomization(Action):
    """A customisation request: lasting preferences go to the client's profile (read back, carried by
    every booking from then on); what needs a plan or a quote is a custom request with a named due time
    (see dialogs.actions.profile.capture)."""

    def name(self) -> str:
        return "action_customization"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        from dialogs.actions.profile import capture  # profile.py uses client_case from this module

        return await capture(dispatcher, tracker, request=True)


class ActionFallback(Action):
    """First miss: ask to rephrase. Second in a row: offer a person. Third: alert a manager."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        count = int(tracker.get_slot("fallback_count") or 0) + 1
        if count == 1:
            dispatcher.utter_message(response="utter_rephrase")
        else:
            dispatcher.utter_message(response="utter_offer_human")
        if count == 3:
            await client_escalation(dispatcher, tracker, "repeated_misunderstanding", quiet=True,
                                    text=tracker.latest_message.get("text", "")[:300])
        return [SlotSet("fallback_count", count)]


class ActionInform(Action):
    """Details given outside a form: start a booking with them, or show what we can do."""

    def name(self) -> str:
        return "action_inform"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ents = {e.get("entity") for e in tracker.latest_message.get("entities", [])}
        if ents & {"service_type", "time", "duration", "area"}:
            return [ActiveLoop("booking_form"), FollowupAction("booking_form")]
        dispatcher.utter_message(response="utter_default_menu")
        return []
