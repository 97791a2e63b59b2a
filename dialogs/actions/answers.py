"""Answers outside the booking form: prices, bookings ("我的预约"), reschedule, a person,
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
from dialogs.nlu.normalize import normalize
from dialogs.notify import money

STATUS = {"zh": {"requested": "已提交，正在安排", "offered": "正在安排阿姨", "confirmed": "已确认",
                 "in_progress": "服务中", "unassigned": "暂无阿姨接单，经理处理中", "completed": "已完成",
                 "cancelled": "已取消"},
          "en": {"requested": "received, arranging", "offered": "arranging a housekeeper", "confirmed": "confirmed",
                 "in_progress": "in progress", "unassigned": "no housekeeper yet, a manager is on it",
                 "completed": "completed", "cancelled": "cancelled"}}
FEE_WORD = {"zh": "取消费", "en": "cancellation fee"}


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


ALL_PRICES = ("价目表", "价格表", "所有", "全部", "都多少", "各种", "price list", "all prices", "all services",
              "every service", "all your prices")


def wants_all_prices(tracker: Tracker) -> bool:
    """The client asks for the whole price list (our words in Simplified; Traditional is normalised)."""
    text = normalize(tracker.latest_message.get("text") or "").text
    return any(w in text for w in ALL_PRICES)


class ActionAnswerPrice(Action):
    def name(self) -> str:
        return "action_answer_price"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        lang, be = lang_of(tracker), backend()
        # The service named now; else, inside the booking form, the draft's. A service asked about earlier
        # must not hide the full list later ("保洁多少钱" then "那所有服务的价格呢"), nor may "价目表".
        service = entity(tracker, "service_type")
        if service is None and (tracker.active_loop or {}).get("name") and not wants_all_prices(tracker):
            service = tracker.get_slot("service_type")
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
    live = b["status"] in ("confirmed", "in_progress")  # her name and number only while the job is hers
    who = f", {b['housekeeper']} ({b['housekeeper_phone']})" if b.get("housekeeper") and live else ""
    fee = f" · {localise(FEE_WORD[base_lang(lang)], lang)} {money(b['fee_cents'])}" if b.get("fee_cents") else ""
    return f"#{b['id']} {service_name(b['service'], lang)} · {when(b['starts_at'], lang)} · " \
           f"{status_text(b['status'], lang)}{who}{fee}"


class ActionCheckBooking(Action):
    """"我的预约": upcoming bookings, then those ended or cancelled lately, each with its state in the
    client's words (a late cancellation with its fee)."""

    def name(self) -> str:
        return "action_check_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if await call(backend().client_placements, tracker.get_slot("client_id")):
            # a placement (made in this chat or another): its state and shortlist first, then the bookings
            from dialogs.actions.placement_steps import ActionPlacementStatus  # it imports this module

            return await ActionPlacementStatus().run(dispatcher, tracker, domain)
        return await self.list_bookings(dispatcher, tracker)

    async def list_bookings(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        mine = await call(backend().my_bookings, tracker.get_slot("client_id"))
        script = script_of(tracker)
        if not mine["upcoming"] and not mine["recent"]:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        from dialogs.actions.series import series_lines  # series.py imports this module

        # a repeat booking once, with its next visit (its other visits are not listed one by one)
        mine["upcoming"], repeat = await series_lines(tracker.get_slot("client_id"), mine["upcoming"], script)
        if repeat:
            dispatcher.utter_message(response="utter_series_line", series=repeat)
        if mine["upcoming"]:
            dispatcher.utter_message(response="utter_bookings_list",
                                     bookings="\n".join(booking_line(b, script) for b in mine["upcoming"]))
        elif not repeat:
            dispatcher.utter_message(response="utter_no_upcoming_bookings")
        if mine["recent"]:
            dispatcher.utter_message(response="utter_bookings_recent",
                                     bookings="\n".join(booking_line(b, script) for b in mine["recent"]))
        return []


# Cancelling: dialogs/actions/cancellation.py


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
