"""Vetting on the staff desk (issue 12): a manager's /vetting CODE shows a housekeeper's file; a
housekeeper's /myfile shows what in her own file lapses when. Recording stays with `frontdesk staff vet`
and the roster (papers are checked in the office)."""

from __future__ import annotations

from typing import Any

from backend.api import Backend, DomainError
from backend.services.people import Person
from backend.services.vetting import label
from dialogs.notify import Notifier
from dialogs.threads import hop


class VettingStaffDesk:
    def __init__(self, backend: Backend, notifier: Notifier) -> None:
        self.be, self.n = backend, notifier

    async def handle(self, p: Person, lang: str, cmd: str, intent: str, args: dict[str, Any],
                     text: str = "") -> list[dict[str, Any]] | None:
        """Replies when the message is this desk's, else None (StaffDesk goes on)."""
        if cmd == "/myfile" and p.kind == "housekeeper":
            return [self.myfile(await hop(self.be.own_vetting_file, p.id), lang)]
        if cmd != "/vetting":
            return None
        if p.kind != "manager":
            return [self.n.text("staff_error_not_manager", lang)]
        parts = text.split()
        if len(parts) < 2:
            return [self.n.text("staff_vetting_help", lang)]
        try:
            f = await hop(self.be.vetting_file, parts[1].upper())
        except DomainError:  # no such housekeeper (a manager's code is not one either)
            return [self.n.text("staff_vetting_no_such", lang, code=parts[1].upper())]
        return [self.file(f, lang)]

    def _word(self, key: str, lang: str, **params: Any) -> str:
        return str(self.n.text(key, lang, **params)["text"])

    def file(self, f: dict[str, Any], lang: str) -> dict[str, Any]:
        missing, none = self._word("staff_vetting_missing", lang), self._word("staff_vetting_none", lang)
        sep = "；" if lang != "en" else "; "

        def dated(d: dict[str, Any] | None, *keys: str) -> str:
            return " ".join(str(d[k]) for k in keys if d.get(k)) if d else missing

        insurance = sep.join(f"{label('insurance:' + i['kind'], lang)} {i['number'] or ''} → {i['expires_on']}"
                             for i in f["insurance"]) or missing
        certs = sep.join(f"{label('certificate:' + c['kind'], lang)} {c['number'] or ''} → {c['expires_on']}"
                         for c in f["certificates"]) or none
        last = f["last_quality_check"]
        quality = str(f["quality_checks_this_month"]) + (f" ({last['on']} {last['result']})" if last else "")
        badges = ("、" if lang != "en" else ", ").join(self._word(f"staff_vetting_badge_{b}", lang)
                                                       for b in f["badges"]) or none
        problems = ""
        if f["problems"]:
            when = (self._word("staff_vetting_enforced", lang) if f["enforced"] else
                    self._word("staff_vetting_warn_only", lang, date=f["enforce_from"] or "—"))
            items = sorted({x.removeprefix("vetting:") for ps in f["problems"].values() for x in ps})
            problems = self._word("staff_vetting_problems", lang, when=when,
                                  items=sep.join(label(i, lang) for i in items))
        soon = [e for e in f["expiring"] if e["days"] <= 60]
        expiring = self._word("staff_vetting_expiring", lang, items=sep.join(
            f"{label(e['item'], lang)} {e['expires_on']}" for e in soon)) if soon else ""
        return self.n.text("staff_vetting_file", lang, name=f["name"], code=f["code"], status=f["status"],
                           identity=dated(f["identity"], "on", "by"), background=dated(f["background"], "on", "result"),
                           insurance=insurance, training=f"{f['training_hours']:g}",
                           min_training=f"{f['min_training_hours']:g}",
                           assessments=sep.join(f"{a['on']} {a['result']}" for a in f["assessments"]) or missing,
                           certificates=certs, quality=quality, badges=badges, problems=problems,
                           expiring=expiring)

    def myfile(self, f: dict[str, Any], lang: str) -> dict[str, Any]:
        lines = [self._word("staff_myfile_line_lapsed" if e["days"] < 0 else "staff_myfile_line", lang,
                            item=label(e["item"], lang), expires_on=e["expires_on"], days=e["days"])
                 for e in f["expiring"]]
        problems = ""
        if f["problems"]:
            items = sorted({x.removeprefix("vetting:") for ps in f["problems"].values() for x in ps})
            when = (self._word("staff_vetting_enforced", lang) if f["enforced"] else
                    self._word("staff_vetting_warn_only", lang, date=f["enforce_from"] or "—"))
            problems = self._word("staff_vetting_problems", lang, when=when,
                                  items=("；" if lang != "en" else "; ").join(label(i, lang) for i in items))
        return self.n.text("staff_myfile", lang, name=f["name"],
                           items="\n".join(lines) or self._word("staff_myfile_empty", lang), problems=problems)
