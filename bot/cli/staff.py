"""`frontdesk staff …` and `frontdesk demo`: housekeepers and managers.

Tokens are printed only by the command that creates them, only for the people it was asked about,
and only once: the database keeps their SHA-256, never the token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli import app, build_app, fail, setup_logging
from config import load_settings

staff_app = typer.Typer(help="Housekeepers and managers: roster, tokens, status.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")

PROBLEMS = {
    "no_such_staff": "no staff member with code {code!r}",
    "person_deactivated": "{code} is deactivated; `frontdesk staff reinstate {code}` first",
    "token_exists": ("{code} already has a token and tokens are never shown again; "
                     "`frontdesk staff token {code} --rotate` issues a new one and revokes the old"),
    "bad_hold_reason": "reason must be one of: expired_certificate, failed_assessment, manager_hold "
                       "(and, for reinstate, one {code} is held for)",
    "managers_cannot_be_suspended": "{code} is a manager: managers are active or deactivated, never suspended",
}
HOW_TO_TOKEN = "a staff token for the shell and the REST channel: frontdesk staff token {code} --rotate"


def _backend() -> Any:
    setup_logging()
    return build_app().backend


def _call(code: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    from backend.services import DomainError

    try:
        return fn(code, *args, **kwargs)
    except DomainError as e:
        fail(PROBLEMS.get(e.code, e.code).format(code=code))


@app.command()
def demo(if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when no staff exists yet")] = False) -> None:
    """Seed a realistic roster: 32 housekeepers over all services and districts, and two managers."""
    from backend.services import staff

    setup_logging()
    fd = build_app()
    if if_empty and fd.backend.staff_by_code("MGR01") is not None:
        typer.echo("roster already present; nothing to do")
        return
    today = fd.backend.now.astimezone(fd.backend.ctx.tz).date()
    rows = [staff.parse_row(i, r, fd.backend.catalogue) for i, r in enumerate(staff.demo_rows(today), 1)]
    fd.backend.import_staff(rows)  # the tokens it returns are not printed: nobody asked for them
    typer.echo(f"seeded {len(rows) - 2} housekeepers and 2 managers (HK001…HK{len(rows) - 2:03d}, MGR01, MGR02)")
    typer.echo("to act as one of them, issue " + HOW_TO_TOKEN.format(code="HK001"))
    typer.echo("then: FRONTDESK_STAFF_TOKEN=<token> frontdesk shell --as HK001")


@staff_app.command("import")
def staff_import(file: Annotated[Path, typer.Argument(help="Roster as CSV or YAML, format 1 (see README)")]) -> None:
    """Add or update staff: only the columns present change; new people get a token, shown once."""
    from backend.services.staff import RosterError, read_roster

    be = _backend()
    try:
        rows = read_roster(file, be.catalogue)
        tokens = be.import_staff(rows)
    except (FileNotFoundError, IsADirectoryError):
        fail(f"no such file: {file}")
    except RosterError as e:
        fail("roster not imported, nothing was changed:\n" + "\n".join(f"  {x}" for x in e.errors))
    typer.echo(f"imported {len(rows)} staff: {len(tokens)} new, {len(rows) - len(tokens)} updated")
    if tokens:
        typer.echo("tokens of the new staff (shown once; give each to her owner only):")
    for r in rows:
        typer.echo(f"  {r.code}: {tokens[r.code]}" if r.code in tokens else f"  {r.code}: kept (existing token)")


@staff_app.command("token")
def staff_token(code: Annotated[str, typer.Argument(help="Roster code, e.g. HK001")],
                rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new token and revoke the old")]
                = False) -> None:
    """Issue a staff token for the shell and the REST channel; printed once, never shown again."""
    be = _backend()
    token = _call(code, be.issue_staff_token, rotate=rotate)
    typer.echo(token)
    typer.echo(f"token for {code}: shown once; {'older tokens are revoked; ' if rotate else ''}"
               "send it as `Authorization: Bearer <token>` or FRONTDESK_STAFF_TOKEN", err=True)


@staff_app.command("revoke")
def staff_revoke(code: Annotated[str, typer.Argument(help="Roster code")]) -> None:
    """Revoke every token of a staff member (her chats stay bound)."""
    n = _call(code, _backend().revoke_staff_tokens)
    typer.echo(f"revoked {n} token(s) of {code}")


@staff_app.command("deactivate")
def staff_deactivate(code: Annotated[str, typer.Argument(help="Roster code")]) -> None:
    """No access at all: out of matching, pending offers to the next candidate, chats unbound, tokens
    revoked; her confirmed jobs are escalated to the managers for reassignment."""
    r = _call(code, _backend().deactivate_staff)
    if r["already"]:
        typer.echo(f"{code} was already deactivated; nothing changed")
        return
    typer.echo(f"{code} deactivated: {len(r['offers_moved'])} pending offer(s) passed on, "
               f"{r['identities_removed']} chat identity(ies) unbound, {r['tokens_revoked']} token(s) revoked")
    if r["escalated_bookings"]:
        ids = ", ".join(f"#{b}" for b in r["escalated_bookings"])
        typer.echo(f"confirmed jobs escalated to the managers for reassignment: {ids}")
    if r["takeovers_ended"]:
        typer.echo(f"{r['takeovers_ended']} conversation(s) she held went back to the bot")


@staff_app.command("suspend")
def staff_suspend(code: Annotated[str, typer.Argument(help="Roster code of a housekeeper")],
                  reason: Annotated[str, typer.Option(help="expired_certificate | failed_assessment | manager_hold")]
                  ) -> None:
    """Pause a housekeeper from new offers; she keeps chat access and her confirmed jobs."""
    r = _call(code, _backend().suspend_staff, reason)
    typer.echo(f"{code} suspended from matching ({', '.join(r['hold_reasons'])}); "
               f"{len(r['offers_moved'])} pending offer(s) passed on")


@staff_app.command("reinstate")
def staff_reinstate(code: Annotated[str, typer.Argument(help="Roster code")],
                    reason: Annotated[str | None, typer.Option(help="Lift only this hold reason")] = None) -> None:
    """Lift a suspension (one reason or all), or bring a deactivated person back."""
    be = _backend()
    before = be.staff_by_code(code)
    r = _call(code, be.reinstate_staff, reason)
    if r["status"] == "active":
        typer.echo(f"{code} is active")
    else:
        typer.echo(f"{code} is still suspended ({', '.join(r['hold_reasons'])})")
    if before is not None and before.status == "deactivated":
        typer.echo(f"{code} has no chats and no token: `frontdesk staff invite {code}` and "
                   + HOW_TO_TOKEN.format(code=code))


@staff_app.command("show")
def staff_show(code: Annotated[str, typer.Argument(help="Roster code")]) -> None:
    """Status, hold reasons, token (present or not; never the token) and bound channels."""
    r = _call(code, _backend().staff_summary)
    reasons = f" ({', '.join(r['hold_reasons'])})" if r["hold_reasons"] else ""
    typer.echo(f"{r['code']} {r['kind']} {r['name']}: {r['status']}{reasons}; "
               f"token: {'yes' if r['token'] else 'none'}; channels: {', '.join(r['channels']) or 'none'}")


@staff_app.command("invite")
def staff_invite(code: Annotated[str, typer.Argument(help="Roster code, e.g. HK001 or MGR01")],
                 days: Annotated[int, typer.Option(min=1, max=60, help="Days the link stays valid")] = 7) -> None:
    """Print a one-time invite that binds a staff member's account: a Telegram link for the staff bot, and
    the text to send to the WeCom app when WeCom is configured."""
    import asyncio

    setup_logging()
    settings = load_settings()
    fd = build_app()
    person = fd.backend.staff_by_code(code)
    if person is None:
        fail(f"no staff member with code {code!r}")
    if person.status == "deactivated":
        fail(PROBLEMS["person_deactivated"].format(code=code))
    token = fd.backend.create_invite(person.kind, person.id, days)
    username = settings.telegram.staff_bot_username
    if not username and settings.telegram.staff_token:
        from bot.telegram.common import CallbackRefs, RateLimiter
        from bot.telegram.staff_bot import StaffBot

        async def ask() -> str:
            bot = StaffBot(fd.desk, settings.telegram, CallbackRefs(fd.backend.db.engine), RateLimiter())
            try:
                return await bot.username()
            finally:
                await bot.bot.session.close()

        username = asyncio.run(ask())
    if settings.telegram.staff_token or username or not settings.wecom.corp_id:
        typer.echo(f"https://t.me/{username or '<staff_bot_username>'}?start={token}")
    if settings.wecom.corp_id:
        typer.echo(f"WeCom: she sends this to the company's app: /start {token}")
    typer.echo(f"one-time invite for {person.name} ({code}), valid {days} days")


# --- the vetting file (issue 12) ------------------------------------------------------------------------
VET_PROBLEMS = {
    "bad_vetting_item": "item must be identity, background, insurance, training, assessment, quality-check "
                        "or certificate",
    "bad_vetting_result": "--result must be: identity pass|fail, background clear|record, assessment and "
                          "quality-check pass|fail",
    "vetting_kind_and_expiry_needed": "insurance and certificate need --kind and --expires (e.g. --kind accident "
                                      "--expires 2027-06-30)",
    "vetting_hours_needed": "training needs --hours",
}


def _date(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2027-06-30, not {value!r}")


@staff_app.command("vet")
def staff_vet(code: Annotated[str, typer.Argument(help="Roster code of a housekeeper, e.g. HK001")],
              item: Annotated[str, typer.Argument(help="identity | background | insurance | training | assessment"
                                                       " | quality-check | certificate")],
              on: Annotated[str | None, typer.Option(help="Date checked / assessed / trained (default today)")] = None,
              by: Annotated[str | None, typer.Option(help="Who checked or assessed")] = None,
              inspector: Annotated[str | None, typer.Option(help="quality-check: the inspector (same as --by)")]
              = None,
              result: Annotated[str | None, typer.Option(help="clear|record (background), pass|fail")] = None,
              kind: Annotated[str | None, typer.Option(help="insurance: accident|liability; certificate: health…")]
              = None,
              number: Annotated[str | None, typer.Option(help="Policy or certificate number")] = None,
              expires: Annotated[str | None, typer.Option(help="Expiry date (insurance, certificate)")] = None,
              hours: Annotated[float | None, typer.Option(help="training: hours of this course")] = None,
              notes: Annotated[str | None, typer.Option(help="A short note")] = None) -> None:
    """Record an item of a housekeeper's vetting file; two failed assessments in a row suspend her."""
    from backend.services import DomainError

    be = _backend()
    try:
        r = be.record_vetting(code, item, "admin", on=_date(on, "--on"), by=by or inspector, result=result,
                              subkind=kind, number=number, expires_on=_date(expires, "--expires"), hours=hours,
                              notes=notes)
    except DomainError as e:
        fail(VET_PROBLEMS.get(e.code) or PROBLEMS.get(e.code, e.code).format(code=code))
    what = " ".join(x for x in (r["kind"], r["subkind"] or "", r["result"] or "") if x)
    typer.echo(f"{code}: recorded {what} on {r['on']}" + (f", expires {r['expires_on']}" if r["expires_on"] else ""))
    if r["suspended"]:
        typer.echo(f"{code} failed assessments in a row: suspended from matching (failed_assessment); "
                   f"a manager decides: `frontdesk staff reinstate {code} --reason failed_assessment`")


@staff_app.command("vetting")
def staff_vetting(code: Annotated[str, typer.Argument(help="Roster code of a housekeeper")]) -> None:
    """Show a housekeeper's vetting file: each item, problems per skill, badges, what lapses next."""
    f = _call(code, _backend().vetting_file)
    for line in file_lines(f):
        typer.echo(line)


def file_lines(f: dict[str, Any]) -> list[str]:
    """The file as plain lines (the CLI's; managers' chats use the templates of dialogs/staff_vetting.py)."""
    def dated(d: dict[str, Any] | None, *keys: str) -> str:
        return " ".join(str(d[k]) for k in keys if d and d.get(k)) if d else "missing"

    holds = f" ({', '.join(f['hold_reasons'])})" if f["hold_reasons"] else ""
    lines = [f"{f['code']} {f['name']}: {f['status']}{holds}; born {f['birth_year'] or '?'}, "
             f"{f['experience_years'] if f['experience_years'] is not None else '?'} years' experience",
             f"identity checked: {dated(f['identity'], 'on', 'by')}",
             f"background check: {dated(f['background'], 'on', 'result')}",
             "insurance: " + ("; ".join(f"{i['kind']} {i['number'] or ''} until {i['expires_on']}".replace("  ", " ")
                                        for i in f["insurance"]) or "missing"),
             f"training: {f['training_hours']:g} h (at least {f['min_training_hours']:g})",
             "assessments: " + ("; ".join(f"{a['on']} {a['result']}" for a in f["assessments"]) or "missing"),
             "certificates: " + ("; ".join(f"{c['kind']} {c['number'] or ''} until {c['expires_on']}".replace("  ", " ")
                                           for c in f["certificates"]) or "none"),
             f"quality checks this month: {f['quality_checks_this_month']}"
             + (f" (last {f['last_quality_check']['on']} {f['last_quality_check']['result']})"
                if f["last_quality_check"] else " (never checked)"),
             "badges: " + (", ".join(f["badges"]) or "none")]
    enforced = "enforced" if f["enforced"] else f"warnings only until {f['enforce_from'] or 'never'}"
    if f["problems"]:
        lines.append(f"problems ({enforced}): "
                     + "; ".join(f"{s}: {', '.join(p)}" for s, p in sorted(f["problems"].items())))
    else:
        lines.append("problems: none")
    soon = [e for e in f["expiring"] if e["days"] <= 60]
    if soon:
        lines.append("lapsing within 60 days: " + "; ".join(f"{e['item']} {e['expires_on']} ({e['days']} d)"
                                                             for e in soon))
    return lines


@staff_app.command("vetting-due")
def staff_vetting_due(month: Annotated[str | None, typer.Option(help="YYYY-MM (default: this month)")] = None
                      ) -> None:
    """Who still needs on-site quality checks this month (the standard: at least two, every housekeeper)."""
    from datetime import date

    day = None
    if month is not None:
        try:
            day = date.fromisoformat(f"{month}-01")
        except ValueError:
            fail(f"--month must look like 2026-12, not {month!r}")
    due = _backend().vetting_due(day)
    if not due:
        typer.echo("everyone has had the quality checks the standard asks for")
        return
    typer.echo(f"{len(due)} housekeeper(s) due for on-site quality checks:")
    for r in due:
        typer.echo(f"  {r['code']} {r['name']}: {r['count']} this month{'' if r['ever'] else ', never checked'}")
