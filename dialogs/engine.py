"""The embedded dialogue engine: a Rasa-compatible subset (domain, rules, forms, slot mappings,
``validate_<form>`` actions, nlu_fallback) running rasa-sdk actions in-process.

One turn: parse → extract slots → pick a rule (or continue the active form) → run actions →
render responses in the conversation's language → save the tracker.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import rasa_sdk
from rasa_sdk.executor import ActionExecutor

from dialogs import choices
from dialogs.domain import TRADITIONAL, Domain, Rule
from dialogs.language import LanguagePolicy, lang_command
from dialogs.messages import IncomingMessage
from dialogs.nlu import NLU
from dialogs.nlu.normalize import normalize
from dialogs.threads import hop
from dialogs.tracker_store import TrackerStore, new_state

log = logging.getLogger(__name__)
_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<json>\{.*\})?$", re.S)
_PAYLOAD_WITH_JSON = re.compile(r"^/[a-z_]+\{")
# Buttons carry a few short values (an id, a time, a service); anything bigger is not one of ours.
PAYLOAD_MAX_CHARS = 1000
PAYLOAD_MAX_VALUE_CHARS = 500
PAYLOAD_MAX_NUMBER = 2**31 - 1
# A form's required slots narrowed by what was chosen so far (the booking form by service); None: the
# domain's list for that form.
RequiredSlots = Callable[[str, dict[str, Any]], list[str] | None]
LANGUAGES = ("zh", TRADITIONAL, "en")


# A context recognizer: (the message's text, the intent the NLU read, the slots, the active form) → whether
# the message belongs to the context the hook names ("5" while a survey question is pending is a score).
Recognizer = Callable[[str, str, dict[str, Any], str | None], bool]


# A second request of a message (dialogs/nlu/multi.py) is offered within this time of being said, and the
# offer repeats at most this many of the client's characters.
ALSO_KEPT_SECONDS = 30 * 60
ALSO_ECHO_CHARS = 60


class ContextIntent:
    """One entry of the domain's ``context_intents``: the context decides, not only the classifier.

    While any slot in ``when_slots`` is set, a typed message the ``recognizer`` (``module:function``,
    imported on first use) accepts is taken as ``intent``, whatever the NLU read — except intents in
    ``keep`` (an emergency, a person asked for), which always go where they belong. When the context
    was live and the message went elsewhere, the ``clears`` slots are emptied: a pending question
    (e.g. "any comment?") is left, not answered by some later message."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.intent = str(raw["intent"])
        self.when_slots = tuple(raw.get("when_slots") or ())
        self.keep = set(raw.get("keep") or ())
        self.clears = tuple(raw.get("clears") or ())
        self.path = str(raw["recognizer"])
        # False for a context that only re-reads messages (mid-form "取消周四那个…"), not a question we asked:
        # it does not take the digits and typed button words of the last turn's buttons.
        self.pending_question = bool(raw.get("pending_question", True))
        self._fn: Recognizer | None = None

    def recognizer(self) -> Recognizer:
        if self._fn is None:
            module, _, name = self.path.partition(":")
            self._fn = getattr(importlib.import_module(module), name)
        return self._fn

    def live(self, slots: dict[str, Any]) -> bool:
        return any(slots.get(s) not in (None, False, "") for s in self.when_slots)


class Interruptions:
    """What may interrupt a form, read from the domain's ``form_interruptions`` (policy in data):
    ``questions`` are answered and the form's question asked again; ``flows`` suspend the form's draft
    on the ``suspended_forms`` stack until they finish; ``abandon`` drops the form and every suspended
    draft (an emergency); ``not_answers`` are never taken as a typed answer; ``stop_words`` leave the
    open form or question; ``awaiting`` are the slots of a pending yes/no question (a flow not finished)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        cfg = raw.get("form_interruptions") or {}
        self.questions = set(cfg.get("questions") or ())
        self.flows = set(cfg.get("flows") or ())
        self.abandon = set(cfg.get("abandon") or ())
        self.leave = set(cfg.get("leave") or ())
        self.hard = self.questions | self.flows | self.abandon | self.leave
        self.not_answers = self.hard | set(cfg.get("not_answers") or ())
        self.stop_words = {str(w) for w in cfg.get("stop_words") or ()}
        self.awaiting = tuple(cfg.get("awaiting") or ())
        self.draft_extra: dict[str, list[str]] = dict(cfg.get("draft_slots") or {})


def _scalar(v: Any) -> bool:
    """A string, a number that fits a database integer column, a boolean or null."""
    if isinstance(v, str):
        return len(v) <= PAYLOAD_MAX_VALUE_CHARS
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, int | float):
        return math.isfinite(v) and abs(v) <= PAYLOAD_MAX_NUMBER
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a value")  # NaN, Infinity


def parse_payload(text: str, entities: Collection[str] | None = None) -> dict[str, Any] | None:
    """Rasa's button payload: /intent or /intent{"entity": value}.

    None unless it is a small flat JSON object of scalars (at most ``PAYLOAD_MAX_CHARS``); keys
    outside ``entities``, when given, are dropped. Which slot a payload may fill is the engine's
    business (only the one the form asks), not this parser's."""
    if len(text) > PAYLOAD_MAX_CHARS:
        return None
    m = _PAYLOAD.match(text.strip())
    if not m:
        return None
    found = []
    if m["json"]:
        try:
            data = json.loads(m["json"], parse_constant=_no_constants)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or not all(_scalar(v) for v in data.values()):
            return None
        found = [{"entity": k, "value": v, "extractor": "payload"} for k, v in data.items()
                 if entities is None or k in entities]
    return {"text": text, "intent": {"name": m["intent"], "confidence": 1.0},
            "intent_ranking": [{"name": m["intent"], "confidence": 1.0}], "entities": found}


class Engine:
    def __init__(self, nlu: NLU, domain: Domain, rules: list[Rule], after_form: dict[str, str],
                 executor: ActionExecutor, store: TrackerStore, required_slots: RequiredSlots,
                 now: Callable[[], datetime], max_chars: int = 2000) -> None:
        self.nlu, self.domain, self.rules, self.after_form = nlu, domain, rules, after_form
        self.executor, self.store, self.required_slots, self.max_chars = executor, store, required_slots, max_chars
        self.now = now  # the backend's clock, so "明天" means the same day to the NLU and the bookings
        self.interrupts = Interruptions(domain.raw)
        # Each slot's mappings as (type, entity, mapping), read once: _extract walks them every turn.
        self._mappings = [(name, [(m.get("type"), m.get("entity"), m) for m in spec.get("mappings", [])])
                          for name, spec in domain.slots.items()]
        self.contexts = [ContextIntent(c) for c in domain.raw.get("context_intents") or ()]
        self.language = LanguagePolicy.from_domain(domain.raw)

    # --- one turn -----------------------------------------------------------------------------
    async def turn(self, key: str, msg: IncomingMessage, person_lang: str, known: dict[str, Any] | None = None,
                   fresh: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``known``: facts kept once learnt (the client's id, phone); ``fresh``: this turn's facts read from
        storage (an open survey and its pending question), which replace what the tracker held."""
        state = await hop(self.store.load, key)
        state["sender_id"] = key
        slots = state["slots"]
        slots.setdefault("language", person_lang)
        for k, v in (known or {}).items():
            if slots.get(k) is None:
                slots[k] = v
        slots.update(fresh or {})
        out: list[dict[str, Any]] = []
        if len(msg.text) > self.max_chars:
            self._utter("utter_too_long", state, out, max=self.max_chars)
            await hop(self.store.save, key, state)
            return out, state
        files = [i for i in msg.metadata.get("attachment_ids") or () if isinstance(i, int) and not isinstance(i, bool)]
        if files:  # kept until a case takes them (the complaint form, an open case)
            self._set(state, "attachment_ids", [*(slots.get("attachment_ids") or []), *files])
        # A pending question sent since (a survey's score) owns the digits, not the buttons of the last turn.
        offered = None if any(c.live(slots) and c.pending_question for c in self.contexts) else state.get("offered")
        pressed = choices.press(msg.text, offered)
        if pressed is not None:  # "确认" typed while a 确认 button is on offer, "2" for a numbered option
            msg = dataclasses.replace(msg, text=pressed)
        msg = self._take_also(msg, state)
        payload = msg.text.startswith("/")
        parse = parse_payload(msg.text, self.domain.raw.get("entities") or ()) if payload else None
        if parse is None and payload and _PAYLOAD_WITH_JSON.match(msg.text):
            # A button payload that is not one of ours (too big, nested, not JSON): understood as nothing.
            parse = {"text": msg.text, "intent": {"name": "nlu_fallback", "confidence": 0.0}, "intent_ranking": [],
                     "entities": []}
        elif parse is None and files and not msg.text.strip():
            payload = False  # a photo without words
            parse = {"text": "", "intent": {"name": "send_attachment", "confidence": 1.0}, "intent_ranking": [],
                     "entities": []}
        elif parse is None:
            payload = False
            parse = await hop(self.nlu.parse, msg.text, self.now())
            # Sticky language (dialogs/language.py): "ok", digits, an address or a name never switch it; an
            # explicit request ("please speak English", "講中文", "/lang en") is a switch_language turn.
            command, code = lang_command(msg.text)
            content = self.language.free_text_answer(state)  # an address or notes typed: never a request
            if command or (not content and len(msg.text) <= 40 and self.language.requested(msg.text) is not None):
                found = [{"entity": "target_language", "value": code}] if code else []
                parse = {**parse, "intent": {"name": "switch_language", "confidence": 1.0}, "entities": found}
            else:
                slots["language"] = self.language.follow(
                    slots.get("language"), msg.text, parse, content,
                    opening=not any(e.get("event") == "user" for e in state["events"]))
        elif parse["intent"]["name"] not in self.domain.intents:
            parse = {**parse, "intent": {"name": "nlu_fallback", "confidence": 0.0}}
        if not payload:
            parse = self._number_answer(msg.text, parse, state)
        intent = parse["intent"]["name"]
        open_flow = state["active_loop"] or any(slots.get(a) for a in self.interrupts.awaiting)
        if open_flow and normalize(msg.text).text.strip(" .!。！") in self.interrupts.stop_words:
            intent = "deny" if not state["active_loop"] else "cancel_booking"
            parse = {**parse, "intent": {"name": intent, "confidence": 1.0}}
        if not payload:
            context = self._in_context(msg.text, intent, state)
            if context is not None and context != intent:
                # what the classifier read stays on the parse ("谢谢" as a comment's answer means "none")
                parse = {**parse, "intent": {"name": context, "confidence": 1.0}, "nlu_intent": intent}
                intent = context
        state["latest_message"] = parse
        state["events"].append({"event": "user", "text": msg.text, "parse_data": parse, "timestamp": time.time(),
                                "input_channel": msg.channel, "message_id": msg.message_id})
        extracted = self._extract(parse, state, msg, payload)
        if intent == "deny" and state["active_loop"] and not payload and self._from_entities(parse, extracted):
            # "不对，是周五" in a form corrects an answer: the new value was taken, the form goes on
            intent = "inform"
            parse = state["latest_message"] = {**parse, "intent": {"name": intent, "confidence": 1.0},
                                               "nlu_intent": "deny"}
            next(e for e in reversed(state["events"]) if e["event"] == "user")["parse_data"] = parse
        rule = self._rule(intent, state, extracted)
        handled = rule is not None or bool(state["active_loop"])
        if rule is not None:
            await self._run_rule(rule, state, out)
        elif state["active_loop"]:
            await self._form(state["active_loop"], state, out)
        else:
            await self._run("action_fallback" if intent == "nlu_fallback" else "utter_default_menu", state, out)
        if intent != "nlu_fallback" and rule is not None and "action_fallback" not in rule.actions:
            state["slots"]["fallback_count"] = 0
        if not state.get("_restarted") and not state["active_loop"] and state["slots"].get("suspended_forms") \
                and not any(state["slots"].get(a) for a in self.interrupts.awaiting):
            await self._resume(state, out)  # the interrupting flow finished (done or left)
        if not state.get("_restarted"):
            self._also(intent, handled, state, out)  # a second request of an earlier message, offered once
        state.pop("_restarted", None)  # a per-turn signal, never stored
        self._offer(state, out)
        await hop(self.store.save, key, state)
        return out, state

    # --- several requests in one message (dialogs/nlu/multi.py, dialogs/domain.d/also.yml) ----------
    def _take_also(self, msg: IncomingMessage, state: dict[str, Any]) -> IncomingMessage:
        """The answer to the offer of a second request: its yes is the remembered words, handled as if typed
        now (re-read, so "改到周六" gives its day); any message ends the offer, which is made once."""
        pending = state["slots"].get("also_pending")
        if not isinstance(pending, dict) or not pending.get("offered"):
            return msg
        self._set(state, "also_pending", None)
        said = str(pending.get("text") or "").lstrip("/")  # the client's words, never read as a payload
        return dataclasses.replace(msg, text=said) if msg.text.strip() == "/also_yes" and said.strip() else msg

    def _also(self, intent: str, handled: bool, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """Remember the parse's second request once its main one was handled; offer it when nothing is open
        (no form, no suspended draft, no pending question): the moment a suspended form would resume."""
        slots = state["slots"]
        pending = slots.get("also_pending")
        now = self.now().timestamp()
        if isinstance(pending, dict) and (intent == "report_emergency" or intent == pending.get("intent")
                                          or now - float(pending.get("at") or 0) > ALSO_KEPT_SECONDS):
            # nothing else after an emergency; the client did it already; or too long ago to bring up
            self._set(state, "also_pending", None)
        if intent == "report_emergency":
            return
        also = state["latest_message"].get("also")
        if handled and isinstance(also, dict) and also.get("text") and also.get("name") != intent:
            self._set(state, "also_pending",
                      {"intent": also.get("name"), "text": also["text"], "offered": False, "at": now})
        pending = slots.get("also_pending")
        if not isinstance(pending, dict) or pending.get("offered") or state["active_loop"] \
                or slots.get("suspended_forms") or any(slots.get(a) for a in self.interrupts.awaiting) \
                or any(c.live(slots) for c in self.contexts):
            return
        said = pending["text"] if len(pending["text"]) <= ALSO_ECHO_CHARS else pending["text"][:ALSO_ECHO_CHARS] + "…"
        self._utter("utter_also_offer", state, out, said=said)
        self._set(state, "also_pending", {**pending, "offered": True})

    # --- digits and typed button words (dialogs/choices.py) ---------------------------------
    def _number_slot(self, state: dict[str, Any]) -> str | None:
        """The slot the open form asks, when the domain marks it ``answer: number``."""
        name = state["slots"].get("requested_slot") if state["active_loop"] else None
        return name if name and (self.domain.slots.get(name) or {}).get("answer") == choices.NUMBER else None

    def _number_answer(self, text: str, parse: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        """A bare number while a number is asked is the answer ("3" to "how many hours"), whatever the
        classifier read: the question decides, not the words."""
        name, value = self._number_slot(state), choices.bare_number(text)
        if name is None or value is None:
            return parse
        entity = next((m["entity"] for m in self.domain.slots[name].get("mappings", [])
                       if m.get("type") == "from_entity"), name)
        return {**parse, "intent": {"name": "inform", "confidence": 1.0}, "nlu_intent": parse["intent"]["name"],
                "entities": [{"entity": entity, "value": value, "start": 0, "end": len(text), "extractor": "context"}]}

    def _offer(self, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        """Mark a number question for the channels and remember what this turn offered (the buttons a
        typed word or digit may stand for next turn); a turn without replies leaves the offer as it was."""
        if not out:
            return
        if self._number_slot(state) is not None:
            out[-1]["answer"] = choices.NUMBER
        state["offered"] = choices.offer_of(out)

    def _in_context(self, text: str, intent: str, state: dict[str, Any]) -> str | None:
        """The intent an open context gives a typed message (see ContextIntent), or None."""
        slots = state["slots"]
        for c in self.contexts:
            if not c.live(slots):
                continue
            if intent not in c.keep and c.recognizer()(text, intent, slots, state["active_loop"]):
                return c.intent
            for name in c.clears:  # the pending question was left for something else
                if slots.get(name) is not None:
                    self._set(state, name, None)
        return None

    # --- slots --------------------------------------------------------------------------------
    def _extract(self, parse: dict[str, Any], state: dict[str, Any], msg: IncomingMessage,
                 payload: bool = False) -> list[str]:
        """Slot mappings: from_entity always, from_text for the question the form asked.

        A button payload is typed as easily as pressed, so its values fill only the slot the form
        is asking for (or, for a payload that opens a form, the slot it will ask first: a deep link
        /book_service{"service_type": ...}), and nothing otherwise; the NLU's entities fill every
        slot they map to ("明天上午10点保洁3小时" answers several questions at once)."""
        slots, found = state["slots"], []
        intent = parse["intent"]["name"]
        if state["active_loop"] and intent in self.interrupts.hard:
            return found  # "保洁多少钱一小时" asked mid-form is a question, not an answer of 1 hour
        requested = slots.get("requested_slot") if state["active_loop"] else None
        if payload and not state["active_loop"]:
            requested = self._first_question(intent, state)
        entities: dict[str, Any] = {}
        for e in parse.get("entities", []):
            entities.setdefault(e["entity"], e["value"])  # the first of each kind
        for name, mappings in self._mappings:
            if payload and name != requested:
                continue
            for kind, entity, m in mappings:
                # what the message holds for this mapping first (cheap), its conditions only then
                value = None
                if kind == "from_entity":
                    value = entities.get(entity)
                elif kind == "from_text" and requested == name and msg.text.strip() \
                        and not msg.text.startswith("/"):
                    interrupts = self.interrupts.not_answers - ({"deny"} if name == "notes" else set())
                    if intent not in interrupts:
                        value = msg.text.strip()
                if value is not None and self._applies(m, state):
                    self._set(state, name, value)
                    found.append(name)
                    break
        if msg.contact_phone and "phone" not in found:
            self._set(state, "phone", msg.contact_phone)
            found.append("phone")
        return found

    def _from_entities(self, parse: dict[str, Any], extracted: list[str]) -> bool:
        """Whether one of the ``extracted`` slots was filled from an entity of the message (a day, a time),
        not from its whole text ("不用" as the notes' answer)."""
        found = {e["entity"] for e in parse.get("entities", [])}
        return any(m.get("type") == "from_entity" and m.get("entity") in found
                   for name in extracted for m in self.domain.slots.get(name, {}).get("mappings", []))

    @staticmethod
    def _applies(mapping: dict[str, Any], state: dict[str, Any]) -> bool:
        """A mapping's ``conditions`` (Rasa): one of them names the active form (and the slot it asks).
        ``not_while_asked`` (ours): free-text answers to these questions never fill the slot ("每周三都要带
        吸尘器" typed as notes is a note, not a repeat booking)."""
        if state["active_loop"] and state["slots"].get("requested_slot") in (mapping.get("not_while_asked") or ()):
            return False
        conds = mapping.get("conditions")
        if not conds:
            return True
        return any(c.get("active_loop") == state["active_loop"]
                   and c.get("requested_slot") in (None, state["slots"].get("requested_slot")) for c in conds)

    def _first_question(self, intent: str, state: dict[str, Any]) -> str | None:
        """The slot a form opened by ``intent``'s rule asks first, if that rule opens a form."""
        rule = self._rule(intent, state, [])
        if rule is None or not rule.actions or rule.actions[0] not in self.domain.forms:
            return None
        form, slots = rule.actions[0], state["slots"]
        return next((s for s in self._required(form, slots) if slots.get(s) is None), None)

    def _required(self, form: str, slots: dict[str, Any]) -> list[str]:
        narrowed = self.required_slots(form, slots)
        return list(self.domain.forms.get(form, [])) if narrowed is None else narrowed

    @staticmethod
    def _set(state: dict[str, Any], name: str, value: Any) -> None:
        state["slots"][name] = value
        state["events"].append({"event": "slot", "name": name, "value": value, "timestamp": time.time()})

    # --- policy -------------------------------------------------------------------------------
    def _rule(self, intent: str, state: dict[str, Any], extracted: list[str]) -> Rule | None:
        loop, slots = state["active_loop"], state["slots"]
        if loop and slots.get("requested_slot") in extracted and intent not in self.interrupts.hard:
            return None  # the message answered the form's question ("没有" to "any notes?" is an answer)
        for r in self.rules:
            if r.intent != intent:
                continue
            if r.loop_condition and r.loop_condition != loop:
                continue
            if any(slots.get(k) != v for k, v in r.slot_conditions.items()):
                continue
            if loop and not r.loop_condition and (extracted or intent in ("inform", "affirm", "deny", "nlu_fallback")):
                return None  # a form answers everything that gave it a slot; other intents may interrupt it
            return r
        return None

    async def _run_rule(self, rule: Rule, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        was_active, intent = state["active_loop"], state["latest_message"]["intent"]["name"]
        if was_active and not rule.loop_condition and intent in self.interrupts.abandon:
            state["active_loop"], state["slots"]["requested_slot"] = None, None
            self._set(state, "suspended_forms", None)  # not resumed afterwards: not after an emergency
            was_active = None
        elif was_active and not rule.loop_condition and intent in self.interrupts.flows:
            self._suspend(state)
            was_active = None
        for action in rule.actions:
            if was_active and action == was_active:
                self._utter(self._resume_text(was_active), state, out)
            await self._run(action, state, out)
            if state.get("_restarted"):
                state.pop("_restarted")
                return
        if rule.loop_after is None:
            state["active_loop"] = None
            state["slots"]["requested_slot"] = None
        elif was_active and rule.loop_after == "unchanged" and state["active_loop"] == was_active:
            await self._ask(state, out, resume=True)

    # --- interruptions ------------------------------------------------------------------------
    def _suspend(self, state: dict[str, Any]) -> None:
        """Keep the active form's draft on the stack; another flow runs now, then the form resumes."""
        form, slots = state["active_loop"], state["slots"]
        names = [*self.domain.forms.get(form, []), *self.interrupts.draft_extra.get(form, [])]
        draft = {"form": form, "requested_slot": slots.get("requested_slot"),
                 "slots": {n: slots.get(n) for n in names}}
        self._set(state, "suspended_forms", [*(slots.get("suspended_forms") or []), draft])
        state["active_loop"], slots["requested_slot"] = None, None

    async def _resume(self, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        *rest, draft = state["slots"]["suspended_forms"]
        self._set(state, "suspended_forms", rest or None)
        form = draft.get("form")
        if form not in self.domain.forms:
            return
        for name, value in (draft.get("slots") or {}).items():
            if state["slots"].get(name) != value:
                self._set(state, name, value)
        state["active_loop"] = form
        await self._ask(state, out, resume=True)

    def _resume_text(self, form: str) -> str:
        own = f"utter_resume_{form}"
        return own if own in self.domain.responses else "utter_resume_form"

    async def _run(self, name: str, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        state["latest_action_name"] = name
        try:
            await self._execute(name, state, out)
        finally:
            # Logged after it ran, as Rasa does: the form validates only slots set since the last action.
            state["events"].append({"event": "action", "name": name, "timestamp": time.time()})

    async def _execute(self, name: str, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if name in self.domain.forms:
            await self._form(name, state, out)
        elif name.startswith("utter_"):
            self._utter(name, state, out)
        elif name == "action_restart":
            lang = state["slots"].get("language")
            state.clear()
            state.update(new_state())
            state["slots"]["language"] = lang
        elif name == "action_deactivate_loop":
            state["active_loop"] = None
        else:
            await self._custom(name, state, out)

    # --- forms --------------------------------------------------------------------------------
    async def _form(self, form: str, state: dict[str, Any], out: list[dict[str, Any]]) -> None:
        state["active_loop"] = form
        asked = await self._custom(f"validate_{form}", state, out)
        if state["active_loop"] != form:
            return  # the validation left the form (e.g. nobody offers that service)
        if not asked:
            await self._ask(state, out)

    async def _ask(self, state: dict[str, Any], out: list[dict[str, Any]], resume: bool = False) -> None:
        form, slots = state["active_loop"], state["slots"]
        missing = next((s for s in self._required(form, slots) if slots.get(s) is None), None)
        if missing is None:
            state["active_loop"] = None
            slots["requested_slot"] = None
            follow = self.after_form.get(form)
            if follow:
                await self._run(follow, state, out)
            return
        slots["requested_slot"] = missing
        if resume:
            self._utter(self._resume_text(form), state, out)
        if f"action_ask_{missing}" in self.executor.actions:
            await self._custom(f"action_ask_{missing}", state, out)
        else:
            self._utter(f"utter_ask_{missing}", state, out)

    # --- actions ------------------------------------------------------------------------------
    async def _custom(self, name: str, state: dict[str, Any], out: list[dict[str, Any]]) -> bool:
        """Run a rasa-sdk action in-process; True if it asked the user a question itself."""
        tracker = {"sender_id": state.get("sender_id", ""), "slots": state["slots"],
                   "latest_message": state["latest_message"], "events": state["events"],
                   "paused": state.get("paused", False), "followup_action": None,
                   "active_loop": {"name": state["active_loop"]} if state["active_loop"] else {},
                   "latest_action_name": state.get("latest_action_name")}
        call = {"next_action": name, "sender_id": tracker["sender_id"], "tracker": tracker,
                "domain": self.domain.raw, "version": rasa_sdk.__version__}
        result = await self.executor.run(call)
        if result is None:
            return False
        asked = False
        for ev in result.events:
            kind = ev.get("event")
            if kind == "slot":
                self._set(state, ev["name"], ev["value"])
            elif kind == "active_loop":
                state["active_loop"] = ev.get("name")
                if ev.get("name") is None:
                    state["slots"]["requested_slot"] = None
            elif kind == "restart":
                await self._run("action_restart", state, out)
                state["_restarted"] = True
            elif kind == "followup":
                await self._run(ev["name"], state, out)
        for m in result.responses:
            response = m.get("response")
            if response:
                asked = asked or response.startswith("utter_ask")
                params = {k: v for k, v in m.items() if k not in ("text", "buttons", "response", "template")}
                self._utter(response, state, out, **params)
                if m.get("buttons"):  # buttons built by the action (e.g. free slots) replace the template's
                    out[-1]["buttons"] = self.domain.buttons(m["buttons"], state["slots"].get("language") or "zh")
            elif m.get("text"):
                out.append({k: v for k, v in (("text", m["text"]), ("buttons", m.get("buttons"))) if v})
        return asked

    def _utter(self, name: str, state: dict[str, Any], out: list[dict[str, Any]], **params: Any) -> None:
        lang = state["slots"].get("language") or "zh"
        msg = self.domain.render(name, lang, {**state["slots"], **params})
        if msg is None:
            log.error("response %s is missing from the domain", name)
            return
        out.append(msg)
        state["events"].append({"event": "bot", "text": msg["text"], "timestamp": time.time(),
                                "data": {"buttons": msg.get("buttons")}})
