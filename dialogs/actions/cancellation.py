"""Cancelling a booking (issue 10): which booking (buttons when several), always a confirmation with
the booking's summary and what cancelling costs now under the policy (config/cancellation.yaml), then
the cancellation at no more than the fee shown, or "不取消了 / keep it" and nothing changes."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.answers import booking_line, client_escalation, entity, script_of, status_text
from dialogs.actions.booking import lang_of
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.nlu.normalize import normalize
from dialogs.notify import money

CANCELLABLE = ("requested", "offered", "unassigned", "confirmed")  # not once she has started
DONE = [SlotSet("awaiting_cancel", None), SlotSet("cancel_booking_id", None), SlotSet("cancel_fee_cents", None)]
WORDS_FILE = Path(__file__).resolve().parents[1] / "domain.d" / "cancellation.yml"


@functools.cache
def _words() -> dict[str, tuple[str, ...]]:
    """The typed answers to "cancel it?" (domain.d/cancellation.yml), normalised like the engine does."""
    raw = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8")).get("cancel_answer_words") or {}
    return {k: tuple(normalize(str(w)).text.strip().lower() for w in v) for k, v in raw.items()}


def _said(text: str) -> str:
    return normalize(text).text.strip(" .!。！?？").lower()


def reads_as_keep(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """The engine's context recognizer while "cancel booking #N?" waits: "不取消了", "keep it" (the
    classifier reads "不取消了" as a cancellation, "keep it" as feedback)."""
    said = _said(text)
    return any(w in said for w in _words().get("keep", ()))


def reads_as_yes(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """"确认取消", "yes, cancel it": the confirm button's words typed (a bare "取消" stays a "no")."""
    said = _said(text)
    return said in _words().get("confirm", ()) and not reads_as_keep(text, intent, slots, active_loop)


def summary(b: dict[str, Any], lang: str) -> str:
    """#12 日常保洁 · 11月19日（周四）10:00 · 3小时 · 150元 · 王阿姨"""
    en = lang == "en"
    size = (f"{b['hours']:g} h" if en else f"{b['hours']:g}小时") if b.get("hours") else (
        (f"{b['area']:g} m²" if en else f"{b['area']:g}平米") if b.get("area") else "")
    price = (f"{b['price']} CNY" if en else f"{b['price']}元") if b.get("price") else ""
    who = b.get("housekeeper") or ""
    return " · ".join(p for p in (f"#{b['id']} {service_name(b['service'], lang)}", when(b["starts_at"], lang),
                                  size, price, who) if p)


async def ask_to_confirm(dispatcher: CollectingDispatcher, tracker: Tracker, booking_id: int) -> list[EventType]:
    """The summary and the fee (or "free") with 确认取消 / 不取消了; nothing is cancelled yet."""
    be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
    try:
        q = await call(be.cancellation_quote, client_id, booking_id)
    except DomainError as e:
        if e.code != "cannot_cancel":
            dispatcher.utter_message(response="utter_no_bookings")
            return DONE
        b = await call(be.booking, booking_id)
        dispatcher.utter_message(response="utter_cannot_cancel", booking_id=booking_id,
                                 status=status_text(b["status"] if b else "cancelled", script_of(tracker)))
        await client_escalation(dispatcher, tracker, "cancel_help", booking_id=booking_id, quiet=True)
        return DONE
    policy = be.ctx.cancellation
    common = {"booking_id": booking_id, "summary": summary(q, lang), "hours": f"{policy.free_until_hours:g}",
              "percent": f"{policy.fee_percent:g}"}
    if q["fee_cents"]:
        dispatcher.utter_message(response="utter_cancel_confirm_fee", fee=money(q["fee_cents"]), **common)
    else:
        dispatcher.utter_message(response="utter_cancel_confirm_free", free_until=when(q["free_until"], lang),
                                 **common)
    # Asked first, always: a misread message ("scratched my floor") never destroys a booking.
    return [SlotSet("awaiting_cancel", True), SlotSet("cancel_booking_id", booking_id),
            SlotSet("cancel_fee_cents", q["fee_cents"])]


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = [b for b in await call(backend().open_bookings, tracker.get_slot("client_id"))
                 if b["status"] in CANCELLABLE]
        chosen = entity(tracker, "booking_id")
        if chosen is None and len(items) > 1:
            script = script_of(tracker)
            buttons = [{"title": booking_line(b, script)[:60], "payload": f'/cancel_booking{{"booking_id": {b["id"]}}}'}
                       for b in items]
            dispatcher.utter_message(response="utter_which_booking_to_cancel", buttons=buttons)
            return DONE
        if chosen is None and not items:
            dispatcher.utter_message(response="utter_no_bookings")
            return DONE
        try:
            booking_id = int(chosen) if chosen is not None else items[0]["id"]
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_no_bookings")
            return DONE
        return await ask_to_confirm(dispatcher, tracker, booking_id)


class ActionCancelBookingConfirmed(Action):
    def name(self) -> str:
        return "action_cancel_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        booking_id = int(tracker.get_slot("cancel_booking_id"))
        agreed = int(tracker.get_slot("cancel_fee_cents") or 0)
        try:
            b = await call(be.cancel_booking, client_id, booking_id, agreed)
        except DomainError as e:
            if e.code == "fee_changed":  # the free window closed while the question waited: ask again
                dispatcher.utter_message(response="utter_cancel_fee_changed")
            return await ask_to_confirm(dispatcher, tracker, booking_id)
        told = "_told" if b.get("housekeeper") else ""
        if b["fee_cents"]:
            dispatcher.utter_message(response=f"utter_cancelled_with_fee{told}", booking_id=b["id"],
                                     summary=summary(b, lang), fee=money(b["fee_cents"]))
        else:
            dispatcher.utter_message(response=f"utter_cancelled_free{told}", booking_id=b["id"],
                                     summary=summary(b, lang))
        return DONE


class ActionCancelBookingKept(Action):
    def name(self) -> str:
        return "action_cancel_booking_kept"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancel_kept", booking_id=tracker.get_slot("cancel_booking_id"))
        return DONE
