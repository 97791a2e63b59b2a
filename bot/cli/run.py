"""`frontdesk serve`, `shell` and `actions`: running the front desk."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import app, build_app, fail, setup_logging
from config import Settings, load_settings


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Interface (default: config)")] = None,
          port: Annotated[int | None, typer.Option(help="Port (default: config)")] = None,
          workers: Annotated[int | None, typer.Option(help="Worker processes behind the one port (default: "
                                                           "config `workers`, FRONTDESK_WORKERS); above 1 "
                                                           "needs PostgreSQL and REDIS_URL")] = None,
          verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the front desk: HTTP app (REST channel, /health), timer worker and outbox dispatcher."""
    from aiohttp import web

    from bot.server import event_loop, make_app
    from bot.supervisor import SHUTDOWN_SECONDS, refusal

    setup_logging(verbose)
    settings = load_settings()
    n = settings.workers if workers is None else workers
    why = refusal(settings, n)
    if why:  # before anything starts: nothing bound, nothing migrated
        typer.secho(f"frontdesk serve: {why}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    h, p = host or settings.host, port or settings.port
    if n > 1:
        _supervise(settings, h, p, n)
        return
    try:
        fd = build_app()
        web_app = make_app(fd)
    except (RuntimeError, ValueError) as e:  # settings refused at start-up (test hooks in production, secrets)
        fail(f"frontdesk serve cannot start: {e}")
    typer.echo(f"front desk on http://{h}:{p}  (POST /webhooks/rest/webhook, GET /health); Ctrl-C stops")
    web.run_app(web_app, host=h, port=p, print=None, shutdown_timeout=SHUTDOWN_SECONDS,  # long-polls: see supervisor
                loop=event_loop())


def _supervise(settings: Settings, host: str, port: int, workers: int) -> None:
    """N workers on one port under a supervisor (bot/supervisor.py)."""
    from functools import partial

    from bot.balance import Shares
    from bot.supervisor import Supervisor, bind, prepare, run_worker

    try:
        sock = bind(host, port)
    except OSError as e:
        fail(f"frontdesk serve cannot listen on {host}:{port}: {e.strerror or e}")
    try:
        prepare(settings)
    except (RuntimeError, ValueError) as e:
        sock.close()
        fail(f"frontdesk serve cannot start: {e}")
    typer.echo(f"front desk on http://{host}:{sock.getsockname()[1]} with {workers} workers "
               "(POST /webhooks/rest/webhook, GET /health); Ctrl-C stops")
    raise typer.Exit(Supervisor(sock, workers, partial(run_worker, settings, shares=Shares(workers))).run())


@app.command()
def shell(as_: Annotated[str | None, typer.Option("--as", help="Act as a staff member (roster code)")] = None,
          token: Annotated[str | None, typer.Option(help="Staff token for --as (better: FRONTDESK_STAFF_TOKEN, "
                                                        "or leave both out to be asked)")] = None,
          sender: Annotated[str, typer.Option(help="Client id for this chat")] = "shell-user") -> None:
    """Chat with the front desk in the terminal. Type a number to press a button; Ctrl-D quits."""
    import asyncio

    from bot.shell import ShellAuthError, authenticate_staff, run_shell, staff_token

    setup_logging()
    fd = build_app()
    if not as_:
        asyncio.run(run_shell(fd, "shell", sender))
        return
    try:
        channel, sid, still_valid = authenticate_staff(fd, as_, staff_token(token, as_))
    except ShellAuthError as e:
        fail(str(e))
    asyncio.run(run_shell(fd, channel, sid, still_valid))


@app.command()
def actions(port: Annotated[int, typer.Option(help="Port of the action server")] = 5055,
            host: Annotated[str, typer.Option(help="Interface (0.0.0.0 only inside a container)")] = "127.0.0.1"
            ) -> None:
    """Serve the custom actions (dialogs/actions) to a Rasa server, as `rasa run actions` would."""
    from backend.api import Backend
    from bot.action_server import serve
    from bot.migrate import is_current

    setup_logging()
    backend = Backend.from_settings(load_settings())  # bad settings fail here, not in a worker
    with backend.db.engine.connect() as c:
        current = is_current(c)
    backend.db.dispose()
    if not current:
        fail("the database schema is not current: run `frontdesk db upgrade` first")
    typer.echo(f"action server on http://{host}:{port}  (POST /webhook, GET /health); Ctrl-C stops")
    serve(host, port)
