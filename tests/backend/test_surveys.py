"""Call-back surveys on the fake clock, on SQLite and PostgreSQL: scheduled at 已完成, sent after the delay
and never in quiet hours, one reminder, expiry, answers merged into one row, follow-up cases, the
never-again / preferred lists and the automatic finish of a job she forgot to finish."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backend.api import Backend, DomainError, Request
from backend.orm import Booking, Client, Escalation, Notification, Offer, Survey, Timer

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def booked(be: Backend, sender: str, start: datetime, hours: float = 2, lang: str = "zh") -> tuple[int, int, int]:
    """(client id, booking id, housekeeper id) of a confirmed cleaning."""
    c = be.client_for("rest", sender, lang)
    b = be.book(c.id, Request("cleaning", start, hours=hours, address="朝阳区建国路88号", district="朝阳"))
    with be.db.uow() as s:
        o = s.scalar(select(Offer).where(Offer.booking_id == b["id"], Offer.status == "pending"))
        offer_id, hk = o.id, o.housekeeper_id
    assert be.accept_offer(hk, offer_id)["error"] is None
    return c.id, b["id"], hk


def done_job(be: Backend, sender: str, start: datetime, finish_at: datetime, lang: str = "zh") -> tuple[int, int, int]:
    """A job checked in at its start and finished (已完成) at ``finish_at``."""
    cid, bid, hk = booked(be, sender, start, lang=lang)
    be.ctx.clock.set(start)
    be.arrive(hk, bid)
    be.ctx.clock.set(finish_at)
    be.finish(hk, bid)
    return cid, bid, hk


def survey_row(be: Backend, booking_id: int) -> SimpleNamespace:
    """A snapshot of the booking's only survey row."""
    with be.db.read() as s:
        rows = list(s.scalars(select(Survey).where(Survey.booking_id == booking_id)))
        assert len(rows) == 1
        return SimpleNamespace(**{c.key: getattr(rows[0], c.key) for c in Survey.__table__.columns})


def sent(be: Backend, client_id: int, template: str = "survey") -> list[dict]:
    return [n for n in be.pull("client", client_id) if n["template"] == template]


def tick_to(be: Backend, when: datetime) -> None:
    be.ctx.clock.set(when)
    be.run_due_timers()


def surveyed(be: Backend, sender: str, day: int = 19, lang: str = "zh") -> tuple[int, int, int, int]:
    """A job finished at 12:00 whose survey went out at 14:00: (client, booking, housekeeper, survey)."""
    cid, bid, hk = done_job(be, sender, at(day, 10), at(day, 12), lang)
    tick_to(be, at(day, 14))
    return cid, bid, hk, survey_row(be, bid).id


def test_finish_schedules_the_survey_and_its_timer(be: Backend) -> None:
    cid, bid, hk = done_job(be, "s-a", at(19, 10), at(19, 12))
    sv = survey_row(be, bid)
    assert (sv.status, sv.occurrence, sv.source, sv.client_id, sv.housekeeper_id) == ("scheduled", 1, "survey", cid, hk)
    assert sv.send_at == at(19, 14)
    with be.db.read() as s:
        b = s.get(Booking, bid)
        assert b.status == "completed" and b.finished_at == at(19, 12) and b.finished_by == "housekeeper"
        t = s.scalar(select(Timer).where(Timer.key == f"survey:{sv.id}:send"))
        assert t.kind == "survey_send" and t.due_at == at(19, 14) and t.status == "pending"
        # her own 已完成 stopped the automatic finish
        assert s.scalar(select(Timer.status).where(Timer.key == f"job:{bid}:auto_finish")) == "cancelled"


def test_nothing_before_the_delay_then_the_survey_on_the_clients_channel(be: Backend) -> None:
    cid, bid, _hk = done_job(be, "s-b", at(19, 10), at(19, 12))
    tick_to(be, at(19, 13, 59))
    assert sent(be, cid) == [] and survey_row(be, bid).status == "scheduled"
    tick_to(be, at(19, 14))
    [msg] = sent(be, cid)
    sv = survey_row(be, bid)
    p = msg["params"]
    assert (p["survey_id"], p["booking_id"], p["service"], p["step"]) == (sv.id, bid, "cleaning", "attitude")
    assert datetime.fromisoformat(p["starts_at"]) == at(19, 10)
    assert msg["params"]["housekeeper"].endswith("阿姨")  # her first name only, never the full one
    assert (sv.status, sv.step, sv.sent_at, sv.closes_at) == ("sent", "attitude", at(19, 14), at(22, 14))
    be.run_due_timers()
    assert len(sent(be, cid)) == 1  # the timer ran once


def test_a_job_finished_at_2030_is_surveyed_at_nine_the_next_morning(be: Backend) -> None:
    cid, bid, hk = booked(be, "s-c", at(19, 17), hours=3)
    be.ctx.clock.set(at(19, 17))
    be.arrive(hk, bid)
    be.ctx.clock.set(at(19, 20, 30))
    be.finish(hk, bid)
    assert survey_row(be, bid).send_at == at(20, 9)
    tick_to(be, at(19, 22, 30))  # finished + 2 h falls in the quiet hours
    assert sent(be, cid) == []
    tick_to(be, at(20, 8, 59))
    assert sent(be, cid) == []
    tick_to(be, at(20, 9))
    assert len(sent(be, cid)) == 1 and survey_row(be, bid).sent_at == at(20, 9)


def test_one_reminder_at_24h_then_expired_at_72h(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-d")
    tick_to(be, at(20, 13, 59))
    assert sent(be, cid, "survey_reminder") == []
    tick_to(be, at(20, 14))
    [rem] = sent(be, cid, "survey_reminder")
    assert rem["params"]["survey_id"] == sid and rem["params"]["step"] == "attitude"
    sv = survey_row(be, bid)
    assert sv.status == "reminded" and sv.reminded_at == at(20, 14)
    assert be.open_survey(cid)["id"] == sid  # still awaiting an answer
    tick_to(be, at(22, 13, 59))
    assert len(sent(be, cid, "survey_reminder")) == 1 and survey_row(be, bid).status == "reminded"
    tick_to(be, at(22, 14))
    assert survey_row(be, bid).status == "expired" and be.open_survey(cid) is None
    tick_to(be, at(25, 14))
    assert len(sent(be, cid, "survey_reminder")) == 1  # once, ever


def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(be: Backend) -> None:
    _cid, bid, _hk = done_job(be, "s-e", at(19, 17), at(19, 19))  # survey at 21:00 → quiet → 09:00
    tick_to(be, at(20, 9))
    assert survey_row(be, bid).sent_at == at(20, 9)
    be.ctx.surveys = type(be.ctx.surveys)(**{**be.ctx.surveys.__dict__, "remind_after": timedelta(hours=13)})
    # armed at send time with the old policy (24 h → 09:00); a changed policy does not move it
    tick_to(be, at(21, 9))
    assert survey_row(be, bid).reminded_at == at(21, 9)


def test_reminder_and_close_re_check_quiet_hours_when_they_fire(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-f")
    with be.db.uow() as s:  # a worker that was down until 22:00 finds the reminder overdue
        s.scalar(select(Timer).where(Timer.key == f"survey:{sid}:remind")).due_at = at(20, 13)
    tick_to(be, at(20, 22))
    assert sent(be, cid, "survey_reminder") == [] and survey_row(be, bid).status == "sent"
    tick_to(be, at(21, 9))
    assert len(sent(be, cid, "survey_reminder")) == 1


def test_answers_one_at_a_time_then_the_comment_and_twice_is_one_row(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-g")
    v = be.answer_survey(cid, sid, {"attitude": 5})
    assert (v["status"], v["step"], v["attitude"]) == ("sent", "skill", 5)
    v = be.answer_survey(cid, sid, {"skill": 5})
    assert v["step"] == "result"
    v = be.answer_survey(cid, sid, {"result": 5})
    assert (v["status"], v["step"]) == ("answered", "comment")
    assert v["offers"] == ["preferred"] and v["followup_case_id"] is None
    v = be.answer_survey(cid, sid, comment="  很细心  ")
    assert v["step"] is None and v["comment"] == "很细心"
    answered_at = survey_row(be, bid).answered_at
    be.ctx.clock.advance(hours=1)
    v = be.answer_survey(cid, sid, {"skill": 4})  # changed her mind: the same row, updated
    assert v["skill"] == 4 and v["status"] == "answered" and v["step"] is None
    with be.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Survey).where(Survey.booking_id == bid)) == 1
    sv = survey_row(be, bid)
    assert sv.answered_at == answered_at and sv.comment == "很细心"
    assert be.open_survey(cid) is None
    tick_to(be, at(25, 14))  # answered: no reminder, never expired
    assert sent(be, cid, "survey_reminder") == [] and survey_row(be, bid).status == "answered"


def test_the_comment_is_encrypted_at_rest(be: Backend) -> None:
    cid, _bid, _hk, sid = surveyed(be, "s-h")
    be.answer_survey(cid, sid, {"attitude": 5, "skill": 5, "result": 5}, comment="门口密码1234")
    with be.db.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT comment FROM surveys WHERE id = {sid}").scalar()
    assert "1234" not in str(raw)


def test_scores_outside_one_to_five_and_other_clients_are_refused(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-i")
    for bad in ({"attitude": 6}, {"attitude": 0}, {"skill": "5"}, {"effort": 5}, {"result": True}):
        with pytest.raises(DomainError, match="invalid_score"):
            be.answer_survey(cid, sid, bad)
    other = be.client_for("rest", "s-i-other", "zh")
    with pytest.raises(DomainError, match="survey_not_found"):
        be.answer_survey(other.id, sid, {"attitude": 5})
    assert survey_row(be, bid).attitude is None


def test_skip_comment_finishes_and_late_answers_to_an_expired_survey_count(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-j")
    tick_to(be, at(22, 14))
    assert survey_row(be, bid).status == "expired"
    v = be.answer_survey(cid, sid, {"attitude": 5, "skill": 4, "result": 5}, skip_comment=True)
    assert v["status"] == "answered" and v["step"] is None


def test_a_low_score_opens_exactly_one_followup_case_due_in_24h(be: Backend) -> None:
    cid, bid, hk, sid = surveyed(be, "s-k")
    v = be.answer_survey(cid, sid, {"attitude": 5, "skill": 3})
    assert v["followup_case_id"] is None  # not before all three are in
    v = be.answer_survey(cid, sid, {"result": 4})
    case_id = v["followup_case_id"]
    assert case_id is not None and v["offers"] == []
    be.answer_survey(cid, sid, comment="地板没擦干净")
    be.answer_survey(cid, sid, {"skill": 2})  # answering again never opens a second case
    with be.db.read() as s:
        rows = list(s.scalars(select(Escalation).where(Escalation.kind == "followup")))
        assert [e.id for e in rows] == [case_id]
        esc = rows[0]
        assert esc.client_id == cid and esc.booking_id == bid and esc.status == "open"
        assert esc.detail["scores"] == {"attitude": 5, "skill": 3, "result": 4}
        assert esc.detail["housekeeper_id"] == hk and esc.detail["survey_id"] == sid
        assert esc.first_response_due_at == at(20, 14)  # 24 h on the case clock
    events = be.case(case_id)["events"]
    assert any(e.get("text") == "地板没擦干净" for e in events)  # the comment joined the case
    assert be.answer_survey(cid, sid)["offers"] == ["never_again"]  # skill 2 now


def test_a_low_mean_alone_opens_a_followup_and_good_scores_do_not(be: Backend) -> None:
    pol = be.ctx.surveys
    assert pol.needs_followup({"attitude": 4, "skill": 4, "result": 4}) is False
    cid, _bid, _hk, sid = surveyed(be, "s-l")
    assert be.answer_survey(cid, sid, {"attitude": 4, "skill": 4, "result": 5})["followup_case_id"] is None
    cid2, _bid2, _hk2, sid2 = surveyed(be, "s-l2", day=20)
    assert be.answer_survey(cid2, sid2, {"attitude": 3, "skill": 4, "result": 4})["followup_case_id"] is not None


def test_a_survey_closing_with_a_low_partial_answer_is_followed_up(be: Backend) -> None:
    cid, bid, _hk, sid = surveyed(be, "s-m")
    be.answer_survey(cid, sid, {"attitude": 1})
    tick_to(be, at(22, 14))
    sv = survey_row(be, bid)
    assert sv.status == "expired" and sv.followup_case_id is not None


def test_never_again_writes_the_list_and_the_next_booking_skips_her(be: Backend) -> None:
    cid, _bid, hk, sid = surveyed(be, "s-n")
    v = be.answer_survey(cid, sid, {"attitude": 1, "skill": 2, "result": 2})
    assert v["offers"] == ["never_again"]
    lists = be.never_again(cid, hk)
    assert [h["id"] for h in lists["never_again"]] == [hk] and lists["preferred"] == []
    assert be.answer_survey(cid, sid)["offers"] == []  # done already: not offered again
    with be.db.read() as s:
        assert s.get(Client, cid).never_again == [hk]
    be.ctx.clock.set(at(20, 9))
    b = be.book(cid, Request("cleaning", at(21, 10), hours=2, address="朝阳区建国路88号", district="朝阳"))
    cands = be.candidates(b["id"])
    assert hk not in [c["housekeeper_id"] for c in cands if c["state"] != "excluded"]
    assert {"excluded": "never_again"} in [c["reasons"] for c in cands if c["housekeeper_id"] == hk]
    with pytest.raises(DomainError, match="not_your_housekeeper"):
        be.never_again(cid, hk + 1 if hk + 1 != hk else hk + 2)


def test_all_fives_offers_preferred_which_moves_her_off_never_again(be: Backend) -> None:
    cid, _bid, hk, sid = surveyed(be, "s-o")
    v = be.answer_survey(cid, sid, {"attitude": 5, "skill": 5, "result": 5})
    assert v["offers"] == ["preferred"] and v["followup_case_id"] is None
    be.never_again(cid, hk)
    lists = be.prefer(cid, hk)
    assert [h["id"] for h in lists["preferred"]] == [hk] and lists["never_again"] == []
    with be.db.read() as s:
        c = s.get(Client, cid)
        assert c.preferred == [hk] and c.never_again == []
    assert be.prefer(cid, hk)["preferred"] == lists["preferred"]  # twice is once


def test_feedback_typed_unasked_attaches_to_the_visits_survey(be: Backend) -> None:
    cid, bid, _hk = done_job(be, "s-p", at(19, 10), at(19, 12))
    be.ctx.clock.set(at(19, 12, 30))  # before the survey went out
    v = be.client_feedback(cid, bid, {"attitude": 5, "skill": 5, "result": 5})
    assert v["status"] == "answered" and v["step"] == "comment"
    tick_to(be, at(19, 14))
    assert sent(be, cid) == []  # answered already: no survey is sent
    sv = survey_row(be, bid)
    assert sv.source == "survey" and sv.answered_at == at(19, 12, 30)
    choices = be.feedback_bookings(cid)
    assert [c["booking_id"] for c in choices] == [bid] and choices[0]["survey_status"] == "answered"
    name = choices[0]["housekeeper_name"]
    assert [c["booking_id"] for c in be.housekeeper_by_name(cid, name)] == [bid]
    assert be.housekeeper_by_name(cid, name[0]) != []  # "赵" finds 赵阿姨
    assert be.housekeeper_by_name(cid, "不存在阿姨") == []


def test_feedback_on_a_visit_without_a_survey_makes_one_and_refuses_others(be: Backend) -> None:
    cid, bid, _hk = done_job(be, "s-q", at(19, 10), at(19, 12))
    with be.db.uow() as s:  # a visit finished before surveys existed
        for t in s.scalars(select(Timer).where(Timer.kind == "survey_send")):
            t.status = "cancelled"
        s.query(Survey).delete()
    v = be.client_feedback(cid, bid, {"skill": 4})
    assert v["step"] == "attitude" and v["status"] == "sent"
    sv = survey_row(be, bid)
    assert sv.source == "client" and sv.occurrence == 1
    other, obid, _ = booked(be, "s-q2", at(20, 10))
    with pytest.raises(DomainError, match="booking_not_found"):
        be.client_feedback(cid, obid, {"skill": 4})
    with pytest.raises(DomainError, match="not_finished"):
        be.client_feedback(other, obid, {"skill": 4})


def test_auto_finish_after_end_plus_grace_surveys_and_tells_the_managers(be: Backend) -> None:
    cid, bid, hk = booked(be, "s-r", at(19, 10))  # 10:00–12:00
    be.ctx.clock.set(at(19, 10))
    be.arrive(hk, bid)
    tick_to(be, at(19, 12, 59))
    assert be.booking(bid)["status"] == "in_progress"
    tick_to(be, at(19, 13))
    with be.db.read() as s:
        b = s.get(Booking, bid)
        assert b.status == "completed" and b.finished_by == "auto" and b.finished_at == at(19, 13)
        mgr_notes = [(n.person_kind, n.params["booking_id"]) for n in
                     s.scalars(select(Notification).where(Notification.template == "job_auto_finished"))]
    assert mgr_notes and all(n == ("manager", bid) for n in mgr_notes)
    assert survey_row(be, bid).send_at == at(19, 15)
    tick_to(be, at(19, 15))
    assert len(sent(be, cid)) == 1


def test_no_check_in_no_finish_no_survey_and_cancelled_gets_none(be: Backend) -> None:
    cid, bid, _hk = booked(be, "s-s", at(19, 10))
    cid2, bid2, _hk2 = booked(be, "s-s2", at(19, 14))
    be.cancel(cid2, bid2)
    tick_to(be, at(21, 12))
    assert be.booking(bid)["status"] == "confirmed" and be.booking(bid2)["status"] == "cancelled"
    with be.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Survey)) == 0
    with pytest.raises(DomainError, match="not_finished"):
        be.client_feedback(cid, bid, {"attitude": 5})


def test_a_late_arrival_keeps_the_booked_length_before_auto_finish(be: Backend) -> None:
    _cid, bid, hk = booked(be, "s-t", at(19, 10))
    be.ctx.clock.set(at(19, 11))  # an hour late: works until 13:00
    be.arrive(hk, bid)
    tick_to(be, at(19, 13, 30))
    assert be.booking(bid)["status"] == "in_progress"
    tick_to(be, at(19, 14))
    assert be.booking(bid)["status"] == "completed"
