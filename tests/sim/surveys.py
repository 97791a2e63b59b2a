"""A simulated month of call-back surveys on the fake clock, through the Backend facades only.

Every day three visits are booked for the next (10:00, 14:00 and an evening one that ends at 20:30, so
its survey waits for the morning); housekeepers check in and press 已完成 — every ninth forgets (the job
finishes by itself at the booked end plus the grace) and every thirteenth job nobody checks in to (never
finished, never surveyed). When a survey reaches a client, a seeded share answers it: at once, later the
same day, or after the reminder; in one go, button by button, with or without a comment; a few change
their mind the next day. The rest never answer and the survey closes. Managers call back the follow-ups
the low scores open: most inside the 24 h, every fourth late, every seventh not at all.

``SurveyDid`` is what the simulation did and saw; ``expected_surveys`` turns it into the report's figures
with the policy (when a survey goes out, is reminded, closes) — the report must say the same.
"""

from __future__ import annotations

import heapq
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.api import Backend
from backend.domain.surveys import DIMENSIONS, SurveyPolicy, running_rating, survey_mean
from backend.orm import Housekeeper, Survey
from backend.services import DomainError
from backend.services.bookings import Request
from tests.sim import START, TZ, Month, _local

REMARKS = ("阿姨很细心", "Very tidy, thank you", "厨房没擦干净", "来晚了十分钟", "")


@dataclass
class Visit:
    booking: int
    client: int
    hk: int
    finished: datetime
    by: str  # housekeeper | auto
    survey: int | None = None
    sent: datetime | None = None  # when the simulation saw the survey out
    answered: datetime | None = None
    scores: dict[str, int] = field(default_factory=dict)
    case: int | None = None  # the follow-up case the answer opened
    case_due: datetime | None = None
    called: datetime | None = None  # the manager's call-back


@dataclass
class SurveyDid:
    visits: dict[int, Visit] = field(default_factory=dict)  # booking id → the finished visit
    booked: int = 0
    no_show: int = 0  # nobody checked in: never finished, never surveyed
    reanswered: int = 0
    mismatches: list[str] = field(default_factory=list)  # what the simulation saw that it did not expect


class SurveyMonth(Month):
    """The tests/sim month's bookings and check-ins, with survey answers and follow-ups instead of cases."""

    def __init__(self, be: Backend, clock: Any, days: int = 30, seed: int = 9, answer_share: float = 0.85) -> None:
        super().__init__(be, clock, days, seed)
        self.sd = SurveyDid()
        self.answer_share = answer_share
        self.policy: SurveyPolicy = be.ctx.surveys
        self.jobs = 0
        self.n_followups = 0

    def run(self) -> SurveyDid:  # type: ignore[override]
        self.clock.set(START)
        self.managers = [self.be.staff_by_code(c).id for c in ("MGR01", "MGR02")]  # type: ignore[union-attr]
        for i in range(24):
            lang = "en" if i % 3 == 0 else "zh"
            c = self.be.client_for("rest", f"survey-client-{i}", lang)
            self.be.set_client(c.id, name=f"Client {i}" if lang == "en" else f"客户{i}", phone=f"1391234{i:04d}")
            self.clients.append(c.id)
        for d in range(self.days):
            day = START.date() + timedelta(days=d)
            self.at(_local(day, 9, 0), self.book_day, day)
        while self.queue and self.queue[0][0] < self.end:
            when, _, fn, args = heapq.heappop(self.queue)
            self._advance(when)
            fn(*args)
        self._advance(self.end)
        return self.sd

    # --- visits ----------------------------------------------------------------------------------
    def book_day(self, day: Any) -> None:
        for k, (hour, minute, length) in enumerate(((10, 0, 2), (14, 0, 3), (18, 30, 2))):
            client = self.clients[(self.sd.booked + k) % len(self.clients)]
            starts = _local(day + timedelta(days=1), hour, minute)
            try:
                b = self.be.book(client, Request("cleaning", starts, hours=length, address=f"朝阳区建国路{10 + k}号"))
            except DomainError as e:
                self.did.skipped[e.code] += 1
                continue
            hk = self._accept(b["id"])
            if hk is not None:
                self.sd.booked += 1
                self.at(starts, self.work, client, b["id"], hk, b["price"])

    def work(self, client: int, booking_id: int, hk: int, price: int) -> None:
        self.jobs += 1
        b = self.be.booking(booking_id)
        if b is None or b["status"] != "confirmed":
            self.did.skipped["not_confirmed"] += 1
            return
        if self.jobs % 13 == 0:  # nobody checked in
            self.sd.no_show += 1
            # the no-show alarm goes to the managers; one calls both sides and closes it
            alarm = datetime.fromisoformat(b["starts_at"]) + self.be.ctx.day_of_job.no_checkin_after
            self.at(alarm + timedelta(minutes=10), self.handle_no_show, client, booking_id)
            return
        self.be.arrive(hk, booking_id)
        ends = datetime.fromisoformat(b["ends_at"])
        if self.jobs % 9 == 0:  # she forgets 已完成: the job finishes by itself
            done = ends + self.policy.auto_finish_grace
            self._finished(Visit(booking_id, client, hk, done, "auto"))
        else:
            self.at(ends - timedelta(minutes=self.rng.randint(0, 20)), self.finish, client, booking_id, hk, price)

    def finish(self, client: int, booking_id: int, hk: int, price: int) -> None:
        super().finish(client, booking_id, hk, price)
        self._finished(Visit(booking_id, client, hk, self.clock.now(), "housekeeper"))

    def _finished(self, v: Visit) -> None:
        if v.finished >= self.end:
            return
        self.sd.visits[v.booking] = v
        self.at(self.policy.send_time(v.finished, TZ) + timedelta(minutes=1), self.survey_out, v)

    # --- the client's side --------------------------------------------------------------------------
    def _survey(self, booking_id: int) -> tuple[int, str, datetime | None] | None:
        with self.be.db.read() as s:
            sv = s.scalar(select(Survey).where(Survey.booking_id == booking_id))
            return None if sv is None else (sv.id, sv.status, sv.sent_at)

    def survey_out(self, v: Visit) -> None:
        sv = self._survey(v.booking)
        if sv is None or sv[1] != "sent" or sv[2] is None:
            self.sd.mismatches.append(f"booking {v.booking}: survey {sv}")
            return
        v.survey, v.sent = sv[0], sv[2]
        if self.rng.random() >= self.answer_share:
            return  # never answered: reminded once, then closed
        lag = self.rng.choice((timedelta(minutes=self.rng.randint(2, 50)), timedelta(hours=self.rng.randint(1, 10)),
                               timedelta(hours=self.rng.randint(25, 60), minutes=self.rng.randint(1, 59))))
        self.at(self.clock.now() + lag, self.answer_survey, v)

    def _scores(self) -> dict[str, int]:
        roll = self.rng.random()
        if roll < 0.55:
            return dict.fromkeys(DIMENSIONS, 5)
        if roll < 0.8:
            return {d: self.rng.choice((4, 5)) for d in DIMENSIONS}
        if roll < 0.93:
            return {d: self.rng.choice((3, 4, 5)) for d in DIMENSIONS}
        return {d: self.rng.choice((1, 2, 3)) for d in DIMENSIONS}

    def answer_survey(self, v: Visit) -> None:
        assert v.survey is not None
        scores = self._scores()
        k = self.rng.randrange(3)
        if k == 0:  # one free-form answer with a comment
            view = self.be.answer_survey(v.client, v.survey, scores, comment=self.rng.choice(REMARKS) or None)
        elif k == 1:  # the buttons, one question at a time, then no comment
            for d in DIMENSIONS:
                view = self.be.answer_survey(v.client, v.survey, {d: scores[d]})
            view = self.be.answer_survey(v.client, v.survey, skip_comment=True)
        else:  # the scores, the comment later
            self.be.answer_survey(v.client, v.survey, scores)
            view = self.be.answer_survey(v.client, v.survey, comment="谢谢")
        self._answered(v, scores, view)
        if self.rng.random() < 0.08:  # changes her mind the next day: the same row is updated
            self.at(self.clock.now() + timedelta(hours=self.rng.randint(12, 30)), self.reanswer, v)

    def reanswer(self, v: Visit) -> None:
        scores = {**v.scores, "result": self.rng.choice((2, 3, 5))}
        view = self.be.answer_survey(v.client, v.survey, {"result": scores["result"]})  # type: ignore[arg-type]
        self.sd.reanswered += 1
        self._answered(v, scores, view)

    def _answered(self, v: Visit, scores: dict[str, int], view: dict[str, Any]) -> None:
        if view["status"] != "answered" or {d: view[d] for d in DIMENSIONS} != scores:
            self.sd.mismatches.append(f"survey {v.survey}: {view['status']} {view}")
        v.answered = v.answered or self.clock.now()
        v.scores = scores
        if view["followup_case_id"] is not None and v.case is None:
            v.case = view["followup_case_id"]
            v.case_due = datetime.fromisoformat(self.be.case(v.case)["due_at"])
            self._plan_callback(v)

    # --- the managers' side -------------------------------------------------------------------------
    def _plan_callback(self, v: Visit) -> None:
        k = self.n_followups
        self.n_followups += 1
        assert v.case_due is not None
        if k % 7 == 6:
            return  # nobody calls back
        if k % 4 == 3:
            at = v.case_due + timedelta(hours=self.rng.randint(1, 6))
        else:
            at = self.clock.now() + (v.case_due - self.clock.now()) * self.rng.uniform(0.05, 0.8)
        self.at(at, self.call_back, v)

    def handle_no_show(self, client: int, booking_id: int) -> None:
        manager = self.managers[booking_id % 2]
        for case in self.be.open_cases_of(client, "no_show"):
            if case["booking_id"] == booking_id:
                self.be.log_call(manager, case["id"], "已联系客户和阿姨，改期处理")
                self.be.close_case(manager, case["id"], "resolved")

    def call_back(self, v: Visit) -> None:
        assert v.case is not None
        manager = self.managers[v.case % 2]
        if self.clock.now() > (v.case_due or self.clock.now()):
            self.be.acknowledge_alert(manager, v.case)  # the supervisor's repeats stop
        self.be.log_call(manager, v.case, "回访电话：已致歉，下次换阿姨")
        v.called = self.clock.now()


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def expected_surveys(sd: SurveyDid, policy: SurveyPolicy, end: datetime, roster: dict[int, float]) -> dict[str, Any]:
    """The report's figures from what the simulation did, as of ``end`` (``roster``: id → roster rating)."""
    vs = list(sd.visits.values())
    sent = [v for v in vs if v.sent is not None]
    answered = [v for v in sent if v.answered is not None]

    def closes(v: Visit) -> datetime:
        assert v.sent is not None
        return v.sent + policy.close_after

    def reminded(v: Visit) -> bool:
        assert v.sent is not None
        at = policy.out_of_quiet(v.sent + policy.remind_after, TZ)
        return at < closes(v) and at <= end and (v.answered is None or v.answered > at)

    closed = [v for v in sent if v.answered is not None or closes(v) <= end]
    below = [v for v in answered if policy.needs_followup(v.scores)]
    fu = {"in_time": 0, "late": 0, "missed": 0, "pending": 0, "no_case": 0}
    for v in below:
        if v.case is None or v.case_due is None:
            fu["no_case"] += 1
        elif v.called is not None:
            fu["in_time" if v.called <= v.case_due else "late"] += 1
        else:
            fu["missed" if v.case_due < end else "pending"] += 1

    def dims(group: list[Visit]) -> dict[str, float | None]:
        out: dict[str, float | None] = {d: _mean([v.scores[d] for v in group]) for d in DIMENSIONS}
        out["overall"] = _mean([survey_mean(v.scores) or 0 for v in group])
        return out

    per_hk: dict[int, dict[str, Any]] = {}  # the rating rounded as ratings.recompute stores it
    for hk in sorted({v.hk for v in vs}):
        mine = [v for v in vs if v.hk == hk]
        mine_closed = [v for v in closed if v.hk == hk]
        mine_answered = [v for v in answered if v.hk == hk]
        per_hk[hk] = {"visits": len(mine), "answered": len(mine_answered),
                      "coverage": _share(len(mine_answered), len(mine_closed)), **dims(mine_answered),
                      "below": sum(1 for v in below if v.hk == hk),
                      "rating": round(running_rating(roster[hk], policy.rating_prior_weight,
                                                     [survey_mean(v.scores) or 0 for v in mine_answered]), 3),
                      "survey_count": len(mine_answered)}
    return {"finished": len(vs), "auto": sum(1 for v in vs if v.by == "auto"), "sent": len(sent),
            "waiting": len(vs) - len(sent), "answered": len(answered), "closed": len(closed),
            "expired": len(closed) - len(answered), "awaiting": len(sent) - len(closed),
            "reminded": sum(1 for v in sent if reminded(v)),
            "coverage": _share(len(answered), len(closed)), "means": dims(answered), "below": len(below),
            "followups": fu, "answer_hours": [(v.answered - v.sent).total_seconds() / 3600 for v in answered
                                              if v.answered and v.sent],
            "housekeepers": per_hk}


def roster_ratings(be: Backend) -> dict[int, float]:
    with be.db.read() as s:
        return {h.id: h.roster_rating for h in s.scalars(select(Housekeeper))}
