"""Cancelling a booking (issue 10): which booking — the one the message names by weekday, date or service
("取消周四那个深度保洁"), else asked with numbered buttons (a typed digit picks) — always a confirmation with
the booking's summary and what cancelling costs now under the policy (config/cancellation.yaml), then
the cancellation at no more than the fee shown, or "不取消了 / keep it" and nothing changes.

In the middle of a form, a cancellation that names another booking ("我要取消周四那个深度保洁", "cancel my
Thursday deep cleaning") is ``cancel_other_booking`` (reads_as_other_booking, a context of
domain.d/cancellation.yml): the draft is suspended, never cancelled or filled, and resumes afterwards. A bare
"取消" still leaves the form."""

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
from dialogs.actions.answers import booking_line, client_escalation, entity, script_of, status_text
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.domain import localise
from dialogs.nlu.normalize import normalize
from dialogs.notify import money

CANCELLABLE = ("requested", "offered", "unassigned", "confirmed")  # not once she has started
DONE = [SlotSet("awaiting_cancel", None), SlotSet("cancel_booking_id", None), SlotSet("cancel_fee_cents", None),
        SlotSet("cancel_choices", None)]
# A day named in the message: it points at a booking that exists (normalised text; see also other_booking_words).
_DAY = re.compile(r"(?:周|星期|礼拜)[一二三四五六日天]|[今明后]天|\d{1,2}月\d{1,2}|\d{1,2}[号日]"
                  r"|#\s*\d+|\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b|\btomorrow\b")
_CHOICE = re.compile(r"\s*(?:第\s*)?(?:no\.?\s*)?#?\s*(\d{1,6})\s*(?:个|号)?\s*")
WORDS_FILE = Path(__file__).resolve().parents[1] / "domain.d" / "cancellation.yml"


@functools.cache
def _words() -> dict[str, tuple[str, ...]]:
    """The typed answers to "cancel it?" (domain.d/cancellation.yml), normalised like the engine does."""
    raw = yamlfile.read(WORDS_FILE)
    words = {**(raw.get("cancel_answer_words") or {}), "other": raw.get("other_booking_words") or ()}
    return {k: tuple(normalize(str(w)).text.strip().lower() for w in v) for k, v in words.items()}


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


def _services_named(text: str) -> set[str]:
    t = normalize(text).text
    return {sid for sid, svc in backend().catalogue.services.items()
            if any(n and normalize(n).text.lower() in t for n in svc.name.values())}


def reads_as_other_booking(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """Mid-form, a cancellation that names another booking — a day, a date, #N, "之前/那个", or a service
    other than the draft's — is about that booking, not the draft ("我要取消周四那个深度保洁")."""
    if intent != "cancel_booking" or active_loop is None:
        return False
    said = _said(text)
    if _DAY.search(said) or any(w in said for w in _words().get("other", ())):
        return True
    named = _services_named(text)
    return bool(named) and slots.get("service_type") not in named


def reads_as_choice(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """While "which booking?" waits, a typed number picks: 1..n as listed, or a listed booking's #id."""
    m = _CHOICE.fullmatch(normalize(text).text)
    choices = slots.get("cancel_choices") or []
    return bool(m) and (1 <= int(m[1]) <= len(choices) or int(m[1]) in choices)


def summary(b: dict[str, Any], lang: str) -> str:
    """#12 日常保洁 · 11月19日（周四）10:00 · 3小时 · 150元 · 王阿姨 (our words in the client's script)"""
    en = lang == "en"
    size = (f"{b['hours']:g} h" if en else f"{b['hours']:g}小时") if b.get("hours") else (
        (f"{b['area']:g} m²" if en else f"{b['area']:g}平米") if b.get("area") else "")
    price = (f"{b['price']} CNY" if en else f"{b['price']}元") if b.get("price") else ""
    ours = " · ".join(p for p in (f"#{b['id']} {service_name(b['service'], lang)}", when(b["starts_at"], lang),
                                  size, price) if p)
    who = b.get("housekeeper") or ""  # a name, as written
    return localise(ours, lang) + (f" · {who}" if who else "")


async def ask_to_confirm(dispatcher: CollectingDispatcher, tracker: Tracker, booking_id: int) -> list[EventType]:
    """The summary and the fee (or "free") with 确认取消 / 不取消了; nothing is cancelled yet."""
    be, lang, client_id = backend(), script_of(tracker), tracker.get_slot("client_id")
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
        dispatcher.utter_message(response="utter_cancel_confirm_free",
                                 free_until=localise(when(q["free_until"], lang), lang), **common)
    # Asked first, always: a misread message ("scratched my floor") never destroys a booking.
    return [SlotSet("awaiting_cancel", True), SlotSet("cancel_booking_id", booking_id),
            SlotSet("cancel_fee_cents", q["fee_cents"]), SlotSet("cancel_choices", None)]


def _named(tracker: Tracker, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bookings the message names by day/date and service ("周四那个深度保洁"); all of them if it names none."""
    tz = backend().ctx.tz
    ents = tracker.latest_message.get("entities", [])
    days = {datetime.fromisoformat(e["value"]).astimezone(tz).date() for e in ents
            if e.get("entity") == "time" and isinstance(e.get("value"), str)}
    services = {e["value"] for e in ents if e.get("entity") == "service_type"}
    return [b for b in items
            if (not days or datetime.fromisoformat(b["starts_at"]).astimezone(tz).date() in days)
            and (not services or b["service"] in services)]


def _typed_choice(tracker: Tracker, items: list[dict[str, Any]]) -> int | None:
    """A typed number while "which booking?" waits: the n-th listed booking, or a listed #id."""
    choices = [int(i) for i in tracker.get_slot("cancel_choices") or []]
    m = _CHOICE.fullmatch(normalize(tracker.latest_message.get("text") or "").text)
    if not choices or not m:
        return None
    n = int(m[1])
    picked = choices[n - 1] if 1 <= n <= len(choices) else n if n in choices else None
    return picked if any(b["id"] == picked for b in items) else None


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        items = [b for b in await call(backend().open_bookings, tracker.get_slot("client_id"))
                 if b["status"] in CANCELLABLE]
        chosen = entity(tracker, "booking_id")
        if chosen is None:
            chosen = _typed_choice(tracker, items)
        if chosen is None and not items:
            dispatcher.utter_message(response="utter_no_bookings")
            return DONE
        if chosen is None:
            named = _named(tracker, items)
            if len(named) == 1:
                chosen = named[0]["id"]
            else:
                return self.which(dispatcher, tracker, named or items, missed=not named)
        try:
            booking_id = int(chosen)
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_no_bookings")
            return DONE
        return await ask_to_confirm(dispatcher, tracker, booking_id)

    @staticmethod
    def which(dispatcher: CollectingDispatcher, tracker: Tracker, items: list[dict[str, Any]],
              missed: bool) -> list[EventType]:
        """Numbered buttons; a typed number picks one (reads_as_choice). ``missed``: none matched what
        the message named, so all are listed."""
        script = script_of(tracker)
        buttons = [{"title": f"{n}. {booking_line(b, script)}"[:60],
                    "payload": f'/cancel_booking{{"booking_id": {b["id"]}}}'} for n, b in enumerate(items, 1)]
        response = "utter_which_booking_to_cancel_none_matched" if missed else "utter_which_booking_to_cancel"
        dispatcher.utter_message(response=response, buttons=buttons)
        return [*DONE, SlotSet("cancel_choices", [b["id"] for b in items])]


class ActionCancelBookingConfirmed(Action):
    def name(self) -> str:
        return "action_cancel_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), script_of(tracker), tracker.get_slot("client_id")
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
