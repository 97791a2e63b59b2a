"""Explicit language requests (issue 10): "please speak English", "说中文", "講中文", /lang, /lang en, and the
language buttons. The conversation's language (and with it the client's stored one) becomes the one asked
for; a request that names none shows the choice. Unprompted switches are dialogs/language.py's."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dialogs.language import LANGUAGES, LanguagePolicy, lang_command


def wanted(tracker: Tracker, domain: dict[str, Any]) -> str | None:
    """The language the message asks for: a button's or /lang's code, else the words of the request."""
    given = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                  if e.get("entity") == "target_language"), None)
    if given in LANGUAGES:
        return str(given)
    text = tracker.latest_message.get("text") or ""
    is_command, code = lang_command(text)
    if is_command:
        return code
    return LanguagePolicy.from_domain(domain).requested(text)


class ActionSwitchLanguage(Action):
    def name(self) -> str:
        return "action_switch_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        lang = wanted(tracker, domain)
        if lang is None:
            dispatcher.utter_message(response="utter_which_language")
            return []
        dispatcher.utter_message(response=f"utter_language_now_{lang}")
        return [SlotSet("language", lang)]
