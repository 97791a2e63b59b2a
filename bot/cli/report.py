"""`frontdesk report …`: management figures (read-only; no personal data in the output)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import typer

from bot.cli import app, fail, setup_logging

report_app = typer.Typer(help="Management figures: cases, first responses, refunds, call-back surveys.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")

DEFAULT_DAYS = 30


def _period(r: dict[str, Any]) -> str:
    """The days covered, both inclusive as given on the command line (the stored end is exclusive)."""
    start, end = datetime.fromisoformat(r["period"]["start"]), datetime.fromisoformat(r["period"]["end"])
    return f"{start.date()} to {(end - timedelta(microseconds=1)).date()}"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-11-01, not {value!r}")
    return None


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """Inclusive local dates; the default is the last 30 days up to today."""
    end = end or today
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def _num(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f} %"


def _met(v: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "-"}[v]


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in d.items()) or "-"


def render(r: dict[str, Any]) -> str:
    """The report as a plain English table (what a manager reads in a terminal or a mail)."""
    c, fr, cl = r["cases"], r["first_response"], r["close"]
    lines = [f"Cases {_period(r)} (opened; as of "
             f"{r['period']['as_of'][:16]}, {r['period']['tz']})", ""]
    lines.append(f"{'kind':<18}{'cases':>7}{'high':>6}{'normal':>8}{'low':>5}{'in time':>10}"
                 f"{'mean 1st h':>12}{'mean close h':>14}")
    for kind, n in c["by_kind"].items():
        sev, f, k = c["by_kind_severity"][kind], r["first_response_by_kind"][kind], r["close_by_kind"][kind]
        lines.append(f"{kind:<18}{n:>7}{sev.get('high', 0):>6}{sev.get('normal', 0):>8}{sev.get('low', 0):>5}"
                     f"{_pct(f['share_within_deadline']):>10}{_num(f['mean_hours']):>12}{_num(k['mean_hours']):>14}")
    lines.append(f"{'all':<18}{c['total']:>7}{c['by_severity'].get('high', 0):>6}"
                 f"{c['by_severity'].get('normal', 0):>8}{c['by_severity'].get('low', 0):>5}"
                 f"{_pct(fr['share_within_deadline']):>10}{_num(fr['mean_hours']):>12}{_num(cl['mean_hours']):>14}")
    h, d, rf = r["handling"], r["disputes"], r["refunds"]
    lines += [
        "",
        f"Complaints by category:   {_counts(c['by_category'])}",
        f"First response:           {fr['within_deadline']} within the deadline, {fr['late']} late, "
        f"{fr['missed']} missed, {fr['pending']} not yet due ({_pct(fr['share_within_deadline'])} in time)",
        f"  time to first response: mean {_num(fr['mean_hours'], ' h')}, median {_num(fr['median_hours'], ' h')}, "
        f"p90 {_num(fr['p90_hours'], ' h')}",
        f"  complaints, mean:       target {_num(h['target_mean_hours'], ' h')}, actual "
        f"{_num(h['actual_mean_hours'], ' h')} ({_met(h['met'])})",
        f"Time to close:            mean {_num(cl['mean_hours'], ' h')}, median {_num(cl['median_hours'], ' h')}, "
        f"p90 {_num(cl['p90_hours'], ' h')} ({cl['count']} closed)",
        f"Resolved:                 {r['resolved']['resolved']} of {r['resolved']['closed']} closed "
        f"({_pct(r['resolved']['share'])})",
        f"Disputes resolved:        {d['resolved']} of {d['closed']} closed complaints ({_pct(d['share'])}; "
        f"target {_pct(d['target_share'])}, {_met(d['met'])})",
        f"Refunds:                  {rf['requested']} requested ({_counts(rf['by_status'])}); "
        f"{rf['completed_in_time']} paid within {rf['within_working_days']} working days, {rf['late']} late, "
        f"{rf['pending']} in progress ({_pct(rf['share_in_time'])}; target {_pct(rf['target_share'])}, "
        f"{_met(rf['met'])})",
        f"  paid out:               refunds ¥{rf['refunded_cents'] / 100:.2f}, "
        f"{rf['compensations']} compensation(s) ¥{rf['compensated_cents'] / 100:.2f}",
        f"Breaches:                 {r['breaches']['count']} ({_counts(r['breaches']['by_kind'])}), "
        f"{r['breaches']['acknowledged']} acknowledged",
        f"Satisfied with handling:  yes {r['satisfaction']['yes']}, no {r['satisfaction']['no']}, "
        f"no answer {r['satisfaction']['unanswered']}",
    ]
    o = r["open"]
    oldest = (f"; oldest #{o['oldest']['id']} ({o['oldest']['kind']}, {o['oldest']['status']}, "
              f"{_num(o['oldest']['age_hours'], ' h')} old)") if o["oldest"] else ""
    lines.append(f"Open now:                 {o['count']} ({_counts(o['by_kind'])}), "
                 f"{o['breached']} breached{oldest}")
    return "\n".join(lines)


def window(backend: Any, first: date, last: date) -> tuple[datetime, datetime]:
    """Local days first..last (inclusive) as [start, end) instants in the company's time zone."""
    tz = backend.ctx.tz
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)


def run_report(start: str | None, end: str | None, as_json: bool, tables: str,
               compute: Callable[[Any, date, date], dict[str, Any]], show: Callable[[dict[str, Any]], str]) -> None:
    """A report command's body: the period from --from/--to, the figures read-only, a table or JSON."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from backend.api import Backend
    from config import load_settings

    setup_logging()
    first_day, last_day = _day(start, "--from"), _day(end, "--to")
    try:
        backend = Backend.from_settings(load_settings())
    except ValueError as e:  # e.g. a config file that does not parse
        fail(str(e))
    try:
        first, last = period(first_day, last_day, backend.now.astimezone(backend.ctx.tz).date())
        if first > last:
            fail("--from is after --to")
        try:
            r = compute(backend, first, last)
        except (OperationalError, ProgrammingError):
            fail(f"the database has no {tables} tables yet: run `frontdesk db upgrade` first")
    finally:
        backend.db.dispose()
    typer.echo(json.dumps(r, ensure_ascii=False, indent=2) if as_json else show(r))


def figures(backend: Any, first: date, last: date, targets: Any = None) -> dict[str, Any]:
    """The report for local days first..last (inclusive), in a read-only session."""
    from backend.services import reports

    with backend.db.read() as s:
        return reports.case_report(backend.ctx, s, *window(backend, first, last), targets=targets)


@report_app.command("cases")
def report_cases(
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 30 days ago)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, inclusive (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Cases by kind, category and severity; first responses and closing times against the standard;
    resolved share, disputes, refunds within 3 working days, breaches, satisfaction, open cases."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from backend.api import Backend
    from backend.services.reports import load_targets
    from config import load_settings

    setup_logging()
    first_day, last_day = _day(start, "--from"), _day(end, "--to")
    settings = load_settings()
    try:
        targets = load_targets(settings.cases_file)
    except ValueError as e:
        fail(str(e))
    backend = Backend.from_settings(settings)
    try:
        first, last = period(first_day, last_day, backend.now.astimezone(backend.ctx.tz).date())
        if first > last:
            fail("--from is after --to")
        try:
            r = figures(backend, first, last, targets)
        except (OperationalError, ProgrammingError):
            fail("the database has no case tables yet: run `frontdesk db upgrade` first")
    finally:
        backend.db.dispose()
    typer.echo(json.dumps(r, ensure_ascii=False, indent=2) if as_json else render(r))


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _left(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render_surveys(r: dict[str, Any]) -> str:
    """The survey report as a plain English table (no client data: codes, first names, counts, scores)."""
    v, s, c, m, b = r["visits"], r["surveys"], r["coverage"], r["means"], r["below"]
    t = r["targets"]
    ah = s["answer_hours"]
    lines = [f"Call-back surveys {_period(r)} (visits finished; as of "
             f"{r['period']['as_of'][:16]}, {r['period']['tz']})", "",
             f"Visits finished:          {v['finished']} ({_counts(v['by_finished_by'])}); surveyed {v['surveyed']}, "
             f"waiting to be sent {v['waiting_to_send']}, not surveyed {v['not_surveyed']}",
             f"Surveys:                  {s['sent']} sent, {s['reminded']} reminded, {s['answered']} answered "
             f"({s['unasked']} unasked), {s['expired']} closed unanswered, {s['awaiting']} awaiting an answer",
             f"  time to answer:         mean {_num(ah['mean_hours'], ' h')}, median {_num(ah['median_hours'], ' h')}, "
             f"p90 {_num(ah['p90_hours'], ' h')}",
             f"Coverage:                 {c['answered']} of {c['closed']} closed surveys answered ({_pct(c['share'])}; "
             f"target {_pct(c['target'])}, {_met(c['met'])})",
             f"Mean scores:              attitude {_num(m['attitude'])}, skill {_num(m['skill'])}, "
             f"result {_num(m['result'])}, overall {_num(m['overall'])} (target {_num(float(m['target']))}, "
             f"{_met(m['met'])})",
             f"Below {t['followup_mean_below']:.1f}:                {b['count']} of {b['answered']} answered "
             f"({_pct(b['share'])}); followed up in time {b['followed_up_in_time']}, late {b['late']}, "
             f"missed {b['missed']}, not yet due {b['pending']}, no case {b['no_case']} "
             f"({_pct(b['share_in_time'])} in time, {_met(b['met'])})",
             ""]
    head = (f"{'code':<8}{'name':<10}{'visits':>7}{'answered':>9}{'coverage':>10}{'attitude':>9}{'skill':>7}"
            f"{'result':>7}{'mean':>6}{'below':>6}{'rating':>8}{'surveys':>8}")
    lines.append(head)
    for h in r["housekeepers"]:
        lines.append(f"{h['code'] or '-':<8}{_left(h['name'], 10)}{h['visits']:>7}{h['answered']:>9}"
                     f"{_pct(h['coverage']):>10}{_num(h['attitude']):>9}{_num(h['skill']):>7}{_num(h['result']):>7}"
                     f"{_num(h['overall']):>6}{h['below']:>6}{_num(h['rating']):>8}{_num(h['survey_count']):>8}")
    if not r["housekeepers"]:
        lines.append("(no visits finished in the period)")
    return "\n".join(lines)


def survey_figures(backend: Any, first: date, last: date) -> dict[str, Any]:
    """The survey report for local days first..last (inclusive, by the visits' finish time), read-only."""
    return backend.survey_report(*window(backend, first, last))


@report_app.command("surveys")
def report_surveys(
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 30 days ago)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, inclusive (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Call-back surveys of the visits finished in the period: coverage, mean scores per dimension and per
    housekeeper, the share below 4.0 and how many of those were followed up in time, against the standard."""
    run_report(start, end, as_json, "survey", survey_figures, render_surveys)


# --- `frontdesk report bookings` (issue 10) ----------------------------------------------------------
def _mins(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} min"


def _booking_line(label: str, f: dict[str, Any]) -> str:
    m, t, p, w, c, ch = (f["match"], f["time_to_confirm"], f["punctuality"], f["worked_time"], f["cancellations"],
                         f["changes"])
    return (f"{_left(label, 14)}{m['requested']:>5}{m['matched']:>6}{_pct(m['share']):>9}"
            f"{_mins(t['median_minutes']):>9}{_mins(t['p90_minutes']):>9}{_pct(t['share_within_target']):>9}{p['checked_in']:>6}"
            f"{_pct(p['share_on_time']):>9}{_num(w['ratio']):>7}{c['count']:>6}{c['with_fee']:>5}"
            f"{ch['applied']:>6}{ch['declined']:>6}")


def render_bookings(r: dict[str, Any]) -> str:
    """The booking report as a plain English table (services and housekeeper codes; no client data)."""
    o, tg = r["overall"], r["targets"]
    m, t, p, w, c, ch, of = (o["match"], o["time_to_confirm"], o["punctuality"], o["worked_time"],
                             o["cancellations"], o["changes"], o["offers"])
    lines = [f"Bookings {_period(r)} (as of {r['period']['as_of'][:16]}, {r['period']['tz']})", "",
             f"Match success:            {m['matched']} of {m['requested']} requested got a confirmed housekeeper "
             f"({_pct(m['share'])}; target {_pct(m['target'])}, {_met(m['met'])}); withdrawn by the client "
             f"before a match {m['withdrawn']} ({_pct(m['share_excluding_withdrawn'])} without them), "
             f"unassigned {m['unassigned']}, still being offered {m['still_open']}",
             f"Time to a housekeeper:    median {_mins(t['median_minutes'])}, p90 {_mins(t['p90_minutes'])}, "
             f"mean {_mins(t['mean_minutes'])}; {t['within_target']} of {t['count']} within "
             f"{tg['confirm_minutes']} min ({_pct(t['share_within_target'])}; target {_pct(t['target_share'])}, "
             f"{_met(t['met'])})",
             f"Punctuality:              {p['due']} visits due, {p['checked_in']} checked in, {p['not_checked_in']} "
             f"without a check-in; on time (≤ {p['grace_minutes']} min) {p['on_time']}, late {p['late']} "
             f"({_pct(p['share_on_time'])} on time; late by mean {_mins(p['late_mean_minutes'])}, "
             f"max {_mins(p['late_max_minutes'])}); lateness announced {p['announced_late']}, "
             f"kept to {p['announced_kept']}",
             f"Worked vs booked:         {w['worked_hours']:.2f} h worked of {w['booked_hours']:.2f} h booked "
             f"over {w['visits']} finished visits (ratio {_num(w['ratio'])}); {w['short']} short by "
             f"{w['short_minutes']} min or more",
             f"Cancellations:            {c['count']} ({_counts(c['by'])}); after a match {c['after_match']}, "
             f"before {c['before_match']}; with a fee {c['with_fee']} (¥{c['fees_cents'] / 100:.2f}), "
             f"free {c['free']}",
             f"Changes:                  {ch['count']} asked; applied {ch['applied']}, declined {ch['declined']}, "
             f"withdrawn {ch['cancelled']}, pending {ch['pending']}; moved to another housekeeper "
             f"{ch['moved_to_another']}",
             f"Job offers:               {of['count']} made; accepted {of['accepted']}, declined {of['declined']}, "
             f"expired {of['expired']}, withdrawn {of['withdrawn']}, pending {of['pending']} "
             f"({_pct(of['share_accepted'])} of answers accepted)", ""]
    head = (f"{_left('', 14)}{'req':>5}{'match':>6}{'match %':>9}{'median':>9}{'p90':>9}{'≤30 min':>9}"
            f"{'check':>6}{'on time':>9}{'work':>7}{'canc':>6}{'fee':>5}{'chg ok':>6}{'chg no':>6}")
    lines += [head, _booking_line("all", o)]
    lines += [_booking_line(svc, f) for svc, f in r["services"].items()]
    if r["housekeepers"]:
        lines += ["", head + f"{'offers':>8}{'acc %':>8}"]
        lines += [_booking_line(h["code"] or "-", h)
                  + f"{h['offers']['count']:>8}{_pct(h['offers']['share_accepted']):>8}" for h in r["housekeepers"]]
    return "\n".join(lines)


def booking_figures(backend: Any, first: date, last: date) -> dict[str, Any]:
    """The booking report for local days first..last (inclusive), read-only."""
    return backend.booking_report(*window(backend, first, last))


@report_app.command("bookings")
def report_bookings(
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 30 days ago)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, inclusive (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Bookings requested in the period: match success (target 80 %), time to a confirmed housekeeper
    (target 30 min); visits due: punctuality and worked vs booked time; cancellations and changes; per
    service and per housekeeper code."""
    run_report(start, end, as_json, "booking", booking_figures, render_bookings)
