"""The scripted-conversation runner: YAML conversations driven through the REST channel exactly like
tests/e2e (the same ``Chat`` client on a real aiohttp server, the same fake clock), with every ``expect``
checked against the replies and against storage (bookings, offers, cases, payments, outbox …).

Used by tests/scripted/test_scripted.py (one pytest case per conversation) and by
benchmarks/scripted_conversations.py (the whole suite outside pytest, with a success table).
The format is documented in tests/scripted/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import MetaData, select
from sqlalchemy import text as sql

from backend.orm import (
    Booking,
    BookingChange,
    Escalation,
    Housekeeper,
    Identity,
    Notification,
    Offer,
    Payment,
    ProfileItem,
    Refund,
    Survey,
)
from config import yamlfile
from tests.conftest import NOW_ISO
from tests.e2e.conftest import Chat, buttons, serve, text

HERE = Path(__file__).parent
SETUPS_FILE = HERE / "setups.yml"
TURN_KEYS = {"say", "press", "inbox", "tick", "tick_to", "as", "expect", "note"}
EXPECT_KEYS = {"contains", "contains_any", "not_contains", "buttons", "no_buttons", "bookings", "booking", "offers",
               "cases", "payments", "refunds", "outbox", "no_outbox", "changes", "survey", "profile", "form"}


# --- loading -----------------------------------------------------------------------------------------
@dataclass
class Conversation:
    theme: str
    name: str
    turns: list[dict[str, Any]]
    setup: list[str] = field(default_factory=list)
    pending: str | None = None
    postgres: bool = False
    description: str = ""

    @property
    def id(self) -> str:
        return f"{self.theme}/{self.name}"


def _check_turn(where: str, turn: Any) -> None:
    if not isinstance(turn, dict) or not turn:
        raise ValueError(f"{where}: a turn is a mapping, not {turn!r}")
    unknown = set(turn) - TURN_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown turn keys {sorted(unknown)}")
    actions = [k for k in ("say", "press", "inbox", "tick", "tick_to") if k in turn]
    if len(actions) != 1:
        raise ValueError(f"{where}: a turn does exactly one of say/press/inbox/tick/tick_to, not {actions}")
    unknown = set(turn.get("expect") or {}) - EXPECT_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown expect keys {sorted(unknown)}")


def load_setups(path: Path = SETUPS_FILE) -> dict[str, list[dict[str, Any]]]:
    data = yamlfile.read(path) or {}
    for name, turns in data.items():
        for i, t in enumerate(turns):
            _check_turn(f"setup {name} turn {i + 1}", t)
    return data


def load_file(path: Path, setups: dict[str, list[dict[str, Any]]] | None = None) -> list[Conversation]:
    setups = load_setups() if setups is None else setups
    data = yamlfile.read(path)
    theme = data.get("theme") or path.stem
    out, seen = [], set()
    for c in data["conversations"]:
        name = c["name"]
        if name in seen:
            raise ValueError(f"{path.name}: two conversations called {name}")
        seen.add(name)
        for s in c.get("setup") or []:
            if s not in setups:
                raise ValueError(f"{path.name} {name}: no setup called {s!r} in {SETUPS_FILE.name}")
        for i, t in enumerate(c["turns"]):
            _check_turn(f"{path.name} {name} turn {i + 1}", t)
        out.append(Conversation(theme, name, c["turns"], list(c.get("setup") or []), c.get("pending"),
                                bool(c.get("postgres")), c.get("description", "")))
    return out


def load_all(folder: Path = HERE) -> list[Conversation]:
    setups = load_setups()
    out: list[Conversation] = []
    for path in sorted(folder.glob("*.yml")):
        if path != SETUPS_FILE:
            out += load_file(path, setups)
    return out


# --- one app, reset between conversations --------------------------------------------------------------
class Snapshot:
    """Every table's rows right after the roster import; ``restore`` puts the database back to them (far
    cheaper than building the front desk again for each conversation)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.meta = MetaData()
        self.meta.reflect(app.backend.db.engine)
        self.tables = [t for t in self.meta.sorted_tables if t.name != "alembic_version"]
        with app.backend.db.engine.connect() as c:
            self.rows = {t.name: [dict(r) for r in c.execute(select(t)).mappings()] for t in self.tables}

    def restore(self) -> None:
        from dialogs.actions import runtime

        with self.app.backend.db.engine.begin() as c:
            for t in reversed(self.tables):
                c.execute(t.delete())
            for t in self.tables:
                if self.rows[t.name]:
                    c.execute(t.insert(), self.rows[t.name])
            if c.dialect.name == "postgresql":  # ids from 1 again, as on a fresh database (SQLite reuses them)
                for t in self.tables:
                    if "id" in t.c:
                        c.execute(sql(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                                       f"COALESCE((SELECT MAX(id) FROM {t.name}), 0) + 1, false)"))
        self.app.clock.set(datetime.fromisoformat(NOW_ISO))
        runtime.configure(self.app.backend)  # the actions' backend: another app may have been configured since


def build_app(tmp_path: Path, db_url: str | None = None, model: Path | None = None) -> tuple[Any, Snapshot]:
    """The front desk with the demo roster on the test clock, and its snapshot."""
    from tests.conftest import make_app
    from tests.e2e.conftest import secure

    app = secure(make_app(tmp_path, db_url=db_url, model=model))
    return app, Snapshot(app)


# --- running -----------------------------------------------------------------------------------------
class Mismatch(AssertionError):
    pass


@dataclass
class Result:
    conversation: Conversation
    turns: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class Run:
    """One conversation on a clean database."""

    def __init__(self, chat: Chat, conv: Conversation) -> None:
        self.chat, self.conv = chat, conv
        slug = re.sub(r"[^a-z0-9]+", "-", conv.id.lower())
        self.clients = {"client": f"sc-{slug}", "client2": f"sc-{slug}-2"}
        self.last: dict[str, list[dict[str, Any]]] = {}  # what each sender saw last (reply or inbox)
        self.current_client = "client"

    # who
    def sender(self, who: str | None) -> str:
        who = who or "client"
        if who in self.clients:
            self.current_client = who
            return self.clients[who]
        if who == "housekeeper":
            return f"staff:{self.housekeeper_code()}"
        if who == "manager":
            return "staff:MGR01"
        if who == "manager_en":
            return "staff:MGR02"
        if re.fullmatch(r"(HK|MGR)\d+", who):
            return f"staff:{who}"
        raise Mismatch(f"unknown sender {who!r}")

    def client_id(self, who: str | None = None) -> int | None:
        ext = self.clients[who or self.current_client]
        with self.chat.app.backend.db.read() as s:
            return s.scalar(select(Identity.person_id).where(Identity.person_kind == "client",
                                                             Identity.external_id == ext))

    def bookings(self) -> list[Booking]:
        cid = self.client_id()
        if cid is None:
            return []
        with self.chat.app.backend.db.read() as s:
            rows = list(s.scalars(select(Booking).where(Booking.client_id == cid).order_by(Booking.id)))
            s.expunge_all()
            return rows

    def housekeeper_code(self) -> str:
        """The housekeeper of the client's latest booking: the one with a pending offer on it, else the one
        who has it, else the last one offered it."""
        with self.chat.app.backend.db.read() as s:
            for b in reversed(self.bookings()):
                pending = s.scalar(select(Offer.housekeeper_id)
                                   .where(Offer.booking_id == b.id, Offer.status == "pending")
                                   .order_by(Offer.id.desc()).limit(1))
                last = s.scalar(select(Offer.housekeeper_id).where(Offer.booking_id == b.id)
                                .order_by(Offer.id.desc()).limit(1))
                hk_id = pending or b.housekeeper_id or last
                if hk_id:
                    return s.get(Housekeeper, hk_id).code
        raise Mismatch("no housekeeper: the client has no booking offered to anybody")

    # doing
    async def turn(self, t: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self.chat
        if "tick" in t:
            chat.tick(float(t["tick"]))
            return []
        if "tick_to" in t:
            tz = chat.app.backend.ctx.tz
            when = datetime.strptime(str(t["tick_to"]), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            minutes = (when - chat.app.clock.now()).total_seconds() / 60
            if minutes < 0:
                raise Mismatch(f"tick_to {t['tick_to']} is in the past")
            chat.tick(minutes)
            return []
        who = self.sender(t.get("as"))
        if "inbox" in t:
            got = await chat.inbox(who, wait=float(t["inbox"]) if not isinstance(t["inbox"], bool) else 0)
            self.last[who] = got
            return got
        if "press" in t:
            payload = self.find_button(who, t["press"])
            if payload is None:
                fresh = await chat.inbox(who)
                self.last[who] = self.last.get(who, []) + fresh
                payload = self.find_button(who, str(t["press"]))
            if payload is None:
                seen = [b["title"] for b in buttons(self.last.get(who, []))]
                raise Mismatch(f"no button {t['press']!r} on offer to {who}; buttons: {seen}")
            message = payload
        else:
            message = self.fill(str(t["say"]))
        got = await chat.say(message, who)
        self.last[who] = got
        return got

    def fill(self, message: str) -> str:
        """{booking}, {case}, {refund}: the client's latest booking, case or refund id (manager commands)."""
        if "{" not in message:
            return message
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            for key, model in (("booking", Booking), ("case", Escalation), ("refund", Refund)):
                if "{" + key + "}" in message:
                    found = s.scalar(select(model.id).where(model.client_id == cid).order_by(model.id.desc()).limit(1))
                    if found is None:
                        raise Mismatch(f"no {key} of the client to put in {message!r}")
                    message = message.replace("{" + key + "}", str(found))
        return message

    def find_button(self, who: str, title: Any) -> str | None:
        """By title (exact, else the newest containing it), or {nth: N}: the Nth button of the last message
        with buttons (1-based)."""
        bs = buttons(self.last.get(who, []))
        if isinstance(title, dict):
            last = next((m.get("buttons") for m in reversed(self.last.get(who, [])) if m.get("buttons")), [])
            n = int(title.get("nth", 1))
            return last[n - 1]["payload"] if 0 < n <= len(last) else None
        title = str(title)
        for b in reversed(bs):  # the newest card first
            if b["title"] == title:
                return b["payload"]
        for b in reversed(bs):
            if title in b["title"]:
                return b["payload"]
        return None

    # checking
    def check(self, expect: dict[str, Any], replies: list[dict[str, Any]]) -> list[str]:
        problems: list[str] = []
        said = text(replies) + "\n" + "\n".join(b["title"] for b in buttons(replies))
        for s in _list(expect.get("contains")):
            if str(s) not in said:
                problems.append(f"reply lacks {s!r}")
        if "contains_any" in expect and not any(str(s) in said for s in _list(expect["contains_any"])):
            problems.append(f"reply has none of {_list(expect['contains_any'])}")
        for s in _list(expect.get("not_contains")):
            if str(s) in said:
                problems.append(f"reply has {s!r}")
        titles = [b["title"] for b in buttons(replies)]
        for s in _list(expect.get("buttons")):
            if str(s) not in titles:
                problems.append(f"no button {s!r} (buttons: {titles})")
        if expect.get("no_buttons") and titles:
            problems.append(f"buttons shown: {titles}")
        for key in ("bookings", "booking", "offers", "cases", "payments", "refunds", "outbox", "no_outbox",
                    "changes", "survey", "profile", "form"):
            if key in expect:
                problems += [f"{key}: {p}" for p in getattr(self, f"check_{key}")(expect[key])]
        if problems:
            problems.append("replies were: " + text(replies).replace("\n", " | ")[:600])
        return problems

    def check_bookings(self, want: Any) -> list[str]:
        got = self.bookings()
        if isinstance(want, int):
            return [] if len(got) == want else [f"{len(got)} bookings, want {want}"]
        out = []
        if "count" in want and len(got) != want["count"]:
            out.append(f"{len(got)} bookings, want {want['count']}")
        if "statuses" in want and [b.status for b in got] != want["statuses"]:
            out.append(f"statuses {[b.status for b in got]}, want {want['statuses']}")
        return out

    def check_booking(self, want: dict[str, Any]) -> list[str]:
        got = self.bookings()
        if not got:
            return ["the client has no booking"]
        b = got[want.get("nth", -1)]
        tz = self.chat.app.backend.ctx.tz
        actual: dict[str, Any] = {"status": b.status, "service": b.service,
                                  "start": b.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                                  "hours": b.hours, "area": b.area, "district": b.district,
                                  "price": b.price_estimate, "late_minutes": b.late_minutes,
                                  "arrived": b.arrived_at is not None, "finished": b.finished_at is not None}
        with self.chat.app.backend.db.read() as s:
            hk = s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None
            actual["housekeeper"] = hk.code if hk else None
        out = []
        for k, v in want.items():
            if k == "nth":
                continue
            if k == "notes_contains":
                if str(v) not in (b.notes or ""):
                    out.append(f"notes {b.notes!r} lack {v!r}")
            elif k == "address_contains":
                if str(v) not in (b.address or ""):
                    out.append(f"address {b.address!r} lacks {v!r}")
            elif k == "housekeeper" and v in ("any", True):
                if actual["housekeeper"] is None:
                    out.append("no housekeeper assigned")
            elif k == "start" and len(str(v)) == 11:  # "11-19 10:00": the year of the reference time
                if actual["start"][5:] != str(v):
                    out.append(f"start {actual['start']}, want {v}")
            elif k not in actual:
                out.append(f"unknown booking field {k}")
            elif isinstance(v, list):  # any of these
                if actual[k] not in v:
                    out.append(f"{k} {actual[k]!r}, want one of {v!r}")
            elif actual[k] != v and not (isinstance(v, (int, float)) and actual[k] == float(v)):
                out.append(f"{k} {actual[k]!r}, want {v!r}")
        return out

    def check_offers(self, want: dict[str, int]) -> list[str]:
        got = self.bookings()
        if not got:
            return ["the client has no booking"]
        b = got[want.get("nth", -1)] if isinstance(want, dict) else got[-1]
        with self.chat.app.backend.db.read() as s:
            statuses = [o.status for o in s.scalars(select(Offer).where(Offer.booking_id == b.id))]
        return [f"{n} offers {k}, want {v}" for k, v in want.items() if k != "nth"
                for n in [statuses.count(k)] if n != v]

    def check_cases(self, want: Any) -> list[str]:
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            rows = [] if cid is None else list(s.scalars(select(Escalation).where(Escalation.client_id == cid)))
            got = [{"kind": e.kind, "status": e.status, "category": e.category, "severity": e.severity,
                    "booking": e.booking_id is not None} for e in rows]
        if isinstance(want, int):
            return [] if len(got) == want else [f"{len(got)} cases {got}, want {want}"]
        return [f"no case like {w} among {got}" for w in want
                if not any(all(g.get(k) == v for k, v in w.items()) for g in got)]

    def check_payments(self, want: list[dict[str, Any]]) -> list[str]:
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            got = [] if cid is None else [{"kind": p.kind, "amount_cents": p.amount_cents}
                                          for p in s.scalars(select(Payment).where(Payment.client_id == cid))]
        return [] if sorted(map(str, got)) == sorted(map(str, want)) else [f"payments {got}, want {want}"]

    def check_refunds(self, want: list[dict[str, Any]]) -> list[str]:
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            got = [] if cid is None else [{"kind": r.kind, "status": r.status, "amount_cents": r.amount_cents}
                                          for r in s.scalars(select(Refund).where(Refund.client_id == cid))]
        return [f"no refund like {w} among {got}" for w in want
                if not any(all(g.get(k) == v for k, v in w.items()) for g in got)] + (
            [f"refunds {got}, want none"] if not want and got else [])

    def _outbox(self, spec: dict[str, Any]) -> list[Notification]:
        to = spec.get("to", "client")
        with self.chat.app.backend.db.read() as s:
            q = select(Notification)
            if to in self.clients:
                q = q.where(Notification.person_kind == "client", Notification.person_id == self.client_id(to))
            elif to == "housekeeper" or re.fullmatch(r"HK\d+", str(to)):
                code = self.housekeeper_code() if to == "housekeeper" else to
                hk = s.scalar(select(Housekeeper).where(Housekeeper.code == code))
                q = q.where(Notification.person_kind == "housekeeper", Notification.person_id == hk.id)
            elif to in ("manager", "managers"):
                q = q.where(Notification.person_kind == "manager")
            else:
                raise Mismatch(f"outbox: unknown recipient {to!r}")
            if "template" in spec:
                q = q.where(Notification.template == spec["template"])
            rows = list(s.scalars(q.order_by(Notification.id)))
            s.expunge_all()
            return rows

    def check_outbox(self, want: Any) -> list[str]:
        out = []
        for spec in _list(want):
            rows = self._outbox(spec)
            n = spec.get("count")
            if (n is None and not rows) or (n is not None and len(rows) != n):
                out.append(f"{len(rows)} messages to {spec.get('to', 'client')} "
                           f"({spec.get('template', 'any')}), want {n if n is not None else 'at least one'}")
        return out

    def check_no_outbox(self, want: Any) -> list[str]:
        return [f"unexpected message to {spec.get('to', 'client')} ({spec.get('template', 'any')})"
                for spec in _list(want) if self._outbox(spec)]

    def check_changes(self, want: list[dict[str, Any]]) -> list[str]:
        ids = [b.id for b in self.bookings()]
        with self.chat.app.backend.db.read() as s:
            q = select(BookingChange).where(BookingChange.booking_id.in_(ids)).order_by(BookingChange.id)
            got = [{"status": c.status} for c in s.scalars(q)] if ids else []
        return [] if got == want else [f"changes {got}, want {want}"]

    def check_survey(self, want: dict[str, Any]) -> list[str]:
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            sv = None if cid is None else s.scalar(select(Survey).where(Survey.client_id == cid)
                                                   .order_by(Survey.id.desc()).limit(1))
            if sv is None:
                return ["no survey"]
            actual = {"status": sv.status, "attitude": sv.attitude, "skill": sv.skill, "result": sv.result,
                      "followup": sv.followup_case_id is not None, "comment_contains": sv.comment or ""}
        return [f"{k} {actual.get(k)!r}, want {v!r}" for k, v in want.items()
                if (k == "comment_contains" and str(v) not in actual[k]) or (k != "comment_contains"
                                                                             and actual.get(k) != v)]

    def check_profile(self, want: list[str]) -> list[str]:
        cid = self.client_id()
        with self.chat.app.backend.db.read() as s:
            got = [] if cid is None else [i.code for i in s.scalars(select(ProfileItem).where(
                ProfileItem.client_id == cid, ProfileItem.removed_at.is_(None)).order_by(ProfileItem.id))]
        return [] if got == want else [f"profile {got}, want {want}"]

    def check_form(self, want: Any) -> list[str]:
        state = self.chat.app.desk.engine.store.load(f"rest:{self.clients[self.current_client]}")
        active = state.get("active_loop")
        if isinstance(want, str) or want is None:
            return [] if active == want else [f"active form {active!r}, want {want!r}"]
        out = [] if "active" not in want or active == want["active"] \
            else [f"active form {active!r}, want {want['active']!r}"]
        for k, v in (want.get("slots") or {}).items():
            if state["slots"].get(k) != v:
                out.append(f"slot {k} = {state['slots'].get(k)!r}, want {v!r}")
        return out


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


async def run_conversation(app: Any, conv: Conversation, setups: dict[str, list[dict[str, Any]]] | None = None,
                           stop_at_first: bool = True, trace: Any = None) -> Result:
    """Run one conversation on ``app`` (reset it first with its Snapshot): every turn through a real REST
    server, every ``expect`` checked. Setup turns run first and are checked the same way. ``trace(where,
    turn, replies)`` sees every turn (the benchmark's --verbose)."""
    setups = load_setups() if setups is None else setups
    result = Result(conv)
    server = await serve(app)
    try:
        async with ClientSession() as session:
            run = Run(Chat(app, session, str(server.make_url("")).rstrip("/")), conv)
            steps = [(f"setup {s} turn {i + 1}", t) for s in conv.setup for i, t in enumerate(setups[s])]
            steps += [(f"turn {i + 1}", t) for i, t in enumerate(conv.turns)]
            for where, t in steps:
                result.turns += 1
                try:
                    replies = await run.turn(t)
                    if trace is not None:
                        trace(where, t, replies)
                    problems = run.check(t.get("expect") or {}, replies)
                except Mismatch as e:
                    problems = [str(e)]
                if problems:
                    action = next(f"{k}: {t[k]}" for k in ("say", "press", "inbox", "tick", "tick_to") if k in t)
                    result.failures.append(f"{conv.id} {where} ({action}, as {t.get('as', 'client')}): "
                                           + "; ".join(problems))
                    if stop_at_first:
                        break
    finally:
        await server.close()
    return result
