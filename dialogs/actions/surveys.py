"""Call-back surveys (回访), the client's side: the three scores by buttons one question at a time or typed
in one message, an optional comment, the follow-up promise with the case's real due time, the
never-again / ask-for-her-again offers, and feedback typed outside a survey ("给赵阿姨打5分").

The survey itself arrives as a notification (template ``survey``, sent by the backend's timer). Which
question is pending comes from storage every turn (dialogs/desk.py → slots survey_open_id, survey_step);
the comment question lives in the tracker (survey_comment_id): once the three scores are in, the survey is
answered in storage and the comment is optional.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.api import DomainError
from backend.domain.surveys import DIMENSIONS
from dialogs.actions.complaints import due_text, entity, words
from dialogs.actions.runtime import backend, call, service_name, when
from dialogs.nlu.normalize import normalize

# Typed answers that are not scores but still belong to an open question ("三项都很好", "技能一般").
SOFT = {"answer_survey", "give_feedback", "inform", "nlu_fallback", "affirm", "thank", "out_of_scope"}
# "No comment" said in words rather than with the button (besides domain.d's survey_skip_words): a "no";
# a thank-you is a comment only when it says more than thanks ("谢谢阿姨，很细心").
NO_COMMENT_INTENTS = {"deny"}
# A housekeeper named in feedback: 赵阿姨 / 趙姐 / 王师傅; Ms Zhao / Auntie Wang.
_NAME_ZH = re.compile(r"[\u4e00-\u9fff](?:阿姨|姐|师傅|師傅|嫂)")
_NAME_EN = re.compile(r"\b(?:ms|mrs|miss|madam|auntie|aunt)\.?\s+([a-z]+)", re.I)


def _parse(text: str, asked: str | None = None) -> Any:
    from dialogs.nlu.scores import parse_scores  # S5's reader; imported on use (the NLU package loads lazily)

    return parse_scores(text, asked)


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    return int(v) if isinstance(v, str) and v.isdigit() else None


def _comment_pending(slots: dict[str, Any]) -> bool:
    return slots.get("survey_comment_id") is not None or slots.get("survey_step") == "comment"


def reads_as_answer(text: str, intent: str, slots: dict[str, Any], active_loop: str | None) -> bool:
    """The engine's context recognizer (domain.d/surveys.yml context_intents): does this typed message
    answer the pending survey question? A score does, whatever the classifier read ("5" alone only
    while a question is pending and no form asks its own); words about the service ("技能一般") do
    when nothing else was meant; while the comment is asked, any words do (the engine keeps real
    requests — a booking, a question, an emergency — for their own flows)."""
    step = slots.get("survey_step")
    if step in DIMENSIONS:
        s = _parse(text, None if active_loop else step)
        if s.scores:
            return True
        if active_loop:
            return False  # "3" mid-booking is the form's answer (hours), not a score
        return bool(s.invalid) or (bool(s.words) and intent in SOFT)
    return _comment_pending(slots) and not active_loop


def score_buttons(survey_id: int | None, dimension: str, booking_id: int | None = None) -> list[dict[str, str]]:
    """1..5 for one question: on the survey, or (feedback before any survey exists) on the visit."""
    if survey_id is not None:
        return [{"title": str(k), "payload": f'/survey_score{{"survey_id": {survey_id}, "dimension": "{dimension}", '
                                               f'"score": {k}}}'} for k in range(1, 6)]
    return [{"title": str(k), "payload": f'/feedback_score{{"booking_id": {booking_id}, "dimension": "{dimension}", '
                                           f'"score": {k}}}'} for k in range(1, 6)]


def ask(dispatcher: CollectingDispatcher, dimension: str, survey_id: int | None, booking_id: int | None = None,
        hint: bool = False) -> None:
    dispatcher.utter_message(response=f"utter_survey_ask_{dimension}",
                             buttons=score_buttons(survey_id, dimension, booking_id))
    if hint:
        dispatcher.utter_message(response="utter_survey_all_at_once")


async def after_answer(dispatcher: CollectingDispatcher, tracker: Tracker, view: dict[str, Any],
                       comment_turn: bool = False) -> list[EventType]:
    """What follows an answer: the next question, the comment, or the end (thanks or the call-back
    promise, then the offers)."""
    step, sid = view.get("step"), view["id"]
    if step in DIMENSIONS:
        ask(dispatcher, step, sid)
        return [SlotSet("survey_comment_id", None)]
    case = await call(backend().case, view["followup_case_id"]) if view.get("followup_case_id") else None
    if step == "comment":
        if case is not None:  # told now, not after an optional comment they may never write
            dispatcher.utter_message(response="utter_survey_followup", due=due_text(case.get("due_at"),
                                                                                     _lang(tracker)))
        dispatcher.utter_message(response="utter_survey_ask_comment", survey_id=sid)
        return [SlotSet("survey_comment_id", sid)]
    if case is not None and not comment_turn:
        dispatcher.utter_message(response="utter_survey_followup", due=due_text(case.get("due_at"), _lang(tracker)))
    elif case is not None:
        dispatcher.utter_message(response="utter_survey_comment_noted")
    else:
        dispatcher.utter_message(response="utter_survey_recorded", booking_id=view["booking_id"],
                                 attitude=view.get("attitude"), skill=view.get("skill"), result=view.get("result"))
    name = view.get("housekeeper_name") or ""
    for offer in view.get("offers") or ():
        if offer in ("never_again", "preferred"):
            dispatcher.utter_message(response=f"utter_survey_offer_{offer}", survey_id=sid,
                                     housekeeper_id=view["housekeeper_id"], housekeeper=name)
            break
    return [SlotSet("survey_comment_id", None), SlotSet("feedback_scores", None), SlotSet("feedback_comment", None)]


def _lang(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "zh"


def _skip_words(domain: dict[str, Any]) -> set[str]:
    return {normalize(str(w)).text.strip() for w in domain.get("survey_skip_words") or ()}


class ActionSurveyAnswer(Action):
    """A score button, the skip button, the reminder's "rate now", or a typed answer to the open survey."""

    def name(self) -> str:
        return "action_survey_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        be, client_id = backend(), tracker.get_slot("client_id")
        intent = tracker.latest_message["intent"]["name"]
        try:
            if intent == "survey_score":
                sid, dim, score = (_int(entity(tracker, "survey_id")), entity(tracker, "dimension"),
                                   _int(entity(tracker, "score")))
                if sid is None or score is None or dim not in (*DIMENSIONS, "all"):
                    dispatcher.utter_message(response="utter_survey_closed")
                    return []
                scores = dict.fromkeys(DIMENSIONS, score) if dim == "all" else {dim: score}
                return await after_answer(dispatcher, tracker, await call(be.answer_survey, client_id, sid, scores))
            if intent == "survey_skip_comment":
                sid = _int(entity(tracker, "survey_id"))
                if sid is None:
                    return []
                view = await call(be.answer_survey, client_id, sid, skip_comment=True)
                return await after_answer(dispatcher, tracker, view, comment_turn=True)
            if intent == "survey_resume":
                return await self._resume(dispatcher, tracker)
            return await self._typed(dispatcher, tracker, domain)
        except DomainError as e:
            if e.code == "invalid_score":
                dispatcher.utter_message(response="utter_survey_out_of_range")
                return []
            dispatcher.utter_message(response="utter_survey_closed")
            return [SlotSet("survey_comment_id", None)]

    async def _resume(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        view = await call(backend().open_survey, tracker.get_slot("client_id"))
        if view is None or view["id"] != _int(entity(tracker, "survey_id")):
            dispatcher.utter_message(response="utter_survey_closed")
            return []
        ask(dispatcher, view["step"] if view["step"] in DIMENSIONS else DIMENSIONS[0], view["id"], hint=True)
        return []

    async def _typed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: dict[str, Any]) -> list[EventType]:
        be, client_id, text = backend(), tracker.get_slot("client_id"), words(tracker)
        open_id, step = tracker.get_slot("survey_open_id"), tracker.get_slot("survey_step")
        if step not in DIMENSIONS:
            comment_id = tracker.get_slot("survey_comment_id") or (open_id if step == "comment" else None)
            if comment_id is None:  # no survey waits: feedback about a visit
                return await feedback(dispatcher, tracker)
            intent = tracker.latest_message.get("nlu_intent") or tracker.latest_message["intent"]["name"]
            s = _parse(text)
            if s.scores and not s.comment:  # a change of mind about a score after the three were in
                return await after_answer(dispatcher, tracker,
                                          await call(be.answer_survey, client_id, comment_id, s.scores))
            skip = intent in NO_COMMENT_INTENTS or normalize(text).text.strip(" .!。！") in _skip_words(domain)
            view = await call(be.answer_survey, client_id, comment_id, comment=None if skip else text,
                              skip_comment=skip)
            return await after_answer(dispatcher, tracker, view, comment_turn=True)
        s = _parse(text, step)
        if s.scores:
            # stray words beside a partial answer are noise; beside all three they are the comment
            comment = s.comment if s.complete and s.comment else None
            return await after_answer(dispatcher, tracker,
                                      await call(be.answer_survey, client_id, open_id, s.scores, comment))
        if s.invalid:
            dispatcher.utter_message(response="utter_survey_out_of_range")
            ask(dispatcher, step, open_id)
        elif "all" in s.words:
            dispatcher.utter_message(response="utter_survey_need_numbers_all", survey_id=open_id)
            ask(dispatcher, step, open_id)
        elif s.words:  # "技能一般": ask for that number
            dispatcher.utter_message(response="utter_survey_need_numbers")
            ask(dispatcher, next(d for d in DIMENSIONS if d in s.words), open_id)
        else:
            ask(dispatcher, step, open_id, hint=True)
        return []


class ActionSurveyOffer(Action):
    """Never again / ask for her again, tapped after answering: the client's lists change in storage."""

    def name(self) -> str:
        return "action_survey_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        offer, hk = entity(tracker, "offer"), _int(entity(tracker, "housekeeper_id"))
        be, client_id = backend(), tracker.get_slot("client_id")
        if offer not in ("never_again", "preferred") or hk is None:
            dispatcher.utter_message(response="utter_survey_offer_declined")
            return []
        try:
            await call(be.never_again if offer == "never_again" else be.prefer, client_id, hk)
        except DomainError:
            dispatcher.utter_message(response="utter_survey_closed")
            return []
        dispatcher.utter_message(response=f"utter_survey_{offer}_done")
        return []


class ActionClientFeedback(Action):
    """Feedback typed outside a survey ("给赵阿姨打5分", "很满意"), or the visit chosen for it."""

    def name(self) -> str:
        return "action_client_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            return await feedback(dispatcher, tracker)
        except DomainError as e:
            if e.code == "invalid_score":
                dispatcher.utter_message(response="utter_survey_out_of_range")
                return []
            dispatcher.utter_message(response="utter_feedback_no_booking")
            return [SlotSet("feedback_scores", None), SlotSet("feedback_comment", None)]


async def feedback(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    be, client_id = backend(), tracker.get_slot("client_id")
    intent = tracker.latest_message["intent"]["name"]
    booking = _int(entity(tracker, "booking_id"))
    if intent == "feedback_score" and booking is not None:
        dim, score = entity(tracker, "dimension"), _int(entity(tracker, "score"))
        if dim not in DIMENSIONS or score is None:
            return []
        return await after_answer(dispatcher, tracker, await call(be.client_feedback, client_id, booking,
                                                                  {dim: score}))
    if intent == "feedback_booking" and booking is not None:
        return await _on_visit(dispatcher, tracker, booking, tracker.get_slot("feedback_scores") or {},
                               tracker.get_slot("feedback_comment"))
    text = words(tracker)
    s, name = _parse(text), _housekeeper(text)
    # One score for the whole visit ("给赵阿姨打5分") counts for all three — when it is plainly feedback;
    # a lone "5" out of any question is not taken as a rating.
    bare = text.strip(" .。!！").isdigit()  # "5" alone: an answer to nothing, not a rating
    overall = s.overall if s.overall and (name or (intent == "give_feedback" and not bare)) else None
    scores = dict(s.scores) or (dict.fromkeys(DIMENSIONS, overall) if overall else {})
    visits = await call(be.housekeeper_by_name, client_id, name) if name else []
    if not visits:
        visits = await call(be.feedback_bookings, client_id)
    if not visits:
        dispatcher.utter_message(response="utter_feedback_no_booking")
        return []
    if not scores:  # "很满意": thanks, and the three scores for the latest visit
        return await _on_visit(dispatcher, tracker, visits[0]["booking_id"], {}, None, visits[0])
    if len(visits) > 1:
        lang = tracker.get_slot("language") or "zh"
        dispatcher.utter_message(response="utter_feedback_which_booking", buttons=[
            {"title": " ".join(x for x in (f"#{v['booking_id']}", service_name(v.get("service"), lang),
                                             when(v.get("starts_at"), lang), v.get("housekeeper_name") or "") if x),
             "payload": f'/feedback_booking{{"booking_id": {v["booking_id"]}}}'} for v in visits[:5]])
        return [SlotSet("feedback_scores", scores), SlotSet("feedback_comment", s.comment)]
    return await _on_visit(dispatcher, tracker, visits[0]["booking_id"], scores, s.comment)


async def _on_visit(dispatcher: CollectingDispatcher, tracker: Tracker, booking_id: int, scores: dict[str, int],
                    comment: str | None, visit: dict[str, Any] | None = None) -> list[EventType]:
    be, client_id = backend(), tracker.get_slot("client_id")
    if scores:
        view = await call(be.client_feedback, client_id, booking_id, scores, comment)
        return await after_answer(dispatcher, tracker, view)
    lang = tracker.get_slot("language") or "zh"
    v = visit or {"booking_id": booking_id}
    dispatcher.utter_message(response="utter_feedback_ask_scores", booking_id=booking_id,
                             service=service_name(v.get("service"), lang), time=when(v.get("starts_at"), lang),
                             housekeeper=v.get("housekeeper_name") or "")
    survey_id = v.get("survey_id") if v.get("survey_status") in ("sent", "reminded") else None
    ask(dispatcher, DIMENSIONS[0], survey_id, booking_id, hint=True)
    return [SlotSet("feedback_scores", None), SlotSet("feedback_comment", None)]


def _housekeeper(text: str) -> str | None:
    """The housekeeper a feedback names, as written ("赵阿姨", "Zhao"): the backend matches it."""
    m = _NAME_ZH.search(text)
    if m:
        return m[0]
    m = _NAME_EN.search(text)
    return m[1] if m else None
