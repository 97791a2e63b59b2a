"""Custom requests for managers: proposals (what, when, for how much) sent to the client.

``/propose N <description> ¥<price> [service] [YYYY-MM-DD HH:MM | MM-DD HH:MM] [3h | 120㎡]``; the case
card's "提方案 / Propose" button (``/propose_case{"case_id": N}``) answers with the format and a ready
line to complete. The price is what the client pays (¥1200 or 1200元); the service is a catalogue id
or its name; without a service and time the client's booking form asks for them after accepting.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from dialogs.notify import Notifier
from dialogs.threads import hop

_PRICE = re.compile(r"(?:[¥￥]\s*(\d+(?:\.\d{1,2})?))|(?:(\d+(?:\.\d{1,2})?)\s*(?:元|yuan|CNY|RMB))", re.I)
_TIME = re.compile(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})")
_HOURS = re.compile(r"(\d+(?:\.\d)?)\s*(?:h|hrs?|hours?|小时)(?![a-z])", re.I)
_AREA = re.compile(r"(\d+(?:\.\d)?)\s*(?:㎡|平米|平方米|平|sqm|m2)(?![a-z])", re.I)
_CASE = re.compile(r"^#?(\d+)$")
# Known refusals a manager can fix herself; anything else is the generic bad-state message.
REFUSALS = {"invalid_price", "invalid_description", "unknown_service", "time_past", "not_a_custom_request",
            "not_your_case", "case_not_found", "case_closed", "invalid_schedule"}


class ProposalStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the command or button is this desk's, else None (StaffDesk goes on)."""
        if cmd != "/propose" and intent != "propose_case":
            return None
        if p.kind != "manager":
            return [self.n.text("staff_error_not_manager", lang)]
        if intent == "propose_case":
            case_id = int(args["case_id"])
            return [self.n.text("staff_proposal_guide", lang, case_id=case_id,
                                services=", ".join(self.be.catalogue.services))]
        parsed = self.parse(text)
        if parsed is None:
            return [self.n.text("staff_proposal_format", lang)]
        case_id = parsed.pop("case_id")
        try:
            prop = await hop(self.be.propose, p.id, case_id, **parsed)
        except DomainError as e:
            if e.code not in REFUSALS:
                raise
            return [self.n.text(f"staff_proposal_refused_{e.code}", lang, case_id=case_id)]
        return [self.n.render("proposal_sent", prop, lang)]

    def parse(self, text: str) -> dict[str, Any] | None:
        """The command's parts; None when the case number, the price or the description is missing."""
        parts = text.strip().split(maxsplit=2)
        if len(parts) < 3 or not _CASE.match(parts[1]):
            return None
        rest = parts[2]
        out: dict[str, Any] = {"case_id": int(_CASE.match(parts[1])[1])}
        m = _PRICE.search(rest)
        if m is None:
            return None
        out["price_cents"] = round(float(m[1] or m[2]) * 100)
        rest = rest[:m.start()] + " " + rest[m.end():]
        m = _TIME.search(rest)
        if m is not None:
            out["starts_at"] = self._time(m)
            rest = rest[:m.start()] + " " + rest[m.end():]
        for key, rx in (("hours", _HOURS), ("area", _AREA)):
            m = rx.search(rest)
            if m is not None:
                out[key] = float(m[1])
                rest = rest[:m.start()] + " " + rest[m.end():]
        service, rest = self._service(rest)
        if service:
            out["service"] = service
        description = re.sub(r"\s+", " ", rest).strip(" ,，;；")
        if not description:
            return None
        out["description"] = description
        return out

    def _time(self, m: re.Match[str]) -> datetime:
        now = self.be.now.astimezone(self.be.ctx.tz)
        year = int(m[1]) if m[1] else now.year
        t = datetime(year, int(m[2]), int(m[3]), int(m[4]), int(m[5]), tzinfo=self.be.ctx.tz)
        if not m[1] and t < now:
            t = t.replace(year=year + 1)  # "01-05 09:00" said in December is next January
        return t

    def _service(self, text: str) -> tuple[str | None, str]:
        """A catalogue id or name standing as its own word (longest names first: 深度保洁 before 保洁)."""
        names = [(n, sid) for sid, svc in self.be.catalogue.services.items() for n in (sid, *svc.name.values())]
        for name, sid in sorted(names, key=lambda x: -len(x[0])):
            m = re.search(rf"(?:(?<=\s)|^){re.escape(name)}(?=\s|$)", text, re.I)
            if m:
                return sid, text[:m.start()] + " " + text[m.end():]
        return None, text
