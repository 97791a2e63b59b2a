"""Managers on cases and money, and housekeepers' emergencies and cash: the same commands and buttons on
the Telegram staff bot, the REST staff path and the shell.

Commands: /cases, /case N, /claim N, /reply N text, /called N note, /reassign N CODE,
/severity N high|normal|low, /close N outcome [note], /ack N, /rework N [YYYY-MM-DD HH:MM] [CODE],
/refund N amount reason, /compensate N amount reason, /approve R, /paid R reference, /reject R reason,
/refunds, /payment BOOKING amount cash|transfer|online [reference]. Buttons carry the same actions as
payloads (``/claim_case{"case_id": 3}``). Housekeepers: /emergency [BOOKING] text and "done, paid in cash".
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.api import Backend, DomainError
from backend.domain.cases import OUTCOMES, SEVERITIES
from backend.services.people import Person
from dialogs.cards import payload
from dialogs.notify import Notifier
from dialogs.threads import hop

# Button payload intent → the command it stands for.
PAYLOADS = {"open_case": "case", "claim_case": "claim", "reply_case": "reply", "close_case": "close",
            "ack_case": "ack", "rework_case": "rework", "refund_case": "refund", "approve_refund": "approve",
            "paid_refund": "paid", "reject_refund": "reject"}
CASE_COMMANDS = frozenset({"case", "claim", "reply", "called", "reassign", "severity", "close", "ack", "rework",
                           "refund", "compensate"})
REFUND_COMMANDS = frozenset({"approve", "paid", "reject"})
MANAGER_COMMANDS = CASE_COMMANDS | REFUND_COMMANDS | {"cases", "refunds", "payment"}
HOUSEKEEPER_INTENTS = frozenset({"emergency", "finished_cash"})
METHODS = ("cash", "transfer", "online")
DEPOSIT_WORDS = ("deposit", "押金")  # /payment N amount method deposit [reference]
LIST_LIMIT = 20  # lines in /cases; cards in /refunds
# Backend codes → (response, what the message needs). Codes not listed fall back to a generic line.
CASE_ERRORS = {"case_not_found": "staff_error_case_not_found", "invalid_outcome": "staff_error_outcome",
               "invalid_severity": "staff_error_severity", "unknown_manager": "staff_error_unknown_manager",
               "manager_not_found": "staff_error_unknown_manager", "no_booking": "staff_error_no_booking",
               "invalid_amount": "staff_error_amount", "refund_exceeds_paid": "staff_error_refund_exceeds",
               "refund_not_found": "staff_error_refund_not_found", "booking_not_found": "staff_error_booking_not_found",
               "invalid_method": "staff_error_method", "housekeeper_not_found": "staff_error_rework_slot",
               "housekeeper_not_free": "staff_error_rework_slot", "nobody_free": "staff_error_rework_slot",
               "slot_taken": "staff_error_rework_slot", "not_a_manager": "staff_error_not_manager",
               **{f"no_{o}_on_record": "staff_error_remedy_missing" for o in ("refund", "compensation", "rework")}}
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")


class Usage(Exception):
    """Arguments missing or malformed: the command's usage line is the answer."""


def command_of(cmd: str, intent: str) -> str | None:
    """The case/money command a message stands for (typed or a button), else None."""
    if intent in PAYLOADS:
        return PAYLOADS[intent]
    name = cmd.lstrip("/").split("{")[0]
    return name if cmd.startswith("/") and name in MANAGER_COMMANDS else None


def cents(text: str) -> int:
    """"120", "120.5", "¥120.50", "120元" → 12050 fen; ValueError for anything else (or ≤ 0)."""
    t = text.strip().lstrip("¥￥").removesuffix("元").replace(",", "")
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise ValueError(text) from None
    if not d.is_finite() or d <= 0 or d != d.quantize(Decimal("0.01")) or d > 10_000_000:
        raise ValueError(text)
    return int(d * 100)


def number(token: str | None) -> int:
    if token is None or not token.lstrip("#").isdigit() or not 0 < int(token.lstrip("#")) < 2**31:
        raise Usage
    return int(token.lstrip("#"))


class CaseDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n, self.cards = backend, notifier, notifier.cards

    def say(self, key: str, lang: str, **params: Any) -> dict[str, Any]:
        """A staff reply with ISO times and cents turned into text, as notifications get them."""
        p = dict(params)
        for k, v in params.items():
            if k.endswith("_at") and isinstance(v, str):
                p[f"{k[:-3]}_time"] = self.n.when(v, lang)
            elif k.endswith("_cents") and isinstance(v, int):
                p[k[:-6]] = self.n.money(v)
        return self.n.text(key, lang, **p)

    # --- managers -------------------------------------------------------------------------------
    async def manager(self, p: Person, lang: str, name: str, args: dict[str, Any], text: str) -> list[dict]:
        words = text.split() if not args and "{" not in text.split(maxsplit=1)[0] else []
        try:
            if name == "cases":
                return await self.list_cases(p, lang)
            if name == "refunds":
                return await self.list_refunds(lang)
            if name == "payment":
                return await self.payment(p, lang, text)
            if name in REFUND_COMMANDS:
                rid = int(args["refund_id"]) if "refund_id" in args else number(words[1] if len(words) > 1 else None)
                return await self.on_refund(p, lang, name, rid, text, bool(args))
            cid = int(args["case_id"]) if "case_id" in args else number(words[1] if len(words) > 1 else None)
        except Usage:
            return [self.say(f"staff_usage_{name}", lang, choices=" ".join(OUTCOMES), case_id="N")]
        try:
            return await self.on_case(p, lang, name, cid, args, text)
        except Usage:
            return [self.say(f"staff_usage_{name}", lang, choices=" ".join(OUTCOMES), case_id=cid)]
        except DomainError as e:
            return [await self.case_error(e.code, lang, cid, args)]

    async def case_error(self, code: str, lang: str, cid: int, args: dict[str, Any]) -> dict[str, Any]:
        if code in ("case_closed", "taken_by_other", "not_your_case"):
            return await self.stale(lang, cid) or self.say("staff_error_case_action", lang, case_id=cid, detail=code)
        key = CASE_ERRORS.get(code, "staff_error_case_action")
        return self.say(key, lang, case_id=cid, detail=code, choices=" ".join(OUTCOMES),
                        outcome=args.get("outcome", ""), code=args.get("code", ""), amount=args.get("amount", ""))

    async def stale(self, lang: str, cid: int, me: int | None = None) -> dict[str, Any] | None:
        """Why a button no longer applies (closed, or someone else holds the case); None when it does."""
        c = await hop(self.be.case, cid)
        if c["status"] == "closed":
            by = self.say("staff_closed_by", lang, name=c.get("owner_name") or "-",
                          outcome_text=self.cards.outcome(c.get("outcome"), lang) or "-")["text"]
            return self.say("staff_error_case_closed", lang, case_id=cid, closed_by=by)
        if c.get("owner_id") and c["owner_id"] != me:
            return self.say("staff_error_case_claimed", lang, case_id=cid, owner_name=c.get("owner_name") or "-")
        return None

    async def on_case(self, p: Person, lang: str, name: str, cid: int, args: dict[str, Any],
                      text: str) -> list[dict]:
        be, call = self.be, hop
        rest = text.split(maxsplit=2)[2] if not args and len(text.split(maxsplit=2)) > 2 else ""
        if name == "case":
            c = await call(be.case, cid, p.id)
            files = self.cards.files(c, lang)
            return [self.cards.case(c, lang, "view", timeline=True)] + ([files] if files else [])
        c = await call(be.case, cid)  # no viewer: a state check, not a look at the client's data
        if c["status"] == "closed":
            return [await self.stale(lang, cid, p.id)]
        if name == "claim":
            if (why := await self.stale(lang, cid, p.id)) is not None:
                return [why]  # a stale claim button: someone else has it
            await call(be.claim, p.id, cid)
            return [self.say("staff_case_claimed", lang, case_id=cid)]
        if name == "reply":
            if not rest.strip():
                return [self.say("staff_case_reply_usage", lang, case_id=cid)]
            await call(be.reply_to_client, p.id, cid, rest.strip()[:2000])
            return [self.say("staff_case_replied", lang, case_id=cid)]
        if name == "called":
            if not rest.strip():
                raise Usage
            await call(be.log_call, p.id, cid, rest.strip()[:2000])
            return [self.say("staff_case_called", lang, case_id=cid)]
        if name == "reassign":
            if not rest.strip():
                raise Usage
            args = {**args, "code": rest.split()[0]}
            try:
                v = await call(be.reassign, p.id, cid, rest.split()[0])
            except DomainError as e:
                return [await self.case_error(e.code, lang, cid, args)]
            return [self.say("staff_case_reassigned", lang, case_id=cid, owner_name=v.get("owner_name"))]
        if name == "severity":
            sev = (rest.split() or [""])[0].lower()
            if sev not in SEVERITIES:
                return [self.say("staff_error_severity", lang)]
            v = await call(be.set_severity, p.id, cid, sev)
            return [self.say("staff_case_severity", lang, case_id=cid, due_at=v.get("due_at"),
                             severity_text=self.cards.word(f"case_severity_{sev}", lang, sev))]
        if name == "close":
            return await self.close(p, lang, cid, args, rest)
        if name == "ack":
            v = await call(be.acknowledge_alert, p.id, cid)
            return [self.say("staff_case_acknowledged", lang, case_id=cid, owner_name=v.get("owner_name") or p.name)]
        if name == "rework":
            if not c.get("booking_id"):
                return [self.say("staff_error_no_booking", lang, case_id=cid)]
            starts_at, code = self.rework_args(rest.split())
            b = await call(be.arrange_rework, p.id, cid, starts_at, code)
            return [self.say("staff_rework_arranged", lang, booking_id=b["id"],
                             service=self.n.service(b["service"], lang), time=self.n.when(b["starts_at"], lang))]
        if name in ("refund", "compensate"):
            return await self.money(p, lang, name, c, rest)
        raise Usage

    async def close(self, p: Person, lang: str, cid: int, args: dict[str, Any], rest: str) -> list[dict]:
        outcome = str(args.get("outcome") or (rest.split() or [""])[0]).lower()
        note = rest.split(maxsplit=1)[1] if len(rest.split(maxsplit=1)) > 1 else ""
        if not outcome:  # the close button: the outcome is required, so offer the choices
            return [{**self.say("staff_case_close_choose", lang, case_id=cid),
                     "buttons": self.cards.outcome_buttons(cid, lang)}]
        if outcome not in OUTCOMES:
            return [self.say("staff_error_outcome", lang, outcome=outcome[:40], choices=" ".join(OUTCOMES))]
        await hop(self.be.close_case, p.id, cid, outcome, note[:2000])
        return [self.say("staff_case_closed", lang, case_id=cid, outcome_text=self.cards.outcome(outcome, lang))]

    def rework_args(self, tokens: list[str]) -> tuple[datetime | None, str | None]:
        """[YYYY-MM-DD HH:MM] [CODE] in any order, local time."""
        starts_at, code, i = None, None, 0
        while i < len(tokens):
            t = tokens[i]
            if _DATE.match(t) and i + 1 < len(tokens) and _TIME.match(tokens[i + 1]):
                try:
                    starts_at = datetime.fromisoformat(f"{t} {tokens[i + 1]:0>5}").replace(tzinfo=self.be.ctx.tz)
                except ValueError:
                    raise Usage from None
                i += 2
                continue
            if _DATE.match(t) or _TIME.match(t) or ("T" in t and t[:4].isdigit()):
                raise Usage
            code, i = t.upper(), i + 1
        return starts_at, code

    async def money(self, p: Person, lang: str, name: str, c: dict[str, Any], rest: str) -> list[dict]:
        parts = rest.split(maxsplit=1)
        if len(parts) < 2:
            raise Usage  # the refund button lands here: the usage line explains the command
        try:
            amount = cents(parts[0])
        except ValueError:
            return [self.say("staff_error_amount", lang, amount=parts[0][:20])]
        reason = parts[1].strip()[:500]
        if name == "compensate":
            r = await hop(self.be.compensate, p.id, c["id"], amount, reason)
            return [self.say("staff_compensation_granted", lang, refund_id=r["id"], case_id=c["id"],
                             amount_cents=r["amount_cents"])]
        if not c.get("booking_id"):
            return [self.say("staff_error_no_booking", lang, case_id=c["id"])]
        r = await hop(self.be.request_refund, f"manager:{p.id}", c["booking_id"], amount, reason, c["id"])
        return [self.say("staff_refund_requested", lang, refund_id=r["id"], booking_id=r.get("booking_id"),
                         amount_cents=r["amount_cents"], due_time=self.cards.deadline(r.get("due_at"), lang),
                         approve_due_time=self.cards.deadline(r.get("approve_due_at"), lang))]

    async def on_refund(self, p: Person, lang: str, name: str, rid: int, text: str, button: bool) -> list[dict]:
        rest = "" if button else (text.split(maxsplit=2)[2].strip() if len(text.split(maxsplit=2)) > 2 else "")
        be, call = self.be, hop
        try:
            if name == "approve":
                r = await call(be.approve_refund, p.id, rid)
                return [self.say("staff_refund_approved", lang, refund_id=rid, amount_cents=r["amount_cents"],
                                 due_time=self.cards.deadline(r.get("due_at"), lang))]
            if not rest:  # the paid / reject buttons explain the command that carries the text
                return [self.say(f"staff_refund_{name}_usage", lang, refund_id=rid)]
            if name == "paid":
                r = await call(be.pay_refund, p.id, rid, rest[:120])
                return [self.say("staff_refund_paid", lang, refund_id=rid, amount_cents=r["amount_cents"],
                                 reference=rest[:120])]
            await call(be.reject_refund, p.id, rid, rest[:500])
            return [self.say("staff_refund_rejected", lang, refund_id=rid)]
        except DomainError as e:
            if e.code.startswith("refund_") and e.code not in CASE_ERRORS:  # refund_paid, refund_rejected …
                status = e.code.removeprefix("refund_")
                return [self.say("staff_error_refund_done", lang, refund_id=rid,
                                 detail=self.cards.word(f"refund_status_{status}", lang, status))]
            return [self.say(CASE_ERRORS.get(e.code, "staff_error_case_action"), lang, refund_id=rid, case_id="-",
                             detail=e.code)]

    async def payment(self, p: Person, lang: str, text: str) -> list[dict]:
        parts = text.split(maxsplit=4)
        if len(parts) < 4:
            raise Usage
        booking_id = number(parts[1])
        method = parts[3].lower()
        if method not in METHODS:
            return [self.say("staff_error_method", lang)]
        try:
            amount = cents(parts[2])
        except ValueError:
            return [self.say("staff_error_amount", lang, amount=parts[2][:20])]
        ref = parts[4].strip()[:120] if len(parts) > 4 else None
        kind = "payment"
        if ref and ref.split()[0].lower() in DEPOSIT_WORDS:  # a placement's deposit (issue 12)
            kind, ref = "deposit", ref.partition(" ")[2].strip() or None
        try:
            await hop(self.be.record_payment, f"manager:{p.id}", booking_id, amount, method, None, ref,
                                    kind)
        except DomainError as e:
            return [self.say(CASE_ERRORS.get(e.code, "staff_error_case_action"), lang, booking_id=booking_id,
                             case_id="-", detail=e.code, amount=parts[2][:20])]
        return [self.say("staff_payment_recorded", lang, booking_id=booking_id, amount_cents=amount,
                         method_text=self.cards.word(f"payment_method_{method}", lang, method))]

    async def list_cases(self, p: Person, lang: str) -> list[dict]:
        items = await hop(self.be.cases, p.id)
        if not items:
            return [self.say("staff_no_cases", lang)]
        shown = items[:LIST_LIMIT]
        lines = "\n".join(self.cards.list_line(c, lang) for c in shown)
        msg = self.say("staff_cases", lang, count=len(items), lines=lines)
        msg["buttons"] = [{"title": self.cards.word("case_button_open", lang, case_id=c["id"]),
                           "payload": payload("open_case", case_id=c["id"])} for c in shown[:10]]
        return [msg]

    async def list_refunds(self, lang: str) -> list[dict]:
        items = await hop(self.be.open_refunds)
        if not items:
            return [self.say("staff_no_refunds", lang)]
        head = self.say("staff_refunds", lang, count=len(items),
                        lines="\n".join(self.cards.refund_line(r, lang) for r in items[:LIST_LIMIT]))
        return [head] + [self.cards.refund(r, lang, "view") for r in items[:10]]

    # --- housekeepers ---------------------------------------------------------------------------
    async def housekeeper(self, p: Person, lang: str, intent: str, args: dict[str, Any], text: str) -> list[dict]:
        if intent == "finished_cash":
            return await self.finished_cash(p, lang, int(args["booking_id"]))
        return await self.emergency(p, lang, "" if args else text, args.get("booking_id"))

    async def emergency(self, p: Person, lang: str, text: str, booking_id: int | None = None) -> list[dict]:
        """/emergency [BOOKING] text: the booking defaults to her job in progress, else today's next one
        (a job card's button carries the booking)."""
        parts = text.split(maxsplit=1)
        rest = parts[1].strip() if len(parts) > 1 else ""
        first = rest.split(maxsplit=1)[0] if rest else ""
        booking_id = int(booking_id) if booking_id is not None else None
        if first.lstrip("#").isdigit():
            booking_id, rest = int(first.lstrip("#")), rest[len(first):].strip()
        if booking_id is None:
            jobs = await hop(self.be.jobs, p.id, 1)
            now = self.be.now
            current = [j for j in jobs if j["status"] == "in_progress"]
            upcoming = [j for j in jobs if j["status"] == "confirmed" and datetime.fromisoformat(j["ends_at"]) > now]
            pick = (current or upcoming or [None])[0]
            if pick is None:
                return [self.say("staff_emergency_no_booking", lang)]
            booking_id = pick["id"]
        try:
            await hop(self.be.housekeeper_emergency, p.id, booking_id, rest[:2000])
        except DomainError as e:
            if e.code in ("not_your_job", "booking_not_found"):
                return [self.say("staff_error_not_your_job", lang)]
            raise
        return [self.say("staff_emergency_sent", lang, booking_id=booking_id)]

    async def finished_cash(self, p: Person, lang: str, booking_id: int) -> list[dict]:
        """已完成（已收现金）: finish the job, then record the booking's price as paid in cash."""
        b = await hop(self.be.finish, p.id, booking_id)
        amount = int(b.get("price") or 0) * 100  # bookings are priced in whole yuan, payments in fen
        if amount > 0:
            await hop(self.be.record_payment, f"housekeeper:{p.id}", booking_id, amount, "cash")
        return [self.say("staff_finished_cash", lang, booking_id=booking_id, amount_cents=amount)]
