"""Job seekers on the client channel (我想应聘阿姨): name, phone, services (catalogue buttons), experience,
certificates, a summary to confirm, then the application is recorded and managers alerted by the backend.

The questions are asked one at a time; while the application is open (slot application_open) every typed
message is its answer (``reads_as_answer``, domain.d/applications.yml context_intents) and 取消 / cancel
leaves it. Only a confirmed summary is sent: the reply then quotes the promise the backend's follow-up
timer stands behind ("within N working days").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.booking import lang_of
from dialogs.actions.profile import script_of, word
from dialogs.actions.runtime import backend, call, service_name
from dialogs.nlu.normalize import normalize

STEPS = ("name", "phone", "services", "experience", "certificates", "confirm")
FIELDS = ("applicant_name", "applicant_phone", "applicant_services", "applicant_experience",
          "applicant_certificates")
MAX_TEXT = 200
_PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^\+?\d{7,15}$")
_NOT_A_NAME = re.compile(r"[\d?？!！@#/\\{}]|想|要|找|请问|多少|吗|什么|how|what|want|need|book", re.I)


def _norm(text: str) -> str:
    return normalize(text or "").text.strip(" .!。！~～").lower()


def reads_as_answer(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """The engine's context recognizer: with an application open, a typed message is its answer
    (a booking form that is running keeps its own answers)."""
    return bool(slots.get("application_open")) and not active_loop


def _clear() -> list[EventType]:
    return [SlotSet("application_open", None), SlotSet("application_step", None), *(SlotSet(f, None) for f in FIELDS)]


def _services_text(services: list[str], script: str) -> str:
    return (", " if script == "en" else "、").join(service_name(s, script) for s in services)


def _ask(dispatcher: CollectingDispatcher, step: str, tracker: Tracker, domain: dict[str, Any],
         values: dict[str, Any]) -> list[EventType]:
    """Ask the question of ``step`` (the summary for "confirm") and remember it is pending."""
    script = script_of(tracker)
    if step == "services":
        chosen = list(values.get("applicant_services") or [])
        buttons = [{"title": service_name(s, script), "payload": f'/application_service{{"job_service": "{s}"}}'}
                   for s in backend().catalogue.services if s not in chosen]
        buttons.append({"title": word(domain, "application_button_done", script),
                        "payload": '/application_service{"job_service": "done"}'})
        if chosen:
            dispatcher.utter_message(response="utter_application_services_chosen",
                                     services=_services_text(chosen, script), buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_ask_applicant_services", buttons=buttons)
    elif step == "confirm":
        dispatcher.utter_message(response="utter_application_summary",
                                 services=_services_text(values.get("applicant_services") or [], script),
                                 **{f: values.get(f) for f in FIELDS if f != "applicant_services"})
    else:
        dispatcher.utter_message(response=f"utter_ask_applicant_{step}")
    return [SlotSet("application_open", True), SlotSet("application_step", step)]


def _next(values: dict[str, Any]) -> str:
    return next((s for s, f in zip(STEPS, FIELDS, strict=False) if not values.get(f)), "confirm")


class ActionApplicationStart(Action):
    def name(self) -> str:
        return "action_application_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_application_start")
        return [*_clear(), *_ask(dispatcher, "name", tracker, domain, {})]


class ActionApplicationAnswer(Action):
    def name(self) -> str:
        return "action_application_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        step = tracker.get_slot("application_step")
        if not tracker.get_slot("application_open") or step not in STEPS:
            dispatcher.utter_message(response="utter_application_not_open")
            return _clear()
        msg = tracker.latest_message or {}
        text = (msg.get("text") or "").strip()
        said = _norm(text)
        stop = {_norm(w) for w in (domain.get("form_interruptions") or {}).get("stop_words") or ()}
        if said in stop:
            dispatcher.utter_message(response="utter_application_cancelled")
            return _clear()
        values = {f: tracker.get_slot(f) for f in FIELDS}
        events: list[EventType] = []
        if step == "confirm":
            confirm = {_norm(w) for w in domain.get("application_confirm_words") or ()}
            if said in confirm or msg.get("nlu_intent") == "affirm":
                return await submit(dispatcher, tracker, domain)
            return _ask(dispatcher, "confirm", tracker, domain, values)
        if step == "services":
            return self.services(dispatcher, tracker, domain, values, said)
        value, problem = self.read(step, text, said, domain)
        if problem:
            dispatcher.utter_message(response=problem)
            return _ask(dispatcher, step, tracker, domain, values)
        field = FIELDS[STEPS.index(step)]
        values[field] = value
        events.append(SlotSet(field, value))
        return [*events, *_ask(dispatcher, _next(values), tracker, domain, values)]

    @staticmethod
    def read(step: str, text: str, said: str, domain: dict[str, Any]) -> tuple[str | None, str | None]:
        """(the answer, None) or (None, the response saying what is wrong)."""
        if step == "name":
            if not text or len(text) > 30 or _NOT_A_NAME.search(text):
                return None, "utter_application_bad_name"
            return text, None
        if step == "phone":
            digits = re.sub(r"[\s\-()（）]", "", normalize(text).text)
            return (digits, None) if _PHONE.match(digits) else (None, "utter_application_bad_phone")
        if len(text) > MAX_TEXT:
            return None, "utter_application_too_long"
        if step == "certificates" and said in {_norm(w) for w in domain.get("application_none_words") or ()}:
            return ("none" if said.isascii() else "无"), None
        return (text, None) if text else (None, f"utter_ask_applicant_{step}")

    @staticmethod
    def services(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                 values: dict[str, Any], said: str) -> list[EventType]:
        msg = tracker.latest_message or {}
        catalogue = backend().catalogue
        chosen = list(values.get("applicant_services") or [])
        pressed = next((e["value"] for e in msg.get("entities") or () if e.get("entity") == "job_service"), None)
        done = pressed == "done" or said in {_norm(w) for w in domain.get("application_done_words") or ()}
        if pressed and pressed != "done":
            if pressed in catalogue and pressed not in chosen:
                chosen.append(pressed)
            values["applicant_services"] = chosen
            return [SlotSet("applicant_services", chosen), *_ask(dispatcher, "services", tracker, domain, values)]
        if not done:  # typed: the services the NLU finds in it ("保洁和做饭", "cleaning and cooking")
            typed = [e["value"] for e in msg.get("entities") or ()
                     if e.get("entity") == "service_type" and e.get("value") in catalogue]
            chosen += [s for s in dict.fromkeys(typed) if s not in chosen]
            done = bool(typed)
        if not chosen:
            dispatcher.utter_message(response="utter_application_bad_services")
            return _ask(dispatcher, "services", tracker, domain, values)
        if not done:
            return _ask(dispatcher, "services", tracker, domain, values)
        values["applicant_services"] = chosen
        return [SlotSet("applicant_services", chosen), *_ask(dispatcher, _next(values), tracker, domain, values)]


async def submit(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    values = {f: tracker.get_slot(f) for f in FIELDS}
    if not tracker.get_slot("application_open") or not all(values.values()):
        dispatcher.utter_message(response="utter_application_not_open")
        return _clear()
    be, script = backend(), script_of(tracker)
    try:
        a = await call(be.submit_application, tracker.get_slot("client_id"), values["applicant_name"],
                       values["applicant_phone"], list(values["applicant_services"]), values["applicant_experience"],
                       values["applicant_certificates"], lang_of(tracker))
    except DomainError:
        dispatcher.utter_message(response="utter_application_failed")
        return _ask(dispatcher, "confirm", tracker, domain, values)
    last_day = datetime.fromisoformat(a["due_at"]).astimezone(be.ctx.tz) - timedelta(minutes=1)
    due = (f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[last_day.weekday()]} {last_day.day} {last_day:%b}"
           if script == "en" else f"{last_day.month}月{last_day.day}日（周{'一二三四五六日'[last_day.weekday()]}）")
    dispatcher.utter_message(response="utter_application_sent", application_id=a["application_id"],
                             days=a["days"], due=due, applicant_name=values["applicant_name"],
                             applicant_phone=values["applicant_phone"])
    return _clear()


class ActionApplicationSubmit(Action):
    def name(self) -> str:
        return "action_application_submit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("application_step") != "confirm":
            dispatcher.utter_message(response="utter_application_not_open")
            return []
        return await submit(dispatcher, tracker, domain)


class ActionApplicationCancel(Action):
    def name(self) -> str:
        return "action_application_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_application_cancelled" if tracker.get_slot("application_open")
                                 else "utter_application_not_open")
        return _clear()
