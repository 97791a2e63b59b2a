"""Long-term placements (issue 12) at the service level, on SQLite and PostgreSQL with the fake clock:
request → asks (willing, unwilling, expired) → holds → interviews and their reminders → the choice → the
term booking blocking visits → trial → check-ins on the cadence → the end reminder → extension → end;
replacement after the trial; the baby come early; nobody willing; idempotent requests; money."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.api import Backend, DomainError, Request
from backend.catalogue import load_catalogue
from backend.domain.availability import overlaps
from backend.domain.placements import PlacementPolicy, age_band, checkin_dates, term_bounds, visit_days
from backend.orm import (
    Booking,
    Escalation,
    Housekeeper,
    Interview,
    MatchCandidate,
    Notification,
    Placement,
    PlacementCandidate,
    Survey,
)
from backend.services import roster, surveys

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "朝阳区建国路88号3号楼501"
DEC_1 = date(2026, 12, 1)


# --- pure rules and the catalogue -------------------------------------------------------------------
def test_catalogue_placement_terms_and_validation(tmp_path: Path) -> None:
    cat = load_catalogue(Path("config/services.yaml"))
    m = cat["maternity_nurse"]
    assert (m.default_term_days, m.live_in, m.trial_days, m.deposit, m.settlement) == (26, "yes", 2, 3000, "monthly")
    assert m.term_price(26) == 12800 and cat["nanny"].deposit == 8000 and cat["nanny"].term_price(90) == 24000
    assert cat["elderly_care"].settlement == "weekly" and cat["elderly_care"].term_price(30) == 9000
    assert cat["cleaning"].settlement == "per_visit" and cat["cleaning"].is_visit
    bad = tmp_path / "services.yaml"
    bad.write_text("nanny: {name: {zh: x, en: x}, unit: month, price: 8000, live_in: sometimes}\n")
    with pytest.raises(ValueError):
        load_catalogue(bad)
    bad.write_text("nanny: {name: {zh: x, en: x}, unit: month, price: 8000, min_term_days: 40, "
                   "default_term_days: 30}\n")
    with pytest.raises(ValueError):
        load_catalogue(bad)


ZONES = st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Hong_Kong"), ZoneInfo("Europe/London")])
# Near midnight, where the dates and the datetimes could disagree: quarter hours and the odd microsecond.
MOMENTS = st.builds(lambda d, q, us: datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")) + timedelta(days=d, minutes=15 * q,
                                                                                             microseconds=us),
                    st.integers(0, 300), st.integers(0, 95), st.sampled_from([0, 0, 0, 1, 999_999]))


@settings(max_examples=500, deadline=None)
# the edges, always tried: with its buffer, a visit ends at the midnight a term starts / starts at the one it ends
@example(datetime(2026, 3, 1, 21, 30, tzinfo=ZoneInfo("Asia/Shanghai")), 8, 30, 1, 0, ZoneInfo("Asia/Shanghai"))
@example(datetime(2026, 3, 2, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")), 4, 30, -1, 0, ZoneInfo("Asia/Shanghai"))
@given(MOMENTS, st.integers(1, 12 * 4), st.sampled_from([0, 30, 60]), st.integers(-2, 2), st.integers(0, 2), ZONES)
def test_a_hold_on_the_dates_is_the_hold_on_the_times(start: datetime, quarters: int, buffer_min: int, first: int,
                                                      days: int, tz: ZoneInfo) -> None:
    """The visit statement checks placement holds on dates (roster._visit_statement); the schedule rules
    on times (overlaps with term_bounds). They must agree for every visit, term and buffer — above all a
    visit (buffer included) ending at the midnight a term starts, or starting at the one it ends."""
    end, buffer = start + timedelta(minutes=15 * quarters), timedelta(minutes=buffer_min)
    day = start.astimezone(tz).date() + timedelta(days=first)  # terms around the visit's own days
    term = (day, day + timedelta(days=days))
    lo, hi = visit_days(start, end, buffer, tz)
    assert (term[0] <= hi and term[1] >= lo) == overlaps((start, end), term_bounds(*term, tz), buffer)


def test_checkin_cadence_age_band_and_policy() -> None:
    p = PlacementPolicy()
    assert checkin_dates(DEC_1, date(2027, 3, 1), p) == [
        date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29), date(2027, 1, 5),
        date(2027, 2, 4)]
    assert checkin_dates(DEC_1, date(2026, 12, 6), p) == []
    assert age_band(1980, date(2026, 11, 18)) == "40-49" and age_band(None, DEC_1) is None
    with pytest.raises(ValueError):
        PlacementPolicy.from_dict({"shortlist_size": 0})
    with pytest.raises(TypeError):
        PlacementPolicy.from_dict({"no_such_key": 1})


# --- helpers ----------------------------------------------------------------------------------------
def _client(be: Backend, who: str = "sue", lang: str = "zh") -> int:
    return be.client_for("rest", who, lang).id


def _notes(be: Backend, template: str, person_kind: str | None = None) -> list[Notification]:
    with be.db.read() as s:
        q = select(Notification).where(Notification.template == template)
        if person_kind:
            q = q.where(Notification.person_kind == person_kind)
        rows = list(s.scalars(q.order_by(Notification.id)))
        s.expunge_all()
        return rows


def _both(be: Backend, template: str) -> set[str]:
    """Who got the news: the client's template and the housekeeper's (``template``_housekeeper)."""
    return {n.person_kind for n in _notes(be, template) + _notes(be, f"{template}_housekeeper")}


def _cands(be: Backend, placement_id: int) -> dict[int, str]:
    return {c["housekeeper_id"]: c["state"] for c in be.placement_candidates(placement_id)}


def _asked(be: Backend, placement_id: int) -> list[dict]:
    return [c for c in be.placement_candidates(placement_id) if c["state"] == "asked"]


def _booking(be: Backend, booking_id: int) -> Booking:
    with be.db.read() as s:
        b = s.get(Booking, booking_id)
        s.expunge_all()
        return b


def _run_until(be: Backend, when: datetime, step: timedelta = timedelta(hours=6)) -> None:
    """Move the fake clock to ``when`` in steps, running due timers at each (as the worker would)."""
    while be.now < when:
        be.ctx.clock.set(min(be.now + step, when))
        be.run_due_timers(500)


def _skilled(be: Backend, service: str) -> list[int]:
    with be.db.read() as s:
        return [h.id for h in s.scalars(select(Housekeeper).order_by(Housekeeper.id)) if service in h.skills]


def _request(be: Backend, cid: int, service: str = "housekeeper", start: date = DEC_1, **kw: object) -> dict:
    return be.request_placement(cid, service, start, address=ADDRESS, **kw)


# --- the whole lifecycle ----------------------------------------------------------------------------
def test_placement_lifecycle_from_request_to_the_end(be: Backend) -> None:
    cid = _client(be)
    team = _skilled(be, "housekeeper")  # four in the demo roster
    assert len(team) == 4
    q = be.placement_quote("housekeeper", DEC_1, 60)
    assert (q["price_estimate"], q["deposit"], q["settlement"], q["trial_days"], q["end_date"]) == (
        13000, 6500, "monthly", 3, "2027-01-29")
    pl = _request(be, cid, term_days=60, live_in=False, request_key="pl-1")
    assert pl["status"] == "shortlisting" and pl["asked"] == 3 and pl["end_date"] == "2027-01-29"
    assert _request(be, cid, term_days=60, request_key="pl-1")["id"] == pl["id"]  # the same request once
    asks = _notes(be, "placement_ask")
    assert len(asks) == 3 and all(n.params["minutes"] == be.ctx.offer_timeout_minutes for n in asks)
    a, b, c = (n.params["candidate_id"] for n in asks)
    hk = {n.params["candidate_id"]: n.person_id for n in asks}
    fourth = next(i for i in team if i not in hk.values())
    # A: unwilling → the fourth is asked; B: willing → held, the client gets the shortlist with her card
    be.ctx.clock.advance(minutes=5)
    assert be.answer_placement_ask(hk[a], a, False)["state"] == "declined"
    assert fourth in [x["housekeeper_id"] for x in _asked(be, pl["id"])]
    with pytest.raises(DomainError) as e:
        be.answer_placement_ask(hk[a], b, True)
    assert e.value.code == "not_your_ask"
    held = be.answer_placement_ask(hk[b], b, True)
    assert held["state"] == "willing" and held["hold_expires_at"].startswith("2026-11-21")
    with pytest.raises(DomainError) as e:
        be.answer_placement_ask(hk[b], b, True)
    assert e.value.code == "ask_answered"
    ready, cards = _notes(be, "placement_shortlist_ready"), _notes(be, "placement_candidate")
    assert len(ready) == 1 and len(cards) == 1 and cards[0].person_id == cid
    card = cards[0].params
    assert card["housekeeper_id"] == hk[b] and "phone" not in card and "address" not in card
    assert card["first_name"].endswith("阿姨") and card["certificates"] == "健康证、家政服务证"
    # C does not answer: the ask expires (the offer clock); nobody is left to ask, D is still asked
    be.ctx.clock.advance(minutes=be.ctx.offer_timeout_minutes - 4)
    be.run_due_timers()
    assert _notes(be, "placement_ask_expired")[0].person_id == hk[c]
    with pytest.raises(DomainError) as e:
        be.answer_placement_ask(hk[c], c, True)
    assert e.value.code == "ask_expired"
    d = next(x["candidate_id"] for x in _asked(be, pl["id"]))
    be.answer_placement_ask(fourth, d, True)
    shortlist = be.shortlist(cid, pl["id"])
    assert {x["housekeeper_id"] for x in shortlist} == {hk[b], fourth}
    assert all(set(x) >= {"age_band", "experience_years", "badges", "rating", "survey_count", "languages"}
               for x in shortlist)
    # A hold blocks an overlapping placement, not a short visit before the start
    other = _request(be, _client(be, "kim"), start=date(2026, 12, 20), term_days=30, request_key="pl-2")
    assert _cands(be, other["id"])[hk[b]] == "excluded"
    assert next(x for x in be.placement_candidates(other["id"]) if x["housekeeper_id"] == hk[b])["reasons"] == {
        "excluded": "held"}
    with be.db.read() as s:
        her = s.get(Housekeeper, hk[b])
        inside = datetime(2026, 12, 10, 10, tzinfo=TZ)
        before = datetime(2026, 11, 25, 10, tzinfo=TZ)
        assert roster.why_not(be.ctx, s, her, "cleaning", inside, inside + timedelta(hours=3)) == "busy"
        assert roster.why_not(be.ctx, s, her, "cleaning", before, before + timedelta(hours=3)) != "busy"
    be.cancel_placement(_client(be, "kim"), other["id"])
    # Interviews: both sides told, a clash refused, reminders two hours before
    at = datetime(2026, 11, 20, 15, tzinfo=TZ)
    iv = be.schedule_interview(cid, pl["id"], hk[b], at, "video")
    assert iv["status"] == "scheduled" and be.placement(pl["id"])["status"] == "interviewing"
    assert not _notes(be, "placement_interview_scheduled")  # the client booked it in chat: the reply says so
    assert [n.person_kind for n in _notes(be, "placement_interview")] == ["housekeeper"]
    assert [n.person_id for n in _notes(be, "placement_interview")] == [hk[b]]
    with pytest.raises(DomainError) as e:
        be.schedule_interview(cid, pl["id"], hk[a], at, "video")
    assert e.value.code == "not_on_shortlist"
    with be.db.uow() as s:  # she has another interview at that time (another client's placement)
        s.add(Interview(placement_id=other["id"], housekeeper_id=fourth, at=at + timedelta(minutes=30)))
    with pytest.raises(DomainError) as e:
        be.schedule_interview(cid, pl["id"], fourth, at, "in_person")
    assert e.value.code == "interview_clash"
    with pytest.raises(DomainError) as e:
        be.schedule_interview(cid, pl["id"], hk[b], be.now - timedelta(hours=1))
    assert e.value.code == "time_past"
    _run_until(be, at - timedelta(hours=2, minutes=1))
    assert _notes(be, "placement_interview_reminder") == []
    _run_until(be, at - timedelta(hours=1, minutes=59), timedelta(minutes=1))
    assert _both(be, "placement_interview_reminder") == {"client", "housekeeper"}
    # Holds expire: the fourth (no interview) is let go on day 3, B is held until a day after hers
    _run_until(be, datetime(2026, 11, 21, 12, tzinfo=TZ))
    states = _cands(be, pl["id"])
    assert states[fourth] == "expired" and states[hk[b]] == "willing"
    shrank = _notes(be, "placement_shortlist_shrank")
    assert len(shrank) == 1 and shrank[0].params["left"] == 1
    # The choice: her term booking, confirmed for the whole term; the trial from the start
    chosen = be.choose_candidate(cid, pl["id"], hk[b])
    assert chosen["status"] == "trial" and chosen["trial_ends_on"] == "2026-12-03" and chosen["housekeeper_id"] == hk[b]
    term = _booking(be, chosen["booking_id"])
    assert term.status == "confirmed" and term.housekeeper_id == hk[b] and term.service == "housekeeper"
    assert term.starts_at == datetime(2026, 12, 1, tzinfo=TZ) and term.ends_at == datetime(2027, 1, 30, tzinfo=TZ)
    assert term.price_estimate == 13000 and term.district == "朝阳区" and term.address == ADDRESS
    assert _both(be, "placement_confirmed") == {"client", "housekeeper"}
    told = next(n for n in _notes(be, "placement_confirmed") if n.person_kind == "client")
    assert told.params["badges"] == be.vetting_file(_code(be, hk[b]))["badges"]  # what her record backs
    with be.db.read() as s:
        from backend.orm import Timer
        kinds = set(s.scalars(select(Timer.kind).where(Timer.ref_id == chosen["booking_id"])))
        assert not kinds & {"job_remind", "job_no_checkin", "job_auto_finish"}  # no day-of-job alarm
    # Her term blocks a visit offer inside it (she does cleaning too)
    visit = be.book(_client(be, "amy"), Request("cleaning", datetime(2026, 12, 10, 10, tzinfo=TZ), hours=3,
                                               address=ADDRESS, district="朝阳"))
    with be.db.read() as s:
        offered = [m.housekeeper_id for m in s.scalars(select(MatchCandidate).where(
            MatchCandidate.booking_id == visit["id"], MatchCandidate.state != "excluded"))]
    assert offered and hk[b] not in offered
    # The start: in progress; the trial ends: the contract continues, both told
    _run_until(be, datetime(2026, 12, 1, 0, 1, tzinfo=TZ))
    assert be.booking(chosen["booking_id"])["status"] == "in_progress"
    assert _both(be, "placement_started") == {"client", "housekeeper"}
    _run_until(be, datetime(2026, 12, 4, 9, 5, tzinfo=TZ))
    assert be.placement(pl["id"])["status"] == "active"
    assert _both(be, "placement_trial_passed") == {"client", "housekeeper"}
    with pytest.raises(DomainError) as e:
        be.end_trial("client", cid, pl["id"])
    assert e.value.code == "not_in_trial"
    # Check-ins: a survey occurrence a week after the start, then weekly, sent to the client
    _run_until(be, datetime(2026, 12, 8, 9, 5, tzinfo=TZ))
    _run_until(be, datetime(2026, 12, 15, 9, 5, tzinfo=TZ))

    def occurrences() -> list[tuple[int, str]]:
        with be.db.read() as s:
            return [(sv.occurrence, sv.status) for sv in s.scalars(select(Survey).where(
                Survey.booking_id == chosen["booking_id"]).order_by(Survey.occurrence))]

    assert [o for o, _ in occurrences()] == [2, 3] and occurrences()[-1][1] == "sent"
    sent = _notes(be, "survey")
    assert len(sent) == 2 and sent[0].person_id == cid and sent[0].params["booking_id"] == chosen["booking_id"]
    be.answer_survey(cid, sent[-1].params["survey_id"], {"attitude": 5, "skill": 5, "result": 5})
    # The end reminder seven days before the last day (Jan 29): client, housekeeper, managers
    _run_until(be, datetime(2027, 1, 22, 9, 5, tzinfo=TZ), timedelta(days=1))
    assert [o for o, _ in occurrences()] == [2, 3, 4, 5, 6]  # Dec 22, Dec 29, Jan 5: weekly, then monthly
    reminders = _notes(be, "placement_end_reminder")
    assert _both(be, "placement_end_reminder") == {"client", "housekeeper"} and reminders[0].params["days_left"] == 7
    assert {n.person_kind for n in _notes(be, "placement_manager_end_soon")} == {"manager"}
    # Extension: 14 more days; the booking's end moves and the old end does nothing
    ext = be.extend_placement(cid, pl["id"], 14)
    assert ext["end_date"] == "2027-02-12" and ext["term_days"] == 74
    assert _booking(be, chosen["booking_id"]).ends_at == datetime(2027, 2, 13, tzinfo=TZ)
    _run_until(be, datetime(2027, 1, 30, 9, tzinfo=TZ), timedelta(days=1))
    assert be.booking(chosen["booking_id"])["status"] == "in_progress"
    _run_until(be, datetime(2027, 2, 13, 0, 5, tzinfo=TZ), timedelta(days=1))
    done = be.placement(pl["id"])
    assert done["status"] == "ended" and done["end_reason"] == "completed"
    assert be.booking(chosen["booking_id"])["status"] == "completed"
    assert [o for o, _ in occurrences()] == [1, 2, 3, 4, 5, 6, 7]  # Feb 4's check-in, then the final survey
    with be.db.read() as s:  # the term's own survey is the booking's latest (feedback typed later goes there)
        assert surveys.survey_of(s, chosen["booking_id"]).occurrence == 1
    assert _both(be, "placement_ended") == {"client", "housekeeper"}


def test_extension_refused_when_she_is_not_free(be: Backend) -> None:
    cid = _client(be)
    pl, hk = _placed(be, cid, "nanny", term_days=30)
    with be.db.uow() as s:  # she has a job the day after the term
        s.add(Booking(client_id=cid, service="nanny", starts_at=datetime(2026, 12, 31, 8, tzinfo=TZ),
                      ends_at=datetime(2026, 12, 31, 16, tzinfo=TZ), status="confirmed", housekeeper_id=hk))
    with pytest.raises(DomainError) as e:
        be.extend_placement(cid, pl["id"], 10)
    assert e.value.code == "not_free"


def _placed(be: Backend, cid: int, service: str, start: date = DEC_1, **kw: object) -> tuple[dict, int]:
    """A placement whose first willing candidate is chosen: (placement view, her id)."""
    pl = _request(be, cid, service, start, **kw)
    ask = _notes(be, "placement_ask")[-pl["asked"]]
    be.answer_placement_ask(ask.person_id, ask.params["candidate_id"], True)
    return be.choose_candidate(cid, pl["id"], ask.person_id), ask.person_id


# --- replacement ------------------------------------------------------------------------------------
def test_trial_ended_by_the_client_starts_a_replacement_without_the_previous_candidates(be: Backend) -> None:
    cid = _client(be)
    pl = _request(be, cid, term_days=60, live_in=True)
    asks = _notes(be, "placement_ask")
    first = {n.person_id for n in asks}
    for n in asks:
        be.answer_placement_ask(n.person_id, n.params["candidate_id"], True)
    chosen_hk = asks[0].person_id
    chosen = be.choose_candidate(cid, pl["id"], chosen_hk)
    released = _notes(be, "placement_released")
    assert {n.person_id for n in released} == first - {chosen_hk}
    assert {s for i, s in _cands(be, pl["id"]).items() if i in first - {chosen_hk}} == {"released"}
    _run_until(be, datetime(2026, 12, 2, 10, tzinfo=TZ))  # day two of the trial
    out = be.end_trial("client", cid, pl["id"], replace=True, reason="不太合适")
    assert out["status"] == "ended" and out["end_reason"] == "trial_ended"
    term = _booking(be, chosen["booking_id"])
    assert term.status == "completed" and term.ends_at == datetime(2026, 12, 3, tzinfo=TZ)
    new = out["replacement"]
    assert new["replaces_id"] == pl["id"] and new["start_date"] == "2026-12-03" and new["end_date"] == "2027-01-29"
    states = _cands(be, new["id"])
    assert all(states.get(i) in (None, "excluded") for i in first)  # nobody asked before is asked again
    assert [i for i, s in states.items() if s == "asked"] == [i for i in _skilled(be, "housekeeper") if i not in first]
    assert _both(be, "placement_trial_ended") == {"client", "housekeeper"}
    assert _notes(be, "placement_replacement_started")[0].params["placement_id"] == new["id"]
    assert _notes(be, "placement_manager_trial_ended")[0].params["by"] == "client"
    # during the contract a replacement works the same way (the housekeeper's side ends a trial too)
    with pytest.raises(DomainError):
        be.end_trial("housekeeper", chosen_hk, new["id"])


def test_a_replacement_during_the_contract_and_the_housekeeper_ending_the_trial(be: Backend) -> None:
    cid = _client(be)
    pl, hk = _placed(be, cid, "nanny", term_days=60)
    _run_until(be, datetime(2026, 12, 5, 10, tzinfo=TZ), timedelta(days=1))
    assert be.placement(pl["id"])["status"] == "active"
    out = be.request_replacement(cid, pl["id"], "换一位")
    assert out["end_reason"] == "replaced" and out["replacement"]["status"] in ("shortlisting", "interviewing")
    assert hk not in [c["housekeeper_id"] for c in be.placement_candidates(out["replacement"]["id"])
                      if c["state"] == "asked"]
    cid2 = _client(be, "kim")
    pl2, hk2 = _placed(be, cid2, "maternity_nurse", date(2026, 12, 10))
    _run_until(be, datetime(2026, 12, 10, 12, tzinfo=TZ))
    out2 = be.end_trial("housekeeper", hk2, pl2["id"], replace=False)
    assert out2["replacement"] is None and be.booking(pl2["booking_id"])["status"] == "completed"


# --- 月嫂: the due date and the baby come early -----------------------------------------------------
def test_maternity_start_from_due_date_and_the_baby_early(be: Backend) -> None:
    cid = _client(be)
    pl = be.request_placement(cid, "maternity_nurse", None, due_date=date(2026, 12, 20), address=ADDRESS)
    assert (pl["start_date"], pl["end_date"], pl["term_days"], pl["live_in"]) == ("2026-12-20", "2027-01-14", 26, True)
    ask = _notes(be, "placement_ask")[0]
    be.answer_placement_ask(ask.person_id, ask.params["candidate_id"], True)
    chosen = be.choose_candidate(cid, pl["id"], ask.person_id)
    _run_until(be, datetime(2026, 12, 12, 6, tzinfo=TZ))
    moved = be.baby_arrived(cid, pl["id"], date(2026, 12, 12))
    assert moved["moved"] and moved["start_date"] == "2026-12-12" and moved["end_date"] == "2027-01-06"
    assert moved["trial_ends_on"] == "2026-12-13"
    b = _booking(be, chosen["booking_id"])
    assert b.starts_at == datetime(2026, 12, 12, tzinfo=TZ) and b.ends_at == datetime(2027, 1, 7, tzinfo=TZ)
    be.run_due_timers()
    assert be.booking(chosen["booking_id"])["status"] == "in_progress"  # the start is now, not on the 20th
    assert _both(be, "placement_moved") == {"client", "housekeeper"}


def test_baby_early_when_she_is_not_free_tells_managers(be: Backend) -> None:
    cid = _client(be)
    pl, hk = _placed(be, cid, "maternity_nurse", date(2026, 12, 20))
    with be.db.uow() as s:  # she has another job just before the planned start
        s.add(Booking(client_id=cid, service="maternity_nurse", starts_at=datetime(2026, 12, 15, tzinfo=TZ),
                      ends_at=datetime(2026, 12, 17, tzinfo=TZ), status="confirmed", housekeeper_id=hk))
    be.ctx.clock.set(datetime(2026, 12, 14, 8, tzinfo=TZ))
    out = be.baby_arrived(cid, pl["id"], date(2026, 12, 14))
    assert not out["moved"] and out["start_date"] == "2026-12-20"
    assert _notes(be, "placement_manager_baby_early_not_free")[0].params["on"] == "2026-12-14"
    assert _notes(be, "placement_baby_early_pending")[0].person_id == cid


# --- nobody willing; requests; money ---------------------------------------------------------------
def test_nobody_willing_alerts_managers_and_tells_the_client(be: Backend) -> None:
    cid = _client(be)
    pl = be.request_placement(cid, "maternity_nurse", date(2026, 12, 20), address=ADDRESS)
    for n in _notes(be, "placement_ask"):
        be.answer_placement_ask(n.person_id, n.params["candidate_id"], False)
    assert _notes(be, "placement_unmatched")[0].person_id == cid
    with be.db.read() as s:
        esc = s.scalar(select(Escalation).where(Escalation.kind == "placement_unmatched"))
        assert esc is not None and esc.client_id == cid and esc.detail["placement_id"] == pl["id"]
    more = be.more_candidates(cid, pl["id"])
    assert more["round"] == 2 and more["asked"] == 0  # all three were asked: nobody new


def test_more_candidates_and_a_hold_expiring_with_nobody_left(be: Backend) -> None:
    cid = _client(be)
    pl = _request(be, cid, "nanny", term_days=30)
    asks = _notes(be, "placement_ask")
    be.answer_placement_ask(asks[0].person_id, asks[0].params["candidate_id"], True)
    for n in asks[1:]:
        be.answer_placement_ask(n.person_id, n.params["candidate_id"], False)
    more = be.more_candidates(cid, pl["id"])  # nobody new to ask, and the one held stays on the shortlist
    assert more["round"] == 2 and more["asked"] == 0
    assert [c["housekeeper_id"] for c in be.shortlist(cid, pl["id"])] == [asks[0].person_id]
    assert _notes(be, "placement_unmatched") == []  # the client is not told "nobody": one is still held
    with be.db.uow() as s:  # … but the reply said a manager looks for more: a case backs it
        case = s.scalar(select(Escalation).where(Escalation.kind == "placement_unmatched"))
        assert case is not None and case.detail.get("why") == "more_none"
    _run_until(be, be.now + timedelta(days=3, minutes=5))
    assert _cands(be, pl["id"])[asks[0].person_id] == "expired"
    assert len(_notes(be, "placement_unmatched")) == 1  # the shortlist emptied and nobody is left


def test_request_validation_requirements_and_age(be: Backend) -> None:
    cid = _client(be)
    for args, code in ((("cleaning", DEC_1), "not_a_placement"), (("nanny", date(2026, 11, 18)), "start_past"),
                       (("nanny", date(2028, 1, 1)), "start_too_far")):
        with pytest.raises(DomainError) as e:
            be.placement_quote(*args)
        assert e.value.code == code
    with pytest.raises(DomainError) as e:
        be.placement_quote("nanny", DEC_1, 10)
    assert e.value.code == "term_too_short"
    with pytest.raises(DomainError) as e:
        be.placement_quote("maternity_nurse", DEC_1, live_in=False)
    assert e.value.code == "live_in_not_offered"
    with pytest.raises(DomainError) as e:
        _request(be, cid, "nanny", requirements={"age_min": 30})
    assert e.value.code == "age_requirement_not_allowed"
    pl = _request(be, cid, "nanny", requirements={"languages": ["en"]})
    cands = be.placement_candidates(pl["id"])
    with be.db.read() as s:
        english = {h.id for h in s.scalars(select(Housekeeper)) if "en" in (h.languages or [])}
    assert all(c["housekeeper_id"] in english for c in cands if c["state"] == "asked")
    assert any(c["reasons"] == {"excluded": "language:en"} for c in cands)
    be.ctx.placements = replace(be.ctx.placements, allow_age_requirement=True)
    with be.db.uow() as s:
        for h in s.scalars(select(Housekeeper)):
            h.birth_year = 1970 if h.id % 2 else 1990
    aged = _request(be, _client(be, "kim"), "housekeeper", requirements={"age_min": 30, "age_max": 45})
    assert {c["reasons"].get("excluded") for c in be.placement_candidates(aged["id"])
            if c["state"] == "excluded"} == {"requirement:age"}


def test_deposit_is_a_payment_against_the_term_booking(be: Backend) -> None:
    cid = _client(be)
    pl, _hk = _placed(be, cid, "nanny", term_days=30)
    assert pl["deposit"] == 8000 and pl["settlement"] == "monthly"
    paid = be.record_payment("manager:1", pl["booking_id"], pl["deposit"] * 100, "transfer", kind="deposit")
    assert paid["kind"] == "deposit" and be.payments(pl["booking_id"])[0]["amount_cents"] == 800000


def test_cancel_before_the_start_and_views(be: Backend) -> None:
    cid = _client(be)
    pl, hk = _placed(be, cid, "nanny", term_days=30)
    assert [p["id"] for p in be.client_placements(cid)] == [pl["id"]]
    mine = be.housekeeper_placements(hk)
    assert mine[0]["state"] == "chosen" and mine[0]["address"] == ADDRESS
    assert pl["id"] in [p["id"] for p in be.open_placements()]
    out = be.cancel_placement(cid, pl["id"])
    assert out["status"] == "cancelled" and be.booking(pl["booking_id"])["status"] == "cancelled"
    assert _notes(be, "placement_cancelled")[0].person_id == hk
    assert be.client_placements(cid) == [] and be.housekeeper_placements(hk) == []
    with be.db.read() as s:
        assert s.get(Placement, pl["id"]).end_reason == "cancelled"
        assert s.scalar(select(PlacementCandidate.state).where(PlacementCandidate.housekeeper_id == hk)) == "chosen"


def _code(be: Backend, hk_id: int) -> str:
    with be.db.uow() as s:
        return s.get(Housekeeper, hk_id).code
