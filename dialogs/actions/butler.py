"""The butler's clock, the client's side (issue 12; dialogs/domain.d/butler.yml, docs/butler.md).

For a butler client a household need ("客厅漏水了", "need a dinner for 8 on Saturday") is offered to the
butler whatever the classifier read (people in danger excepted: they keep the emergency flow); one tap
makes the request and the client is told the stored promise. "不用" hands the words back to the usual
flow once (the engine's ``also`` re-read). "管家，…" or the menu's button makes the request directly.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from config import yamlfile
from dialogs.actions.booking import lang_of
from dialogs.actions.complaints import due_text
from dialogs.actions.runtime import backend, call
from dialogs.nlu.normalize import normalize

DOMAIN_PART = Path(__file__).resolve().parents[1] / "domain.d" / "butler.yml"
# "算了" after "what do you need?": nothing is sent (compared after normalising)
STOP_WORDS = frozenset(("不用了", "不用", "算了", "取消", "不要了", "没事了", "没事", "不需要", "no", "cancel",
                        "nothing", "never mind", "forget it", "no thanks"))
ECHO_CHARS = 60  # the offer repeats at most this many of the client's characters
_SEP = re.compile(r"^[\s,，:：、。.!！~]+")
REFUSALS = {"not_butler_client": "utter_butler_not_client", "butler_too_many_open": "utter_butler_too_many",
            "butler_text_empty": "utter_butler_ask_text"}


def _norm(text: str) -> str:
    return normalize(text or "").text.strip().lower()


@functools.cache
def routing() -> dict[str, Any]:
    """The recognizers' policy (``butler_routing`` in domain.d/butler.yml), normalised once."""
    raw = (yamlfile.read(DOMAIN_PART) or {}).get("butler_routing") or {}
    words = {k: tuple(_norm(str(w)) for w in raw.get(k) or ()) for k in
             ("life_safety_words", "direct_prefixes", "status_words", "cancel_words", "booking_words",
              "home_emergency_words")}
    return {**raw, **words, "offer_intents": frozenset(raw.get("offer_intents") or ()),
            "mid_form_intents": frozenset(raw.get("mid_form_intents") or ()),
            "busy_slots": tuple(raw.get("busy_slots") or ())}


def life_safety(text: str) -> bool:
    said = _norm(text)
    return any(w in said for w in routing()["life_safety_words"])


def _busy(slots: dict[str, Any]) -> bool:
    return any(slots.get(s) not in (None, False, "") for s in routing()["busy_slots"])


def _has(text: str, key: str) -> bool:
    said = _norm(text)
    return any(w in said for w in routing()[key])


def direct_words(text: str) -> str | None:
    """"管家，客厅漏水了" → "客厅漏水了"; None when the message does not start by naming the butler."""
    typed = (text or "").strip()
    said = normalize(typed).text
    words = typed if len(said) == len(typed) else said  # the client's own characters when they line up
    low = said.lower()
    for p in sorted(routing()["direct_prefixes"], key=len, reverse=True):
        if low.startswith(p):
            after = words[len(p):]
            if after and not _SEP.match(after):
                return None  # "管家今天态度很差": about the butler, not to her ("管家，…" names her)
            rest = _SEP.sub("", after)
            return rest if rest else None
    return None


# --- context recognizers (engine ContextIntent): (text, intent, slots, active form) → take it? -----------------
def reads_as_description(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """After "what do you need?", the next words are the request (unless someone is in danger, or the
    client says no: 不用了 / 算了 is handled by the action as "nothing sent")."""
    return bool(text.strip()) and not active_loop and not life_safety(text)


def reads_as_cancel(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    return not active_loop and _has(text, "cancel_words")


def reads_as_status(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    return not active_loop and not _busy(slots) and _has(text, "status_words")


def reads_as_direct(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    # a complaint or feedback may be about the butler herself: never handed to her
    return direct_words(text) is not None and not life_safety(text) and not _busy(slots) \
        and intent not in ("complain", "give_feedback")


def reads_as_need(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """A household need to offer to the butler: what the classifier read is one a need reads as, no other
    question is pending, nobody is in danger, and the client did not just say 不用 to these words."""
    r = routing()
    if _busy(slots) or len(text.strip()) < int(r.get("min_chars") or 1) or life_safety(text):
        return False
    if slots.get("butler_skip_text") and _norm(text) == _norm(str(slots["butler_skip_text"])):
        return False
    if intent == "book_service" and _has(text, "booking_words"):
        return False  # "我想约明天的保洁": a booking in so many words
    if intent == "report_emergency":
        return _has(text, "home_emergency_words")  # the home needs help, not a person (checked above)
    return intent in (r["mid_form_intents"] if active_loop else r["offer_intents"])


# --- actions ----------------------------------------------------------------------------------------------
def _minutes(a: str, b: str) -> int:
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60)


async def raise_request(dispatcher: CollectingDispatcher, tracker: Tracker, words: str) -> list[EventType]:
    """The request made, the client told the stored promise (minutes and clock times from its due times)."""
    lang = lang_of(tracker)
    done = [SlotSet("butler_pending", None), SlotSet("butler_asking", None), SlotSet("butler_skip_text", None)]
    try:
        r = await call(backend().raise_butler_request, tracker.get_slot("client_id"), words,
                       tracker.get_slot("language"))
    except DomainError as e:
        if e.code not in REFUSALS:
            raise
        dispatcher.utter_message(response=REFUSALS[e.code])
        return [*done, SlotSet("butler_asking", True if e.code == "butler_text_empty" else None)]
    dispatcher.utter_message(response="utter_butler_raised", request_id=r["id"], butler=r["butler"] or "",
                             onsite_minutes=_minutes(r["created_at"], r["onsite_due_at"]),
                             plan_minutes=_minutes(r["created_at"], r["plan_due_at"]),
                             onsite_due=due_text(r["onsite_due_at"], lang), plan_due=due_text(r["plan_due_at"], lang))
    return done


class ActionButlerOffer(Action):
    """"交给管家处理吗？" with 交给管家 / 不用; 不用 re-reads the words as typed (the engine's also_yes)."""

    def name(self) -> str:
        return "action_butler_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        said = (tracker.latest_message.get("text") or "").strip()
        nlu_intent = tracker.latest_message.get("nlu_intent") or tracker.latest_message["intent"]["name"]
        echo = said if len(said) <= ECHO_CHARS else said[:ECHO_CHARS] + "…"
        dispatcher.utter_message(response="utter_butler_offer", said=echo,
                                 butler=tracker.get_slot("butler_name") or "")
        # the words wait for 交给管家; 不用 hands them to the usual flow once (engine: also_pending, offered)
        also = {"intent": nlu_intent, "text": said, "offered": True, "at": backend().now.timestamp()}
        return [SlotSet("butler_pending", said), SlotSet("butler_skip_text", said), SlotSet("also_pending", also)]


class ActionButlerRequest(Action):
    """交给管家 (the offered words), "管家，…" (the rest of the message), the menu's button (asks first),
    or the answer to "what do you need?"."""

    def name(self) -> str:
        return "action_butler_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent = tracker.latest_message["intent"]["name"]
        if intent == "butler_yes":
            words = tracker.get_slot("butler_pending")
        elif text.startswith("/"):
            words = None  # the menu's button: ask what is needed
        else:
            words = direct_words(text) or text
        said_no = tracker.latest_message.get("nlu_intent") in ("deny", "cancel_booking") and len(text) <= 8
        if words and intent == "butler_request" and (_norm(words).strip(" .!。！") in STOP_WORDS or said_no):
            dispatcher.utter_message(response="utter_butler_not_raised")  # "算了" after "what do you need?"
            return [SlotSet("butler_pending", None), SlotSet("butler_asking", None)]
        if not tracker.get_slot("butler_client"):
            dispatcher.utter_message(response="utter_butler_not_client")
            return [SlotSet("butler_pending", None), SlotSet("butler_asking", None)]
        if not words:
            dispatcher.utter_message(response="utter_butler_ask_text")
            return [SlotSet("butler_pending", None), SlotSet("butler_asking", True)]
        return await raise_request(dispatcher, tracker, words)


def _line(r: dict[str, Any], lab: dict[str, Any], lang: str) -> str:
    status = (lab.get("butler_status") or {}).get(r["status"], r["status"]).format(
        onsite_due=due_text(r["onsite_due_at"], lang), plan_due=due_text(r["plan_due_at"], lang))
    text = r["text"] if len(r["text"]) <= 30 else r["text"][:30] + "…"
    return str(lab.get("butler_line", "#{id} {text} {status}")).format(id=r["id"], text=text, status=status)


class ActionButlerStatus(Action):
    """The client's open requests with where each stands (and its due time while it runs)."""

    def name(self) -> str:
        return "action_butler_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        mine = await call(backend().client_butler_requests, tracker.get_slot("client_id"))
        if not mine:
            dispatcher.utter_message(response="utter_butler_none")
            return []
        lab = (domain.get("labels") or {}).get(lang) or {}
        dispatcher.utter_message(response="utter_butler_status", lines="\n".join(_line(r, lab, lang) for r in mine))
        return []


class ActionButlerCancel(Action):
    """A request's cancel button cancels it; typed, one open request is named back with its button, several
    are offered as buttons."""

    def name(self) -> str:
        return "action_butler_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, client_id = backend(), tracker.get_slot("client_id")
        rid = next((e["value"] for e in tracker.latest_message.get("entities") or []
                    if e.get("entity") == "request_id"), None)
        if rid is not None:
            try:
                r = await call(be.cancel_butler_request, client_id, int(rid))
            except DomainError as e:
                if not e.code.startswith("butler_request_"):  # not found, or already closed/cancelled
                    raise
                dispatcher.utter_message(response="utter_butler_cancel_closed")
                return []
            dispatcher.utter_message(response="utter_butler_cancelled", request_id=r["id"])
            return []
        mine = await call(be.client_butler_requests, client_id)
        if not mine:
            dispatcher.utter_message(response="utter_butler_none")
            return []
        lang = lang_of(tracker)
        lab = (domain.get("labels") or {}).get(lang) or {}
        buttons = [{"title": f"#{r['id']} {r['text'][:12]}", "payload": f'/butler_cancel{{"request_id": {r["id"]}}}'}
                   for r in mine[:5]]
        dispatcher.utter_message(response="utter_butler_cancel_which", buttons=buttons)
        dispatcher.utter_message(response="utter_butler_status", lines="\n".join(_line(r, lab, lang) for r in mine))
        return []
