"""Answers outside the booking form: prices, bookings, cancel, reschedule, people, emergencies."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.booking import lang_of
from dialogs.actions.runtime import backend, call, price_text, service_name, when

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


def booking_line(b: dict[str, Any], lang: str) -> str:
    who = f", {b['housekeeper']} ({b['housekeeper_phone']})" if b.get("housekeeper") else ""
    return f"#{b['id']} {service_name(b['service'], lang)} · {when(b['starts_at'], lang)} · " \
           f"{STATUS[lang].get(b['status'], b['status'])}{who}"


class ActionCheckBooking(Action):
    def name(self) -> str:
        return "action_check_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        items = await call(backend().open_bookings, tracker.get_slot("client_id"))
        if not items:
            dispatcher.utter_message(response="utter_no_bookings")
        else:
            dispatcher.utter_message(response="utter_bookings_list",
                                     bookings="\n".join(booking_line(b, lang) for b in items))
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
            buttons = [{"title": booking_line(b, lang)[:60], "payload": f'/cancel_booking{{"booking_id": {b["id"]}}}'}
                       for b in items]
            dispatcher.utter_message(response="utter_which_booking_to_cancel", buttons=buttons)
            return []
        if chosen is None and not items:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        booking_id = int(chosen) if chosen is not None else items[0]["id"]
        try:
            b = await call(be.cancel, client_id, booking_id)
        except DomainError as e:
            b = await call(be.booking, booking_id)
            if b is None or e.code == "booking_not_found":
                dispatcher.utter_message(response="utter_no_bookings")
                return []
            dispatcher.utter_message(response="utter_cannot_cancel", booking_id=booking_id,
                                     status=STATUS[lang].get(b["status"], b["status"]))
            await client_escalation(dispatcher, tracker, "cancel_help", booking_id=booking_id, quiet=True)
            return []
        dispatcher.utter_message(response="utter_booking_cancelled", booking_id=b["id"],
                                 service=service_name(b["service"], lang), time=when(b["starts_at"], lang))
        return []


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
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if await client_escalation(dispatcher, tracker, "human_requested",
                                   text=tracker.latest_message.get("text", "")[:300]) is not None:
            dispatcher.utter_message(response="utter_human_coming")
        return [SlotSet("fallback_count", 0)]


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_emergency")  # people first: whom to call comes before all else
        await client_escalation(dispatcher, tracker, "emergency", text=tracker.latest_message.get("text", "")[:300])
        return []


class ActionComplaint(Action):
    def name(self) -> str:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        esc = await client_escalation(dispatcher, tracker, "complaint",
                                      text=tracker.latest_message.get("text", "")[:500])
        if esc is not None:
            dispatcher.utter_message(response="utter_complaint_received", escalation_id=esc)
        return []


class ActionCustomization(Action):
    def name(self) -> str:
        return "action_customization"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text", "")[:500]
        if await client_escalation(dispatcher, tracker, "customization", text=text) is not None:
            dispatcher.utter_message(response="utter_customization_received", request=text[:80])
        return []


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
