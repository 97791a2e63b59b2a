"""Turning outbox notifications (template + params) into messages in the recipient's language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from backend.domain.profile import Vocabulary
from dialogs.cards import Cards
from dialogs.domain import Domain, base_lang, localise

KIND_TEXT = "escalation_kind_{kind}"


def money(cents: int) -> str:
    """¥120 or ¥120.50: the same in every language."""
    yuan, fen = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}¥{yuan}" + (f".{fen:02d}" if fen else "")


PROFILE_FILE = Path(__file__).resolve().parents[1] / "config" / "profile.yaml"


def _default_vocabulary() -> Vocabulary:
    """The shipped vocabulary, for a Notifier built without the backend's (tests, tools)."""
    from backend.policy import load_vocabulary

    return load_vocabulary(PROFILE_FILE) if PROFILE_FILE.exists() else Vocabulary()


class Notifier:
    def __init__(self, domain: Domain, catalogue: Any, tz: Any, clock: Any = None,
                 vocabulary: Vocabulary | None = None) -> None:
        self.domain, self.catalogue, self.tz, self.clock = domain, catalogue, tz, clock
        self.vocabulary = vocabulary if vocabulary is not None else _default_vocabulary()  # profile codes → words
        self.cards = Cards(self)

    money = staticmethod(money)

    def now(self) -> datetime | None:
        """The backend's clock (ages on cards); None when rendering without one."""
        return self.clock.now() if self.clock is not None else None

    def when(self, iso: str | None, lang: str, time_only: bool = False) -> str:
        if not iso:
            return ""
        t = datetime.fromisoformat(iso).astimezone(self.tz)
        if time_only:
            return f"{t:%H:%M}"
        if lang == "en":
            return t.strftime("%a %d %b, %H:%M").replace(" 0", " ")
        return f"{t.month}月{t.day}日（周{'一二三四五六日'[t.weekday()]}）{t:%H:%M}"

    def service(self, sid: str | None, lang: str) -> str:
        if sid and sid in self.catalogue:
            return localise(self.catalogue[sid].name.get(base_lang(lang), sid), lang)
        return sid or ""

    def render(self, template: str, params: dict[str, Any], lang: str) -> dict[str, Any]:
        if template == "reply":  # a turn's replies, already in the conversation's language (inbox turns)
            if params.get("parts"):  # a whole turn as one message; a channel that can show parts uses them
                parts = list(params["parts"])
                out: dict[str, Any] = {"text": "\n\n".join(str(p.get("text") or "") for p in parts).strip(),
                                       "parts": parts}
                buttons = [b for p in parts for b in p.get("buttons") or []]
                return {**out, "buttons": buttons} if buttons else out
            return {k: params[k] for k in ("text", "buttons", "custom", "answer") if params.get(k)}
        if template in ("case_alert", "case_card") and isinstance(params.get("card"), dict):
            return self.cards.case(params["card"], lang, params.get("reason") or "update")
        if template == "refund_alert" and params.get("id") is not None:
            # the alert's ``reason`` says why it was sent; the refund's own travels as ``refund_reason``
            return self.cards.refund({**params, "reason": params.get("refund_reason")}, lang,
                                     params.get("reason") or "new")
        p = dict(params)
        for k, v in params.items():  # due_at → due_time, amount_cents → amount: ready for any template
            if k.endswith("_at") and isinstance(v, str) and k != "starts_at":
                p[f"{k[:-3]}_time"] = self.when(v, lang)
            elif k.endswith("_cents") and isinstance(v, int):
                p[k[:-6]] = money(v)
        p["time"] = self.when(params.get("starts_at"), lang)
        p["end"] = self.when(params.get("ends_at"), lang, time_only=True)
        p["service"] = self.service(params.get("service"), lang)
        if template == "offer_new":
            p["profile_text"] = self.offer_profile(params.get("profile_codes"), lang)
        if template == "booking_confirmed":
            p.setdefault("badges_text", "")  # confirmations queued before vetting records existed
        if template == "job_confirmed":
            p["notes_text"] = self.job_notes(params.get("standing_notes"), params.get("notes"), lang,
                                             params.get("address_as"))
        if template == "escalation_new":
            kind = self.domain.render(KIND_TEXT.format(kind=params.get("kind")), lang, {})
            p["kind_text"] = kind["text"] if kind else params.get("kind")
            detail = params.get("detail") or {}
            bits = [f"#{params['booking_id']}" if params.get("booking_id") else "",
                    self.service(detail.get("service"), lang), self.when(detail.get("starts_at"), lang),
                    f"“{detail['text']}”" if detail.get("text") else "",
                    f"client {params['client_id']}" if lang == "en" and params.get("client_id") else
                    (f"客户 {params['client_id']}" if params.get("client_id") else "")]
            p["detail_text"] = " · ".join(b for b in bits if b)
        if template == "case_closed":
            p["outcome_text"] = self._word(f"case_client_outcome_{params.get('outcome')}", lang, "")
            p.setdefault("note", "")
        if template == "delivery_failed":
            p["kind_text"] = self._word(f"outbox_person_{params.get('recipient_kind')}", lang,
                                     params.get("recipient_kind"))
            p["reason_text"] = self._word(f"outbox_reason_{params.get('reason')}", lang, params.get("reason"))
        msg = self.domain.render(f"notify_{template}", lang, p)
        if msg and template == "client_message" and params.get("attachment_ids"):
            # files a client sent while a manager holds the conversation: uploaded from storage
            ids = params["attachment_ids"]
            msg["text"] += "\n" + self.cards.word("case_line_files", lang, count=len(ids))
            msg["files"] = [{"id": i} for i in ids]
        return msg or {"text": f"{template}: {params}"}

    def label(self, code: str, lang: str) -> str:
        term = self.vocabulary.term(code)
        return localise(term.label(base_lang(lang)), lang) if term is not None else ""

    def offer_profile(self, codes: list[str] | None, lang: str) -> str:
        """The offer card's line: our words for the coded notes (有猫、不用消毒水), never the client's;
        "" when there are none. Starts with a line break, to follow the card's text."""
        if not isinstance(codes, list):  # erased ("—") or absent
            return ""
        labels = [x for x in (self.label(str(c), lang) for c in codes) if x]
        if not labels:
            return ""
        found = self.domain.render("offer_profile_line", lang, {"labels": ("、" if base_lang(lang) == "zh"
                                                                           else ", ").join(labels)})
        return "\n" + found["text"] if found else ""

    def job_notes(self, notes: list[dict[str, Any]] | None, booking_notes: str | None, lang: str,
                  address_as: str | None = None) -> str:
        """The job card's lines after acceptance: how to address the client, every standing note with the
        client's own words, and the booking's notes; "" when there are none."""
        zh = base_lang(lang) == "zh"
        parts = []
        for n in notes if isinstance(notes, list) else []:  # erased notes are "—"
            if not isinstance(n, dict):
                continue
            label, words = self.label(n.get("code") or "", lang), (n.get("text") or "").strip()
            if label and words:
                parts.append(f"{label}（“{words}”）" if zh else f"{label} (“{words}”)")
            elif label or words:
                parts.append(label or words)
        lines = []
        if isinstance(address_as, str) and address_as.strip() and address_as != "—":
            found = self.domain.render("job_address_as_line", lang, {"name": address_as.strip()})
            lines.append(found["text"] if found else "")
        if parts:
            found = self.domain.render("job_profile_line", lang, {"notes": ("；" if zh else "; ").join(parts)})
            lines.append(found["text"] if found else "")
        if isinstance(booking_notes, str) and booking_notes.strip() and booking_notes != "—":
            found = self.domain.render("job_notes_line", lang, {"notes": booking_notes.strip()})
            lines.append(found["text"] if found else "")
        return "".join(f"\n{line}" for line in lines if line)

    def _word(self, response: str, lang: str, fallback: Any) -> str:
        found = self.domain.render(response, lang, {})
        return found["text"] if found else str(fallback or "")

    def text(self, response: str, lang: str, **params: Any) -> dict[str, Any]:
        return self.domain.render(response, lang, params) or {"text": response}
