"""Changing an existing booking in place (issue 10): "Can I move my booking to Thursday at 3pm?", "改成4个小时",
"地址改一下" — in one message or step by step. Which booking (asked with buttons when several are open), the new
value (asked when missing), old → new with the price difference, and only after 确认 the backend's change
(backend/services/changes.py). Every way out leaves the booking as it was.

Slots: change_booking_id, change_step (which | what | time | hours | address | notes | confirm) and
change_draft (the new values so far). While change_step is set, a typed message is the step's answer
(context_intents in domain.d/changes.yml) unless it is about something else."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.answers import script_of
from dialogs.actions.booking import served_cities
from dialogs.actions.runtime import backend, call, service_name
from dialogs.actions.runtime import when as _when
from dialogs.domain import localise
from dialogs.nlu.normalize import normalize

STEPS = ("which", "what", "time", "hours", "address", "notes", "confirm")
CLEAR = [SlotSet("change_booking_id", None), SlotSet("change_step", None), SlotSet("change_draft", None)]
# Words that say what is to change when no value came with them (compared after normalising).
FIELD_WORDS = {"address": ("地址", "address", "住址"), "notes": ("备注", "注意事项", "note"),
               "hours": ("小时", "时长", "hour", "duration", "longer", "shorter", "面积", "平米", "area"),
               "time": ("时间", "几点", "日期", "改到", "改期", "挪到", "time", "date", "move", "reschedule")}
CHANGEABLE = ("requested", "offered", "unassigned", "confirmed")


def reads_as_change_answer(text: str, intent: str, slots: dict[str, Any], loop: str | None) -> bool:
    """While a change question is open, a typed message answers it (the context's ``keep`` intents aside)."""
    step = slots.get("change_step")
    if intent == "book_service" and step != "time":
        return False  # a new booking, not this change's answer
    return step in STEPS and loop is None


def _entities(tracker: Tracker, name: str) -> list[dict[str, Any]]:
    return [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == name]


def _field_of(text: str) -> str | None:
    t = normalize(text).text
    return next((f for f, words in FIELD_WORDS.items() if any(w in t for w in words)), None)


async def _changeable(client_id: int) -> list[dict[str, Any]]:
    return [b for b in await call(backend().open_bookings, client_id) if b["status"] in CHANGEABLE]


def _pick(items: list[dict[str, Any]], tracker: Tracker) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The booking the message names (a button's booking_id, a digit, #N, the day of an earlier date), and the
    time entities left for the new value."""
    times = _entities(tracker, "time")
    chosen = next((e["value"] for e in _entities(tracker, "booking_id")), None)
    if chosen is not None:
        return next((b for b in items if str(b["id"]) == str(chosen)), None), times
    if len(items) == 1:
        return items[0], times
    text = tracker.latest_message.get("text", "")
    m = re.fullmatch(r"\s*(\d{1,2})\s*", text) or re.search(r"#\s*(\d+)", text)
    if m:
        n = int(m.group(1))
        hit = next((b for b in items if b["id"] == n), None)
        if hit is None and "#" not in text and 1 <= n <= len(items):
            hit = items[n - 1]
        if hit is not None:
            return hit, []
    if len(times) > 1:  # "把周四的保洁改到周五下午3点": the first date names the booking
        day = datetime.fromisoformat(times[0]["value"]).astimezone(backend().ctx.tz).date()
        same = [b for b in items if datetime.fromisoformat(b["starts_at"]).astimezone(backend().ctx.tz).date() == day]
        if len(same) == 1:
            return same[0], times[1:]
    service = next((e["value"] for e in _entities(tracker, "service_type")), None)
    same = [b for b in items if b["service"] == service]
    if service and len(same) == 1:
        return same[0], times
    return None, times


def _take(tracker: Tracker, b: dict[str, Any], step: str | None, times: list[dict[str, Any]],
          draft: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The new values this message gives (merged into ``draft``), and the step to ask next if a value is
    still missing ("time" for a part of the day without a clock time)."""
    tz, text = backend().ctx.tz, tracker.latest_message.get("text", "").strip()
    draft = dict(draft)
    ask = None
    if times:
        e = times[-1]
        new = datetime.fromisoformat(e["value"]).astimezone(tz)
        old = datetime.fromisoformat(b["starts_at"]).astimezone(tz)
        grain = e.get("grain", "minute")
        if grain == "day":  # "改到周五": the same clock time on the new day
            new = new.replace(hour=old.hour, minute=old.minute)
        elif grain == "part_of_day":  # "改到下午": which hour is asked, the day kept
            draft["date"] = new.date().isoformat()
            new, ask = None, "time"
        elif not (e.get("additional_info") or {}).get("has_date", True):
            d = datetime.fromisoformat(draft["date"]).date() if draft.get("date") else old.date()
            new = new.replace(year=d.year, month=d.month, day=d.day)  # a time alone keeps the booking's date
        if new is not None:
            draft["starts_at"] = new.isoformat()
            draft.pop("date", None)
    unit = backend().catalogue[b["service"]].unit
    number = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*", text)
    dur = next((e["value"] for e in _entities(tracker, "duration")), None)
    area = next((e["value"] for e in _entities(tracker, "area")), None)
    if unit == "hour" and (dur is not None or (step == "hours" and number)):
        draft["hours"] = float(dur if dur is not None else number.group(1))
    if unit == "sqm" and (area is not None or (step == "hours" and number)):
        draft["area"] = float(area if area is not None else number.group(1))
    addr = next((e["value"] for e in _entities(tracker, "address")), None)
    if step == "address" and text and not text.startswith("/"):
        addr = text  # the whole answer, as the booking form keeps it
    if addr:
        draft["address"] = addr
    if step == "notes" and text and not text.startswith("/"):
        draft["notes"] = text
    return draft, ask


class ActionRescheduleBooking(Action):
    """"Can I move my booking…" and the "which booking?" buttons: never cancels anything."""

    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = await _changeable(tracker.get_slot("client_id"))
        if not items:
            suspended = tracker.get_slot("suspended_forms") or []
            if suspended and suspended[-1].get("form") == "booking_form":
                # "换个时间吧" while booking, with nothing booked yet: the booking being made is the one to move.
                # The engine set its draft aside for this flow (form_interruptions) and restores it next: timeless.
                draft = suspended[-1]
                kept = {**(draft.get("slots") or {}), "time": None, "pending_date": None, "pending_part": None}
                dispatcher.utter_message(response="utter_draft_new_time")
                return [*CLEAR, SlotSet("suspended_forms", [*suspended[:-1], {**draft, "slots": kept}])]
            dispatcher.utter_message(response="utter_no_bookings")
            return CLEAR
        pressed = bool(_entities(tracker, "booking_id"))
        draft = dict(tracker.get_slot("change_draft") or {}) if pressed else {}
        b, times = _pick(items, tracker)
        if b is None:
            if not pressed:
                draft = {"text_field": _field_of(tracker.latest_message.get("text", "")),
                         "times": times[-1:], "entities": [e for e in tracker.latest_message.get("entities", [])
                                                          if e.get("entity") in ("duration", "area", "address")]}
            lang = script_of(tracker)
            buttons = [{"title": f"{n}. #{i['id']} {service_name(i['service'], lang)} · "
                                 f"{when(i['starts_at'], lang)}"[:60],
                        "payload": f'/reschedule_booking{{"booking_id": {i["id"]}}}'} for n, i in enumerate(items, 1)]
            dispatcher.utter_message(response="utter_change_which", buttons=buttons)
            return [SlotSet("change_step", "which"), SlotSet("change_draft", draft), SlotSet("change_booking_id", None),
                    *_tidy(tracker)]
        if pressed and (draft.get("times") or draft.get("entities")):
            # the first message's values, kept while the client picked the booking
            message = {**tracker.latest_message, "entities": [*draft.get("times", []), *draft.get("entities", [])],
                       "text": ""}
            tracker.latest_message = message
            times = draft.get("times", [])
        field = draft.get("text_field") if pressed else _field_of(tracker.latest_message.get("text", ""))
        new, ask = _take(tracker, b, None, times, {})
        return [*await progress(dispatcher, tracker, b, new, ask or field), *_tidy(tracker)]


class ActionChangeAnswer(Action):
    """A typed answer to the open change question, a 确认 / 不改了, or which field (a button)."""

    def name(self) -> str:
        return "action_change_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        msg = tracker.latest_message
        said = msg.get("nlu_intent") or msg.get("intent", {}).get("name")
        step, draft = tracker.get_slot("change_step"), dict(tracker.get_slot("change_draft") or {})
        booking_id = tracker.get_slot("change_booking_id")
        if said in ("deny", "change_keep", "cancel_booking"):
            return keep(dispatcher, booking_id)
        items = await _changeable(tracker.get_slot("client_id"))
        if step == "which":
            b, _ = _pick(items, tracker)
            if b is None:
                dispatcher.utter_message(response="utter_change_which_again")
                return []
            tracker.slots["change_draft"] = draft
            tracker.latest_message = {**msg, "entities": [{"entity": "booking_id", "value": b["id"]}]}
            return await ActionRescheduleBooking().run(dispatcher, tracker, domain)
        b = next((i for i in items if i["id"] == booking_id), None)
        if b is None:
            dispatcher.utter_message(response="utter_change_gone", booking_id=booking_id)
            return CLEAR
        if step == "confirm" and said in ("affirm", "change_confirm"):
            return await confirm(dispatcher, tracker, b, draft)
        field = next((e["value"] for e in msg.get("entities", []) if e.get("entity") == "change_field"), None)
        if field in ("time", "hours", "address", "notes"):
            return await progress(dispatcher, tracker, b, draft, field, force_ask=True)
        values = {k: draft[k] for k in ("starts_at", "hours", "area", "address", "notes", "date") if k in draft}
        new, ask = _take(tracker, b, step if step != "confirm" else None, _entities(tracker, "time"), values)
        if new == values and ask is None:
            field = _field_of(msg.get("text", "")) if step in ("what", "confirm") else step
            if step == "confirm" and field is None:
                return await progress(dispatcher, tracker, b, new, None)  # the summary again
            if field is None or field == step:
                dispatcher.utter_message(response="utter_change_not_understood")
            return await progress(dispatcher, tracker, b, new, field, force_ask=True)
        return await progress(dispatcher, tracker, b, new, ask)


class ActionChangeConfirm(Action):
    """The summary's 确认修改 button."""

    def name(self) -> str:
        return "action_change_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        booking_id = tracker.get_slot("change_booking_id")
        items = await _changeable(tracker.get_slot("client_id"))
        b = next((i for i in items if i["id"] == booking_id), None)
        if b is None or tracker.get_slot("change_step") != "confirm":
            dispatcher.utter_message(response="utter_change_nothing_to_confirm")
            return CLEAR
        return await confirm(dispatcher, tracker, b, dict(tracker.get_slot("change_draft") or {}))


class ActionChangeKeep(Action):
    """不改了: the booking stays as it was."""

    def name(self) -> str:
        return "action_change_keep"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return keep(dispatcher, tracker.get_slot("change_booking_id"))


def keep(dispatcher: CollectingDispatcher, booking_id: Any) -> list[EventType]:
    if booking_id:
        dispatcher.utter_message(response="utter_change_kept", booking_id=booking_id)
    else:
        dispatcher.utter_message(response="utter_change_kept_all")
    return CLEAR


def _tidy(tracker: Tracker) -> list[EventType]:
    """The booking form's slots that this message's entities filled outside any form: emptied, so a later
    booking does not start with the change's time (a suspended draft keeps its own copy)."""
    if tracker.active_loop.get("name") or tracker.get_slot("suspended_forms"):
        return []
    return [SlotSet(s, None) for s in ("time", "duration", "area", "pending_date") if tracker.get_slot(s) is not None]


def _plan_args(draft: dict[str, Any]) -> dict[str, Any]:
    return {k: draft[k] for k in ("starts_at", "hours", "area", "address", "notes") if k in draft}


async def progress(dispatcher: CollectingDispatcher, tracker: Tracker, b: dict[str, Any], draft: dict[str, Any],
                   field: str | None, force_ask: bool = False) -> list[EventType]:
    """Ask for what is missing, or show old → new for 确认."""
    lang, be = script_of(tracker), backend()
    events = [SlotSet("change_booking_id", b["id"]), SlotSet("change_draft", draft)]
    args = _plan_args(draft)
    if force_ask or not args:
        step = field or ("time" if draft.get("date") else "what")
        if step == "hours" and be.catalogue[b["service"]].unit not in ("hour", "sqm"):
            step = "what"
        unit = be.catalogue[b["service"]].unit
        dispatcher.utter_message(response=f"utter_change_ask_{'area' if step == 'hours' and unit == 'sqm' else step}",
                                 booking_id=b["id"], service=service_name(b["service"], lang),
                                 time=when(b["starts_at"], lang))
        return [*events, SlotSet("change_step", step)]
    try:
        p = await call(be.change_plan, tracker.get_slot("client_id"), b["id"], **args)
    except DomainError as e:
        step = "time" if "starts_at" in args and (e.code.startswith(("time_", "outside_")) or e.code == "no_change") \
            else ("hours" if e.code in ("duration_range", "area_range") else
                  "address" if e.code in ("invalid_address", "outside_area") else
                  "notes" if e.code == "invalid_notes" else None)
        if e.code == "not_changeable" or step is None:
            dispatcher.utter_message(response="utter_change_not_possible", booking_id=b["id"])
            return CLEAR
        svc = be.catalogue[b["service"]]
        response = f"utter_change_invalid_{e.code}"
        dispatcher.utter_message(response=response if response in RESPONSES else "utter_change_invalid",
                                 hours=be.ctx.lead_time_minutes // 60, days=be.ctx.max_days_ahead,
                                 open=svc.hours[0] if svc.hours else 7, close=svc.hours[1] if svc.hours else 21,
                                 min=f"{svc.min_hours:g}", max=f"{svc.max_hours:g}", cities=served_cities(lang))
        for k in {"time": ("starts_at",), "hours": ("hours", "area"), "address": ("address",),
                  "notes": ("notes",)}[step]:
            draft.pop(k, None)
        return [SlotSet("change_booking_id", b["id"]), SlotSet("change_draft", draft), SlotSet("change_step", step)]
    diff = p["difference"]
    sign = "+" if diff > 0 else ""
    lines = [f"{when(p['old_starts_at'], lang)} → {when(p['starts_at'], lang)}"
             if p["starts_at"] != p["old_starts_at"] else None]
    if "hours" in args or "area" in args:
        unit = "hours" if lang == "en" else localise("小时", lang)
        lines.append(f"{b['hours']:g} → {p['hours']:g} {unit}" if p["hours"] else f"{b['area']:g} → {p['area']:g} m²")
    if "address" in args:
        lines.append(localise("Address: " if lang == "en" else "地址：", lang) + p["address"])
    if "notes" in args:
        lines.append(localise("Notes: " if lang == "en" else "备注：", lang) + p["notes"])
    price = f"{p['old_price']} → {p['price']}" if diff else f"{p['price']}"
    dispatcher.utter_message(response="utter_change_summary" if diff else "utter_change_summary_same_price",
                             booking_id=b["id"], service=service_name(b["service"], lang),
                             changes="\n".join(x for x in lines if x), price=price, difference=f"{sign}{diff}")
    if p["needs_slot"]:
        dispatcher.utter_message(response="utter_change_will_ask_her")
    return [*events, SlotSet("change_step", "confirm")]


async def confirm(dispatcher: CollectingDispatcher, tracker: Tracker, b: dict[str, Any],
                  draft: dict[str, Any]) -> list[EventType]:
    try:
        ch = await call(backend().change_booking, tracker.get_slot("client_id"), b["id"], **_plan_args(draft))
    except DomainError as e:
        if e.code in ("not_changeable", "booking_not_found"):
            dispatcher.utter_message(response="utter_change_not_possible", booking_id=b["id"])
            return CLEAR
        return await progress(dispatcher, tracker, b, draft, None)  # the time went stale meanwhile: re-checked
    lang = script_of(tracker)
    if ch["status"] == "applied":
        dispatcher.utter_message(response="utter_change_done", booking_id=b["id"])
    elif ch["asking"] == "same":
        dispatcher.utter_message(response="utter_change_asking", booking_id=b["id"], time=when(b["starts_at"], lang),
                                 minutes=backend().ctx.offer_timeout_minutes)
    elif ch["status"] == "declined":  # nobody at all is free then: said now (the outbox says it too)
        dispatcher.utter_message(response="utter_change_nobody", booking_id=b["id"], time=when(b["starts_at"], lang))
    else:
        dispatcher.utter_message(response="utter_change_pending", booking_id=b["id"], time=when(b["starts_at"], lang))
    return CLEAR


def when(iso: str | None, lang: str) -> str:
    """A start time in the client's script (11月20日（週五）for zh-Hant)."""
    return localise(_when(iso, lang), lang)


RESPONSES = {"utter_change_invalid_time_past", "utter_change_invalid_time_too_soon",
             "utter_change_invalid_time_too_far",
             "utter_change_invalid_outside_hours", "utter_change_invalid_duration_range",
             "utter_change_invalid_area_range", "utter_change_invalid_invalid_address",
             "utter_change_invalid_outside_area",
             "utter_change_invalid_no_change"}
