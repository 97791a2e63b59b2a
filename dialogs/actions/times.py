"""Pinning a booking's time down: the draft's date kept for a later clock-only answer, the hours offered
inside a part of the day, a weekday that contradicts its date. Used by validate_time (booking.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

WEEKDAYS = {"zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
            "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}


def day_text(d: date, lang: str) -> str:
    """11月21日（周六） / Sat 21 Nov."""
    if lang == "en":
        return f"{d:%a} {d.day} {d:%b}"
    return f"{d.month}月{d.day}日（{WEEKDAYS['zh'][d.weekday()]}）"


def weekday_name(wd: int, lang: str) -> str:
    return WEEKDAYS["en" if lang == "en" else "zh"][wd]


def draft_time(tracker: Tracker) -> str | None:
    """The draft's time before this message: the last value the ``time`` slot had before the latest user
    message (the form sets the new one first)."""
    events = list(tracker.events or [])
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for e in reversed(events[:last_user]):
        if e.get("event") == "slot" and e.get("name") == "time":
            return e.get("value")
    return None


def kept_date(tracker: Tracker, tz: tzinfo) -> date | None:
    """The day a clock-only answer belongs to: the date asked about, else the draft's time's date."""
    pending = tracker.get_slot("pending_date")
    if pending:
        return date.fromisoformat(str(pending)[:10])
    before = draft_time(tracker)
    if before:
        try:
            return datetime.fromisoformat(before).astimezone(tz).date()
        except ValueError:
            return None
    return None


def in_part(start: datetime, part: Any, ambiguous: bool) -> datetime:
    """A clock hour with no am/pm read inside the part of the day asked about (晚上, then "8点" → 20:00);
    an hour that fits neither way stays as parsed."""
    if not ambiguous or not isinstance(part, list | tuple) or len(part) < 2:
        return start
    lo, hi = int(part[0]), int(part[1])
    for cand in (start, start + timedelta(hours=12), start - timedelta(hours=12)):
        if cand.date() == start.date() and lo <= cand.hour < max(hi, lo + 1):
            return cand
    return start


def hours_in_part(day: date, part: Any, tz: tzinfo, refused: Callable[[datetime], str | None]) -> list[datetime]:
    """Whole hours on ``day`` inside the part of the day that the booking rules accept (service hours,
    lead time, horizon): ``refused`` gives the reason a start is refused, or None."""
    lo, hi = int(part[0]), int(part[1])
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    starts = [midnight + timedelta(hours=h) for h in range(lo, max(hi, lo + 1))]
    return [t for t in starts if refused(t) is None]


def time_button(t: datetime | date, title: str) -> dict[str, str]:
    """A button answering the time question: a full time, or a date alone (its hour is asked next)."""
    return {"title": title, "payload": "/inform" + json.dumps({"time": t.isoformat()}, ensure_ascii=False)}


def ask_hour(dispatcher: CollectingDispatcher, day: date, part: Any, lang: str, tz: tzinfo,
             refused: Callable[[datetime], str | None], params: dict[str, Any]) -> dict[str, Any]:
    """A part of the day without a clock: ask the hour, offering the bookable ones inside it."""
    lo, hi = int(part[0]), int(part[1])
    shown = {"date": day_text(day, lang), "start": lo, "end": hi}
    free = hours_in_part(day, part, tz, refused)
    if not free:
        dispatcher.utter_message(response="utter_no_time_in_part", **{**params, **shown})
        return {"time": None, "pending_date": None, "pending_part": None}
    dispatcher.utter_message(response="utter_ask_time_in_part", **shown,
                             buttons=[time_button(t, f"{t:%H:%M}") for t in free])
    return {"time": None, "pending_date": day.isoformat(), "pending_part": [lo, hi]}


def ask_which_day(dispatcher: CollectingDispatcher, start: datetime, ent: dict[str, Any],
                  lang: str) -> dict[str, Any]:
    """A weekday that contradicts its date: the client picks the date or the weekday's date (the same
    clock time on either; a date alone when no time was given, whose hour is asked next)."""
    conflict = ent["additional_info"]["weekday_conflict"]
    other = datetime.fromisoformat(conflict["value"]).astimezone(start.tzinfo)
    dated = ent.get("grain") == "day"

    def button(t: datetime) -> dict[str, str]:
        title = day_text(t.date(), lang) + ("" if dated else f" {t:%H:%M}")
        return time_button(t.date() if dated else t, title)

    dispatcher.utter_message(response="utter_ask_weekday_conflict", date=day_text(start.date(), lang),
                             date_weekday=weekday_name(start.weekday(), lang),
                             said_weekday=weekday_name(int(conflict["weekday"]), lang),
                             buttons=[button(start), button(other)])
    return {"time": None, "pending_date": None, "pending_part": None}
