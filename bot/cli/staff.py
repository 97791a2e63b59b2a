"""`frontdesk staff …` and `frontdesk demo`: housekeepers and managers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli import app, build_app, fail, setup_logging
from config import load_settings

staff_app = typer.Typer(help="Housekeepers and managers.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


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
    tokens = fd.backend.import_staff(rows)
    typer.echo(f"seeded {len(rows) - 2} housekeepers and 2 managers")
    typer.echo("REST sender ids (use as \"sender\" to act as staff, or `frontdesk shell --as CODE`):")
    for code in ("HK001", "HK002", "MGR01", "MGR02"):
        typer.echo(f"  {code}: {tokens[code]}")


@staff_app.command("import")
def staff_import(file: Annotated[Path, typer.Argument(help="Roster as CSV or YAML (see README)")]) -> None:
    """Load or update housekeepers and managers; bad rows are reported with their line numbers."""
    from backend.services.staff import RosterError, read_roster

    setup_logging()
    fd = build_app()
    try:
        rows = read_roster(file, fd.backend.catalogue)
    except FileNotFoundError:
        fail(f"no such file: {file}")
    except RosterError as e:
        fail("roster not imported, nothing was changed:\n" + "\n".join(f"  {x}" for x in e.errors))
    tokens = fd.backend.import_staff(rows)
    typer.echo(f"imported {len(rows)} staff")
    for code, token in tokens.items():
        typer.echo(f"  {code}: {token}")


@staff_app.command("invite")
def staff_invite(code: Annotated[str, typer.Argument(help="Roster code, e.g. HK001 or MGR01")],
                 days: Annotated[int, typer.Option(min=1, max=60, help="Days the link stays valid")] = 7) -> None:
    """Print a one-time Telegram link that binds a staff member's account to the staff bot."""
    import asyncio

    setup_logging()
    settings = load_settings()
    fd = build_app()
    person = fd.backend.staff_by_code(code)
    if person is None:
        fail(f"no staff member with code {code!r}")
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
    typer.echo(f"https://t.me/{username or '<staff_bot_username>'}?start={token}")
    typer.echo(f"one-time link for {person.name} ({code}), valid {days} days")


