"""`frontdesk nlu …`: train, parse and test the NLU."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import app, fail
from config import load_settings

nlu_app = typer.Typer(help="Train, try and test the NLU (like `rasa train nlu` / `shell nlu` / `test nlu`).",
                      no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")


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
        fail(f"unknown design {design!r}; choose one of {', '.join(classifier.DESIGNS)}")
    try:
        td = load(data_path)
    except (DataError, OSError) as exc:
        fail(f"cannot load training data: {exc}")
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
        fail(f"--now must be an ISO 8601 time such as 2026-11-18T10:30:00+08:00, not {now!r}")
    return None


@nlu_app.command("parse")
def nlu_parse(
    now: Annotated[str | None, typer.Option(help="Reference time (ISO 8601) for relative dates")] = None,
    model: Annotated[Path | None, typer.Option(help="Model file (default: config)")] = None,
    lang: Annotated[str | None, typer.Option(help="Language hint: zh or en")] = None,
) -> None:
    """Read utterances from stdin, one per line; print one JSON parse per line.

    A line that cannot be parsed gets ``{"line": n, "error": ...}`` in its place (and a note on
    stderr), and the next lines are parsed as usual: the exit code is 0 unless the model cannot load.
    """
    from dialogs.nlu import NLU, ModelError

    settings = load_settings()
    ref = _parse_now(now, settings.timezone)
    try:
        nlu = NLU.load(model or settings.path(settings.nlu.model_path), settings.nlu.fallback_threshold,
                       settings.timezone, settings.nlu.max_chars)
    except ModelError as exc:
        fail(str(exc))
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    for number, raw in enumerate(sys.stdin.buffer, 1):
        try:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            line = json.dumps(nlu.parse(text, now=ref, lang=lang), ensure_ascii=False)
        except Exception as exc:  # one bad line must not cost the lines after it
            error = f"{type(exc).__name__}: {exc}"[:300]
            line = json.dumps({"line": number, "error": error}, ensure_ascii=False)
            typer.echo(f"line {number}: cannot parse ({error})", err=True)
        # Written as UTF-8 bytes whatever the terminal's encoding, so output never fails on a character.
        if out is not None:
            sys.stdout.flush()
            out.write(line.encode("utf-8", errors="backslashreplace") + b"\n")
            out.flush()
        else:
            sys.stdout.write(line + "\n")
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
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:  # an extra: only these plots need it
        fail("`frontdesk nlu test` draws its plots with matplotlib: pip install 'frontdesk[report]' "
             "(in a checkout, scripts/setup.sh installs it)")
    from dialogs.nlu import NLU, ModelError, classifier
    from dialogs.nlu.data import DataError, load
    from dialogs.nlu.evaluate import cross_validate, format_table, predict, write_reports

    settings = load_settings()
    try:
        td = load(data or settings.path(settings.nlu.data_dir))
    except (DataError, OSError) as exc:
        fail(f"cannot load test data: {exc}")
    if cross_validation:
        preds = cross_validate(td, folds, design or classifier.DEFAULT, settings.nlu.fallback_threshold,
                               settings.timezone)
    else:
        try:
            nlu = NLU.load(model or settings.path(settings.nlu.model_path), settings.nlu.fallback_threshold,
                           settings.timezone, settings.nlu.max_chars)
        except ModelError as exc:
            fail(str(exc))
        preds = predict(nlu, td.examples)
    report = write_reports(preds, out)
    typer.echo(format_table(report))
    typer.echo(f"\nreports written to {out}/")


