"""The booking form: what to ask, how to check each answer, the summary, submit, change, leave."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError, Request
from backend.domain import contact
from backend.domain.places import canonical_city, english, short
from backend.services.bookings import validate
from dialogs.actions import times
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.nlu.address import whole_answer
from dialogs.nlu.normalize import normalize

# form_key names one filling of the form: submitting it twice (a retry, a double tap) is one booking.
# standing_notes_off: 这次不用 on the summary; proposal_id/proposal_price: the form completes an accepted proposal.
FORM_SLOTS = ("recurrence", "service_type", "time", "pending_date", "duration", "area", "address", "phone", "notes",
              "awaiting_confirmation", "requested_slot", "form_key", "standing_notes_off", "proposal_id",
              "proposal_price", "address_pending")
# A value the backend refused at submit time → the slot to ask again (time for anything else).
REASK = {"invalid_phone": "phone", "invalid_address": "address", "invalid_notes": "notes", "outside_area": "address"}
NO_NOTES = {"-", "没有", "无", "没", "不用", "没有了", "no", "none", "nothing", "nope", "n/a", "没什么", "否"}


def booking_required_slots(form: str, slots: dict[str, Any]) -> list[str] | None:
    """What the booking form needs, by the chosen service's price unit (None: another form, whose
    domain list stands)."""
    if form == "placement_form":  # issue 12: a placement's own questions (dialogs/actions/placements.py)
        from dialogs.actions.placements import placement_required_slots  # placements.py imports this module

        return placement_required_slots(slots)
    if form != "booking_form":
        return None
    needed = ["service_type", "time"]
    service = slots.get("service_type")
    if service and service in backend().catalogue:
        unit = backend().catalogue[service].unit
        if unit == "hour":
            needed.append("duration")
        elif unit == "sqm":
            needed.append("area")
    return [*needed, "address", "phone", "notes"]


def request_of(slots: dict[str, Any]) -> Request:
    return Request(service=slots["service_type"], starts_at=datetime.fromisoformat(slots["time"]),
                   hours=slots.get("duration"), area=slots.get("area"), address=slots.get("address"),
                   district=district_of(slots.get("address")), notes=slots.get("notes") or None,
                   standing_notes=[] if slots.get("standing_notes_off") else None,
                   city=backend().ctx.area.locate(slots.get("address"))[0])


def district_of(address: str | None) -> str | None:
    """The canonical district (朝阳区) of an address, from the place-name table or its shape."""
    return backend().ctx.area.locate(address)[1]


def served_cities(lang: str) -> str:
    """The cities the company serves, for "we serve only …" replies."""
    names = backend().ctx.area.cities
    if lang == "en":
        en = [english(c) or c for c in names]
        return " and ".join([", ".join(en[:-1]), en[-1]] if len(en) > 1 else en)
    return "、".join(short(c) for c in names)


def lang_of(tracker: Tracker) -> str:
    """The language an action writes in: zh-Hant conversations get zh (the renderer converts it)."""
    return "en" if tracker.get_slot("language") == "en" else "zh"


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        from dialogs.actions import placements  # placements.py imports this module

        # issue 12: a placement, not one visit — unless it completes a manager's accepted proposal (its
        # agreed plan and price stand: the booking form only asks what the proposal left open)
        if placements.is_placement(tracker.get_slot("service_type")) and tracker.get_slot("proposal_id") is None:
            return await placements.start(dispatcher, tracker)
        events = await super().run(dispatcher, tracker, domain)
        if not tracker.get_slot("form_key"):
            events.append(SlotSet("form_key", uuid.uuid4().hex))  # this filling of the form, for submit
            events.append(SlotSet("submitted_booking_id", None))  # a new booking: the last one is done
        return events

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> list[str]:
        return booking_required_slots("booking_form", tracker.slots) or []

    def validate_service_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> dict[str, Any]:
        if value in backend().catalogue:
            return {"service_type": value}
        dispatcher.utter_message(response="utter_invalid_service_type")
        return {"service_type": None}

    def validate_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        be, lang = backend(), lang_of(tracker)
        ent = next((e for e in tracker.latest_message.get("entities", []) if e.get("entity") == "time"), {})
        info = ent.get("additional_info") or {}
        try:
            start = datetime.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(response="utter_invalid_time")
            return {"time": None}
        if start.tzinfo is None:
            start = start.replace(tzinfo=be.ctx.tz)
        start = start.astimezone(be.ctx.tz)
        service = tracker.get_slot("service_type")
        if info.get("weekday_conflict"):  # "12月5日周三" when the 5th is a Saturday: which day?
            return times.ask_which_day(dispatcher, start, ent, lang)
        grain = "day" if len(str(value)) == 10 else ent.get("grain", "minute")  # a date button: "2026-12-05"
        before = times.draft_time(tracker) if grain == "day" else None
        if before:  # "不对，是周五": another day for the clock time already given
            prev = datetime.fromisoformat(before).astimezone(be.ctx.tz)
            start, grain = start.replace(hour=prev.hour, minute=prev.minute), "minute"
        if grain == "day":  # a date without a time of day: remember the date, ask for the time
            return _ask_on_day(dispatcher, tracker, start.date(), None, lang)
        if grain == "part_of_day" and info.get("part_of_day"):  # "周六下午": the hours still bookable in it
            return _ask_on_day(dispatcher, tracker, start.date(), info["part_of_day"], lang)
        if not info.get("has_date", True) and (day := times.kept_date(tracker, be.ctx.tz)):
            # "下午3点" after a date was given: that date, not today
            start = start.replace(year=day.year, month=day.month, day=day.day)
            part = tracker.get_slot("pending_part") if tracker.get_slot("pending_date") else None
            start = times.in_part(start, part, bool(info.get("ambiguous_hour")))
        problem = _time_problem(start, service, tracker)
        if problem:
            dispatcher.utter_message(response=f"utter_invalid_{problem}", **_outside_params(service, lang))
            return {"time": None}
        return {"time": start.isoformat(), "pending_date": None, "pending_part": None}

    def validate_duration(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: dict[str, Any]) -> dict[str, Any]:
        svc = backend().catalogue[tracker.get_slot("service_type")]
        try:
            hours = float(value)
        except (TypeError, ValueError):
            hours = -1
        if svc.min_hours <= hours <= svc.max_hours:
            if tracker.get_slot("time") and _time_problem(datetime.fromisoformat(tracker.get_slot("time")),
                                                          svc.id, tracker, hours=hours) == "outside_hours":
                dispatcher.utter_message(response="utter_invalid_outside_hours",
                                         service=service_name(svc.id, lang_of(tracker)),
                                         open=svc.hours[0], close=svc.hours[1])
                return {"duration": None, "time": None}
            return {"duration": hours}
        dispatcher.utter_message(response="utter_invalid_duration", service=service_name(svc.id, lang_of(tracker)),
                                 min=f"{svc.min_hours:g}", max=f"{svc.max_hours:g}")
        return {"duration": None}

    def validate_area(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        try:
            area = float(value)
        except (TypeError, ValueError):
            area = -1
        if 10 <= area <= backend().ctx.max_area:
            return {"area": area}
        dispatcher.utter_message(response="utter_invalid_area", max=int(backend().ctx.max_area))
        return {"area": None}

    def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: dict[str, Any]) -> dict[str, Any]:
        msg = tracker.latest_message
        ent = next((e["value"] for e in msg.get("entities", []) if e.get("entity") == "address"), None)
        asked = tracker.get_slot("requested_slot") == "address"
        if ent and asked:  # the answer to "what is the address?": keep all of it, not only the span found
            ent = whole_answer(str(msg.get("text") or ""), msg.get("entities", [])) or ent
        text = str(ent or value or "").strip()
        area, lang = backend().ctx.area, lang_of(tracker)
        pending = tracker.get_slot("address_pending") if asked else None
        if pending and not ent:
            # The answer to "which city?" (asked once): a city completes the address; anything else → as given.
            city = canonical_city(text)
            if city and re.search(r"[\u4e00-\u9fff]", pending):
                text = f"{short(city)}{pending}" if short(city) not in pending else pending
            elif city:
                text = f"{pending}, {english(city) or city}"
            else:
                return {"address": pending, "address_pending": None}
            ent = text
        if not ((4 <= len(text) <= 200 and any(c.isdigit() for c in text)) or (ent and 4 <= len(text) <= 200)):
            dispatcher.utter_message(response="utter_invalid_address")
            return {"address": None, "address_pending": None}
        city, district = area.locate(text)
        if not area.covers(city, district):
            dispatcher.utter_message(response="utter_outside_area", cities=served_cities(lang))
            return {"address": None, "address_pending": None}
        if city is None and len(area.cities) > 1 and not pending:
            buttons = [{"title": (english(c) or c) if lang == "en" else short(c), "payload": short(c)}
                       for c in area.cities]
            dispatcher.utter_message(response="utter_ask_address_city", buttons=buttons)
            # the answer goes to the address even when the address came early, with another question open
            return {"address": None, "address_pending": text, "requested_slot": "address"}
        return {"address": text, "address_pending": None}

    def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        # The dialogue is lenient ("我的手机138 1234 5678"); the backend checks the number again.
        digits = contact.phone(re.sub(r"\D", "", str(value or "")))
        if digits is not None:
            return {"phone": digits}
        dispatcher.utter_message(response="utter_invalid_phone")
        return {"phone": None}

    def validate_notes(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        text = str(value or "").strip()[:contact.NOTES_MAX]
        if contact.notes(text) is None:
            dispatcher.utter_message(response="utter_invalid_notes")
            return {"notes": None}
        return {"notes": "" if normalize(text).text.strip(" .。!！") in NO_NOTES else text}


def _outside_params(service: str | None, lang: str) -> dict[str, Any]:
    """What the "that time cannot be booked" replies quote: lead time, horizon, the service's hours."""
    be = backend()
    svc = be.catalogue.services.get(service or "")
    return {"hours": be.ctx.lead_time_minutes // 60, "days": be.ctx.max_days_ahead,
            "service": service_name(service, lang), "open": svc.hours[0] if svc and svc.hours else 7,
            "close": svc.hours[1] if svc and svc.hours else 21}


def _time_problem(start: datetime, service: str | None, tracker: Tracker, hours: float | None = None) -> str | None:
    """The time-related reason a start time is refused, if any (past, too soon, outside hours …)."""
    be = backend()
    req = Request(service if service in be.catalogue else "cleaning", start,
                  hours=hours or tracker.get_slot("duration"), area=tracker.get_slot("area"))
    try:
        validate(be.ctx, req)
    except DomainError as e:
        if e.code == "outside_hours" and service not in be.catalogue:
            return None
        return e.code if e.code.startswith(("time_", "outside_")) else None
    return None


def _ask_on_day(dispatcher: CollectingDispatcher, tracker: Tracker, day: date, part: Any, lang: str) -> dict[str, Any]:
    """The hour on a day already given: inside its part of the day, with the hours still bookable as buttons,
    or at any time of that day; the day is kept for a clock-only answer."""
    if not part:
        dispatcher.utter_message(response="utter_ask_time_of_day", date=times.day_text(day, lang))
        return {"time": None, "pending_date": day.isoformat(), "pending_part": None}
    service = tracker.get_slot("service_type")
    return times.ask_hour(dispatcher, day, part, lang, backend().ctx.tz, lambda t: _time_problem(t, service, tracker),
                          _outside_params(service, lang))


class ActionAskTime(Action):
    """The time question, asked again after an answer to another question: a day already given stays in it
    ("12月6日（周日）6:00–9:00 之间几点上门？"), as the form still holds it, instead of a question from scratch."""

    def name(self) -> str:
        return "action_ask_time"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        pending, part = tracker.get_slot("pending_date"), tracker.get_slot("pending_part")
        if not pending:
            dispatcher.utter_message(response="utter_ask_time")
            return []
        day = datetime.fromisoformat(str(pending)[:10]).date()
        slots = _ask_on_day(dispatcher, tracker, day, part, lang_of(tracker))
        return [SlotSet(k, v) for k, v in slots.items() if tracker.get_slot(k) != v]


class ActionAskDuration(Action):
    def name(self) -> str:
        return "action_ask_duration"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        svc = backend().catalogue[tracker.get_slot("service_type")]
        dispatcher.utter_message(response="utter_ask_duration", min=f"{svc.min_hours:g}", max=f"{svc.max_hours:g}")
        return []


class ActionAskArea(Action):
    def name(self) -> str:
        return "action_ask_area"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_area")
        return []


def summary_params(slots: dict[str, Any], lang: str) -> dict[str, Any]:
    be = backend()
    svc = be.catalogue[slots["service_type"]]
    size = ""
    if svc.unit == "hour":
        size = f"• Hours: {slots['duration']:g}\n" if lang == "en" else f"• 时长：{slots['duration']:g}小时\n"
    elif svc.unit == "sqm":
        size = f"• Area: {slots['area']:g} sqm\n" if lang == "en" else f"• 面积：{slots['area']:g}平米\n"
    notes = slots.get("notes")
    note_line = (f"• Notes: {notes}\n" if lang == "en" else f"• 备注：{notes}\n") if notes else ""
    price = slots.get("proposal_price")  # a proposal's agreed price, else the catalogue's estimate
    if price is None:
        price = be.quote(svc.id, slots.get("duration"), slots.get("area"))
        # A holiday surcharge (services.yaml surcharges:), as bookings.create prices it; a series shows its
        # surcharged dates itself (dialogs/actions/series.py).
        day = datetime.fromisoformat(slots["time"]).astimezone(be.ctx.tz).date()
        factor, surcharge = be.catalogue.surcharge(svc.id, day)
        if surcharge is not None and not slots.get("recurrence"):
            name = surcharge.name.get("en" if lang == "en" else "zh", "")
            note_line += (f"• Includes the {name} surcharge ×{factor:g} (normally {price} CNY)\n" if lang == "en"
                          else f"• 含{name}加价 ×{factor:g}（平时{price}元）\n")
            price = round(price * factor)
    return {"service": service_name(svc.id, lang), "time": when(slots["time"], lang), "size": size,
            "address": slots.get("address"), "phone": slots.get("phone"), "notes": note_line, "price": price}


def standing_text(check: dict[str, Any], lang: str) -> str:
    """The profile's standing notes a new booking carries (``Backend.check`` read them), as the summary
    shows them ("" when none)."""
    from dialogs.actions.profile import joined  # profile.py imports this module

    return joined(check.get("standing") or [], lang)


class ActionBookingSummary(Action):
    """Check the request against availability; show the summary, or the nearest free times."""

    def name(self) -> str:
        return "action_booking_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, slots = backend(), lang_of(tracker), dict(tracker.slots)
        ent = next((e for e in tracker.latest_message.get("entities", []) if e.get("entity") == "time"), None)
        events: list[EventType] = []
        if ent and tracker.latest_message.get("intent", {}).get("name") == "choose_slot":
            slots["time"] = ent["value"]
            events.append(SlotSet("time", ent["value"]))
        if not all(slots.get(s) is not None for s in booking_required_slots("booking_form", slots) or ()):
            return [*events, ActiveLoop("booking_form"), FollowupAction("booking_form")]
        if slots.get("recurrence"):  # a repeat booking: the first visit falls on the recurrence's weekday
            from dialogs.actions import series  # series.py imports this module

            moved = series.first_visit_time(slots)
            if moved:
                slots["time"] = moved
                events.append(SlotSet("time", moved))
        check = await call(be.check, slots["client_id"], request_of(slots))
        if check["ok"]:
            script = slots.get("language") if slots.get("language") in ("zh-Hant", "en") else lang
            standing = "" if slots.get("standing_notes_off") else standing_text(check, script)
            if slots.get("recurrence"):  # the series' summary (dates, end, holidays); or why it cannot be one
                from dialogs.actions import series

                shown = await series.summary(dispatcher, tracker, slots, summary_params(slots, lang), standing)
                if slots.get("recurrence"):
                    return [*events, *shown]
                events += shown  # not a series after all (the client was told): the single booking's summary
            # with standing notes the summary shows them and offers 这次不用 (none on this booking)
            dispatcher.utter_message(response="utter_booking_summary_standing" if standing else "utter_booking_summary",
                                     standing=standing, **summary_params(slots, lang))
            return [*events, SlotSet("awaiting_confirmation", True)]
        if check["error"] != "nobody_free":
            dispatcher.utter_message(response="utter_booking_failed")
            return [*events, SlotSet("time", None), SlotSet("awaiting_confirmation", False), ActiveLoop("booking_form"),
                    FollowupAction("booking_form")]
        name = service_name(slots["service_type"], lang)
        if not check["alternatives"]:
            dispatcher.utter_message(response="utter_nobody_free_at_all", service=name)
            await call(be.escalate, "unassigned", client_id=slots["client_id"], service=slots["service_type"],
                       starts_at=slots["time"], note="nobody free within a week")
            return [*events, *[SlotSet(s, None) for s in FORM_SLOTS if s != "phone"]]
        buttons = [{"title": when(t, lang), "payload": f'/choose_slot{{"time": "{t}"}}'} for t in check["alternatives"]]
        buttons.append({"title": "Cancel" if lang == "en" else "取消", "payload": "/deny"})
        dispatcher.utter_message(response="utter_nobody_free", service=name, time=when(slots["time"], lang),
                                 buttons=buttons)
        # No summary, so nothing to confirm: the form asks the time again (a slot button answers it, a
        # typed 确认 does not book the impossible time); "下午4点" keeps the day asked for.
        day = datetime.fromisoformat(slots["time"]).astimezone(be.ctx.tz).date().isoformat()
        return [*events, SlotSet("awaiting_confirmation", False), SlotSet("time", None), SlotSet("pending_date", day),
                ActiveLoop("booking_form"), SlotSet("requested_slot", "time")]


class ActionSubmitBooking(Action):
    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, slots = backend(), tracker.slots
        contact = {"phone": slots.get("phone"), "address": slots.get("address")}
        try:
            if slots.get("proposal_id") is not None or slots.get("recurrence"):  # a plain booking saves them itself
                await call(be.set_client, slots["client_id"], **contact)
            if slots.get("proposal_id") is not None:  # completing an accepted proposal: its price, its case
                booking = (await call(be.accept_proposal, slots["client_id"], int(slots["proposal_id"]),
                                      request_of(slots), request_key=slots.get("form_key")))["booking"]
            elif slots.get("recurrence"):  # a repeat booking: the series and its first visits (it says so)
                from dialogs.actions import series

                booking = await series.submit(dispatcher, tracker)
            else:  # the contact details saved in the booking's own unit of work
                booking = await call(be.book, slots["client_id"], request_of(slots),
                                     request_key=slots.get("form_key"), contact=contact)
        except DomainError as e:
            if e.code.startswith("proposal_"):
                from dialogs.actions.profile import PROPOSAL_GONE

                dispatcher.utter_message(response=PROPOSAL_GONE.get(e.code, "utter_booking_failed"))
                return [ActiveLoop(None), *[SlotSet(s, None) for s in FORM_SLOTS if s not in ("phone", "address")]]
            slot = REASK.get(e.code)
            dispatcher.utter_message(response=f"utter_invalid_{slot}" if slot else "utter_booking_failed")
            return [SlotSet(slot or "time", None), SlotSet("awaiting_confirmation", False),
                    ActiveLoop("booking_form"), FollowupAction("booking_form")]
        if not slots.get("recurrence"):
            dispatcher.utter_message(response="utter_booking_submitted", booking_id=booking["id"])
        done = [*[SlotSet(s, None) for s in FORM_SLOTS if s not in ("phone", "address")],
                SlotSet("submitted_booking_id", booking["id"])]
        script = slots.get("language") if slots.get("language") in ("zh-Hant", "en") else lang_of(tracker)
        return [*done, *await offer_lasting_notes(dispatcher, slots["client_id"], slots.get("notes"), script)]


async def offer_lasting_notes(dispatcher: CollectingDispatcher, client_id: int, notes: str | None,
                              lang: str) -> list[EventType]:
    """Notes that state a lasting fact ("家里有猫") the profile does not hold yet: offer to keep them."""
    if not notes:
        return []
    from dialogs.actions.profile import extract, joined

    held = {i.get("code") for i in (await call(backend().profile, client_id)).get("items") or []}
    items, _ = extract(notes)
    lasting = [i for i in items if i.get("code") and i["code"] not in held]  # coded terms only: facts, not errands
    if not lasting:
        return []
    labels = backend().ctx.profile
    shown = [{**i, "label": dict(t.labels) if (t := labels.term(i["code"])) else None} for i in lasting]
    dispatcher.utter_message(response="utter_profile_offer_notes", items=joined(shown, lang))
    return [SlotSet("profile_offer", lasting), SlotSet("awaiting_profile_save", True)]


class ActionDropStandingNotes(Action):
    """这次不用: this booking goes without the profile's standing notes (the profile is unchanged)."""

    def name(self) -> str:
        return "action_drop_standing_notes"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_standing_notes_dropped")
        tracker.slots["standing_notes_off"] = True  # the summary below reads it (said first, then shown)
        return [SlotSet("standing_notes_off", True), *await ActionBookingSummary().run(dispatcher, tracker, domain)]


class ActionAffirmOutOfContext(Action):
    """确认 with nothing to confirm: right after a submission it is a double tap or a retry after a
    crash, so the client hears that the booking is in (once); otherwise the menu."""

    def name(self) -> str:
        return "action_affirm_out_of_context"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        booking_id = tracker.get_slot("submitted_booking_id")
        if booking_id is None:
            dispatcher.utter_message(response="utter_default_menu")
            return []
        dispatcher.utter_message(response="utter_booking_already_submitted", booking_id=booking_id)
        return [SlotSet("submitted_booking_id", None)]


class ActionChangeBooking(Action):
    """修改 on a draft's summary: go through the details again. With a booking number (an old "change the
    time" button still in a chat) it is a change of that booking, in place: it never cancels."""

    def name(self) -> str:
        return "action_change_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if any(e["entity"] == "booking_id" for e in tracker.latest_message.get("entities", [])):
            from dialogs.actions.changes import ActionRescheduleBooking  # changes.py imports this module

            return await ActionRescheduleBooking().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_change_what")
        # an accepted proposal keeps its price; a series stays a series (取消 drops it)
        keep = {"service_type", "phone", "proposal_id", "proposal_price", "recurrence"}
        return [SlotSet(s, None) for s in FORM_SLOTS if s not in keep]


class ActionLeaveForm(Action):
    def name(self) -> str:
        return "action_leave_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_form_left")
        return [ActiveLoop(None), *[SlotSet(s, None) for s in FORM_SLOTS if s not in ("phone", "address")]]
