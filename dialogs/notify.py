"""Turning outbox notifications (template + params) into messages in the recipient's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialogs.domain import Domain

KIND_TEXT = "escalation_kind_{kind}"


def money(cents: int) -> str:
    """¥120 or ¥120.50: the same in every language."""
    yuan, fen = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}¥{yuan}" + (f".{fen:02d}" if fen else "")


class Notifier:
    def __init__(self, domain: Domain, catalogue: Any, tz: Any) -> None:
        self.domain, self.catalogue, self.tz = domain, catalogue, tz

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
            return self.catalogue[sid].name.get(lang, sid)
        return sid or ""

    def render(self, template: str, params: dict[str, Any], lang: str) -> dict[str, Any]:
        if template == "reply":  # a turn's replies, already in the conversation's language (inbox turns)
            return {k: params[k] for k in ("text", "buttons", "custom") if params.get(k)}
        p = dict(params)
        for k, v in params.items():  # due_at → due_time, amount_cents → amount: ready for any template
            if k.endswith("_at") and isinstance(v, str) and k != "starts_at":
                p[f"{k[:-3]}_time"] = self.when(v, lang)
            elif k.endswith("_cents") and isinstance(v, int):
                p[k[:-6]] = money(v)
        p["time"] = self.when(params.get("starts_at"), lang)
        p["end"] = self.when(params.get("ends_at"), lang, time_only=True)
        p["service"] = self.service(params.get("service"), lang)
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
        if template == "delivery_failed":
            p["kind_text"] = self._word(f"outbox_person_{params.get('recipient_kind')}", lang,
                                     params.get("recipient_kind"))
            p["reason_text"] = self._word(f"outbox_reason_{params.get('reason')}", lang, params.get("reason"))
        msg = self.domain.render(f"notify_{template}", lang, p)
        return msg or {"text": f"{template}: {params}"}

    def _word(self, response: str, lang: str, fallback: Any) -> str:
        found = self.domain.render(response, lang, {})
        return found["text"] if found else str(fallback or "")

    def text(self, response: str, lang: str, **params: Any) -> dict[str, Any]:
        return self.domain.render(response, lang, params) or {"text": response}
