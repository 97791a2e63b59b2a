"""The ``frontdesk`` command line: one module per command group."""

from __future__ import annotations

import typer

app = typer.Typer(help="Front desk for a home-services company.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


def fail(msg: str) -> None:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def setup_logging(verbose: bool = False) -> None:
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Secrets and personal data never reach the logs (bot/logscrub.py); request lines are noise.
    from bot import logscrub
    from config import load_settings

    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        secrets = logscrub.known_secrets(load_settings())
    except Exception:  # bad settings are reported by the command itself; the patterns still apply
        secrets = []
    logscrub.install(secrets)


def build_app():  # type: ignore[no-untyped-def]
    from bot.bootstrap import build
    from config import load_settings

    return build(load_settings())


def full_app() -> typer.Typer:
    """The app with every command group registered (each module registers its own when imported)."""
    from bot.cli import db, nlu, report, run, staff, status, wechat  # noqa: F401

    return app


def main() -> None:
    full_app()()
