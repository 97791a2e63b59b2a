"""Long-term placements (issue 12), the request: a placement service asked for in the booking form comes
here (booking_required_slots / ValidateBookingForm route it) — due date or start, term, live-in, the
client's requirements, address and phone → a summary with the quote → 确认 → request_placement. What
follows the request (shortlist, interviews, choice, trial) is in dialogs/actions/placement_steps.py."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions import times
from dialogs.actions.booking import FORM_SLOTS, ValidateBookingForm, district_of, lang_of
from dialogs.actions.runtime import backend, call, price_text, service_name
from dialogs.domain import TRADITIONAL, localise
from dialogs.nlu.normalize import normalize
from dialogs.nlu.numerals import to_number
from dialogs.nlu.timeparse import parse_times

FORM = "placement_form"
# Services whose start is the baby's birth: the client gives the due date (预产期), the start follows it.
DUE_DATE_SERVICES = frozenset({"maternity_nurse"})
PLACEMENT_SLOTS = ("pl_service", "pl_due", "pl_start", "pl_term", "pl_live_in", "pl_requirements", "pl_key",
                   "awaiting_placement_confirm")
DATE_SLOTS = ("pl_due", "pl_start")
MAX_TERM_DAYS = 3 * 366  # a longer "term" is a typo ("300个月"), not a contract
NONE_WORDS = {"没有", "无", "没", "不用", "没有了", "没有特别要求", "没什么", "都行", "都可以", "none", "no", "nothing",
              "nope", "n/a", "no special requirements", "no requirements", "anything", "-"}
NO_LIVE_IN = re.compile(r"不住家|不住|走家|白班|live[- ]?out|not live|doesn't live|no live|day ?time|daily")
LIVE_IN = re.compile(r"住家|住在家|住我家|live[- ]?in|lives? in|stay")
# "下个月初" / "early next month": a month and a part of it, not a day (the time parser finds no day in it)
VAGUE = re.compile(r"(?P<zh_month>下下个?月|下个?月|这个?月|本月)(?P<zh_part>初|上旬|中旬|中|下旬|底|末)?|"
                   r"(?P<en_part>early|beginning of|start of|mid|middle of|end of|late)?\s*(?:the\s+)?"
                   r"(?P<en_month>next month|this month)")
TERM = re.compile(r"(?P<n>\d+(?:\.\d+)?|[零一二两三四五六七八九十百半]+)\s*(?:个)?\s*"
                  r"(?P<unit>个月|月|天|日|周|星期|年|months?|days?|weeks?|years?)")
LANGUAGES = {"粤语": "yue", "广东话": "yue", "cantonese": "yue", "英语": "en", "英文": "en", "english": "en",
             "普通话": "zh", "mandarin": "zh", "上海话": "wuu", "shanghainese": "wuu", "闽南话": "nan"}
TWINS = re.compile(r"双胞胎|双胎|龙凤胎|twins?")
COOKING = re.compile(r"做饭|烧菜|做菜|厨艺|月子餐|cook")


# --- which services, which questions ----------------------------------------------------------------
def is_placement(service: str | None) -> bool:
    """A service priced per day or month is a placement, not a visit (the catalogue says which)."""
    cat = backend().catalogue
    return bool(service) and service in cat and not cat[service].is_visit


def terms(service: str) -> dict[str, Any]:
    return backend().placement_terms(service)


def placement_required_slots(slots: dict[str, Any]) -> list[str]:
    """What the placement form asks for the chosen service: the due date for 月嫂 (the start follows it),
    live-in only when the service allows either."""
    service = slots.get("pl_service")
    if not service:
        return []
    needed = ["pl_due" if service in DUE_DATE_SERVICES else "pl_start", "pl_term"]
    if terms(service).get("live_in") == "either":
        needed.append("pl_live_in")
    return [*needed, "pl_requirements", "address", "phone"]


# --- reading answers -----------------------------------------------------------------------------------
def _horizon() -> int:
    return int(backend().ctx.placements.max_days_ahead)


def _today() -> date:
    be = backend()
    return be.now.astimezone(be.ctx.tz).date()


def parse_day(text: str) -> date | list[date] | None:
    """A day from the client's words ("预产期是1月15日", "due on Jan 15", a date button); a vague month
    ("下个月初", "end of next month") gives the days to offer; None when there is no day in it."""
    be = backend()
    norm = normalize(text).text
    for ent in parse_times(norm, be.now.astimezone(be.ctx.tz)):
        if ent.get("additional_info", {}).get("has_date", True):
            return datetime.fromisoformat(ent["value"]).astimezone(be.ctx.tz).date()
    m = VAGUE.search(norm.lower())
    if not m:
        return None
    month = m["zh_month"] or m["en_month"] or ""
    ahead = 2 if month.startswith("下下") else (1 if month.startswith("下") or month == "next month" else 0)
    today = _today()
    first = (today.replace(day=1) + timedelta(days=32 * ahead)).replace(day=1)
    part = m["zh_part"] or (m["en_part"] or "")
    if part in ("初", "上旬", "early", "beginning of", "start of"):
        days = (1, 3, 5)
    elif part in ("中", "中旬", "mid", "middle of"):
        days = (10, 15, 20)
    elif part in ("底", "末", "下旬", "end of", "late"):
        days = (20, 25, 28)
    else:
        days = (1, 10, 20)
    return [d for d in (first.replace(day=x) for x in days) if d > today]


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    month_start = date(d.year + y, m + 1, 1)
    last = ((month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
    return month_start.replace(day=min(d.day, last))


def parse_term(text: str, start: date | None) -> int | None:
    """Days of the term from "26天" / "三个月" / "半年" / "3 months" / "42 days" (months are calendar
    months from the start); a bare number is days from 15 up, months below."""
    norm = normalize(text).text.lower()
    if re.search(r"半年|half a year|six months", norm):
        months: float | None = 6
    elif re.search(r"半个月|half a month", norm):
        return 15
    elif re.search(r"一年|a year|one year", norm) and not TERM.search(norm):
        months = 12
    else:
        months = None
        m = TERM.search(norm)
        if m:
            n = float(m["n"]) if m["n"][0].isdigit() else to_number(m["n"])
            if not n:
                return None
            if norm[m.end():m.end() + 1] == "半" or "个半" in m[0]:  # 一年半, 两个半月
                n += 0.5
            unit = m["unit"]
            if unit in ("天", "日") or unit.startswith("day"):
                return int(n)
            if unit in ("周", "星期") or unit.startswith("week"):
                return int(n * 7)
            months = n * 12 if unit == "年" or unit.startswith("year") else n
        elif (bare := re.fullmatch(r"\s*(\d{1,4})\s*", norm)) is not None:
            n = int(bare[1])
            if n >= 15:
                return n
            months = n
    if not months:
        return None
    if start is not None and months * 2 == int(months * 2) and months != int(months):
        half = (add_months(start, int(months) + 1) - add_months(start, int(months))).days // 2
        return (add_months(start, int(months)) - start).days + half
    if start is None or months != int(months):
        return round(months * 30)
    return (add_months(start, int(months)) - start).days


def parse_live_in(text: str) -> bool | None:
    norm = normalize(text).text.lower()
    if NO_LIVE_IN.search(norm):
        return False
    if LIVE_IN.search(norm):
        return True
    return {"是": True, "要": True, "yes": True, "否": False, "no": False, "不要": False}.get(norm.strip(" .。!！"))


def parse_requirements(text: str) -> dict[str, Any]:
    """The client's words kept as said, with what matching can use read out of them ({} for none)."""
    said = text.strip()[:500]
    norm = normalize(said).text.lower().strip(" .。!！")
    if not norm or norm in NONE_WORDS:
        return {}
    out: dict[str, Any] = {"text": said}
    langs = sorted({code for word, code in LANGUAGES.items() if word in norm})
    if langs:
        out["languages"] = langs
    if TWINS.search(norm):
        out["twins"] = True
    if COOKING.search(norm):
        out["cooking"] = True
    if not backend().ctx.placements.allow_age_requirement:
        return out  # the company does not match on age: the wish stays in the client's words only
    if (m := re.search(r"(\d{2})\s*(?:岁)?\s*(?:-|到|至|~|–|to)\s*(\d{2})\s*(?:岁|years)?", norm)):
        out["age_min"], out["age_max"] = sorted((int(m[1]), int(m[2])))
    elif (m := re.search(r"(\d{2})\s*岁?\s*(?:以下|以内)|(?:under|below|younger than)\s*(\d{2})", norm)):
        out["age_max"] = int(m[1] or m[2])
    elif (m := re.search(r"(\d{2})\s*岁?\s*以上|(?:over|above|older than)\s*(\d{2})", norm)):
        out["age_min"] = int(m[1] or m[2])
    return out


# --- our words ----------------------------------------------------------------------------------
def day_text(iso: str | date | None, lang: str) -> str:
    """A date as the client reads it; with its year when that is not the coming one (a long term's end)."""
    if not iso:
        return ""
    d = date.fromisoformat(iso) if isinstance(iso, str) else iso
    if (d - _today()).days < 300:
        return times.day_text(d, lang)
    return f"{d:%a} {d.day} {d:%b} {d.year}" if lang == "en" else f"{d.year}年{times.day_text(d, lang)}"


def term_text(days: int, start: date | None, lang: str) -> str:
    """"3个月" when the term is whole calendar months from the start, else "26天"."""
    if start is not None:
        for n in range(1, 37):
            if (add_months(start, n) - start).days == days:
                return (f"{n} month" + ("s" if n > 1 else "")) if lang == "en" else f"{n}个月"
    return f"{days} days" if lang == "en" else f"{days}天"


def term_buttons(service: str, start: date | None, lang: str) -> list[dict[str, str]]:
    t = terms(service)
    options = [int(t.get("default_term_days") or 0)]
    if t.get("unit") == "month" and start is not None:
        options += [(add_months(start, n) - start).days for n in (1, 3, 6, 12)]
    minimum = int(t.get("min_term_days") or 1)
    shown: list[str] = []
    for days in options:
        title = term_text(days, start, lang)
        if days >= minimum and title not in shown:
            shown.append(title)
    return [{"title": s, "payload": s} for s in shown[:4]] + [cancel_button(lang)]


def cancel_button(lang: str) -> dict[str, str]:
    return {"title": "Cancel" if lang == "en" else "取消", "payload": "/deny"}


SETTLEMENT = {"weekly": ("每周", "weekly"), "monthly": ("每月", "monthly"),
              "per_visit": ("每次服务后", "after each visit")}
UNIT = {"month": ("元/月", "CNY/month"), "day": ("元/天", "CNY/day")}


def money_text(cny: Any, lang: str) -> str:
    return f"{cny} CNY" if lang == "en" else f"{cny}元"


def unit_price_text(unit: str, price: Any, lang: str) -> str:
    zh, en = UNIT.get(unit, ("元", "CNY"))
    return f"{price} {en}" if lang == "en" else f"{price}{zh}"


def settlement_text(code: str | None, lang: str) -> str:
    zh, en = SETTLEMENT.get(code or "", (code or "", code or ""))
    return en if lang == "en" else zh


def ours(text: str, slots: dict[str, Any]) -> str:
    """Our own words put in a param, in Traditional characters for a zh-Hant conversation (the renderer
    converts only the params it knows to be ours)."""
    return localise(text, TRADITIONAL) if slots.get("language") == TRADITIONAL else text


def start_of(slots: dict[str, Any]) -> date | None:
    """The start: given, or (月嫂) following from the due date."""
    if slots.get("pl_due"):
        return backend().placement_start_for_due(date.fromisoformat(slots["pl_due"]))
    return date.fromisoformat(slots["pl_start"]) if slots.get("pl_start") else None


def live_in_of(slots: dict[str, Any]) -> bool | None:
    """The client's answer, or the service's fixed arrangement."""
    if slots.get("pl_live_in") is not None:
        return bool(slots["pl_live_in"])
    fixed = terms(slots["pl_service"]).get("live_in")
    return {"yes": True, "no": False}.get(fixed)


# --- the form -----------------------------------------------------------------------------------
async def start(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """A placement service asked for in the booking form: the booking draft is dropped, the placement
    form starts (a date said with the request — "预产期1月15日" — is taken if it is a good one)."""
    service, lang, slots = tracker.get_slot("service_type"), lang_of(tracker), dict(tracker.slots)
    t = await call(terms, service)
    dispatcher.utter_message(response="utter_placement_start", service=service_name(service, lang),
                             price=ours(price_text(service, lang), slots), trial=t.get("trial_days"))
    keep = {"phone", "address"}
    events: list[EventType] = [SlotSet(s, None) for s in FORM_SLOTS if s not in keep]
    fresh = {s: None for s in PLACEMENT_SLOTS}
    fresh.update(pl_service=service, pl_key=uuid.uuid4().hex)
    said = next((e for e in tracker.latest_message.get("entities", []) if e.get("entity") == "time"), None)
    if said is not None:
        day = parse_day(str(tracker.latest_message.get("text") or ""))
        if isinstance(day, date) and _today() < day <= _today() + timedelta(days=_horizon()):
            fresh["pl_due" if service in DUE_DATE_SERVICES else "pl_start"] = day.isoformat()
    said = str(tracker.latest_message.get("text") or "")
    live = parse_live_in(said) if t.get("live_in") == "either" and len(said) > 4 else None
    if live is not None:  # "要个住家保姆": said with the request, not asked again
        fresh["pl_live_in"] = live
    events += [SlotSet(k, v) for k, v in fresh.items()]
    slots.update({s: None for s in FORM_SLOTS if s not in keep}, **fresh)
    return [*events, *await ask_next(dispatcher, slots, lang)]


async def ask_next(dispatcher: CollectingDispatcher, slots: dict[str, Any], lang: str) -> list[EventType]:
    """Open the form at its first missing question, asked here (so it follows what was just said)."""
    needed = await call(placement_required_slots, slots)
    missing = next((s for s in needed if slots.get(s) is None), None)
    if missing is None:
        return [ActiveLoop(FORM), SlotSet("requested_slot", None), *await summary(dispatcher, slots, lang)]
    if missing == "pl_term":
        ask_term(dispatcher, slots, lang)
    elif missing == "pl_live_in":
        dispatcher.utter_message(response="utter_ask_pl_live_in")
    else:
        dispatcher.utter_message(response=f"utter_ask_{missing}")
    return [ActiveLoop(FORM), SlotSet("requested_slot", missing)]


def ask_term(dispatcher: CollectingDispatcher, slots: dict[str, Any], lang: str, bad: bool = False) -> None:
    service, start_day = slots["pl_service"], start_of(slots)
    t = terms(service)
    buttons = term_buttons(service, start_day, lang)
    dispatcher.utter_message(response="utter_ask_pl_term_again" if bad else "utter_ask_pl_term",
                             min=term_text(int(t.get("min_term_days") or 1), None, lang),
                             example=buttons[0]["title"] if len(buttons) > 1 else term_text(30, None, lang),
                             buttons=buttons)


class ValidatePlacementForm(FormValidationAction):
    def name(self) -> str:
        return "validate_placement_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> list[str]:
        return await call(placement_required_slots, tracker.slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        slots = tracker.slots  # updated by the validation above
        also = slots.get("also_pending")
        if isinstance(also, dict) and (slots.get("pl_due") or slots.get("pl_start")) and \
                parse_day(str(also.get("text") or "")) == date.fromisoformat(slots.get("pl_due") or slots["pl_start"]):
            # "请个月嫂，预产期1月15日": the date was this request's, not a second request to offer
            events.append(SlotSet("also_pending", None))
        needed = await call(placement_required_slots, slots)
        if needed and all(slots.get(s) is not None for s in needed):
            # complete: the summary (the engine has no after-form hook for this form)
            return [*events, ActiveLoop(None), SlotSet("requested_slot", None),
                    *await summary(dispatcher, slots, lang_of(tracker))]
        return events

    def _date(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        lang = lang_of(tracker)
        day = parse_day(str(value or ""))
        if isinstance(day, list):
            buttons = [{"title": times.day_text(d, lang), "payload": d.isoformat()} for d in day]
            dispatcher.utter_message(response="utter_ask_pl_vague_date", buttons=[*buttons, cancel_button(lang)])
            return {slot: None}
        if day is None:
            dispatcher.utter_message(response="utter_placement_bad_date")
            return {slot: None}
        if day <= _today():
            dispatcher.utter_message(response="utter_placement_date_past", date=times.day_text(day, lang))
            return {slot: None}
        horizon = _horizon()
        if day > _today() + timedelta(days=horizon):
            dispatcher.utter_message(response="utter_placement_date_far", date=times.day_text(day, lang),
                                     days=horizon)
            return {slot: None}
        # the term's buttons and months count from the start: a new start asks the term again
        term = tracker.get_slot("pl_term") if tracker.get_slot(slot) == day.isoformat() else None
        return {slot: day.isoformat(), "pl_term": term}

    def validate_pl_due(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: dict[str, Any]) -> dict[str, Any]:
        return self._date("pl_due", value, dispatcher, tracker)

    def validate_pl_start(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: dict[str, Any]) -> dict[str, Any]:
        return self._date("pl_start", value, dispatcher, tracker)

    def validate_pl_term(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: dict[str, Any]) -> dict[str, Any]:
        if isinstance(value, int) and not isinstance(value, bool):
            days: int | None = value  # already days (set by this form)
        else:
            days = parse_term(str(value or ""), start_of(tracker.slots))
        minimum = int(terms(tracker.get_slot("pl_service")).get("min_term_days") or 1)
        if days is None or not minimum <= days <= MAX_TERM_DAYS:
            ask_term(dispatcher, tracker.slots, lang_of(tracker), bad=True)
            return {"pl_term": None}
        return {"pl_term": days}

    def validate_pl_live_in(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: dict[str, Any]) -> dict[str, Any]:
        live = value if isinstance(value, bool) else parse_live_in(str(value or ""))
        if live is None:
            dispatcher.utter_message(response="utter_ask_pl_live_in_again")
        return {"pl_live_in": live}

    def validate_pl_requirements(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: dict[str, Any]) -> dict[str, Any]:
        return {"pl_requirements": value if isinstance(value, dict) else parse_requirements(str(value or ""))}

    def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: dict[str, Any]) -> dict[str, Any]:
        # the booking form's checks: shape, the area served, the city asked once when unclear
        return ValidateBookingForm().validate_address(value, dispatcher, tracker, domain)

    def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        return ValidateBookingForm().validate_phone(value, dispatcher, tracker, domain)


class ActionAskPlTerm(Action):
    def name(self) -> str:
        return "action_ask_pl_term"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ask_term(dispatcher, tracker.slots, lang_of(tracker))
        return []


# --- summary, submit, change, leave -----------------------------------------------------------------------
REASK = {"start_past": "pl_start", "start_too_far": "pl_start", "term_too_short": "pl_term", "term_too_long": "pl_term",
         "live_in_not_offered": "pl_live_in", "invalid_requirements": "pl_requirements",
         "age_requirement_not_allowed": "pl_requirements",
         "invalid_address": "address", "outside_area": "address", "invalid_phone": "phone"}


def requirements_text(req: dict[str, Any] | None, lang: str) -> str:
    if not req or not req.get("text"):
        return ""
    return f"• Requirements: {req['text']}\n" if lang == "en" else f"• 要求：{req['text']}\n"


def live_text(live: bool | None, t: dict[str, Any], lang: str) -> str:
    if live is None:
        return ""
    if live:
        off = t.get("days_off_per_month")
        if lang == "en":
            return "• Live-in" + (f", {off} days off a month" if off else "") + "\n"
        return "• 住家" + (f"，每月休息{off}天" if off else "") + "\n"
    days, hours = t.get("days_per_week"), t.get("daily_hours")
    if lang == "en":
        return f"• Live-out, {days} days a week, {hours:g} hours a day\n" if days and hours else "• Live-out\n"
    return f"• 不住家，每周{days}天，每天{hours:g}小时\n" if days and hours else "• 不住家\n"


async def summary(dispatcher: CollectingDispatcher, slots: dict[str, Any], lang: str) -> list[EventType]:
    """The request as it will be sent, priced (placement_quote); a start or term the backend refuses is
    asked again."""
    be, service = backend(), slots["pl_service"]
    start_day = start_of(slots)
    try:
        q = await call(be.placement_quote, service, start_day, int(slots["pl_term"]), live_in_of(slots))
    except DomainError as e:
        return reask(dispatcher, e.code, lang)
    t = await call(terms, service)
    if service in DUE_DATE_SERVICES:
        due = day_text(slots["pl_due"], lang)
        dates = (f"• Due date: {due} (she starts when the baby arrives; earlier: see my bookings)\n" if lang == "en"
                 else f"• 预产期：{due}（宝宝出生即上户，提前出生可在“我的预约”里调整）\n")
    else:
        dates = f"• Start: {day_text(start_day, lang)}\n" if lang == "en" else f"• 开始：{day_text(start_day, lang)}\n"
    dispatcher.utter_message(
        response="utter_placement_summary", service=service_name(service, lang), dates=ours(dates, slots),
        term=ours(term_text(int(q.get("term_days") or slots["pl_term"]), start_day, lang), slots),
        end=day_text(q["end_date"], lang), live=ours(live_text(live_in_of(slots), t, lang), slots),
        requirements=requirements_text(slots.get("pl_requirements"), lang),
        address=slots.get("address"), phone=slots.get("phone"),
        unit_price=ours(unit_price_text(q["unit"], q["unit_price"], lang), slots), estimate=q["price_estimate"],
        deposit=ours(money_text(q["deposit"], lang), slots),
        settlement=ours(settlement_text(q.get("settlement"), lang), slots), trial=q.get("trial_days"))
    return [SlotSet("awaiting_placement_confirm", True)]


def reask(dispatcher: CollectingDispatcher, code: str, lang: str) -> list[EventType]:
    """A refused value: said why, the form opened again at that question."""
    slot = REASK.get(code)
    dispatcher.utter_message(response="utter_placement_failed", reason=reason_text(code, lang))
    return [SlotSet("awaiting_placement_confirm", False), SlotSet(slot or "pl_start", None),
            *([SlotSet("pl_due", None)] if slot in (None, "pl_start") else []), ActiveLoop(FORM),
            SlotSet("requested_slot", None)]


REASONS = {"start_past": ("开始日期已过", "the start date has passed"),
           "start_too_far": ("开始日期太远", "the start date is too far ahead"),
           "term_too_short": ("服务期太短", "the term is too short"),
           "term_too_long": ("服务期太长", "the term is too long"),
           "live_in_not_offered": ("该服务不提供这种住家安排", "this service does not offer that arrangement"),
           "invalid_requirements": ("要求里有无法识别的内容", "the requirements could not be read"),
           "age_requirement_not_allowed": ("我们不按年龄筛选阿姨", "we do not match on age"),
           "outside_area": ("地址不在服务范围内", "the address is outside our area"),
           "invalid_address": ("地址不完整", "the address is incomplete"),
           "invalid_phone": ("手机号不对", "the phone number is not valid")}


def reason_text(code: str, lang: str) -> str:
    zh, en = REASONS.get(code, (code, code))
    return en if lang == "en" else zh


class ActionSubmitPlacement(Action):
    def name(self) -> str:
        return "action_submit_placement"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, slots, lang = backend(), tracker.slots, lang_of(tracker)
        service = slots.get("pl_service")
        if not service or slots.get("pl_term") is None or start_of(slots) is None:
            dispatcher.utter_message(response="utter_default_menu")
            return [SlotSet("awaiting_placement_confirm", False)]
        try:
            await call(be.set_client, slots["client_id"], phone=slots.get("phone"), address=slots.get("address"))
            due = date.fromisoformat(slots["pl_due"]) if slots.get("pl_due") else None
            p = await call(be.request_placement, slots["client_id"], service, None if due else start_of(slots),
                           term_days=int(slots["pl_term"]),
                           due_date=due,
                           live_in=live_in_of(slots), requirements=slots.get("pl_requirements") or {},
                           address=slots.get("address"), district=district_of(slots.get("address")),
                           request_key=slots.get("pl_key"))
        except DomainError as e:
            await_form = reask(dispatcher, e.code, lang)
            return await_form
        asked = int(p.get("asked") or 0)
        dispatcher.utter_message(response="utter_placement_submitted" if asked else "utter_placement_submitted_none",
                                 placement_id=p["id"], asked=asked)
        return [*clear(), SlotSet("placement_submitted", True), SlotSet("placement_open", True),
                SlotSet("pl_last_id", p["id"])]


def clear() -> list[EventType]:
    """The form's draft gone (the client's phone and address stay known)."""
    booking = [s for s in FORM_SLOTS if s not in ("phone", "address")]
    return [SlotSet(s, None) for s in (*PLACEMENT_SLOTS, *booking)]


class ActionPlacementAlreadySubmitted(Action):
    """确认 again after the request went in (a double tap, a retry): one placement, said once."""

    def name(self) -> str:
        return "action_placement_already_submitted"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_placement_already_submitted",
                                 placement_id=tracker.get_slot("pl_last_id"))
        return [SlotSet("placement_submitted", None)]


class ActionLeavePlacement(Action):
    def name(self) -> str:
        return "action_leave_placement"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_placement_left")
        return [ActiveLoop(None), *clear()]


class ActionPlacementChange(Action):
    """修改 on the summary: the dates, term and wishes again (the service, phone and key stay)."""

    def name(self) -> str:
        return "action_placement_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if not tracker.get_slot("pl_service"):
            dispatcher.utter_message(response="utter_default_menu")
            return []
        dispatcher.utter_message(response="utter_placement_change")
        gone = ("pl_due", "pl_start", "pl_term", "pl_live_in", "pl_requirements", "address")
        slots = {**tracker.slots, **{s: None for s in gone}}
        return [SlotSet("awaiting_placement_confirm", False), *[SlotSet(s, None) for s in gone],
                *await ask_next(dispatcher, slots, lang_of(tracker))]


# --- context recognizers (dialogs/domain.d/placements.yml context_intents) ----------------------------
def reads_as_form_answer(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """In the placement form every typed message is the answer to its question ("不住家", "没有"); a
    language request is one only outside the requirements question ("must speak English" is a wish)."""
    if intent == "switch_language" and (slots.get("requested_slot") != "pl_requirements"
                                        or text.strip().startswith("/")):
        return False
    return active_loop == FORM and bool(text.strip())


MODE_WORDS = re.compile(r"视频|視頻|当面|當面|见面|見面|面谈|video|in[- ]person|face to face|online")
ANSWER_INTENTS = ("inform", "nlu_fallback", "affirm", "reschedule_booking", "choose_slot", "deny", "cancel_booking")


def reads_as_interview_time(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """While the interview time is asked, a time or a mode word is its answer (so is what reads as an
    answer: the action re-asks); anything else leaves the question (its slots are cleared)."""
    if active_loop is not None or not text.strip():
        return False
    if intent in ANSWER_INTENTS or MODE_WORDS.search(text.lower()):
        return True
    be = backend()
    return bool(parse_times(normalize(text).text, be.now.astimezone(be.ctx.tz)))
