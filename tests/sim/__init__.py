"""A simulated month of front-desk traffic on the fake clock, through the Backend facades only.

Every simulated day: bookings made, accepted, done and paid in cash, and a complaint (four every three
days; over the month every category, default severities, some lowered); every third day a request
for a person; an emergency a week. Managers answer
with realistic delays — most well inside the deadline, every fifth late so the clock breaches —, close
with outcomes (refunds, compensation, rework), and clients answer "satisfied?" (a "no" reopens the
case, which is then answered and closed again). Refunds are approved and paid, some late, some
rejected, one across the National Day week. The clock moves from event to event (an action, or the
next pending timer), running ``Backend.run_due_timers()`` at each step.

``Did`` is what the simulation itself did and saw; the report must say the same.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from backend.api import Backend
from backend.domain.cases import CATEGORIES
from backend.orm import Offer, Timer
from backend.services import DomainError, staff
from backend.services.bookings import Request

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 21, 8, 0, tzinfo=TZ)  # a Monday; National Day 10-01…10-07 inside the month
DAYS = 30
MAX_STEP = timedelta(hours=3)
CLOSE_OUTCOMES = ("resolved", "apologised", "refund", "rework", "compensation", "resolved", "rejected",
                  "no_action", "refund", "apologised")
SUPERVISOR = {"code": "SUP01", "role": "supervisor", "name": "林主管", "phone": "13800000009"}


def hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


@dataclass
class Case:
    id: int
    kind: str
    opened: datetime
    due: datetime
    manager: int
    client: int
    severity: str = "normal"
    booking: int | None = None
    cents: int = 0  # what was paid for the booking
    first: datetime | None = None  # the first response (of the first round)
    breached: bool = False
    closed: datetime | None = None
    outcome: str | None = None
    satisfied: bool | None = None
    reopened: bool = False


@dataclass
class RefundDone:
    id: int
    requested: datetime
    due: datetime
    paid: datetime | None = None
    rejected: bool = False


@dataclass
class Did:
    cases: dict[int, Case] = field(default_factory=dict)
    categories: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    refunds: dict[int, RefundDone] = field(default_factory=dict)
    compensations: int = 0
    compensated_cents: int = 0
    refunded_cents: int = 0
    bookings: int = 0
    completed: int = 0
    reworks: int = 0
    emergencies: int = 0
    emergency_alerts: Counter[int] = field(default_factory=Counter)  # case id → alerts before "I have it"
    holiday_refund: int | None = None
    skipped: Counter[str] = field(default_factory=Counter)  # bookings nobody could take, etc.


class Month:
    def __init__(self, be: Backend, clock: Any, days: int = DAYS, seed: int = 8) -> None:
        self.be, self.clock, self.rng = be, clock, random.Random(seed)
        self.end = START + timedelta(days=days)
        self.days = days
        self.did = Did()
        self.queue: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.clients: list[int] = []
        self.done: list[tuple[int, int, int, int]] = []  # completed, paid: (client, booking, housekeeper, cents)
        self.managers: list[int] = []
        self.n_complaints = self.n_closed = self.n_refunds = self.n_people = 0

    # --- the loop ------------------------------------------------------------------------------
    def at(self, when: datetime, fn: Callable[..., None], *args: Any) -> None:
        if when < self.end:
            heapq.heappush(self.queue, (when, next(self.seq), fn, args))

    def _next_timer(self) -> datetime | None:
        with self.be.db.read() as s:
            return s.scalar(select(func.min(Timer.due_at)).where(Timer.status == "pending"))

    def _advance(self, to: datetime) -> None:
        """Move the clock to ``to`` through every timer due on the way, each run at its own time."""
        while True:
            nxt = self._next_timer()
            step = min(to, self.clock.now() + MAX_STEP)
            if nxt is not None and nxt < step:
                step = max(nxt, self.clock.now())
            self.clock.set(step)
            while self.be.run_due_timers(limit=500):
                pass
            if step >= to:
                return

    def run(self) -> Did:
        self.clock.set(START)
        rows = [staff.parse_row(1, SUPERVISOR, self.be.catalogue)]
        self.be.import_staff(rows)
        self.managers = [self.be.staff_by_code(c).id for c in ("MGR01", "MGR02")]  # type: ignore[union-attr]
        for i in range(24):
            lang = "en" if i % 3 == 0 else "zh"
            c = self.be.client_for("rest", f"sim-client-{i}", lang)
            self.be.set_client(c.id, name=f"Client {i}" if lang == "en" else f"客户{i}", phone=f"1381234{i:04d}")
            self.clients.append(c.id)
        for d in range(self.days):
            day = START.date() + timedelta(days=d)
            self.at(_local(day, 9, 0), self.book_day, day)
            for k in range(1 + (d % 3 == 0)):  # four complaints every three days
                self.at(_local(day, 11 + 4 * k, self.rng.randint(0, 59)), self.complain)
            if d % 3 == 1:  # a request for a person, some late in the evening (due after the desk opens)
                self.at(_local(day, 22 if d % 2 else 13, self.rng.randint(0, 50)), self.ask_person)
            if d % 7 == 3:
                self.at(_local(day, 15, self.rng.randint(0, 50)), self.emergency, d // 7)
        self.at(datetime(2026, 9, 30, 10, 0, tzinfo=TZ), self.holiday_refund)
        while self.queue and self.queue[0][0] < self.end:
            when, _, fn, args = heapq.heappop(self.queue)
            self._advance(when)
            fn(*args)
        self._advance(self.end)
        return self.did

    # --- bookings --------------------------------------------------------------------------------
    def book_day(self, day: Any) -> None:
        for k in range(2):
            client = self.clients[(self.did.bookings + k) % len(self.clients)]
            starts = _local(day + timedelta(days=1), (10, 14, 9)[k], 0)
            req = Request("cleaning", starts, hours=2 + k, address=f"朝阳区建国路{10 + k}号")
            try:
                b = self.be.book(client, req)
            except DomainError as e:
                self.did.skipped[e.code] += 1
                continue
            self.did.bookings += 1
            hk = self._accept(b["id"])
            if hk is not None:
                self.at(starts, self.work, client, b["id"], hk, b["price"])

    def _accept(self, booking_id: int) -> int | None:
        with self.be.db.read() as s:
            offer = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))
            ids = None if offer is None else (offer.housekeeper_id, offer.id)
        if ids is None:
            self.did.skipped["no_offer"] += 1
            return None
        r = self.be.accept_offer(*ids)
        return ids[0] if r["error"] is None else None

    def work(self, client: int, booking_id: int, hk: int, price: int) -> None:
        b = self.be.booking(booking_id)
        if b is None or b["status"] != "confirmed":
            self.did.skipped["not_confirmed"] += 1
            return
        self.be.arrive(hk, booking_id)
        self.at(datetime.fromisoformat(b["ends_at"]), self.finish, client, booking_id, hk, price)

    def rework_visit(self, hk: int, booking_id: int, ends: datetime) -> None:
        self.be.arrive(hk, booking_id)
        self.at(ends, self.be.finish, hk, booking_id)

    def finish(self, client: int, booking_id: int, hk: int, price: int) -> None:
        self.be.finish(hk, booking_id)
        self.be.record_payment(f"housekeeper:{hk}", booking_id, price * 100, "cash")
        self.did.completed += 1
        self.done.append((client, booking_id, hk, price * 100))

    # --- cases -----------------------------------------------------------------------------------
    def _open(self, kind: str, client: int, booking: int | None, **kw: Any) -> Case:
        v = self.be.open_case(kind, client, booking, by_client=True, **kw)
        assert not v["joined"], v
        now = self.clock.now()
        c = Case(v["id"], kind, now, datetime.fromisoformat(v["due_at"]),
                 self.managers[len(self.did.cases) % 2], client, v["severity"], booking)
        self.did.cases[c.id] = c
        self.did.severities[v["severity"]] += 1
        return c

    def complain(self) -> None:
        i = self.n_complaints
        self.n_complaints += 1
        category = CATEGORIES[i % len(CATEGORIES)]
        # most about a done booking (each booking complained about once: a second would join), some not
        pick = None if i % 6 == 5 or not self.done else self.done.pop(self.rng.randrange(len(self.done)))
        client = pick[0] if pick else self.clients[i % len(self.clients)]
        severity = "low" if i % 9 == 8 else None
        c = self._open("complaint", client, pick[1] if pick else None, category=category, severity=severity,
                       remedy=("apology", "rework", "refund", "compensation")[i % 4], text=f"投诉 {i}",
                       lang="zh")
        c.cents = pick[3] if pick else 0
        self.did.categories[category] += 1
        self._plan_answer(c, late=i % 5 == 4, call=i % 4 == 0)
        if self.rng.random() < 0.85:  # most are claimed at once; the rest are re-alerted until answered
            self.at(c.opened + timedelta(minutes=self.rng.randint(3, 12)), self.claim, c)

    def ask_person(self) -> None:
        k = self.n_people
        self.n_people += 1
        c = self._open("human_requested", self.clients[(k * 5) % len(self.clients)], None, text="找人工")
        self._plan_answer(c, late=k % 7 == 6, call=False, close_after=timedelta(minutes=40))

    def emergency(self, week: int) -> None:
        if not self.done and week % 2:
            return
        self.did.emergencies += 1
        if week % 2 and self.done:  # a housekeeper reports it from the job
            client, booking, hk, _ = self.done[-1]
            v = self.be.housekeeper_emergency(hk, booking, "客户家里煤气味很重")
            c = Case(v["id"], "emergency", self.clock.now(), datetime.fromisoformat(v["due_at"]),
                     self.managers[0], client, v["severity"], booking)
            self.did.cases[c.id] = c
            self.did.severities[v["severity"]] += 1
        else:
            c = self._open("emergency", self.clients[week], None, text="家里老人摔倒了")
        # "I have it" after 4 minutes (a repeat at 3 has gone out); the call inside the 5 minutes, but
        # in the third week only after 8 (a breach)
        self.at(c.opened + timedelta(minutes=4), self.ack, c)
        self._plan_answer(c, late=week == 2, call=True, at=c.opened + timedelta(minutes=8 if week == 2 else 4.5),
                          close_after=timedelta(hours=3))

    def _plan_answer(self, c: Case, *, late: bool, call: bool, at: datetime | None = None,
                     close_after: timedelta | None = None) -> None:
        if at is None:
            room = c.due - c.opened
            if late:
                at = c.due + timedelta(minutes=self.rng.randint(20, 120))
            elif room > timedelta(hours=2) and c.kind == "human_requested":  # asked at night: when the desk opens
                at = c.due - timedelta(minutes=self.rng.randint(5, 25))
            else:
                quick = timedelta(minutes=self.rng.randint(10, 20 if room <= timedelta(hours=1) else 300))
                at = c.opened + min(quick, room * 0.8)
        self.at(at, self.answer, c, call, close_after)

    def claim(self, c: Case) -> None:
        if c.first is None and c.closed is None:
            self.be.claim(c.manager, c.id)

    def ack(self, c: Case) -> None:
        if c.kind == "emergency":
            self.did.emergency_alerts[c.id] = self._alerts(c.id)
        self.be.acknowledge_alert(c.manager, c.id)

    def _alerts(self, case_id: int) -> int:
        from backend.orm import Notification

        with self.be.db.read() as s:
            return s.scalar(select(func.count()).select_from(Notification).where(
                Notification.template == "case_alert", Notification.subject == f"case:{case_id}")) or 0

    def answer(self, c: Case, call: bool, close_after: timedelta | None) -> None:
        now = self.clock.now()
        second_round = c.reopened
        if now > c.due and not second_round:
            c.breached = True
            self.be.acknowledge_alert(c.manager, c.id)  # the supervisor's repeats stop
        if call:
            self.be.log_call(c.manager, c.id, "打电话沟通了")
        else:
            self.be.reply_to_client(c.manager, c.id, "您好，我们已收到，正在处理")
            self._client_reads(c.client)
        if not second_round:
            c.first = now
        after = close_after or timedelta(hours=self.rng.randint(1, 30))
        self.at(now + after, self.close, c)

    def _client_reads(self, client: int) -> None:
        """The client's app polls and acknowledges: the manager's message has reached her."""
        rows = self.be.pull("client", client)
        # Backend.acknowledge is the managers' old escalation command: the outbox's is the facade's
        self.be.ack_pulled("client", client, "rest", [r["id"] for r in rows])

    def close(self, c: Case) -> None:
        if c.reopened or c.kind != "complaint":
            outcome = "resolved"
        else:
            outcome = CLOSE_OUTCOMES[self.n_closed % len(CLOSE_OUTCOMES)]
            self.n_closed += 1
            outcome = self._remedy(c, outcome)
        self.be.close_case(c.manager, c.id, outcome, "处理完毕")
        c.closed, c.outcome = self.clock.now(), outcome
        if c.kind == "complaint" and not c.reopened:
            self.at(c.closed + timedelta(hours=self.rng.randint(1, 20)), self.answer_satisfaction, c)

    def _remedy(self, c: Case, outcome: str) -> str:
        """Do what the outcome says; without a paid booking a refund becomes compensation."""
        if outcome == "refund" and c.booking and c.cents:
            r = self.be.request_refund(f"manager:{c.manager}", c.booking, c.cents // 2, "服务质量问题", case_id=c.id)
            self._plan_refund(r)
            return outcome
        if outcome in ("refund", "compensation"):
            r = self.be.compensate(c.manager, c.id, 5000, "致歉补偿")
            self.did.compensations += 1
            self.at(self.clock.now() + timedelta(hours=self.rng.randint(2, 30)), self.pay_compensation, r["id"])
            return "compensation"
        if outcome == "rework" and c.booking:
            try:
                b = self.be.arrange_rework(c.manager, c.id)
            except DomainError as e:
                self.did.skipped[f"rework_{e.code}"] += 1
                return "apologised"
            self.did.reworks += 1
            hk = self._accept(b["id"])
            if hk is not None:  # she turns up for the free visit (no check-in would raise the no-show alarm)
                self.at(datetime.fromisoformat(b["starts_at"]), self.rework_visit, hk, b["id"],
                        datetime.fromisoformat(b["ends_at"]))
            return outcome
        return "apologised" if outcome == "rework" else outcome

    def answer_satisfaction(self, c: Case) -> None:
        j = c.id
        if j % 5 == 4:
            return  # no answer
        c.satisfied = j % 5 != 3
        self.be.case_satisfaction(c.client, c.id, c.satisfied)
        if not c.satisfied:  # reopened one level up (and at least high): answered within the hour, closed again
            c.reopened = True
            self.did.severities[c.severity] -= 1
            c.severity = self.be.case(c.id)["severity"]
            self.did.severities[c.severity] += 1
            c.closed = c.outcome = None
            self.at(self.clock.now() + timedelta(minutes=50), self.answer, c, False, timedelta(hours=3))

    # --- refunds ----------------------------------------------------------------------------------
    def _plan_refund(self, r: dict[str, Any]) -> None:
        k = self.n_refunds
        self.n_refunds += 1
        now = self.clock.now()
        due = datetime.fromisoformat(r["due_at"])
        self.did.refunds[r["id"]] = RefundDone(r["id"], now, due)
        if k % 5 == 4:
            self.at(now + timedelta(hours=self.rng.randint(2, 10)), self.reject, r["id"])
            return
        approve = now + timedelta(hours=self.rng.randint(1, 6))
        self.at(approve, self.approve, r["id"])
        pay = due + timedelta(hours=self.rng.randint(2, 20)) if k % 4 == 3 else max(
            approve + timedelta(hours=1), due - timedelta(hours=self.rng.randint(10, 30)))
        self.at(pay, self.pay, r["id"])

    def approve(self, refund_id: int) -> None:
        self.be.approve_refund(self.managers[0], refund_id)

    def pay(self, refund_id: int) -> None:
        v = self.be.pay_refund(self.managers[0], refund_id, f"TRX{refund_id:06d}")
        self.did.refunds[refund_id].paid = self.clock.now()
        self.did.refunded_cents += v["amount_cents"]

    def reject(self, refund_id: int) -> None:
        self.be.reject_refund(self.managers[1], refund_id, "已安排免费返工")
        self.did.refunds[refund_id].rejected = True

    def pay_compensation(self, refund_id: int) -> None:
        v = self.be.pay_refund(self.managers[1], refund_id, f"CMP{refund_id:06d}")
        self.did.compensated_cents += v["amount_cents"]

    def holiday_refund(self) -> None:
        """Requested the day before National Day: approved and paid after the holiday, within the promise."""
        if not self.done:
            self.did.skipped["holiday_refund"] += 1
            return
        _, booking, _, cents = self.done.pop(0)
        r = self.be.request_refund(f"manager:{self.managers[0]}", booking, cents, "客户取消后续服务")
        due = datetime.fromisoformat(r["due_at"])
        self.did.refunds[r["id"]] = RefundDone(r["id"], self.clock.now(), due)
        self.did.holiday_refund = r["id"]
        self.at(datetime(2026, 10, 8, 10, 0, tzinfo=TZ), self.approve, r["id"])
        self.at(datetime(2026, 10, 9, 15, 0, tzinfo=TZ), self.pay, r["id"])


def _local(day: Any, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


def expected(did: Did, end: datetime) -> dict[str, Any]:
    """The figures the report must show, from what the simulation did (as of ``end``)."""
    cs = list(did.cases.values())
    firsts = [c for c in cs if c.first is not None]
    missed = [c for c in cs if c.first is None and c.due <= end]
    closed = [c for c in cs if c.closed is not None]
    paid = [r for r in did.refunds.values() if r.paid is not None]
    return {
        "total": len(cs),
        "by_kind": dict(Counter(c.kind for c in cs)),
        "within": sum(1 for c in firsts if c.first <= c.due),  # type: ignore[operator]
        "late": sum(1 for c in firsts if c.first > c.due),  # type: ignore[operator]
        "missed": len(missed),
        "pending": sum(1 for c in cs if c.first is None and c.due > end),
        "first_hours": [hours(c.opened, c.first) for c in firsts],  # type: ignore[arg-type]
        "complaint_first_hours": [hours(c.opened, c.first) for c in firsts  # type: ignore[arg-type]
                                  if c.kind == "complaint"],
        "close_hours": [hours(c.opened, c.closed) for c in closed],  # type: ignore[arg-type]
        "breached": {c.id for c in cs if c.breached or (c.first is None and c.due <= end)},
        "closed": len(closed),
        "resolved": sum(1 for c in closed if c.outcome not in ("rejected", "no_action")),
        "disputes_closed": sum(1 for c in closed if c.kind == "complaint"),
        "disputes_resolved": sum(1 for c in closed
                                 if c.kind == "complaint" and c.outcome not in ("rejected", "no_action")),
        "yes": sum(1 for c in cs if c.satisfied is True),
        "no": sum(1 for c in cs if c.satisfied is False),
        # closed and not answered yet: never asked back, or closed again after a "no" (asked again)
        "unanswered": sum(1 for c in closed if c.satisfied is None or c.reopened),
        "open": sum(1 for c in cs if c.closed is None),
        "refunds": len(did.refunds),
        "refunds_in_time": sum(1 for r in paid if r.paid <= r.due),  # type: ignore[operator]
        "refunds_late": sum(1 for r in did.refunds.values()
                            if (r.paid is not None and r.paid > r.due) or (r.paid is None and not r.rejected
                                                                           and r.due < end)),
        "refunds_pending": sum(1 for r in did.refunds.values() if r.paid is None and not r.rejected and r.due >= end),
        "rejected": sum(1 for r in did.refunds.values() if r.rejected),
    }


def month_backend(tmp: str, postgres: str | None = None) -> tuple[Any, Any]:
    """A front desk on the fake clock at START with the demo roster, in ``tmp`` (SQLite) or on an empty
    PostgreSQL database: what the simulated-month benchmarks run on. Returns (backend, clock)."""
    from pathlib import Path

    from cryptography.fernet import Fernet

    from backend.api import Backend
    from backend.clock import FakeClock
    from backend.services import staff
    from config import load_settings

    settings = load_settings(data_dir=Path(tmp), data_key=Fernet.generate_key().decode())
    clock = FakeClock(START)
    be = Backend.from_settings(settings, clock=clock, db_url=postgres or f"sqlite:///{tmp}/month.db")
    be.db.create_all()
    be.import_staff([staff.parse_row(i, r, be.catalogue) for i, r in enumerate(staff.demo_rows(START.date()), 1)])
    return be, clock
