"""The ``frontdesk`` command line."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from config import load_settings

app = typer.Typer(help="Front desk for a home-services company.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
nlu_app = typer.Typer(help="Train, try and test the NLU (like `rasa train nlu` / `shell nlu` / `test nlu`).",
                      no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")


def _fail(msg: str) -> None:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@nlu_app.command("train")
def nlu_train(
    data: Annotated[Path | None, typer.Option(help="NLU data file or folder (default: config)")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: config)")] = None,
    design: Annotated[str | None, typer.Option(help="Classifier design (see benchmarks)")] = None,
    if_needed: Annotated[bool, typer.Option("--if-needed", help="Skip when the model matches the data")] = False,
) -> None:
    """Train the NLU model from nlu_data/ (deterministic: same data, same model)."""
    from dialogs.nlu import classifier
    from dialogs.nlu.data import DataError, load
    from dialogs.nlu.model import ModelError, read_artifact, save, train

    settings = load_settings()
    data_path = data or settings.path(settings.nlu.data_dir)
    out_path = out or settings.path(settings.nlu.model_path)
    design = design or classifier.DEFAULT
    if design not in classifier.DESIGNS:
        _fail(f"unknown design {design!r}; choose one of {', '.join(classifier.DESIGNS)}")
    try:
        td = load(data_path)
    except (DataError, OSError) as exc:
        _fail(f"cannot load training data: {exc}")
    if if_needed and out_path.exists():
        try:
            a = read_artifact(out_path)
            if a["fingerprint"] == td.fingerprint() and a["design"] == design:
                typer.echo(f"NLU model {out_path} is up to date ({a['fingerprint']})")
                return
        except ModelError:
            pass
    t0 = time.perf_counter()
    artifact = train(td, design)
    save(artifact, out_path)
    typer.echo(f"trained {design} on {len(td.examples)} examples, {len(td.intents)} intents "
               f"in {time.perf_counter() - t0:.1f}s → {out_path} ({artifact['fingerprint']})")


def _parse_now(now: str | None, tz: str) -> datetime | None:
    if now is None:
        return None
    try:
        return datetime.fromisoformat(now)
    except ValueError:
        _fail(f"--now must be an ISO 8601 time such as 2026-11-18T10:30:00+08:00, not {now!r}")
    return None


@nlu_app.command("parse")
def nlu_parse(
    now: Annotated[str | None, typer.Option(help="Reference time (ISO 8601) for relative dates")] = None,
    model: Annotated[Path | None, typer.Option(help="Model file (default: config)")] = None,
    lang: Annotated[str | None, typer.Option(help="Language hint: zh or en")] = None,
) -> None:
    """Read utterances from stdin, one per line; print one JSON parse per line."""
    from dialogs.nlu import NLU, ModelError

    settings = load_settings()
    ref = _parse_now(now, settings.timezone)
    try:
        nlu = NLU.load(model or settings.path(settings.nlu.model_path), settings.nlu.fallback_threshold,
                       settings.timezone, settings.nlu.max_chars)
    except ModelError as exc:
        _fail(str(exc))
    for raw in sys.stdin.buffer:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        sys.stdout.write(json.dumps(nlu.parse(text, now=ref, lang=lang), ensure_ascii=False) + "\n")
        sys.stdout.flush()


@nlu_app.command("test")
def nlu_test(
    data: Annotated[Path | None, typer.Option(help="Test data file or folder (default: config)")] = None,
    cross_validation: Annotated[bool, typer.Option("--cross-validation", help="Cross-validate instead")] = False,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Folds for cross-validation")] = 5,
    out: Annotated[Path, typer.Option(help="Folder for reports and plots")] = Path("reports/nlu"),
    model: Annotated[Path | None, typer.Option(help="Model file (default: config)")] = None,
    design: Annotated[str | None, typer.Option(help="Classifier design for cross-validation")] = None,
) -> None:
    """Intent and entity reports, errors.json, confusion matrix and confidence histogram."""
    from dialogs.nlu import NLU, ModelError, classifier
    from dialogs.nlu.data import DataError, load
    from dialogs.nlu.evaluate import cross_validate, format_table, predict, write_reports

    settings = load_settings()
    try:
        td = load(data or settings.path(settings.nlu.data_dir))
    except (DataError, OSError) as exc:
        _fail(f"cannot load test data: {exc}")
    if cross_validation:
        preds = cross_validate(td, folds, design or classifier.DEFAULT, settings.nlu.fallback_threshold,
                               settings.timezone)
    else:
        try:
            nlu = NLU.load(model or settings.path(settings.nlu.model_path), settings.nlu.fallback_threshold,
                           settings.timezone, settings.nlu.max_chars)
        except ModelError as exc:
            _fail(str(exc))
        preds = predict(nlu, td.examples)
    report = write_reports(preds, out)
    typer.echo(format_table(report))
    typer.echo(f"\nreports written to {out}/")


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
staff_app = typer.Typer(help="Housekeepers and managers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")


def _logging(verbose: bool = False) -> None:
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _build():  # type: ignore[no-untyped-def]
    from bot.bootstrap import build

    return build(load_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (SQLite file by default, PostgreSQL with DATABASE_URL)."""
    from backend.api import Backend
    from bot.bootstrap import migrate

    _logging()
    backend = Backend.from_settings(load_settings())
    migrate(backend)
    typer.echo(f"database is up to date: {backend.db.engine.url.render_as_string(hide_password=True)}")


@app.command()
def demo(if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when no staff exists yet")] = False) -> None:
    """Seed a realistic roster: 32 housekeepers over all services and districts, and two managers."""
    from backend.services import staff

    _logging()
    fd = _build()
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

    _logging()
    fd = _build()
    try:
        rows = read_roster(file, fd.backend.catalogue)
    except FileNotFoundError:
        _fail(f"no such file: {file}")
    except RosterError as e:
        _fail("roster not imported, nothing was changed:\n" + "\n".join(f"  {x}" for x in e.errors))
    tokens = fd.backend.import_staff(rows)
    typer.echo(f"imported {len(rows)} staff")
    for code, token in tokens.items():
        typer.echo(f"  {code}: {token}")


@staff_app.command("invite")
def staff_invite(code: Annotated[str, typer.Argument(help="Roster code, e.g. HK001 or MGR01")],
                 days: Annotated[int, typer.Option(min=1, max=60, help="Days the link stays valid")] = 7) -> None:
    """Print a one-time Telegram link that binds a staff member's account to the staff bot."""
    import asyncio

    _logging()
    settings = load_settings()
    fd = _build()
    person = fd.backend.staff_by_code(code)
    if person is None:
        _fail(f"no staff member with code {code!r}")
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


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Interface (default: config)")] = None,
          port: Annotated[int | None, typer.Option(help="Port (default: config)")] = None,
          verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the front desk: HTTP app (REST channel, /health), timer worker and outbox dispatcher."""
    from aiohttp import web

    from bot.server import make_app

    _logging(verbose)
    settings = load_settings()
    fd = _build()
    h, p = host or settings.host, port or settings.port
    typer.echo(f"front desk on http://{h}:{p}  (POST /webhooks/rest/webhook, GET /health); Ctrl-C stops")
    web.run_app(make_app(fd), host=h, port=p, print=None)


@app.command()
def shell(as_: Annotated[str | None, typer.Option("--as", help="Act as a staff member (roster code)")] = None,
          sender: Annotated[str, typer.Option(help="Client id for this chat")] = "shell-user") -> None:
    """Chat with the front desk in the terminal. Type a number to press a button; Ctrl-D quits."""
    import asyncio

    from bot.shell import run_shell

    _logging()
    fd = _build()
    channel, sid = "shell", sender
    if as_:
        person = fd.backend.staff_by_code(as_)
        if person is None:
            _fail(f"no staff member with code {as_!r}; run `frontdesk demo` or `frontdesk staff import`")
        channel, sid = "rest", fd.backend.rest_id_of(person.kind, person.id) or ""
    asyncio.run(run_shell(fd, channel, sid))


@app.command()
def actions(port: Annotated[int, typer.Option(help="Port of the action server")] = 5055) -> None:
    """Serve the custom actions (dialogs/actions) to a Rasa server, as `rasa run actions` would."""
    from rasa_sdk.endpoint import run
    from rasa_sdk.executor import ActionExecutor

    _logging()
    _build()  # configures the actions' backend
    executor = ActionExecutor()
    executor.register_package("dialogs.actions")
    run(executor, port=port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
