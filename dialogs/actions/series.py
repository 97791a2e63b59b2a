"""Repeat visits (issue 10): the series' summary and submit (called by the booking form's actions when the
``recurrence`` slot is set), skipping one visit (the cancellation policy's question), cancelling the rest,
the holiday question's answer, and the series line of "我的预约"."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from backend.domain import series as rules
from backend.services.series import holiday_outcome
from dialogs.actions.answers import entity, status_text
from dialogs.actions.booking import lang_of, request_of
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.domain import localise
from dialogs.notify import money

ZH_WD, EN_WD = "一二三四五六日", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ZH_N = {2: "两", 3: "三", 4: "四"}
DONE = [SlotSet("awaiting_series_cancel", None), SlotSet("series_cancel_id", None), SlotSet("series_cancel_fee", None)]
# Why a recurrence cannot be a series (backend codes) → the client's words.
NOT_POSSIBLE = {
    "series_interval": ("定期预约最多每{max}周一次。", "Repeat bookings go up to every {max} weeks."),
    "series_count": ("定期预约需要2到{count}次。", "A repeat booking has 2 to {count} visits."),
    "series_until": ("结束日期要在第一次上门之后。", "The end date must be after the first visit."),
    "series_weekday": ("重复的星期和第一次上门的日期对不上。", "The weekday does not match the first visit."),
}


def _day(d: date, lang: str) -> str:
    return d.strftime("%d %b").lstrip("0") if lang == "en" else f"{d.month}月{d.day}日"


def schedule_text(interval: int, weekday: int, start_minute: int, lang: str) -> str:
    """每周三 10:00 / 每两周（周五）14:00 / every other Monday 09:00."""
    clock = f"{start_minute // 60:02d}:{start_minute % 60:02d}"
    if lang == "en":
        every = {1: "every", 2: "every other"}.get(interval, f"every {interval} weeks on")
        return f"{every} {EN_WD[weekday]} {clock}"
    if interval == 1:
        return f"每周{ZH_WD[weekday]} {clock}"
    return f"每{ZH_N.get(interval, interval)}周（周{ZH_WD[weekday]}）{clock}"


def span_text(first: date, count: int | None, until: date | None, lang: str) -> str:
    if lang == "en":
        end = f"{count} visits" if count else (f"until {_day(until, lang)}" if until else "until you stop it")
        return f"from {_day(first, lang)}, {end}"
    end = f"共{count}次" if count else (f"至{_day(until, lang)}" if until else "长期（可随时取消剩下的）")
    return f"从{_day(first, lang)}起，{end}"


def _holiday_lines(p: dict[str, Any], lang: str) -> str:
    """One line per outcome: under "ask", a holiday too close to ask about is listed under the default the
    plan gives it at once (the backend's holiday_outcome decides both)."""
    ctx = backend().ctx
    by: dict[str, list[date]] = {}
    for d in (date.fromisoformat(x) for x in p["holidays"]):
        by.setdefault(holiday_outcome(ctx, p["rule"], d), []).append(d)
    policy, out, sep = ctx.series, "", ", " if lang == "en" else "、"
    for outcome in ("skip", "create", "ask"):
        if not by.get(outcome):
            continue
        listed = sep.join(_day(d, lang) for d in by[outcome])
        if lang == "en":
            out += {"skip": f"• Public holidays, no visit: {listed}\n",
                    "create": f"• Public holidays, visits as usual: {listed}\n",
                    "ask": f"• {listed}: public holiday; {policy.ask_days_before} days before we ask you to keep or "
                           f"skip it (no answer: {'skip' if policy.ask_default == 'skip' else 'keep'})\n"}[outcome]
        else:
            out += {"skip": f"• 法定节假日不上门：{listed}\n", "create": f"• 法定节假日照常上门：{listed}\n",
                    "ask": f"• {listed}是法定节假日：提前{policy.ask_days_before}天问您保留还是跳过"
                           f"（不回复则{'跳过' if policy.ask_default == 'skip' else '保留'}）\n"}[outcome]
    return out


def _surcharge_lines(service: str, dates: list[str], lang: str) -> str:
    cat, seen, out = backend().catalogue, set(), ""
    for d in dates:
        factor, s = cat.surcharge(service, date.fromisoformat(d))
        if s is None or id(s) in seen:
            continue
        seen.add(id(s))
        name = s.name.get("en" if lang == "en" else "zh", "")
        span = f"{_day(s.first, lang)}–{_day(s.last, lang)}"
        out += (f"• {name} ({span}): visits priced ×{factor:g}\n" if lang == "en"
                else f"• {name}期间（{span}）的上门按 ×{factor:g} 计价\n")
    return out


def first_visit_time(slots: dict[str, Any]) -> str | None:
    """The first visit on the recurrence's weekday (at or after the asked time and the lead time), or None
    when the asked time already is one."""
    rec = rules.Recurrence.from_slot(slots.get("recurrence"))
    if rec is None or rec.weekday is None or not slots.get("time"):
        return None
    be = backend()
    asked = datetime.fromisoformat(slots["time"]).astimezone(be.ctx.tz)
    if asked.weekday() == rec.weekday:
        return None
    earliest = max(asked, be.now.astimezone(be.ctx.tz) + timedelta(minutes=be.ctx.lead_time_minutes))
    day = rules.first_date(earliest, rec.weekday, asked.hour * 60 + asked.minute)
    return asked.replace(year=day.year, month=day.month, day=day.day).isoformat()


async def summary(dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any],
                  params: dict[str, Any], standing: str) -> list[EventType]:
    """The series' summary instead of the single booking's; a recurrence that cannot be a series is said
    so, dropped, and the single booking's summary follows (empty list: the caller shows it)."""
    be, lang = backend(), lang_of(tracker)
    try:
        p = await call(be.series_preview, request_of(slots), slots["recurrence"])
    except DomainError as e:
        zh, en = NOT_POSSIBLE.get(e.code, NOT_POSSIBLE["series_weekday"])
        policy = be.ctx.series
        reason = (en if lang == "en" else zh).format(max=policy.max_interval_weeks, count=policy.max_count)
        dispatcher.utter_message(response="utter_series_not_possible", reason=reason)
        slots["recurrence"] = None
        return [SlotSet("recurrence", None)]
    start = datetime.fromisoformat(slots["time"]).astimezone(be.ctx.tz)
    first = date.fromisoformat(p["first"])
    sched = schedule_text(p["interval_weeks"], first.weekday(), start.hour * 60 + start.minute, lang)
    last = date.fromisoformat(p["until"]) if p["until"] else None
    script = slots.get("language") if slots.get("language") in ("zh-Hant", "en") else lang
    extra = _holiday_lines(p, lang) + _surcharge_lines(slots["service_type"], p["dates"], lang)
    sep = ", " if lang == "en" else "，"
    params = {**params, "schedule": localise(f"{sched}{sep}{span_text(first, p['count'], last, lang)}", script),
              "holidays": localise(extra, script)}
    dispatcher.utter_message(response="utter_series_summary_standing" if standing else "utter_series_summary",
                             standing=standing, **params)
    return [SlotSet("awaiting_confirmation", True)]


async def submit(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Create the series (DomainError propagates to the caller's re-ask); tell the client what exists."""
    be, slots = backend(), tracker.slots
    got = await call(be.book_series, slots["client_id"], request_of(slots), slots["recurrence"],
                     request_key=slots.get("form_key"))
    first = got["first_booking_id"]
    dispatcher.utter_message(response="utter_series_submitted", series_id=got["id"], visits=len(got["visits"]),
                             booking_id=first, weeks=be.ctx.series.horizon_weeks,
                             time=when((await call(be.booking, first))["starts_at"], lang_of(tracker)) if first else "")
    return {"id": first}


# --- "我的预约": the series once, with its next visit ---------------------------------------------------
async def series_lines(client_id: int, upcoming: list[dict[str, Any]],
                       script: str) -> tuple[list[dict[str, Any]], str]:
    """The upcoming bookings without the series' visits, and one line per series with its next visit."""
    mine = await call(backend().my_series, client_id)
    if not mine:
        return upcoming, ""
    ids = {i for s in mine for i in s["visit_ids"]}
    lang = "en" if script == "en" else "zh"
    lines = []
    for s in mine:
        sched = schedule_text(s["interval_weeks"], s["weekday"], s["start_minute"], lang)
        nxt = f"#{s['next_id']} {when(s['next_starts_at'], lang)} · {status_text(s['next_status'], script)}"
        label = "next" if lang == "en" else "下一次"
        lines.append(localise(f"#S{s['id']} {service_name(s['service'], lang)} · {sched} · {label}: ", script) + nxt)
    return [b for b in upcoming if b["id"] not in ids], "\n".join(lines)


# --- skip one visit / cancel the rest -----------------------------------------------------------------
def _sched(s: dict[str, Any], lang: str) -> str:
    return schedule_text(s["interval_weeks"], s["weekday"], s["start_minute"], lang)


def _visit_list(series: list[dict[str, Any]], lang: str) -> str:
    return "\n".join(f"#{s['next_id']} {when(s['next_starts_at'], lang)}" for s in series)


class ActionSkipVisit(Action):
    """"跳过下周三那次": that visit is cancelled, after the cancellation policy's question (its fee, if
    any); the series goes on. Without a series it is an ordinary cancellation."""

    def name(self) -> str:
        return "action_skip_visit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        from dialogs.actions.cancellation import ActionCancelBooking, ask_to_confirm  # cancellation imports answers

        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        mine = await call(be.my_series, client_id)
        if not mine:
            return await ActionCancelBooking().run(dispatcher, tracker, domain)
        when_said = entity(tracker, "time")
        if when_said is None:
            if len(mine) == 1:  # "跳过一次 / skip the next one": the next visit
                return await ask_to_confirm(dispatcher, tracker, mine[0]["next_id"])
            dispatcher.utter_message(response="utter_skip_which", visits=_visit_list(mine, lang))
            return []
        day = datetime.fromisoformat(str(when_said)).astimezone(be.ctx.tz).date()
        visit = await call(be.series_visit_on, client_id, day)
        if visit is None:
            dispatcher.utter_message(response="utter_skip_not_found", date=_day(day, lang),
                                     visits=_visit_list(mine, lang))
            return []
        return await ask_to_confirm(dispatcher, tracker, visit)


def _fee_text(fee_cents: int, lang: str, done: bool = False) -> str:
    if lang == "en":
        if not fee_cents:
            return "No fee." if done else "Cancelling now is free."
        return f"Cancellation fee under our policy: {money(fee_cents)}."
    if not fee_cents:
        return "不收取费用。" if done else "现在取消免费。"
    return f"按取消规则需收取违约金 {money(fee_cents)}。"


class ActionCancelSeries(Action):
    """"取消剩下的": always asked first, with what it cancels and the total fee under the policy."""

    def name(self) -> str:
        return "action_cancel_series"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang, client_id = backend(), lang_of(tracker), tracker.get_slot("client_id")
        mine = await call(be.my_series, client_id)
        chosen = entity(tracker, "series_id")
        if chosen is None and len(mine) > 1:
            buttons = [{"title": f"#S{s['id']} " + _sched(s, lang),
                        "payload": f'/cancel_series{{"series_id": {s["id"]}}}'} for s in mine]
            dispatcher.utter_message(response="utter_series_cancel_which", buttons=buttons)
            return DONE
        if chosen is None and not mine:
            dispatcher.utter_message(response="utter_series_none")
            return DONE
        return await ask(dispatcher, tracker, int(chosen) if chosen is not None else mine[0]["id"])


async def ask(dispatcher: CollectingDispatcher, tracker: Tracker, series_id: int) -> list[EventType]:
    be, lang = backend(), lang_of(tracker)
    try:
        q = await call(be.series_rest_quote, tracker.get_slot("client_id"), series_id)
    except (DomainError, TypeError, ValueError):
        dispatcher.utter_message(response="utter_series_none")
        return DONE
    if not q["visits"]:
        dispatcher.utter_message(response="utter_series_none")
        return DONE
    dispatcher.utter_message(response="utter_series_cancel_confirm", series_id=series_id, count=len(q["visits"]),
                             schedule=schedule_text(q["interval_weeks"], q["weekday"], q["start_minute"], lang),
                             time=when(q["next_starts_at"], lang), fee_text=_fee_text(q["fee_cents"], lang))
    return [SlotSet("awaiting_series_cancel", True), SlotSet("series_cancel_id", series_id),
            SlotSet("series_cancel_fee", q["fee_cents"])]


class ActionCancelSeriesConfirmed(Action):
    def name(self) -> str:
        return "action_cancel_series_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang = backend(), lang_of(tracker)
        series_id = tracker.get_slot("series_cancel_id")
        if series_id is None:
            dispatcher.utter_message(response="utter_series_none")
            return DONE
        try:
            got = await call(be.cancel_series, tracker.get_slot("client_id"), int(series_id),
                             int(tracker.get_slot("series_cancel_fee") or 0))
        except DomainError as e:
            if e.code == "fee_changed":  # the free window of a visit closed while the question waited
                dispatcher.utter_message(response="utter_cancel_fee_changed")
                return await ask(dispatcher, tracker, int(series_id))
            dispatcher.utter_message(response="utter_series_none")
            return DONE
        dispatcher.utter_message(response="utter_series_cancelled", series_id=got["id"], count=len(got["visits"]),
                                 fee_text=_fee_text(got["fee_cents"], lang, done=True))
        return DONE


class ActionCancelSeriesKept(Action):
    def name(self) -> str:
        return "action_cancel_series_kept"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_series_cancel_kept", series_id=tracker.get_slot("series_cancel_id"))
        return DONE


class ActionHolidayVisit(Action):
    """保留 / 跳过 on the holiday question (a button: booking_id and keep)."""

    def name(self) -> str:
        return "action_holiday_visit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang = backend(), lang_of(tracker)
        booking_id, keep = entity(tracker, "booking_id"), entity(tracker, "keep")
        try:
            got = await call(be.answer_holiday_visit, tracker.get_slot("client_id"), int(booking_id),
                             keep in (True, "true", "True", 1))
        except DomainError as e:  # closed: answered, past the deadline, or not a holiday question at all
            closed = e.code == "holiday_answered"
            dispatcher.utter_message(response="utter_holiday_closed" if closed else "utter_holiday_answered")
            return []
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_holiday_answered")
            return []
        kept = got["status"] != "cancelled"
        dispatcher.utter_message(response="utter_holiday_kept" if kept else "utter_holiday_skipped",
                                 booking_id=got["booking_id"], time=when(got["starts_at"], lang))
        return []
