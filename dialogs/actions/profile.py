"""The client profile (客户档案) in conversation, and the client's answer to a proposal.

A preference ("我家有猫，希望阿姨不要用消毒水") becomes profile items (coded where config/profile.yaml
knows the term, else the client's words as a habit or note) and is read back with 好的 / 修改; every
booking made afterwards carries them (``bookings.create`` copies the profile's items). A request that
needs a plan or a quote opens a custom_request case whose due time is named; the manager's proposal comes
back with 接受 / 婉拒 (``action_proposal_answer``). "我的档案" shows the items, the preferred and
never-again housekeepers and how we address the client, each removable by a button.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.booking import lang_of
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.domain import Domain, localise

TEXT_MAX = 200  # a note kept in the client's words (the profile's limit)


def extract(text: str) -> tuple[list[dict[str, Any]], bool]:
    """(profile items in the text, whether it asks for a plan or a quote): the NLU's profile terms."""
    from dialogs.nlu.profile_terms import needs_plan, profile_items

    return profile_items(text), needs_plan(text)


def script_of(tracker: Tracker) -> str:
    lang = tracker.get_slot("language")
    return lang if lang in ("zh", "zh-Hant", "en") else lang_of(tracker)


def word(domain: dict[str, Any], key: str, script: str, **params: Any) -> str:
    """One of our phrases (a line, a button title) from the domain's responses, in the conversation's
    language and script, to be put inside another response."""
    msg = Domain(domain, domain.get("responses") or {}, {}, {}, [], []).render(key, script, params)
    return msg["text"] if msg else key


def label(item: dict[str, Any], lang: str) -> str:
    """Our words for a coded item (in Traditional characters for zh-Hant), else the client's own as given."""
    names = item.get("label") or {}
    ours = names.get("en" if lang == "en" else "zh")
    return localise(str(ours), lang) if ours else str(item.get("text") or item.get("code") or "")


def joined(items: list[dict[str, Any]], lang: str) -> str:
    return ("; " if lang == "en" else "；").join(dict.fromkeys(label(i, lang) for i in items if label(i, lang)))


async def save_items(dispatcher: CollectingDispatcher, tracker: Tracker, items: list[dict[str, Any]],
                     source: str = "chat") -> list[EventType]:
    """Store the items and read them back with 好的 / 修改 (already held: said so)."""
    be, lang, client_id = backend(), script_of(tracker), tracker.get_slot("client_id")
    clean = [{"kind": i["kind"], "code": i.get("code"), "text": (i.get("text") or "")[:TEXT_MAX] or None}
             for i in items]
    added = await call(be.add_profile_items, client_id, clean, source)
    naming = next((i["text"] for i in clean if i["kind"] == "address_as" and i["text"]), None)
    if naming:  # stored on the client, not as an item: said back on its own (the job card shows it)
        dispatcher.utter_message(response="utter_profile_address_as", address_as=naming)
        if not added and all(i["kind"] == "address_as" for i in clean):
            return []
    if not added:
        held = (await call(be.profile, client_id))["items"]
        codes = {i.get("code") for i in clean if i.get("code")}
        dispatcher.utter_message(response="utter_profile_already",
                                 items=joined([h for h in held if h.get("code") in codes] or clean, lang))
        return []
    dispatcher.utter_message(response="utter_profile_saved", items=joined(added, lang))
    return [SlotSet("profile_new_items", [a["id"] for a in added]), SlotSet("awaiting_profile_check", True)]


async def custom_request(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
    """A request that needs a plan or a quote: a custom_request case; the reply names its due time."""
    from dialogs.actions.answers import client_case  # answers.py calls capture(): imported when used
    from dialogs.actions.complaints import due_text

    case = await client_case(dispatcher, tracker, "custom_request", text=text or None)
    if case is not None and case.get("joined"):
        # More words on the open request: on its timeline and sent to its manager; its clock was set once.
        dispatcher.utter_message(response="utter_custom_request_joined", case_id=case["id"])
    elif case is not None:
        dispatcher.utter_message(response="utter_custom_request_received", request=text[:80], case_id=case["id"],
                                 due=due_text(case.get("due_at"), lang_of(tracker)))
    return []


async def capture(dispatcher: CollectingDispatcher, tracker: Tracker, *, request: bool) -> list[EventType]:
    """A customisation (``request``: the client asks us for something) or a stated preference.

    Lasting facts go to the profile and are read back; a plan or a quote (or, for a request, words with
    nothing we can keep) opens a custom request. A preference we cannot code is kept as a note in the
    client's words: what was said is never dropped."""
    text = tracker.latest_message.get("text", "").strip()[:500]
    items, plan = extract(text)
    events: list[EventType] = []
    if plan:
        coded = [i for i in items if i.get("code")]  # household facts said with the request are kept too
        if coded:
            events += await save_items(dispatcher, tracker, coded)
        return [*events, *await custom_request(dispatcher, tracker, text)]
    if items:
        return await save_items(dispatcher, tracker, items)
    if request:
        return await custom_request(dispatcher, tracker, text)
    return await save_items(dispatcher, tracker, [{"kind": "note", "code": None, "text": text}])


class ActionProfileCapture(Action):
    def name(self) -> str:
        return "action_profile_capture"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        return await capture(dispatcher, tracker, request=False)


class ActionProfileOk(Action):
    def name(self) -> str:
        return "action_profile_ok"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_profile_ok")
        return [SlotSet("awaiting_profile_check", None), SlotSet("profile_new_items", None)]


class ActionProfileEdit(Action):
    """修改: the items just read back, each a button that removes it."""

    def name(self) -> str:
        return "action_profile_edit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        script = lang = script_of(tracker)
        new = set(tracker.get_slot("profile_new_items") or [])
        items = [i for i in (await call(backend().profile, tracker.get_slot("client_id")))["items"] if i["id"] in new]
        done = [SlotSet("awaiting_profile_check", None)]
        if not items:
            dispatcher.utter_message(response="utter_profile_nothing_to_edit")
            return done
        buttons = [{"title": word(domain, "profile_button_remove", script, item=label(i, lang))[:60],
                    "payload": f'/profile_remove{{"item_id": {i["id"]}}}'} for i in items]
        buttons.append({"title": word(domain, "profile_button_done", script), "payload": "/profile_ok"})
        dispatcher.utter_message(response="utter_profile_edit", buttons=buttons)
        return done


class ActionProfileRemove(Action):
    def name(self) -> str:
        return "action_profile_remove"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        item_id = next((e["value"] for e in tracker.latest_message.get("entities", [])
                        if e.get("entity") == "item_id"), None)
        try:
            gone = await call(backend().remove_profile_item, tracker.get_slot("client_id"), int(item_id))
        except (DomainError, TypeError, ValueError):
            dispatcher.utter_message(response="utter_profile_remove_gone")
            return []
        dispatcher.utter_message(response="utter_profile_removed", item=label(gone, script_of(tracker)))
        left = [i for i in tracker.get_slot("profile_new_items") or [] if i != gone.get("id")]
        return [SlotSet("profile_new_items", left or None), SlotSet("awaiting_profile_check", None)]


class ActionProfileUnprefer(Action):
    def name(self) -> str:
        return "action_profile_unprefer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        ents = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
        kind = ents.get("pref_kind") if ents.get("pref_kind") in ("preferred", "never_again") else "preferred"
        client_id = tracker.get_slot("client_id")
        before = await call(backend().profile, client_id)
        name = next((h["name"] for h in before.get(kind) or [] if h["id"] == ents.get("housekeeper_id")), None)
        try:
            await call(backend().remove_preference, client_id, kind, int(ents.get("housekeeper_id")))
        except (DomainError, TypeError, ValueError):
            name = None
        if name is None:
            dispatcher.utter_message(response="utter_profile_remove_gone")
            return []
        dispatcher.utter_message(response="utter_profile_preference_removed", name=name)
        return []


class ActionViewProfile(Action):
    """我的档案: items, how we address the client, preferred and never-again housekeepers (first names)."""

    def name(self) -> str:
        return "action_view_profile"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        script = lang = script_of(tracker)
        prof = await call(backend().profile, tracker.get_slot("client_id"))
        sep = ", " if lang == "en" else "、"
        lines, buttons = [], []
        if prof.get("address_as"):
            lines.append(word(domain, "profile_line_address_as", script, name=prof["address_as"]))
        for i in prof.get("items") or []:
            lines.append(f"• {label(i, lang)}")  # a bullet and the item: no words of ours
            buttons.append({"title": word(domain, "profile_button_remove", script, item=label(i, lang))[:60],
                            "payload": f'/profile_remove{{"item_id": {i["id"]}}}'})
        for kind, button in (("preferred", "profile_button_unprefer"), ("never_again", "profile_button_unblock")):
            people = prof.get(kind) or []
            if people:
                lines.append(word(domain, f"profile_line_{kind}", script, names=sep.join(h["name"] for h in people)))
            buttons += [{"title": word(domain, button, script, name=h["name"])[:60],
                         "payload": f'/profile_unprefer{{"housekeeper_id": {h["id"]}, "pref_kind": "{kind}"}}'}
                        for h in people]
        if not lines:
            dispatcher.utter_message(response="utter_profile_empty")
            return []
        buttons.append({"title": word(domain, "profile_button_done", script), "payload": "/profile_ok"})
        dispatcher.utter_message(response="utter_profile_view", lines="\n".join(lines), buttons=buttons)
        return []


class ActionProfileSaveNotes(Action):
    """A submitted booking's notes stated a lasting fact: yes → the profile (source "booking")."""

    def name(self) -> str:
        return "action_profile_save_notes"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = tracker.get_slot("profile_offer") or []
        done = [SlotSet("awaiting_profile_save", None), SlotSet("profile_offer", None)]
        if not items:
            dispatcher.utter_message(response="utter_profile_nothing_to_edit")
            return done
        return [*done, *await save_items(dispatcher, tracker, items, source="booking")]


class ActionProfileSkipNotes(Action):
    def name(self) -> str:
        return "action_profile_skip_notes"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_profile_notes_skipped")
        return [SlotSet("awaiting_profile_save", None), SlotSet("profile_offer", None)]


PROPOSAL_GONE = {"proposal_expired": "utter_proposal_expired", "proposal_withdrawn": "utter_proposal_withdrawn",
                 "proposal_declined": "utter_proposal_answered", "proposal_accepted": "utter_proposal_answered",
                 "proposal_not_found": "utter_proposal_not_found"}  # another client's id is "not found"


class ActionProposalAnswer(Action):
    """接受 → a booking at the proposal's price (the booking form asks what the proposal left open);
    婉拒 → the manager is told and the case stays open."""

    def name(self) -> str:
        return "action_proposal_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        ents = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
        try:
            proposal_id = int(ents.get("proposal_id"))
            if ents.get("accept") is False or str(ents.get("accept")).lower() == "false":
                await call(be.decline_proposal, client_id, proposal_id)
                dispatcher.utter_message(response="utter_proposal_declined")
                return []
            r = await call(be.accept_proposal, client_id, proposal_id)
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_default_menu")
            return []
        except DomainError as e:
            if e.code not in PROPOSAL_GONE:
                raise
            dispatcher.utter_message(response=PROPOSAL_GONE[e.code])
            return []
        p, b = r["proposal"], r["booking"]
        price = round(p["price_cents"] / 100)
        if b is not None:
            dispatcher.utter_message(response="utter_proposal_booked", booking_id=b["id"], price=b["price"],
                                     service=service_name(b["service"], lang), time=when(b["starts_at"], lang))
            return [SlotSet("submitted_booking_id", b["id"])]
        # What the proposal left open is asked by the normal booking form; its submit accepts the proposal.
        dispatcher.utter_message(response="utter_proposal_needs_details", price=price)
        prefill = await call(be.proposal_prefill, client_id, proposal_id)
        events: list[EventType] = [SlotSet("proposal_id", proposal_id), SlotSet("proposal_price", price),
                                   SlotSet("form_key", None), SlotSet("awaiting_confirmation", None)]
        for slot, value in (("service_type", p.get("service")), ("time", p.get("starts_at")),
                            ("duration", p.get("hours")), ("area", p.get("area")),
                            ("address", prefill.get("address"))):
            if value is not None:  # what is known is filled (and checked by the form); the rest is asked
                events.append(SlotSet(slot, value))
        return [*events, ActiveLoop("booking_form"), FollowupAction("booking_form")]
