"""`frontdesk serve`, `shell` and `actions`: running the front desk."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import app, build_app, fail, setup_logging
from config import load_settings


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Interface (default: config)")] = None,
          port: Annotated[int | None, typer.Option(help="Port (default: config)")] = None,
          verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the front desk: HTTP app (REST channel, /health), timer worker and outbox dispatcher."""
    from aiohttp import web

    from bot.server import make_app

    setup_logging(verbose)
    settings = load_settings()
    fd = build_app()
    h, p = host or settings.host, port or settings.port
    typer.echo(f"front desk on http://{h}:{p}  (POST /webhooks/rest/webhook, GET /health); Ctrl-C stops")
    web.run_app(make_app(fd), host=h, port=p, print=None)


@app.command()
def shell(as_: Annotated[str | None, typer.Option("--as", help="Act as a staff member (roster code)")] = None,
          sender: Annotated[str, typer.Option(help="Client id for this chat")] = "shell-user") -> None:
    """Chat with the front desk in the terminal. Type a number to press a button; Ctrl-D quits."""
    import asyncio

    from bot.shell import run_shell

    setup_logging()
    fd = build_app()
    channel, sid = "shell", sender
    if as_:
        person = fd.backend.staff_by_code(as_)
        if person is None:
            fail(f"no staff member with code {as_!r}; run `frontdesk demo` or `frontdesk staff import`")
        channel, sid = "rest", fd.backend.rest_id_of(person.kind, person.id) or ""
    asyncio.run(run_shell(fd, channel, sid))


@app.command()
def actions(port: Annotated[int, typer.Option(help="Port of the action server")] = 5055) -> None:
    """Serve the custom actions (dialogs/actions) to a Rasa server, as `rasa run actions` would."""
    from rasa_sdk.endpoint import run
    from rasa_sdk.executor import ActionExecutor

    setup_logging()
    build_app()  # configures the actions' backend
    executor = ActionExecutor()
    executor.register_package("dialogs.actions")
    run(executor, port=port)


