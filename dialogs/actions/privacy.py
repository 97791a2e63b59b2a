"""A client's personal data in the conversation: "删除我的个人信息 / delete my data" (explained, then
confirmed, then recorded for a manager or erased at once) and "导出我的信息 / export my data".

Also the managers' side (``staff_command``), which the staff desk delegates to, so the whole privacy
flow lives in one place.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions.answers import script_of, status_text
from dialogs.actions.booking import lang_of
from dialogs.actions.runtime import backend, call, service_name, when

ASK = "action_privacy_erase_ask"
NONE = "—"
# When the erasure question is not the last thing the bot asked, a yes / no / cancel means what it
# means elsewhere (see rules.yml): keyed by (intent, a booking summary is waiting).
STALE = {("affirm", True): "action_submit_booking", ("deny", True): "action_leave_form",
         ("affirm", False): "utter_default_menu", ("deny", False): "utter_default_menu",
         ("cancel_booking", True): "action_cancel_booking", ("cancel_booking", False): "action_cancel_booking"}
STAFF_INTENTS = ("approve_privacy", "reject_privacy")


def just_asked(tracker: Tracker) -> bool:
    """Was the erasure question the bot's last action before this message? A confirmation counts only
    then, so a stray "yes" hours later never erases anything."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    before = (e.get("name") for e in reversed(events[:max(last_user, 0)]) if e.get("event") == "action")
    return next(before, None) == ASK


def stale(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    intent = tracker.latest_message.get("intent", {}).get("name", "")
    follow = STALE.get((intent, bool(tracker.get_slot("awaiting_confirmation"))))
    if follow is None:
        dispatcher.utter_message(response="utter_privacy_erase_expired")
        return [SlotSet("awaiting_erasure", None)]
    return [SlotSet("awaiting_erasure", None), FollowupAction(follow)]


class ActionPrivacyEraseAsk(Action):
    def name(self) -> str:
        return ASK

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        auto = backend().ctx.erase_mode == "auto"
        dispatcher.utter_message(response="utter_privacy_erase_confirm_auto" if auto else "utter_privacy_erase_confirm")
        return [SlotSet("awaiting_erasure", True)]


class ActionPrivacyErase(Action):
    def name(self) -> str:
        return "action_privacy_erase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if not just_asked(tracker):
            return stale(dispatcher, tracker)
        req = await call(backend().request_erasure, tracker.get_slot("client_id"))
        if req["status"] == "done":
            dispatcher.utter_message(response="utter_privacy_erased")
            return [Restarted()]  # the conversation so far was part of what is erased
        dispatcher.utter_message(response="utter_privacy_erase_requested", request_id=req["id"])
        return [SlotSet("awaiting_erasure", None)]


class ActionPrivacyEraseCancel(Action):
    def name(self) -> str:
        return "action_privacy_erase_cancel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not just_asked(tracker):
            return stale(dispatcher, tracker)
        dispatcher.utter_message(response="utter_privacy_erase_cancelled")
        return [SlotSet("awaiting_erasure", None)]


class ActionPrivacyExport(Action):
    def name(self) -> str:
        return "action_privacy_export"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        data = await call(backend().export_data, tracker.get_slot("client_id"))
        p = data["profile"]
        lines = "\n".join(export_line(b, script_of(tracker)) for b in data["bookings"]) or f"  {NONE}"
        dispatcher.utter_message(response="utter_privacy_export", client_name=p["name"] or NONE,
                                 phone=p["phone"] or NONE, address=p["address"] or NONE, lang=p["lang"],
                                 since=when(p["created_at"], lang),
                                 channels=", ".join(data["channels"]) or NONE, bookings=lines,
                                 days=data["retention_days"],
                                 profile_count=sum(1 for i in data["profile_items"] if not i["removed_at"]),
                                 preferred_count=len(p["preferred"]), never_count=len(p["never_again"]),
                                 survey_count=sum(1 for s in data["surveys"] if s["answered_at"]),
                                 case_count=len(data["cases"]))
        return []


def export_line(b: dict[str, Any], lang: str) -> str:
    """One booking with its facts and the client's own address and notes (icons instead of labels)."""
    bits = [f"  #{b['id']} {service_name(b['service'], lang)}", when(b["starts_at"], lang),
            status_text(b["status"], lang), f"¥{b['price']}", b["district"] or "",
            f"📍{b['address']}" if b["address"] else "", f"📝{b['notes']}" if b["notes"] and b["notes"] != "-" else ""]
    return " · ".join(x for x in bits if x)


async def staff_command(be: Any, n: Any, person: Any, lang: str, cmd: str, intent: str,
                        args: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Managers: ``/privacy`` lists pending erasure requests; the alert's buttons approve or reject one.
    None when the message is not a privacy command."""
    if cmd == "/privacy":
        items = await call(be.privacy_requests)
        if not items:
            return [n.text("staff_no_privacy_requests", lang)]
        return [n.text("staff_privacy_requests", lang, count=len(items))] + [
            n.render("privacy_request", {"request_id": r["id"], "client_id": r["client_id"], "kind": r["kind"]}, lang)
            for r in items[:20]]
    if intent in STAFF_INTENTS:
        try:
            request_id = int(args["request_id"])
            if not 0 < request_id < 2**31:
                raise ValueError("request id out of range")
            r = await call(be.decide_privacy, person.id, request_id, intent == "approve_privacy")
        except (DomainError, KeyError, TypeError, ValueError):
            return [n.text("staff_error_privacy_request", lang)]
        done = "staff_privacy_approved" if r["status"] == "done" else "staff_privacy_rejected"
        return [n.text(done, lang, request_id=r["id"], client_id=r["client_id"])]
    return None
