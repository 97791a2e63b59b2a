"""Long-term placements (issue 12), after the request: the client's status and shortlist, interviews
(mode and a typed time), choosing a candidate, more candidates, ending the trial, a replacement and an
extension. The shortlist notifications' buttons (backend placement_asks) come back here."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from dialogs.actions import times
from dialogs.actions.answers import ActionCheckBooking, entity, script_of
from dialogs.actions.booking import lang_of
from dialogs.actions.placements import DUE_DATE_SERVICES, add_months, day_text, term_text
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.domain import localise
from dialogs.nlu.normalize import normalize
from dialogs.nlu.timeparse import parse_times

STATUS = {"shortlisting": ("正在挑选阿姨", "shortlisting"), "interviewing": ("面试中", "interviewing"),
          "trial": ("试工中", "in trial"), "active": ("服务中", "in service"), "ended": ("已结束", "ended"),
          "cancelled": ("已取消", "cancelled")}
MODES = {"video": ("视频面试", "video interview"), "in_person": ("当面面试", "in-person interview")}
# Codes of refusals that have their own reply; the rest say the code's words (utter_placement_error).
ERRORS = {"not_on_shortlist": "utter_placement_not_on_shortlist", "placement_not_found": "utter_placement_not_found",
          "interview_clash": "utter_placement_interview_clash", "candidate_unavailable":
          "utter_placement_candidate_unavailable", "not_free": "utter_placement_not_free"}
REASONS = {"not_shortlisting": ("这个需求已不在挑选阶段", "this request is past the shortlist"),
           "interview_limit": ("同时最多约3场面试", "at most 3 interviews at a time"),
           "not_active": ("这个服务已结束或未开始", "this placement is not running"),
           "invalid_days": ("天数不对", "not a valid number of days"),
           "placement_started": ("服务已开始", "the placement has started")}


def payload(intent: str, **values: Any) -> str:
    return f"/{intent}" + json.dumps(values, ensure_ascii=False)


def word(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def ids(tracker: Tracker) -> tuple[int | None, int | None]:
    def num(v: Any) -> int | None:
        return int(v) if isinstance(v, int | str) and str(v).isdigit() else None

    return num(entity(tracker, "placement_id")), num(entity(tracker, "housekeeper_id"))


def refused(dispatcher: CollectingDispatcher, code: str, lang: str) -> list[EventType]:
    if code in ERRORS:
        dispatcher.utter_message(response=ERRORS[code])
    else:
        dispatcher.utter_message(response="utter_placement_error", reason=word(REASONS.get(code, (code, code)), lang))
    return []


async def mine(tracker: Tracker, placement_id: int | None) -> dict[str, Any] | None:
    """The client's placement (None for somebody else's or none)."""
    if placement_id is None:
        return None
    p = await call(backend().placement, placement_id)
    return p if p and p["client_id"] == tracker.get_slot("client_id") else None


# --- status and shortlist -------------------------------------------------------------------------
def card_text(n: int, c: dict[str, Any], lang: str) -> str:
    labels = backend().ctx.placements
    sep = ", " if lang == "en" else "、"

    def listed(items: list[str], zh: str, en: str) -> str:
        if not items:
            return ""
        joined = sep.join(labels.label(i, lang) for i in items)
        return f" · {en}{joined}" if lang == "en" else f" · {zh}{joined}"

    age = f" · {c['age_band']}" + ("" if lang == "en" else "岁") if c.get("age_band") else ""
    hold = ""
    if c.get("hold_expires_at"):
        hold = (f" · held for you until {when(c['hold_expires_at'], lang)}" if lang == "en"
                else f" · 为您保留至{when(c['hold_expires_at'], lang)}")
    ok = "✓ " if lang == "en" else "✓"
    badges = (" · " + " ".join(ok + labels.label(b, lang) for b in c.get("badges") or [])) if c.get("badges") else ""
    text = backend_render("utter_placement_card", lang, n=n, hk_name=c["first_name"], age=age,
                          experience=c.get("experience_years") or 0, rating=c.get("rating"),
                          surveys=c.get("survey_count") or 0,
                          languages=listed(c.get("languages") or [], "语言：", "speaks "),
                          certificates=listed(c.get("certificates") or [], "证书：", "certificates: "),
                          badges=badges, hold=hold)
    return text


def backend_render(response: str, lang: str, **params: Any) -> str:
    """One of our responses as text, to be joined into another (a card in the shortlist)."""
    from dialogs.domain import Domain

    return _domain(Domain).render(response, lang, params)["text"]


_DOMAIN: list[Any] = []


def _domain(cls: Any) -> Any:
    if not _DOMAIN:
        _DOMAIN.append(cls.load())
    return _DOMAIN[0]


def shortlist_buttons(p: dict[str, Any], cards: list[dict[str, Any]], lang: str) -> list[dict[str, str]]:
    out = []
    for c in cards:
        hk = {"placement_id": p["id"], "housekeeper_id": c["housekeeper_id"]}
        out.append({"title": f"Interview {c['first_name']}" if lang == "en" else f"约{c['first_name']}面试",
                    "payload": payload("placement_interview", **hk)})
        out.append({"title": f"Choose {c['first_name']}" if lang == "en" else f"选定{c['first_name']}",
                    "payload": payload("placement_choose", **hk)})
    out.append({"title": "More candidates" if lang == "en" else "再推荐几位",
                "payload": payload("placement_more", placement_id=p["id"])})
    return out


def placement_line(p: dict[str, Any], lang: str) -> str:
    who = ""
    if p.get("housekeeper"):
        who = f" · {p['housekeeper']}"
    if p["status"] == "trial" and p.get("trial_ends_on"):
        who += (f" (trial until {day_text(p['trial_ends_on'], lang)})" if lang == "en"
                else f"（试工至{day_text(p['trial_ends_on'], lang)}）")
    return backend_render("utter_placement_line", lang, placement_id=p["id"], service=service_name(p["service"], lang),
                          start=day_text(p["start_date"], lang), end=day_text(p["end_date"], lang),
                          status=word(STATUS.get(p["status"], (p["status"], p["status"])), lang), who=who)


def baby_button(p: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """月嫂 before the start: the baby may come early (the start moves)."""
    be = backend()
    if p["service"] not in DUE_DATE_SERVICES or date.fromisoformat(p["start_date"]) <= be.now.astimezone(
            be.ctx.tz).date() or p["status"] not in ("shortlisting", "interviewing", "trial"):
        return []
    return [{"title": "Baby has arrived" if lang == "en" else "宝宝出生了",
             "payload": payload("placement_baby_arrived", placement_id=p["id"])}]


def action_buttons(p: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """What the client can do with a running placement."""
    pid = {"placement_id": p["id"]}
    if baby_button(p, lang):
        return baby_button(p, lang)
    if p["status"] == "trial":
        return [{"title": "End the trial" if lang == "en" else "结束试工",
                 "payload": payload("placement_end_trial", **pid)}]
    if p["status"] == "active":
        return [{"title": "Ask for a replacement" if lang == "en" else "申请更换阿姨",
                 "payload": payload("placement_replace", **pid)},
                {"title": "Extend" if lang == "en" else "续约", "payload": payload("placement_extend", **pid)}]
    return []


async def show(dispatcher: CollectingDispatcher, tracker: Tracker, p: dict[str, Any]) -> None:
    """One placement: its line, and while shortlisting its cards (or that they are coming)."""
    lang, script = lang_of(tracker), script_of(tracker)
    line = localise(placement_line(p, lang), script)
    if p["status"] in ("shortlisting", "interviewing"):
        cards = await call(backend().shortlist, tracker.get_slot("client_id"), p["id"])
        if not cards:
            dispatcher.utter_message(text=line)
            dispatcher.utter_message(response="utter_placement_waiting", placement_id=p["id"])
            return
        body = localise("\n".join(card_text(i, c, lang) for i, c in enumerate(cards, 1)), script)
        dispatcher.utter_message(text=line)
        dispatcher.utter_message(response="utter_placement_shortlist", placement_id=p["id"], cards=body,
                                 buttons=shortlist_buttons(p, cards, lang) + baby_button(p, lang))
        return
    buttons = action_buttons(p, lang)
    dispatcher.utter_message(text=line, buttons=buttons) if buttons else dispatcher.utter_message(text=line)


class ActionPlacementStatus(Action):
    """"我的预约" with an open placement (before the bookings), or one placement's button: its state and
    shortlist."""

    def name(self) -> str:
        return "action_placement_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        pid, _ = ids(tracker)
        if pid is not None:
            p = await mine(tracker, pid)
            if p is None:
                dispatcher.utter_message(response="utter_placement_not_found")
                return []
            await show(dispatcher, tracker, p)
            return []
        open_ = await call(backend().client_placements, tracker.get_slot("client_id"))
        for p in open_:
            await show(dispatcher, tracker, p)
        events: list[EventType] = [SlotSet("placement_open", True if open_ else None)]
        if tracker.latest_message.get("intent", {}).get("name") == "check_booking":
            # "我的预约": the bookings follow; "no bookings" is not said over an open placement
            mine_ = await call(backend().my_bookings, tracker.get_slot("client_id"))
            if not open_ or mine_["upcoming"] or mine_["recent"]:
                events += await ActionCheckBooking().list_bookings(dispatcher, tracker)
        elif not open_:
            dispatcher.utter_message(response="utter_placement_none")
        return events


# --- interviews ----------------------------------------------------------------------------------
async def card_of(tracker: Tracker, pid: int, hk: int) -> dict[str, Any] | None:
    try:
        cards = await call(backend().shortlist, tracker.get_slot("client_id"), pid)
    except DomainError:
        return None
    return next((c for c in cards if c["housekeeper_id"] == hk), None)


def mode_buttons(pid: int, hk: int, lang: str) -> list[dict[str, str]]:
    return [{"title": word(MODES[m], lang), "payload": payload("placement_interview_mode", placement_id=pid,
                                                               housekeeper_id=hk, interview_mode=m)}
            for m in MODES] + [{"title": "Cancel" if lang == "en" else "取消", "payload": "/deny"}]


class ActionPlacementInterview(Action):
    """约面试: video or in person (the time is asked next)."""

    def name(self) -> str:
        return "action_placement_interview"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        pid, hk = ids(tracker)
        card = await card_of(tracker, pid, hk) if pid and hk and await mine(tracker, pid) else None
        if card is None:
            dispatcher.utter_message(response="utter_placement_not_on_shortlist")
            return []
        dispatcher.utter_message(response="utter_placement_interview_mode", hk_name=card["first_name"],
                                 buttons=mode_buttons(pid, hk, lang_of(tracker)))
        draft = {"placement_id": pid, "housekeeper_id": hk, "name": card["first_name"], "mode": None, "date": None}
        return [SlotSet("pl_interview", draft), SlotSet("awaiting_interview_time", True)]


def mode_word(mode: str | None, tracker: Tracker) -> str:
    return localise(word(MODES.get(mode or "", MODES["video"]), lang_of(tracker)), script_of(tracker))


def ask_time(dispatcher: CollectingDispatcher, draft: dict[str, Any], tracker: Tracker) -> None:
    dispatcher.utter_message(response="utter_placement_interview_ask_time", hk_name=draft["name"],
                             mode=mode_word(draft["mode"], tracker))


class ActionPlacementInterviewMode(Action):
    def name(self) -> str:
        return "action_placement_interview_mode"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        pid, hk = ids(tracker)
        mode = entity(tracker, "interview_mode")
        draft = tracker.get_slot("pl_interview") or {}
        if draft.get("placement_id") != pid or draft.get("housekeeper_id") != hk:
            card = await card_of(tracker, pid, hk) if pid and hk and await mine(tracker, pid) else None
            if card is None:
                dispatcher.utter_message(response="utter_placement_not_on_shortlist")
                return []
            draft = {"placement_id": pid, "housekeeper_id": hk, "name": card["first_name"], "date": None}
        draft = {**draft, "mode": mode if mode in MODES else "video"}
        ask_time(dispatcher, draft, tracker)
        return [SlotSet("pl_interview", draft), SlotSet("awaiting_interview_time", True)]


def read_mode(text: str) -> str | None:
    t = normalize(text).text.lower()
    if any(w in t for w in ("当面", "见面", "上门", "面谈", "in person", "in-person", "face to face", "meet")):
        return "in_person"
    if any(w in t for w in ("视频", "video", "视讯", "微信视频", "online")):
        return "video"
    return None


class ActionPlacementInterviewTime(Action):
    """The typed time of the interview ("周六上午10点"); a day alone asks the hour; a mode word sets the
    mode. Then the confirmation with its button."""

    def name(self) -> str:
        return "action_placement_interview_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang = backend(), lang_of(tracker)
        draft = dict(tracker.get_slot("pl_interview") or {})
        if not draft.get("placement_id"):
            return [SlotSet("awaiting_interview_time", None)]
        if tracker.latest_message.get("nlu_intent") in ("deny", "cancel_booking"):  # "取消", "算了"
            return ActionPlacementInterviewDrop().run(dispatcher, tracker, domain)
        text = str(tracker.latest_message.get("text") or "")
        draft["mode"] = read_mode(text) or draft.get("mode")
        now = be.now.astimezone(be.ctx.tz)
        found = parse_times(normalize(text).text, now)
        at: datetime | None = None
        if found:
            ent = found[0]
            value = datetime.fromisoformat(ent["value"]).astimezone(be.ctx.tz)
            info = ent.get("additional_info") or {}
            if ent["grain"] in ("day", "part_of_day"):
                draft["date"] = value.date().isoformat()
                dispatcher.utter_message(response="utter_placement_interview_hour",
                                         date=times.day_text(value.date(), lang))
                return [SlotSet("pl_interview", draft)]
            if not info.get("has_date", True) and draft.get("date"):  # "10点" after the day was given
                day = date.fromisoformat(draft["date"])
                value = value.replace(year=day.year, month=day.month, day=day.day)
            at = value
        if at is None:
            if draft.get("mode") and not (tracker.get_slot("pl_interview") or {}).get("mode"):
                ask_time(dispatcher, draft, tracker)  # "视频" typed to the mode question
            else:
                dispatcher.utter_message(response="utter_placement_interview_bad_time")
            return [SlotSet("pl_interview", draft)]
        draft["mode"] = draft.get("mode") or "video"
        lead = be.ctx.lead_time_minutes
        if at < be.now + timedelta(minutes=lead):
            dispatcher.utter_message(response="utter_placement_interview_past", time=when(at.isoformat(), lang),
                                     hours=lead // 60)
            return [SlotSet("pl_interview", draft)]
        confirm = payload("placement_interview_confirm", placement_id=draft["placement_id"],
                          housekeeper_id=draft["housekeeper_id"], interview_mode=draft["mode"],
                          interview_at=at.isoformat())
        dispatcher.utter_message(response="utter_placement_interview_confirm", hk_name=draft["name"],
                                 mode=mode_word(draft["mode"], tracker), time=when(at.isoformat(), lang),
                                 buttons=[{"title": "Confirm" if lang == "en" else "确认", "payload": confirm},
                                          {"title": "Cancel" if lang == "en" else "取消", "payload": "/deny"}])
        return [SlotSet("pl_interview", draft)]


class ActionPlacementInterviewConfirm(Action):
    def name(self) -> str:
        return "action_placement_interview_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, hk = ids(tracker)
        mode, at = entity(tracker, "interview_mode"), entity(tracker, "interview_at")
        try:
            start = datetime.fromisoformat(str(at))
        except ValueError:
            dispatcher.utter_message(response="utter_placement_interview_bad_time")
            return []
        if pid is None or hk is None or await mine(tracker, pid) is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        try:
            iv = await call(backend().schedule_interview, tracker.get_slot("client_id"), pid, hk, start,
                            mode if mode in MODES else "video")
        except DomainError as e:
            if e.code == "time_past":
                dispatcher.utter_message(response="utter_placement_interview_past", time=when(str(at), lang),
                                         hours=backend().ctx.lead_time_minutes // 60)
                return []
            return [*refused(dispatcher, e.code, lang), *done_interview()]
        dispatcher.utter_message(response="utter_placement_interview_booked", hk_name=iv["first_name"],
                                 mode=mode_word(iv["mode"], tracker), time=when(iv["at"], lang))
        return done_interview()


def done_interview() -> list[EventType]:
    return [SlotSet("pl_interview", None), SlotSet("awaiting_interview_time", None)]


class ActionPlacementInterviewDrop(Action):
    def name(self) -> str:
        return "action_placement_interview_drop"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_placement_interview_dropped")
        return done_interview()


# --- the choice and more candidates ---------------------------------------------------------------
class ActionPlacementChoose(Action):
    """选定: said what it means (start, trial, contract, the others released), confirmed by a button."""

    def name(self) -> str:
        return "action_placement_choose"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, hk = ids(tracker)
        p = await mine(tracker, pid)
        card = await card_of(tracker, pid, hk) if p and hk else None
        if card is None:
            dispatcher.utter_message(response="utter_placement_not_on_shortlist")
            return []
        hkp = {"placement_id": pid, "housekeeper_id": hk}
        dispatcher.utter_message(
            response="utter_placement_choose_confirm", hk_name=card["first_name"], placement_id=pid,
            start=day_text(p["start_date"], lang), trial=p["trial_days"], end=day_text(p["end_date"], lang),
            buttons=[{"title": f"Choose {card['first_name']}" if lang == "en" else f"确定选{card['first_name']}",
                      "payload": payload("placement_choose_confirm", **hkp)},
                     {"title": "Not yet" if lang == "en" else "再想想",
                      "payload": payload("placement_status", placement_id=pid)}])
        return []


class ActionPlacementChooseConfirm(Action):
    def name(self) -> str:
        return "action_placement_choose_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, hk = ids(tracker)
        if pid is None or hk is None or await mine(tracker, pid) is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        try:
            p = await call(backend().choose_candidate, tracker.get_slot("client_id"), pid, hk)
        except DomainError as e:
            return refused(dispatcher, e.code, lang)
        trial_end = p.get("trial_ends_on") or p["start_date"]
        dispatcher.utter_message(response="utter_placement_chosen", hk_name=p.get("housekeeper") or "",
                                 service=service_name(p["service"], lang), start=day_text(p["start_date"], lang),
                                 trial_end=day_text(trial_end, lang), end=day_text(p["end_date"], lang),
                                 buttons=action_buttons(p, lang) or None)
        return [SlotSet("placement_open", True)]


class ActionPlacementMore(Action):
    def name(self) -> str:
        return "action_placement_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        pid, _ = ids(tracker)
        if await mine(tracker, pid) is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        try:
            p = await call(backend().more_candidates, tracker.get_slot("client_id"), pid)
        except DomainError as e:
            return refused(dispatcher, e.code, lang_of(tracker))
        asked = int(p.get("asked") or 0)
        dispatcher.utter_message(response="utter_placement_more" if asked else "utter_placement_more_none", asked=asked)
        return []


# --- trial, replacement, extension -----------------------------------------------------------------
class ActionPlacementEndTrial(Action):
    def name(self) -> str:
        return "action_placement_end_trial"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        p = await mine(tracker, pid)
        if p is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        if p["status"] != "trial":
            dispatcher.utter_message(response="utter_placement_not_in_trial", placement_id=pid)
            return []
        dispatcher.utter_message(
            response="utter_placement_end_trial_confirm", placement_id=pid, hk_name=p.get("housekeeper") or "",
            buttons=[{"title": "End it, find someone else" if lang == "en" else "结束试工，换一位",
                      "payload": payload("placement_end_trial_confirm", placement_id=pid, replace=True)},
                     {"title": "End it, no replacement" if lang == "en" else "结束试工，不再需要",
                      "payload": payload("placement_end_trial_confirm", placement_id=pid, replace=False)},
                     {"title": "Keep the trial" if lang == "en" else "继续试工",
                      "payload": payload("placement_status", placement_id=pid)}])
        return []


def next_text(got: dict[str, Any], lang: str) -> str:
    if got.get("replacement"):
        asked = int(got.get("asked") or 0)
        if lang == "en":
            return (f"We are finding a replacement: {asked} housekeepers asked (none you have seen already); you get "
                    f"the shortlist as soon as they confirm." if asked else
                    "A placement manager has been told and is finding a replacement personally.")
        return (f"正在为您重新安排：已询问{asked}位阿姨（不含之前的候选），确认后马上把名单发给您。" if asked else
                "已通知长期服务经理，为您专门寻找新的阿姨。")
    return ("The placement has ended; the deposit and the days served are settled as agreed." if lang == "en"
            else "服务已结束，押金和已服务天数按约定结算。")


class ActionPlacementEndTrialConfirm(Action):
    def name(self) -> str:
        return "action_placement_end_trial_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        if await mine(tracker, pid) is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        replace = entity(tracker, "replace") not in (False, "false", 0)
        try:
            got = await call(backend().end_trial, "client", tracker.get_slot("client_id"), pid, replace)
        except DomainError as e:
            if e.code == "not_in_trial":
                dispatcher.utter_message(response="utter_placement_not_in_trial", placement_id=pid)
                return []
            return refused(dispatcher, e.code, lang)
        dispatcher.utter_message(response="utter_placement_trial_ended",
                                 next=localise(next_text(got, lang), script_of(tracker)))
        return [SlotSet("placement_open", True if got.get("replacement") else None)]


class ActionPlacementReplace(Action):
    def name(self) -> str:
        return "action_placement_replace"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        p = await mine(tracker, pid)
        if p is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        if p["status"] == "trial":  # in the trial a replacement is ending the trial
            return await ActionPlacementEndTrial().run(dispatcher, tracker, domain)
        dispatcher.utter_message(
            response="utter_placement_replace_confirm", placement_id=pid, hk_name=p.get("housekeeper") or "",
            end=day_text(p["end_date"], lang),
            buttons=[{"title": "Yes, replace her" if lang == "en" else "确认更换",
                      "payload": payload("placement_replace_confirm", placement_id=pid)},
                     {"title": "No" if lang == "en" else "不换了",
                      "payload": payload("placement_status", placement_id=pid)}])
        return []


class ActionPlacementReplaceConfirm(Action):
    def name(self) -> str:
        return "action_placement_replace_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        if await mine(tracker, pid) is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        try:
            got = await call(backend().request_replacement, tracker.get_slot("client_id"), pid)
        except DomainError as e:
            return refused(dispatcher, e.code, lang)
        dispatcher.utter_message(response="utter_placement_replacing", asked=int(got.get("asked") or 0))
        return [SlotSet("placement_open", True)]


class ActionPlacementExtend(Action):
    def name(self) -> str:
        return "action_placement_extend"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        p = await mine(tracker, pid)
        if p is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        after = date.fromisoformat(p["end_date"]) + timedelta(days=1)
        buttons = []
        for n in (1, 3, 6):
            days = (add_months(after, n) - after).days
            buttons.append({"title": term_text(days, after, lang),
                            "payload": payload("placement_extend_confirm", placement_id=pid, extend_days=days)})
        buttons.append({"title": "Cancel" if lang == "en" else "取消",
                        "payload": payload("placement_status", placement_id=pid)})
        dispatcher.utter_message(response="utter_placement_extend_ask", placement_id=pid,
                                 end=day_text(p["end_date"], lang), buttons=buttons)
        return []


class ActionPlacementExtendConfirm(Action):
    def name(self) -> str:
        return "action_placement_extend_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = lang_of(tracker)
        pid, _ = ids(tracker)
        days = entity(tracker, "extend_days")
        if await mine(tracker, pid) is None or not isinstance(days, int):
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        try:
            p = await call(backend().extend_placement, tracker.get_slot("client_id"), pid, days)
        except DomainError as e:
            return refused(dispatcher, e.code, lang)
        dispatcher.utter_message(response="utter_placement_extended", placement_id=pid,
                                 end=day_text(p["end_date"], lang), hk_name=p.get("housekeeper") or "")
        return []


# --- 月嫂: the baby came early ---------------------------------------------------------------------
class ActionPlacementBabyArrived(Action):
    def name(self) -> str:
        return "action_placement_baby_arrived"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang = backend(), lang_of(tracker)
        pid, _ = ids(tracker)
        p = await mine(tracker, pid)
        if p is None or p["service"] not in DUE_DATE_SERVICES:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        today = be.now.astimezone(be.ctx.tz).date()
        days = [today - timedelta(days=n) for n in range(3)]
        titles = ("Today", "Yesterday", "The day before") if lang == "en" else ("今天", "昨天", "前天")
        dispatcher.utter_message(response="utter_placement_baby_when", buttons=[
            {"title": f"{t} ({times.day_text(d, lang)})" if lang == "en" else f"{t}（{times.day_text(d, lang)}）",
             "payload": payload("placement_baby_born", placement_id=pid, born_on=d.isoformat())}
            for t, d in zip(titles, days, strict=True)])
        return []


class ActionPlacementBabyBorn(Action):
    def name(self) -> str:
        return "action_placement_baby_born"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, lang = backend(), lang_of(tracker)
        pid, _ = ids(tracker)
        try:
            born = date.fromisoformat(str(entity(tracker, "born_on")))
        except ValueError:
            born = None
        before = await mine(tracker, pid) if born is not None else None
        if born is None or before is None:
            dispatcher.utter_message(response="utter_placement_not_found")
            return []
        if born >= date.fromisoformat(before["start_date"]):  # not early: the planned start stands
            dispatcher.utter_message(response="utter_placement_baby_on_time", placement_id=pid,
                                     start=day_text(before["start_date"], lang))
            return []
        try:
            p = await call(be.baby_arrived, tracker.get_slot("client_id"), pid, born)
        except DomainError as e:
            if e.code == "too_early":
                dispatcher.utter_message(response="utter_placement_baby_too_early",
                                         days=be.ctx.placements.baby_early_max_days)
                return []
            return refused(dispatcher, e.code, lang)
        if p.get("moved") is False:
            dispatcher.utter_message(response="utter_placement_baby_not_moved", hk_name=p.get("housekeeper") or "")
            return []
        who = ""
        if p.get("housekeeper"):
            who = (f" {p['housekeeper']} has been told." if lang == "en" else f"已通知{p['housekeeper']}。")
        dispatcher.utter_message(response="utter_placement_baby_moved", placement_id=pid,
                                 start=day_text(p["start_date"], lang), end=day_text(p["end_date"], lang), who=who)
        return []
