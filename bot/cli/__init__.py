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


def build_app():  # type: ignore[no-untyped-def]
    from bot.bootstrap import build
    from config import load_settings

    return build(load_settings())


def main() -> None:
    from bot.cli import db, nlu, run, staff  # noqa: F401  (each registers its commands)

    app()
